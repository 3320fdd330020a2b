/**
 * Files the report needs at run time (fonts, wasm), relative to the repository root.
 * The CDK stack copies each into the Lambda bundle at the same relative path.
 */
export const RUNTIME_ASSETS: string[] = [];
