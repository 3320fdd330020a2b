/**
 * Synthetic exports from the command line.
 *
 *   npx tsx scripts/generate/cli.ts sample
 *       examples/sample-export.csv.gz + examples/sample-config.json (+ scripts/generate/sample-truth.json)
 *   npx tsx scripts/generate/cli.ts bench [--rows 10000000] [--customers 1000000] [--months 36] [--out bench/data] [--seed 8] [--no-parquet]
 *       <out>/export.csv.gz, then <out>/export.parquet (snappy, via DuckDB), <out>/truth.json
 *   npx tsx scripts/generate/cli.ts scenario --scenario small-drop [--seed 7] [--customers 3000] [--months 24]
 *       [--end 2026-10-31] [--drop-from YYYY-MM-DD] [--drop-region APAC] [--bad 10] --out file.csv[.gz]
 */
import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { calibrateRateMultiplier, OptionError, REGIONS, SCENARIOS, writeShopCsv, type ExportOptions, type Region, type Scenario } from './index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

class UsageError extends OptionError {}

/**
 * The committed sample: what `npm start` runs on. A drop is planted for small customers from
 * May 2026 (they buy in a given month with 40% of the usual probability if acquired since, 60%
 * if acquired before) so the demo shows what the product is for: a warning about the long tail.
 */
export const SAMPLE_OPTIONS: ExportOptions = {
  seed: 2026,
  customers: 12000,
  months: 30,
  endDate: '2026-10-31',
  scenario: 'small-drop',
  dropFrom: '2026-05-01',
  dropFactor: 0.4,
  existingDropFactor: 0.6,
  bad: { date: 3, amount: 2, customer: 2, currency: 2, duplicate: 2 },
};

export const SAMPLE_CONFIG = {
  timezone: 'America/New_York',
  currency: 'USD',
  input: {
    format: 'csv',
    csv: { delimiter: ',', header: true },
    columns: {
      customerId: 'customer_id',
      orderDate: 'order_date',
      amount: 'amount',
      orderId: 'order_id',
      margin: 'margin',
      currency: 'currency',
      dimensions: ['region', 'channel'],
    },
    dateFormat: 'iso',
    maxRejectShare: 0.01,
  },
  cohort: { period: 'month' },
  tiers: { basis: 'firstOrderValue', bounds: [50, 250], names: ['small', 'mid', 'large'] },
  report: { from: 'tailwatch@example.com', to: ['leadership@example.com'], company: 'Example Shop' },
};

function num(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name}: expected a number, got "${v}"`);
  return n;
}

async function sample(): Promise<void> {
  const csv = join(root, 'examples/sample-export.csv.gz');
  const res = await writeShopCsv({ ...SAMPLE_OPTIONS, gzipLevel: 9 }, csv);
  await writeFile(join(root, 'examples/sample-config.json'), JSON.stringify(SAMPLE_CONFIG, null, 2) + '\n');
  await writeFile(join(root, 'scripts/generate/sample-truth.json'), JSON.stringify({ options: SAMPLE_OPTIONS, ...res }, null, 2) + '\n');
  const size = (await stat(csv)).size;
  console.log(`${csv}: ${res.rows} rows (${res.bad?.rejects} to reject, ${res.bad?.duplicates} duplicates), ${res.customers} customers, ${(size / 1e6).toFixed(2)} MB`);
  console.log(res.truth.description);
}

async function bench(args: Record<string, string | boolean | undefined>): Promise<void> {
  const rows = num(args.rows as string, 'rows', 10_000_000);
  const customers = num(args.customers as string, 'customers', 1_000_000);
  const months = num(args.months as string, 'months', 36);
  const seed = num(args.seed as string, 'seed', 8);
  const out = resolve((args.out as string) ?? 'bench/data');
  await mkdir(out, { recursive: true });
  const opts: ExportOptions = { seed, customers, months, endDate: '2026-10-31', scenario: 'control', gzipLevel: 6 };
  let t = performance.now();
  opts.rateMultiplier = calibrateRateMultiplier(opts, rows, 50_000);
  console.error(`calibrated purchase-rate multiplier ${opts.rateMultiplier.toFixed(3)} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const csv = join(out, 'export.csv.gz');
  t = performance.now();
  const res = await writeShopCsv(opts, csv);
  const csvSeconds = (performance.now() - t) / 1000;
  const csvBytes = (await stat(csv)).size;
  console.error(`${csv}: ${res.rows} rows, ${res.customers} customers, ${(csvBytes / 1e6).toFixed(0)} MB gz, ${csvSeconds.toFixed(1)} s (${Math.round(res.rows / csvSeconds)} rows/s)`);
  let parquetSeconds: number | null = null;
  let parquetBytes: number | null = null;
  const parquet = join(out, 'export.parquet');
  if (!args['no-parquet']) {
    t = performance.now();
    await toParquet(csv, parquet);
    parquetSeconds = (performance.now() - t) / 1000;
    parquetBytes = (await stat(parquet)).size;
    console.error(`${parquet}: ${(parquetBytes / 1e6).toFixed(0)} MB, ${parquetSeconds.toFixed(1)} s`);
  }
  await writeFile(
    join(out, 'truth.json'),
    JSON.stringify({ options: opts, rows: res.rows, customers: res.customers, csvSeconds, csvBytes, parquetSeconds, parquetBytes, truth: res.truth }, null, 2) + '\n',
  );
}

/** CSV(.gz) -> Parquet (snappy) with DuckDB; column types pinned so ids stay text and money stays decimal-exact as double. */
export async function toParquet(csv: string, parquet: string): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const tmp = `${parquet}.${process.pid}.tmp`;
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const con = await db.connect();
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  await con.run(
    `COPY (SELECT * FROM read_csv(${q(csv)}, header = true, columns = {'order_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'order_date': 'DATE', ` +
      `'amount': 'DOUBLE', 'margin': 'DOUBLE', 'region': 'VARCHAR', 'channel': 'VARCHAR', 'currency': 'VARCHAR'})) ` +
      `TO ${q(tmp)} (FORMAT parquet, COMPRESSION snappy)`,
  );
  con.closeSync();
  db.closeSync();
  await rename(tmp, parquet);
}

async function scenario(args: Record<string, string | boolean | undefined>): Promise<void> {
  const sc = (args.scenario as string) ?? 'control';
  if (!SCENARIOS.includes(sc as Scenario)) throw new UsageError(`--scenario: expected one of ${SCENARIOS.join(', ')}, got "${sc}"`);
  const region = (args['drop-region'] as string) ?? 'APAC';
  if (!REGIONS.includes(region as Region)) throw new UsageError(`--drop-region: expected one of ${REGIONS.join(', ')}, got "${region}"`);
  if (!args.out) throw new UsageError('--out: give the file to write (.csv or .csv.gz)');
  const nBad = num(args.bad as string, 'bad', 0);
  const per = Math.floor(nBad / 5);
  const opts: ExportOptions = {
    seed: num(args.seed as string, 'seed', 7),
    customers: num(args.customers as string, 'customers', 3000),
    months: num(args.months as string, 'months', 24),
    endDate: (args.end as string) ?? '2026-10-31',
    scenario: sc as Scenario,
    dropRegion: region as Region,
    dropFrom: args['drop-from'] as string | undefined,
    bad: nBad ? { date: per + (nBad % 5), amount: per, customer: per, currency: per, duplicate: per } : undefined,
  };
  const out = resolve(args.out as string);
  const res = await writeShopCsv(opts, out);
  await writeFile(out.replace(/\.csv(\.gz)?$/, '') + '.truth.json', JSON.stringify({ options: opts, ...res }, null, 2) + '\n');
  console.log(`${out}: ${res.rows} rows, ${res.customers} customers; ${res.truth.description}`);
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      rows: { type: 'string' },
      customers: { type: 'string' },
      months: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      scenario: { type: 'string' },
      end: { type: 'string' },
      'drop-from': { type: 'string' },
      'drop-region': { type: 'string' },
      bad: { type: 'string' },
      'no-parquet': { type: 'boolean' },
    },
  });
  const cmd = positionals[0];
  if (cmd === 'sample') return sample();
  if (cmd === 'bench') return bench(values);
  if (cmd === 'scenario') return scenario(values);
  throw new UsageError(`usage: cli.ts sample | bench [--rows N --customers N --months N --out DIR] | scenario --scenario NAME --out FILE`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    if (e instanceof OptionError) {
      console.error(`error: ${(e as Error).message}`);
      process.exit(2);
    }
    throw e;
  });
}
