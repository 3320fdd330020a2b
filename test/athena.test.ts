/**
 * Engine "athena": the generated SQL, run on DuckDB over the same files, must make the core produce
 * what the streaming path produces. Each case: (1) the streaming path on the raw file; (2) the DuckDB
 * dialect of buildReductionSql COPYed to Parquet, read back through the same ingest (with
 * reducedInputConfig, dedupe off) and core; then per-customer summaries, tiers and cohort rows must be
 * equal, and buildRejectCountSql's accounting must equal the streaming ingest's counts and reasons.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  buildReductionSql,
  buildRejectCountSql,
  buildUnloadSql,
  normalizeRejectReason,
  reducedDimensionNames,
  reducedInputConfig,
  rowAccounting,
} from '../lib/athena/index.js';
import { parseConfig, type Config, type ConfigInput } from '../lib/config.js';
import { cohortRows } from '../lib/cohorts.js';
import { periodRows } from '../lib/crr.js';
import { CustomerAccumulator, summarize, type CustomerSummary } from '../lib/customers.js';
import { isoToDay } from '../lib/dates.js';
import { ingest, type Reject } from '../lib/ingest/index.js';
import { segmentation } from '../lib/segmentation.js';
import { assignTiers, type Tiers } from '../lib/tiers.js';
import type { CohortRow, PeriodRow } from '../lib/types.js';
import { cdnowDir, fileInput, memoryFile } from './helpers/core.js';
import type { InputFile } from '../lib/storage.js';

const ROOT = new URL('..', import.meta.url).pathname;
let dir: string;
let conn: DuckDBConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tailwatch-athena-'));
  const db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
});
afterAll(() => {
  conn?.closeSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

const sqlPath = (p: string) => `'${p.replace(/'/g, "''")}'`;
/** A CSV file as an all-text relation, as Athena's OpenCSVSerde table presents it. */
function csvTable(path: string, header?: string): string {
  // Small hand-made files defeat DuckDB's dialect sniffer: give it the columns then.
  const cols = header ? `, auto_detect = false, columns = {${header.split(',').map((h) => `${sqlPath(h)}: 'VARCHAR'`).join(', ')}}` : ', all_varchar = true';
  return `(SELECT * FROM read_csv(${sqlPath(path)}, header = true, delim = ',', quote = '"', escape = '"'${cols}))`;
}

interface Core {
  s: CustomerSummary;
  tiers: Tiers;
  cohorts: CohortRow[];
  periods: PeriodRow[];
  rows: { read: number; accepted: number; rejected: number; ignored: number; duplicates: number };
  rejects: Reject[];
}

/** The core stages as the pipeline runs them (test/helpers/core.ts), with the ingest options exposed. */
async function runCore(files: InputFile[], config: Config, read: Config['input'], opts: { dedupe?: boolean; asOf?: string } = {}): Promise<Core> {
  const acc = new CustomerAccumulator(config.input.columns.dimensions.length);
  const rejects: Reject[] = [];
  const asOfOpt = opts.asOf ? isoToDay(opts.asOf)! : undefined;
  const ing = await ingest(files, { ...config, input: read }, { onRow: (r) => acc.add(r), onReject: (r) => rejects.push(r), dedupe: opts.dedupe, asOfDay: asOfOpt });
  const asOfDay = asOfOpt ?? ing.maxDay!;
  const calibrationEndDay = config.model.calibrationEnd ? isoToDay(config.model.calibrationEnd)! : asOfDay;
  const s = summarize(acc, { asOfDay, calibrationEndDay, unitDays: config.model.timeUnit === 'week' ? 7 : 1, marginShare: config.model.marginShare });
  const tiers = assignTiers(s, config.tiers);
  const seg = segmentation(s, tiers, config.input.columns.dimensions);
  const cohorts = cohortRows(s, seg, { unit: config.cohort.period, asOfDay });
  const periods = periodRows(s, seg, { unit: config.cohort.period, asOfDay, activeWindowDays: config.cohort.activeWindowDays });
  return { s, tiers, cohorts, periods, rows: ing.rows, rejects };
}

interface Compared {
  streaming: Core;
  reduced: Core;
  reducedRows: number;
  accounting: ReturnType<typeof rowAccounting>;
  parquetBytes: number;
}

/** Streaming path vs SQL reduction (DuckDB) + the same core, on one export. */
async function both(files: InputFile[], table: string, raw: ConfigInput, asOf?: string): Promise<Compared> {
  const config = parseConfig(raw);
  const streaming = await runCore(files, config, config.input, { asOf });
  const asOfDay = asOf ? isoToDay(asOf)! : undefined;
  const sql = buildReductionSql(config, { table, dialect: 'duckdb', asOfDay });
  const out = join(dir, `reduced-${Math.random().toString(36).slice(2)}.parquet`);
  await conn.run(`COPY (${sql}) TO ${sqlPath(out)} (FORMAT PARQUET, COMPRESSION SNAPPY)`);
  const [{ n }] = await query(`SELECT count(*) AS n FROM read_parquet(${sqlPath(out)})`);
  const reduced = await runCore([fileInput(out)], config, reducedInputConfig(config), { asOf }); // its dedupe: 'never'
  const accounting = rowAccounting(await query(buildRejectCountSql(config, { table, dialect: 'duckdb', asOfDay })));
  return { streaming, reduced, reducedRows: Number(n), accounting, parquetBytes: readFileSync(out).byteLength };
}

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol || (Number.isNaN(a) && Number.isNaN(b));

/** Per customer (matched by id: the two paths meet customers in different orders), every summary field. */
function expectSameCustomers(a: Core, b: Core): void {
  expect(b.s.n).toBe(a.s.n);
  const idx = new Map(b.s.ids.map((id, i) => [id, i]));
  const exact = ['firstDay', 'lastDay', 'orders', 'purchaseDays', 'calibrated', 'frequency', 'recency', 'T', 'frequencyAsOf', 'recencyAsOf', 'TAsOf', 'holdoutPurchases'] as const;
  const money = ['revenue', 'margin', 'firstOrderValue', 'zbar', 'zbarAsOf'] as const;
  const dimsOf = (s: CustomerSummary, c: number) => Array.from({ length: s.dimensionCount }, (_, d) => s.dimValues[d][s.dims[c * s.dimensionCount + d]]);
  const bad: string[] = [];
  for (let c = 0; c < a.s.n && bad.length < 5; c++) {
    const id = a.s.ids[c];
    const j = idx.get(id);
    if (j === undefined) {
      bad.push(`customer #${c} missing in the reduced path`);
      continue;
    }
    for (const f of exact) if (!Object.is(a.s[f][c], b.s[f][j])) bad.push(`#${c} ${f}: ${a.s[f][c]} vs ${b.s[f][j]}`);
    for (const f of money) if (!close(a.s[f][c], b.s[f][j], 0.005)) bad.push(`#${c} ${f}: ${a.s[f][c]} vs ${b.s[f][j]}`);
    if (dimsOf(a.s, c).join('|') !== dimsOf(b.s, j).join('|')) bad.push(`#${c} dims: ${dimsOf(a.s, c)} vs ${dimsOf(b.s, j)}`);
    if (a.tiers.tierOf[c] !== b.tiers.tierOf[j]) bad.push(`#${c} tier: ${a.tiers.tierOf[c]} vs ${b.tiers.tierOf[j]}`);
  }
  expect(bad).toEqual([]);
  expect(b.s.hasMargin).toBe(a.s.hasMargin);
  expect(b.tiers.bounds).toEqual(a.tiers.bounds);
}

/** Rows keyed by their text fields; numbers compared to the cent (money) or 1e-9 (rates). */
function expectSameRows<T extends object>(a: T[], b: T[], keyFields: (keyof T)[]): void {
  expect(b.length).toBe(a.length);
  const key = (r: T) => keyFields.map((k) => String(r[k])).join('|');
  const byKey = new Map(b.map((r) => [key(r), r]));
  const bad: string[] = [];
  for (const r of a) {
    const o = byKey.get(key(r));
    if (!o) {
      bad.push(`missing ${key(r)}`);
      continue;
    }
    for (const [k, v] of Object.entries(r)) {
      const w = (o as Record<string, unknown>)[k];
      const ok = typeof v === 'number' && typeof w === 'number' ? close(v, w, k.includes('revenue') ? 0.011 : 1e-9 * Math.max(1, Math.abs(v))) : Object.is(v, w);
      if (!ok && bad.length < 5) bad.push(`${key(r)} ${k}: ${String(v)} vs ${String(w)}`);
    }
  }
  expect(bad).toEqual([]);
}

/** Streaming rejects grouped as the manifest groups them. */
function streamingReasons(rejects: Reject[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rejects) out[normalizeRejectReason(r.reason)] = (out[normalizeRejectReason(r.reason)] ?? 0) + 1;
  return out;
}

function expectSameEverything(r: Compared): void {
  expectSameCustomers(r.streaming, r.reduced);
  expectSameRows(r.streaming.cohorts, r.reduced.cohorts, ['cohort', 'tier', 'segment', 'period']);
  expectSameRows(r.streaming.periods, r.reduced.periods, ['period', 'tier', 'segment']);
  expect(r.accounting.rows).toEqual(r.streaming.rows);
  expect(r.accounting.rejectReasons).toEqual(streamingReasons(r.streaming.rejects));
  // the reduced rows themselves: every one accepted, none a duplicate
  expect(r.reduced.rows).toEqual({ read: r.reducedRows, accepted: r.reducedRows - r.reduced.rows.ignored, rejected: 0, ignored: r.reduced.rows.ignored, duplicates: 0 });
}

const report: string[] = [];
afterAll(() => {
  if (report.length) console.log(`athena reduction:\n  ${report.join('\n  ')}`);
});

describe('SQL reduction on DuckDB == streaming path', () => {
  it('the sample export (order ids, margin, currency, two dimensions, bad rows, duplicates)', async () => {
    const path = join(ROOT, 'examples/sample-export.csv.gz');
    const raw = JSON.parse(readFileSync(join(ROOT, 'examples/sample-config.json'), 'utf8')) as ConfigInput;
    const r = await both([fileInput(path)], csvTable(path), raw);
    expectSameEverything(r);
    expect(r.streaming.rows.rejected).toBeGreaterThan(0);
    expect(r.streaming.rows.duplicates).toBeGreaterThan(0);
    expect(r.reduced.s.dimensionCount).toBe(2);
    expect(r.reducedRows).toBeLessThan(r.streaming.rows.accepted);
    report.push(`sample export: ${r.streaming.rows.read} rows read, ${r.streaming.rows.accepted} accepted -> ${r.reducedRows} reduced rows (${((r.reducedRows / r.streaming.rows.accepted) * 100).toFixed(1)}%), ${r.parquetBytes} bytes of Parquet`);
  }, 60_000);

  it('CDNOW master (whitespace-separated, no order id: only same-day refunds could merge)', async () => {
    const path = join(cdnowDir(), 'CDNOW_master.txt');
    const raw = JSON.parse(readFileSync(join(ROOT, 'examples/cdnow-master.json'), 'utf8')) as ConfigInput;
    // Athena's CSV SerDe cannot split runs of blanks (infra refuses that config); DuckDB splits them here.
    const table =
      `(SELECT f[1] AS customer_id, f[2] AS "date", f[3] AS number_of_cds, f[4] AS dollar_value\n` +
      ` FROM (SELECT string_split_regex(regexp_replace(line, '^\\s+|\\s+$', '', 'g'), '\\s+') AS f\n` +
      `       FROM (SELECT unnest(string_split(content, chr(10))) AS line FROM read_text(${sqlPath(path)})))\n` +
      ` WHERE f[1] <> '' AND f[1] <> 'customer_id')`;
    const r = await both([fileInput(path)], table, raw);
    expectSameEverything(r);
    expect(r.streaming.rows.accepted).toBe(69659);
    expect(r.streaming.s.n).toBe(23570);
    expect(r.reducedRows).toBe(r.streaming.rows.accepted);
    report.push(`CDNOW master: ${r.streaming.rows.read} rows read, ${r.streaming.rows.accepted} accepted -> ${r.reducedRows} reduced rows (no order id: no reduction in rows), ${r.parquetBytes} bytes of Parquet`);
  }, 60_000);
});

// -------------------------------------------------------------------------------------------------
// Edge cases: every row rule, written to disagree if one side bends it.

const EDGE_HEADER = 'order_id,customer_id,order_date,qty,price,cost,currency,region';
/** [order id, customer, date, qty, price, cost, currency, region]; quoted where a comma is in the value. */
const EDGE_ROWS: string[][] = [
  // instants converted to America/New_York (UTC-5 in winter, -4 in summer), local times kept as written
  ['A1', 'c1', '2024-03-10T06:30:00Z', '2', '5', '1', 'EUR', 'north'],
  ['A2', 'c1', '2024-03-10T04:59:59.999Z', '1', '3', '', 'eur', 'north'], // 23:59:59.999 on the 9th in New York
  ['A3', 'c1', '2024-03-10T05:00:00.000Z', '1', '3', '', 'EUR', 'south'], // 00:00 on the 10th
  ['A4', 'c2', '2024-01-01T00:30:00+01:00', '1', '10', '4', 'EUR', 'west'], // 2023-12-31 in New York
  ['A5', 'c2', '2024-01-01 23:59', '1', '7.5', '2', 'EUR', 'west'],
  ['A6', 'c2', '2024-06-30T23:30:00-0400', '3', '1.25', '', 'EUR', 'east'],
  ['A7', 'c3', '"2024-02-29T12:00:00,5Z"', '1', '20', '5', ' EUR ', 'north'],
  ['A8', 'c3', '2024-11-03T05:30:00+00:00', '1', '4', '1', 'EUR', 'north'], // DST ends that night
  ['A9', 'c3', '2024-11-03T06:30:00+00', '1', '4', '1', 'EUR', 'north'],
  // lines of one order, a refund on the same order and day, a refund-only customer
  ['B1', 'c4', '2024-04-01', '1', '12', '3', 'EUR', 'east'],
  ['B1', 'c4', '2024-04-01', '2', '8', '3', 'EUR', 'east'],
  ['B1', 'c4', '2024-04-01', '1', '-12', '-3', 'EUR', 'east'],
  ['B2', 'c4', '2024-05-02', '1', '0', '', 'EUR', 'east'], // a $0 purchase is a purchase
  ['B3', 'c5', '2024-04-03', '1', '-9.99', '', 'EUR', 'south'],
  ['B4', 'c5', '2024-04-05', '1', '-5', '', 'EUR', 'west'],
  ['B6', 'c9', '2024-03-01', '1', '-4', '', 'EUR', 'west'], // an earlier refund elsewhere: the purchase's region counts
  ['B7', 'c9', '2024-03-05', '1', '9', '', 'EUR', 'east'],
  // exact duplicates (dropped) and equal-looking rows without an order id (two purchases: 2 x 5 and 5 x 2)
  ['B5', 'c6', '2024-04-07', '1', '15', '5', 'EUR', 'north'],
  ['B5', 'c6', '2024-04-07', '1', '15', '5', 'EUR', 'north'],
  ['B5', 'c6', '2024-04-07', '1', '15.00', '5', 'EUR', 'north'], // same numbers: a duplicate too
  ['', 'c6', '2024-04-08', '2', '5', '', 'EUR', 'north'],
  ['', 'c6', '2024-04-08', '5', '2', '', 'EUR', 'north'],
  ['', 'c6', '2024-04-08', '5', '2', '', 'EUR', 'north'], // an exact repeat: a duplicate
  ['', 'c6', '2024-04-08', '1', '-1', '', 'EUR', 'north'],
  // numbers the rule accepts
  ['C1', 'c7', '2024-07-01', ' +3 ', '.5', '0.25', 'EUR', 'south'],
  ['C2', 'c7', '2024-07-02', '5.', '1e1', '1E0', 'EUR', 'south'],
  // after the as-of date (2024-12-31 in the as-of case)
  ['C3', 'c7', '2025-01-02', '1', '99', '', 'EUR', 'south'],
  ['C3', 'c7', '2025-01-02', '1', '99', '', 'EUR', 'south'],
  // rejects, one per reason
  ['R1', '  ', '2024-01-05', '1', '1', '', 'EUR', 'north'],
  ['R2', 'c8', '', '1', '1', '', 'EUR', 'north'],
  ['R3', 'c8', '2024-02-30', '1', '1', '', 'EUR', 'north'],
  ['R4', 'c8', '0000-01-01', '1', '1', '', 'EUR', 'north'],
  ['R5', 'c8', '2024-01-05T24:00', '1', '1', '', 'EUR', 'north'],
  ['R6', 'c8', '2024-01-05T10:00+19', '1', '1', '', 'EUR', 'north'],
  ['R7', 'c8', '2024-01-05T10:00Z1', '1', '1', '', 'EUR', 'north'],
  ['R8', 'c8', '2024-1-05', '1', '1', '', 'EUR', 'north'],
  ['R9', 'c8', 'soon', '1', '1', '', 'EUR', 'north'],
  ['R10', 'c8', '2024-01-05', '', '1', '', 'EUR', 'north'],
  ['R11', 'c8', '2024-01-05', '1', '"1,234.50"', '', 'EUR', 'north'],
  ['R12', 'c8', '2024-01-05', '1', '"12,50"', '', 'EUR', 'north'],
  ['R13', 'c8', '2024-01-05', '1', '(12.00)', '', 'EUR', 'north'],
  ['R14', 'c8', '2024-01-05', '1', 'NaN', '', 'EUR', 'north'],
  ['R15', 'c8', '2024-01-05', '1', '1e400', '', 'EUR', 'north'],
  ['R16', 'c8', '2024-01-05', '1', '$12', '', 'EUR', 'north'],
  ['R17', 'c8', '2024-01-05', 'two', '12', '', 'EUR', 'north'],
  ['R18', 'c8', '2024-01-05', '1e200', '1e200', '', 'EUR', 'north'],
  ['R19', 'c8', '2024-01-05', '1', '12', '', '', 'north'],
  ['R20', 'c8', '2024-01-05', '1', '12', '', 'USD', 'north'],
  ['R21', 'c8', '2024-01-05', '1', '12', '', 'EURO-DOLLARS-X', 'north'],
  ['R22', 'c8', '2024-01-05', '1', '12', 'abc', 'EUR', 'north'],
  ['R23', 'c8', '2024-01-05', '1', '12', '"1.234,5"', 'EUR', 'north'],
];

const EDGE_CONFIG: ConfigInput = {
  timezone: 'America/New_York',
  currency: 'EUR',
  input: {
    format: 'csv',
    columns: { customerId: 'customer_id', orderDate: 'order_date', amount: null, quantity: 'qty', unitPrice: 'price', orderId: 'order_id', cost: 'cost', currency: 'currency', dimensions: ['region'] },
    dateFormat: 'iso',
    maxRejectShare: 1,
  },
  tiers: { bounds: [10], names: ['small', 'large'] },
};

function edgeFile(name: string, header: string, rows: string[][]): { file: InputFile; path: string } {
  const text = [header, ...rows.map((r) => r.join(','))].join('\n') + '\n';
  const path = join(dir, name);
  writeFileSync(path, text);
  return { file: memoryFile(path, text), path };
}

describe('SQL row rules == streaming row rules', () => {
  it('timestamps with offsets, local times, numbers, currency, cost, refunds, duplicates, every reject reason', async () => {
    const { file, path } = edgeFile('edge.csv', EDGE_HEADER, EDGE_ROWS);
    const r = await both([file], csvTable(path, EDGE_HEADER), EDGE_CONFIG);
    expectSameEverything(r);
    // the cases are really exercised
    expect(Object.keys(r.accounting.rejectReasons).length).toBeGreaterThanOrEqual(15);
    expect(r.accounting.rows.duplicates).toBe(4); // B5 twice, the repeat without order id, C3's repeat (no as-of here)
    const c1 = r.reduced.s.ids.indexOf('c1');
    expect(r.reduced.s.firstDay[c1]).toBe(isoToDay('2024-03-09'));
    const c2 = r.reduced.s.ids.indexOf('c2');
    expect(r.reduced.s.firstDay[c2]).toBe(isoToDay('2023-12-31'));
    const c6 = r.reduced.s.ids.indexOf('c6');
    expect(r.reduced.s.orders[c6]).toBe(3); // B5 once, and two purchases without an order id
    const c9 = r.reduced.s.ids.indexOf('c9');
    expect(r.reduced.s.dimValues[0][r.reduced.s.dims[c9]]).toBe('east');
  });

  it('with an as-of date: later rows are ignored (duplicates among them too), as in the streaming path', async () => {
    const { file, path } = edgeFile('edge-asof.csv', EDGE_HEADER, EDGE_ROWS);
    const r = await both([file], csvTable(path, EDGE_HEADER), EDGE_CONFIG, '2024-12-31');
    expectSameEverything(r);
    expect(r.accounting.rows.ignored).toBe(2);
  });

  it('input.dedupe "never" keeps the repeats, "always" drops them without an order id too', async () => {
    const { file, path } = edgeFile('edge-dedupe.csv', EDGE_HEADER, EDGE_ROWS);
    const never = await both([file], csvTable(path, EDGE_HEADER), { ...EDGE_CONFIG, input: { ...EDGE_CONFIG.input, dedupe: 'never' } });
    expectSameEverything(never);
    expect(never.accounting.rows.duplicates).toBe(0);
    const noOrderId = { ...EDGE_CONFIG.input!, columns: { ...EDGE_CONFIG.input!.columns!, orderId: null }, dedupe: 'always' as const };
    const always = await both([file], csvTable(path, EDGE_HEADER), { ...EDGE_CONFIG, input: noOrderId });
    expectSameEverything(always);
    expect(always.accounting.rows.duplicates).toBe(5); // and A8/A9: without their order ids, the same row on the same New York day
  });

  it('dd/MM/yyyy with times, amount column, margin column, no order id (no de-duplication), two dimensions', async () => {
    const header = 'customer,when,amount,margin,region,plan';
    const rows = [
      ['k1', '31/01/2024 10:00-03:00', '10', '2', 'n', 'basic'],
      ['k1', '1/2/2024', '10', '2', 'n', 'basic'],
      ['k1', '1/2/2024', '10', '2', 'n', 'basic'], // equal rows without an order id: two purchases
      ['k1', '01/02/2024T23:30:00-05:00', '-4', '', 's', 'pro'],
      ['k2', '29/02/2024 00:10+01:00', '3', '', 's', 'pro'], // 28/02 in New York
      ['k2', '5/3/2024', '-3', '-1', 's', 'pro'],
      ['k2', '5/3/2024', '-2', '-1', 's', 'pro'], // same-day refunds merge
      ['k3', '29/02/2023', '5', '1', 'n', 'basic'], // impossible
      ['k3', '13/13/2024', '5', '1', 'n', 'basic'], // impossible
      ['k3', '1/2/2024 7pm', '5', '1', 'n', 'basic'], // bad time
      ['k3', '2024-02-01', '5', '1', 'n', 'basic'], // not this format
      ['k3', '2/2/2024', '5', '1x', 'n', 'basic'], // bad margin
      ['k4', '3/3/2024', '-1', '', 'e', 'free'], // refunds only
      ['k4', '2/3/2024', '-1', '', 'w', 'free'],
    ];
    const { file, path } = edgeFile('edge-dmy.csv', header, rows);
    const raw: ConfigInput = {
      timezone: 'America/New_York',
      input: {
        format: 'csv',
        columns: { customerId: 'customer', orderDate: 'when', amount: 'amount', margin: 'margin', dimensions: ['region', 'plan'] },
        dateFormat: 'dd/MM/yyyy',
        maxRejectShare: 1,
      },
      tiers: { bounds: [5], names: ['small', 'large'] },
    };
    const r = await both([file], csvTable(path, header), raw);
    expectSameEverything(r);
    expect(r.accounting.rows.rejected).toBe(5);
    expect(r.reducedRows).toBe(r.streaming.rows.accepted - 1); // only the two same-day refunds merged
    const k2 = r.reduced.s.ids.indexOf('k2');
    expect(r.reduced.s.firstDay[k2]).toBe(isoToDay('2024-02-28'));
  });
});

describe('SQL text', () => {
  const config = parseConfig(EDGE_CONFIG);
  it('Athena dialect uses Trino functions only, DuckDB its own', () => {
    const a = buildReductionSql(config, { table: '"db"."sales_export"', dialect: 'athena' });
    const d = buildReductionSql(config, { table: 'x', dialect: 'duckdb' });
    expect(a).toContain('regexp_like(');
    expect(a).toContain("from_unixtime(");
    expect(a).toContain('is_finite(');
    expect(a).not.toMatch(/regexp_matches|isfinite\(|timezone\(|'g'\)/);
    expect(d).toContain('regexp_matches(');
    expect(d).not.toMatch(/regexp_like|is_finite|from_unixtime/);
    expect(a).not.toContain('ORDER BY 1'); // no global sort on Athena unless asked
    expect(a).toContain('FROM "db"."sales_export" AS export');
    // the export table is scanned once: only the first CTE reads it
    expect(a.match(/sales_export/g)).toHaveLength(1);
  });

  it('numeric references and Glue names: col<i> by default, or the names given', () => {
    const c = parseConfig({ input: { csv: { header: false }, columns: { customerId: 0, orderDate: 2, amount: 4 } } });
    expect(buildReductionSql(c, { table: 't', dialect: 'athena' })).toContain('"col4"');
    expect(buildReductionSql(c, { table: 't', dialect: 'athena', columnNames: { '4': 'dollar_value' } })).toContain('"dollar_value"');
  });

  it('UNLOAD wraps the query and refuses a target that is not an s3:// prefix', () => {
    const u = buildUnloadSql('SELECT 1;', 's3://bucket-1/out/athena/run-1/');
    expect(u).toBe("UNLOAD (SELECT * FROM (\nSELECT 1\n))\nTO 's3://bucket-1/out/athena/run-1/'\nWITH (format = 'PARQUET', compression = 'SNAPPY')");
    expect(() => buildUnloadSql('SELECT 1', 's3://bucket-1/out')).toThrow(/ending in/);
    expect(() => buildUnloadSql('SELECT 1', "s3://b'x/out/")).toThrow(/s3:\/\//);
  });

  it('reduced input config: Parquet, fixed names, dimension names kept where they are plain identifiers', () => {
    const c = parseConfig({ input: { columns: { orderId: 'oid', cost: 'c', dimensions: ['Region', 'amount', 'sales channel', 'dim_1'] } } });
    expect(reducedDimensionNames(c)).toEqual(['region', 'dim_1', 'dim_2', 'dim_3']); // "dim_1" is taken by then
    const c2 = parseConfig({ input: { columns: { dimensions: ['Region', 'amount', 'sales channel'] } } });
    expect(reducedDimensionNames(c2)).toEqual(['region', 'dim_1', 'dim_2']);
    const input = reducedInputConfig(c);
    expect(input.format).toBe('parquet');
    expect(input.extensions).toEqual([]);
    expect(input.columns).toMatchObject({ customerId: 'customer_id', orderDate: 'order_date', amount: 'amount', orderId: 'order_id', margin: 'margin', cost: null, currency: null });
    expect(reducedInputConfig(parseConfig({})).columns.orderId).toBeNull();
    expect(parseConfig({ input: input }).input).toEqual(input); // a valid input section
  });

  it('row accounting validates what the engine returns', () => {
    const acc = rowAccounting([
      { outcome: 'valid', reason: null, column_name: null, row_count: '10', duplicates: '2', example: null },
      { outcome: 'ignored', reason: null, column_name: null, row_count: 3n, duplicates: 0, example: null },
      { outcome: 'rejected', reason: 'impossible date "2024-02-30"', column_name: 'order_date', row_count: 1, duplicates: 0, example: '2024-02-30' },
    ]);
    expect(acc.rows).toEqual({ read: 14, accepted: 8, rejected: 1, ignored: 3, duplicates: 2 });
    expect(acc.rejectReasons).toEqual({ 'impossible date "…"': 1 });
    expect(() => rowAccounting([{ outcome: 'odd', row_count: 1, duplicates: 0 }])).toThrow(/row 1: "outcome"/);
  });
});
