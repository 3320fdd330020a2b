/**
 * Files the report needs at run time (fonts, wasm), relative to the repository root.
 * The CDK stack copies each into the Lambda bundle at the same relative path.
 */
export const RUNTIME_ASSETS: string[] = [
  // charts are rasterised by resvg with this font only (Lambda has no system fonts); see charts.ts
  'lib/report/fonts/DejaVuSansCondensed.ttf',
  'lib/report/fonts/DejaVuSansCondensed-Bold.ttf',
  'lib/report/fonts/LICENSE-DejaVu.txt',
  // resvg as WebAssembly (charts.ts): the same file on x86_64 and arm64
  'node_modules/@resvg/resvg-wasm/index_bg.wasm',
];
