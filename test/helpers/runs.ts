/** Fixtures and checks shared by the handler, fault, concurrency and security tests. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseConfig, type Config, type ConfigInput } from '../../lib/config.js';
import { layout, TABLE_NAMES } from '../../lib/outputs/schema.js';
import type { Storage } from '../../lib/storage.js';
import { shopCsv } from '../../scripts/generate/index.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SAMPLE_EXPORT = path.join(ROOT, 'examples/sample-export.csv.gz');
export const SAMPLE_CONFIG_JSON = readFileSync(path.join(ROOT, 'examples/sample-config.json'), 'utf8');

export const OPERATOR = 'ops@example.com';
export const LEADERSHIP = 'leadership@example.com';

/** The sample config with an operator to notify; `patch` is merged one level deep per section. */
export function sampleConfigInput(patch: Record<string, Record<string, unknown>> = {}): ConfigInput {
  const raw = JSON.parse(SAMPLE_CONFIG_JSON) as Record<string, Record<string, unknown>>;
  raw.report = { ...raw.report, operators: [OPERATOR] };
  for (const [k, v] of Object.entries(patch)) raw[k] = { ...raw[k], ...v };
  return raw as ConfigInput;
}
export const sampleConfig = (patch?: Record<string, Record<string, unknown>>): Config => parseConfig(sampleConfigInput(patch));

/** The sample export as CSV text (header first). */
export const sampleCsv = (): string => gunzipSync(readFileSync(SAMPLE_EXPORT)).toString('utf8');

/**
 * A small export in the sample's columns (about 1,200 customers over 18 months, ending 2026-10-31,
 * with a value loss planted in APAC), fast enough to run the pipeline several times per file.
 */
export function smallCsv(seed = 5): string {
  return shopCsv({ seed, customers: 1200, months: 18, endDate: '2026-10-31', scenario: 'region-drop', dropRegion: 'APAC' }).csv;
}

export const gz = (text: string): Buffer => gzipSync(Buffer.from(text, 'utf8'));

/** Replaces the amount of every n-th data row with text, so that about 1/n of the rows are rejected. */
export function corruptAmounts(csv: string, every: number): string {
  const lines = csv.split('\n');
  const header = lines[0].split(',');
  const col = header.indexOf('amount');
  return lines
    .map((line, i) => {
      if (i === 0 || line === '' || i % every !== 0) return line;
      const cells = line.split(',');
      cells[col] = 'n/a';
      return cells.join(',');
    })
    .join('\n');
}

export const RUN_DATE = '2026-10-31';

/** sha256 of every object of a run date's table partitions and run folder (what readers see). */
export async function snapshot(out: Storage, runDate = RUN_DATE): Promise<Record<string, string>> {
  const keys = [
    ...(await Promise.all(TABLE_NAMES.map((t) => out.list(layout.tablePrefix(t, runDate))))).flat(),
    ...(await out.list(layout.runPrefix(runDate))),
  ];
  const snap: Record<string, string> = {};
  for (const k of keys.sort()) snap[k] = createHash('sha256').update((await out.get(k))!).digest('hex');
  return snap;
}

/** The files a complete run leaves for its date (sent.json only once the report went out). */
export function expectedKeys(runDate = RUN_DATE): string[] {
  return [...TABLE_NAMES.map((t) => layout.table(t, runDate)), layout.run(runDate, 'manifest.json'), layout.run(runDate, 'report.html')];
}

/** Keys of staging objects (a run in progress or one that died before cleaning up). */
export async function stagingKeys(out: Storage): Promise<string[]> {
  return out.list('_staging/');
}

export const text = (b: Uint8Array | undefined): string => (b === undefined ? '' : Buffer.from(b).toString('utf8'));
