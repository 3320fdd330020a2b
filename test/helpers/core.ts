/** Runs the core stages (no outputs) on a local file or in-memory text, for metric tests. */
import { readFileSync } from 'node:fs';
import { parseConfig, type ConfigInput } from '../../lib/config.js';
import { CustomerAccumulator, summarize } from '../../lib/customers.js';
import { cohortRows } from '../../lib/cohorts.js';
import { periodRows } from '../../lib/crr.js';
import { isoToDay } from '../../lib/dates.js';
import { ingest } from '../../lib/ingest/index.js';
import { segmentation } from '../../lib/segmentation.js';
import { segmentRows } from '../../lib/segments.js';
import { assignTiers } from '../../lib/tiers.js';
import type { InputFile } from '../../lib/storage.js';

/** The CDNOW reference files (copies of ../shared/datasets/cdnow, so a clean clone can test alone). */
export const cdnowDir = (): string => process.env.CDNOW_DIR ?? new URL('../fixtures/cdnow', import.meta.url).pathname;

export const CDNOW_MASTER_CONFIG: ConfigInput = {
  input: {
    csv: { delimiter: 'whitespace', header: true },
    columns: { customerId: 'customer_id', orderDate: 'date', amount: 'dollar_value' },
    dateFormat: 'yyyyMMdd',
  },
};
export const CDNOW_SAMPLE_CONFIG: ConfigInput = {
  input: {
    csv: { delimiter: 'whitespace', header: false },
    columns: { customerId: 1, orderDate: 2, amount: 4 },
    dateFormat: 'yyyyMMdd',
  },
  model: { calibrationEnd: '1997-09-30', timeUnit: 'week' },
};

export function memoryFile(name: string, content: string | Uint8Array): InputFile {
  const buf = typeof content === 'string' ? Buffer.from(content) : content;
  return { name, size: buf.byteLength, open: async function* () { yield buf; } };
}

export function fileInput(path: string): InputFile {
  return memoryFile(path, readFileSync(path));
}

export async function computeCore(files: InputFile[], raw: ConfigInput, asOf?: string) {
  const config = parseConfig(raw);
  const acc = new CustomerAccumulator(config.input.columns.dimensions.length);
  const ing = await ingest(files, config, { onAccepted: (r) => acc.addAccepted(r), asOfDay: asOf ? isoToDay(asOf)! : undefined });
  const asOfDay = asOf ? isoToDay(asOf)! : ing.maxDay!;
  const calibrationEndDay = config.model.calibrationEnd ? isoToDay(config.model.calibrationEnd)! : asOfDay;
  const s = summarize(acc, { asOfDay, calibrationEndDay, unitDays: config.model.timeUnit === 'week' ? 7 : 1, marginShare: config.model.marginShare });
  const tiers = assignTiers(s, config.tiers);
  const seg = segmentation(s, tiers, config.input.columns.dimensions);
  const cohorts = cohortRows(s, seg, { unit: config.cohort.period, asOfDay });
  const periods = periodRows(s, seg, { unit: config.cohort.period, asOfDay, activeWindowDays: config.cohort.activeWindowDays });
  const segments = segmentRows(s, seg, periods, { asOfDay, activeWindowDays: config.cohort.activeWindowDays, pAliveThreshold: config.alerts.pAliveThreshold });
  return { config, ing, s, tiers, seg, cohorts, periods, segments, asOfDay };
}
