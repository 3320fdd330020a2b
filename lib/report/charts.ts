/**
 * Line charts as SVG, rasterised to PNG with resvg (Gmail and Outlook do not show SVG).
 * Lambda has no system fonts, so the bundled DejaVu font is loaded explicitly and system
 * fonts are never scanned. Colours are Okabe-Ito (Okabe & Ito 2008, "Color Universal
 * Design"), and every series also differs by dash pattern and marker shape, so the chart
 * still reads in grey scale or with any colour-vision deficiency.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initWasm, Resvg } from '@resvg/resvg-wasm';
import { escapeHtml } from './format.js';

/** Okabe-Ito, strongest contrast first; vermillion for the long tail (index 0). */
export const OKABE_ITO = ['#D55E00', '#0072B2', '#009E73', '#E69F00', '#CC79A7', '#56B4E9', '#000000'] as const;
const DASHES = ['', '9 5', '3 4', '12 4 3 4', '6 3', '2 2', '14 6'];
const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'circle', 'square', 'triangle'] as const;
type Marker = (typeof MARKERS)[number];

export const FONT_FILES = ['lib/report/fonts/DejaVuSansCondensed.ttf', 'lib/report/fonts/DejaVuSansCondensed-Bold.ttf'];
const FONT_FAMILY = 'DejaVu Sans';

/** A missing font file (the Lambda bundle must carry lib/report/fonts/, see assets.ts). */
export class ReportFontError extends Error {
  override name = 'ReportFontError';
}

let fontCache: string[] | null = null;

/**
 * Where the fonts are: beside this module (repo, tsx, vitest), or at the same relative path
 * under the Lambda task root / the working directory (the CDK stack copies RUNTIME_ASSETS there;
 * a bundled handler's import.meta.url no longer points into lib/).
 */
function assetRoots(): string[] {
  const roots: string[] = [];
  if (process.env.TAILWATCH_ASSET_ROOT) roots.push(process.env.TAILWATCH_ASSET_ROOT);
  if (process.env.LAMBDA_TASK_ROOT) roots.push(process.env.LAMBDA_TASK_ROOT);
  try {
    // lib/report/charts.ts -> repo root is two levels up.
    roots.push(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'));
  } catch {
    // import.meta.url is not a file URL in some bundles: fall through to cwd.
  }
  roots.push(process.cwd());
  return roots;
}

export function fontFiles(): string[] {
  if (fontCache) return fontCache;
  const roots = assetRoots();
  for (const root of roots) {
    const files = FONT_FILES.map((f) => join(root, f));
    if (files.every((f) => existsSync(f))) return (fontCache = files);
  }
  throw new ReportFontError(`report font not found: looked for ${FONT_FILES[0]} under ${roots.join(', ')}`);
}

/** resvg compiled to WebAssembly: one build for x86_64 and arm64 Lambdas (no native addon). */
export const RESVG_WASM = 'node_modules/@resvg/resvg-wasm/index_bg.wasm';
let wasmReady: Promise<void> | null = null;
let fontBuffers: Uint8Array[] | null = null;

function initResvg(): Promise<void> {
  if (!wasmReady) {
    const roots = assetRoots();
    const file = roots.map((r) => join(r, RESVG_WASM)).find((f) => existsSync(f));
    if (!file) throw new ReportFontError(`chart renderer not found: looked for ${RESVG_WASM} under ${roots.join(', ')}`);
    wasmReady = initWasm(readFileSync(file));
  }
  return wasmReady;
}

export interface ChartPoint {
  x: number;
  y: number | null;
  partial?: boolean;
}

export interface ChartSeries {
  name: string;
  points: ChartPoint[];
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Tick positions on x with their labels (thinned to fit). */
  xTicks: { x: number; label: string }[];
  yFormat: (v: number) => string;
  series: ChartSeries[];
  /** Lower end of the y axis; default 0 (shares, retention and money start at zero). */
  yMin?: number;
}

// 480 wide with large type: on a 390 px phone the image shrinks to ~350 px and labels stay ~10-11 px
export const CHART_WIDTH = 480;
export const CHART_HEIGHT = 310;
/** Pixel density of the PNG: 2x for sharp text on phones and retina screens. */
const SCALE = 2;

/** Round tick values covering [min, max] (Heckbert, "Nice numbers for graph labels", Graphics Gems 1990). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) max = min + 1;
  const nice = (x: number, round: boolean) => {
    const e = Math.floor(Math.log10(x));
    const f = x / 10 ** e;
    const nf = round ? (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) : f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * 10 ** e;
  };
  const range = nice(max - min, false);
  const step = nice(range / (count - 1), true);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Rough text width for layout (DejaVu Sans Condensed averages about 0.52 em per character). */
function textWidth(s: string, size: number): number {
  return s.length * size * 0.52;
}

function markerSvg(kind: Marker, x: number, y: number, color: string, hollow: boolean): string {
  const fill = hollow ? '#ffffff' : color;
  const common = `fill="${fill}" stroke="${color}" stroke-width="2"`;
  const r = 4;
  switch (kind) {
    case 'square':
      return `<rect x="${f1(x - r)}" y="${f1(y - r)}" width="${2 * r}" height="${2 * r}" ${common}/>`;
    case 'triangle':
      return `<path d="M${f1(x)} ${f1(y - r - 1)} L${f1(x + r + 1)} ${f1(y + r)} L${f1(x - r - 1)} ${f1(y + r)} Z" ${common}/>`;
    case 'diamond':
      return `<path d="M${f1(x)} ${f1(y - r - 1)} L${f1(x + r + 1)} ${f1(y)} L${f1(x)} ${f1(y + r + 1)} L${f1(x - r - 1)} ${f1(y)} Z" ${common}/>`;
    default:
      return `<circle cx="${f1(x)}" cy="${f1(y)}" r="${r}" ${common}/>`;
  }
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** The chart as an SVG document (all text from data escaped). */
export function lineChartSvg(spec: LineChartSpec): string {
  const W = CHART_WIDTH;
  const H = CHART_HEIGHT;
  const font = `font-family="${FONT_FAMILY}"`;
  const parts: string[] = [];
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="12" y="24" ${font} font-size="19" font-weight="bold" fill="#111111">${escapeHtml(spec.title)}</text>`);

  // Legend, wrapped onto as many rows as needed.
  const anyPartial = spec.series.some((s) => s.points.some((p) => p.partial && p.y !== null));
  const items = spec.series.map((s, i) => ({ name: s.name, i }));
  let lx = 12;
  let ly = 48;
  const legend: string[] = [];
  const place = (w: number) => {
    if (lx + w > W - 8 && lx > 12) {
      lx = 12;
      ly += 20;
    }
    const x = lx;
    lx += w + 14;
    return x;
  };
  for (const it of items) {
    const color = OKABE_ITO[it.i % OKABE_ITO.length];
    const w = 30 + textWidth(it.name, 15);
    const x = place(w);
    legend.push(
      `<line x1="${x}" y1="${ly - 5}" x2="${x + 24}" y2="${ly - 5}" stroke="${color}" stroke-width="2.5" stroke-dasharray="${DASHES[it.i % DASHES.length]}"/>`,
      markerSvg(MARKERS[it.i % MARKERS.length], x + 12, ly - 5, color, false),
      `<text x="${x + 30}" y="${ly}" ${font} font-size="15" fill="#222222">${escapeHtml(it.name)}</text>`,
    );
  }
  if (anyPartial) {
    const label = 'hollow = period in progress';
    const x = place(16 + textWidth(label, 14));
    legend.push(
      markerSvg('circle', x + 5, ly - 5, '#555555', true),
      `<text x="${x + 14}" y="${ly}" ${font} font-size="14" fill="#555555">${label}</text>`,
    );
  }
  parts.push(...legend);

  const values = spec.series.flatMap((s) => s.points.map((p) => p.y)).filter((v): v is number => v !== null && Number.isFinite(v));
  const yMinData = Math.min(spec.yMin ?? 0, ...values);
  const yMaxData = values.length ? Math.max(...values) : 1;
  const ticks = niceTicks(yMinData, yMaxData > yMinData ? yMaxData : yMinData + 1, 5);
  const y0 = ticks[0];
  const y1 = ticks[ticks.length - 1];
  const tickLabels = ticks.map((t) => spec.yFormat(t));
  const left = 40 + Math.max(...tickLabels.map((t) => textWidth(t, 14)));
  // leave room for half of the last x label, which is centred on the last point
  const lastLabel = spec.xTicks.length ? spec.xTicks[spec.xTicks.length - 1].label : '';
  const right = W - Math.max(20, textWidth(lastLabel, 14) / 2 + 8);
  const top = ly + 18;
  const bottom = H - 52;
  const xs = spec.xTicks.map((t) => t.x).concat(spec.series.flatMap((s) => s.points.map((p) => p.x)));
  const x0 = xs.length ? Math.min(...xs) : 0;
  const x1 = xs.length ? Math.max(...xs) : 1;
  const sx = (x: number) => (x1 === x0 ? (left + right) / 2 : left + ((x - x0) / (x1 - x0)) * (right - left));
  const sy = (y: number) => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);

  ticks.forEach((t, i) => {
    const y = sy(t);
    parts.push(`<line x1="${f1(left)}" y1="${f1(y)}" x2="${right}" y2="${f1(y)}" stroke="${i === 0 ? '#888888' : '#e3e3e3'}" stroke-width="1"/>`);
    parts.push(`<text x="${f1(left - 6)}" y="${f1(y + 4.5)}" ${font} font-size="14" fill="#444444" text-anchor="end">${escapeHtml(tickLabels[i])}</text>`);
  });
  // x ticks, thinned so labels never overlap
  const maxLabel = Math.max(1, ...spec.xTicks.map((t) => textWidth(t.label, 14)));
  const room = (right - left) / Math.max(1, maxLabel + 10);
  const every = Math.max(1, Math.ceil(spec.xTicks.length / Math.max(1, Math.floor(room))));
  spec.xTicks.forEach((t, i) => {
    // anchored at the last (most recent) tick, which is always labelled
    if ((spec.xTicks.length - 1 - i) % every !== 0) return;
    const x = sx(t.x);
    parts.push(`<line x1="${f1(x)}" y1="${bottom}" x2="${f1(x)}" y2="${bottom + 5}" stroke="#888888"/>`);
    parts.push(`<text x="${f1(x)}" y="${bottom + 20}" ${font} font-size="14" fill="#444444" text-anchor="middle">${escapeHtml(t.label)}</text>`);
  });
  parts.push(`<line x1="${f1(left)}" y1="${top}" x2="${f1(left)}" y2="${bottom}" stroke="#888888"/>`);
  // axis titles
  parts.push(`<text x="${f1((left + right) / 2)}" y="${H - 10}" ${font} font-size="15" fill="#222222" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>`);
  const cy = (top + bottom) / 2;
  parts.push(`<text x="16" y="${f1(cy)}" ${font} font-size="15" fill="#222222" text-anchor="middle" transform="rotate(-90 16 ${f1(cy)})">${escapeHtml(spec.yLabel)}</text>`);

  spec.series.forEach((s, i) => {
    const color = OKABE_ITO[i % OKABE_ITO.length];
    const dash = DASHES[i % DASHES.length];
    const pts = s.points.filter((p) => p.y !== null && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    for (let k = 1; k < pts.length; k++) {
      const a = pts[k - 1];
      const b = pts[k];
      const partial = a.partial || b.partial;
      parts.push(
        `<line x1="${f1(sx(a.x))}" y1="${f1(sy(a.y as number))}" x2="${f1(sx(b.x))}" y2="${f1(sy(b.y as number))}" stroke="${color}" stroke-width="2.5" stroke-linecap="round" stroke-dasharray="${partial ? '2 4' : dash}" opacity="${partial ? 0.7 : 1}"/>`,
      );
    }
    const showMarkers = pts.length <= 30;
    for (const p of pts) {
      if (showMarkers || p.partial) parts.push(markerSvg(MARKERS[i % MARKERS.length], sx(p.x), sy(p.y as number), color, !!p.partial));
    }
  });

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`;
}

/** Rasterise an SVG with the bundled font only (no system fonts: Lambda has none). */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  await initResvg();
  fontBuffers ??= fontFiles().map((f) => new Uint8Array(readFileSync(f)));
  const resvg = new Resvg(svg, {
    font: { fontBuffers, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
    fitTo: { mode: 'width', value: CHART_WIDTH * SCALE },
    background: '#ffffff',
  });
  try {
    return new Uint8Array(resvg.render().asPng());
  } finally {
    resvg.free();
  }
}

/** Alt text: what the chart shows, series by series, first and last value. */
export function chartAlt(spec: LineChartSpec, xName: (x: number) => string): string {
  const parts = spec.series.map((s) => {
    const pts = s.points.filter((p) => p.y !== null && Number.isFinite(p.y));
    if (pts.length === 0) return `${s.name}: no data`;
    const a = pts[0];
    const b = pts[pts.length - 1];
    return pts.length === 1
      ? `${s.name}: ${spec.yFormat(a.y as number)} at ${xName(a.x)}`
      : `${s.name}: ${spec.yFormat(a.y as number)} at ${xName(a.x)} to ${spec.yFormat(b.y as number)} at ${xName(b.x)}${b.partial ? ' (in progress)' : ''}`;
  });
  return `Line chart, ${spec.title}. ${spec.yLabel} by ${spec.xLabel.toLowerCase()}. ${parts.join('; ')}.`;
}
