/**
 * `npm run bench`: a 10-million-row export (1,000,000 customers, 36 months, two dimensions)
 * as CSV.gz and as Parquet; times `tailwatch run` on each as a whole process (ingest +
 * summary + cohorts + models + alerts + report + outputs, no send), and the same
 * aggregation (per-customer summary + monthly cohort counts) done by DuckDB on the same files
 * as the reference. Writes bench/results.json and prints a table. Not a test; not run in CI.
 *
 *   npm run bench [-- --rows 10000000 --customers 1000000 --threads 2]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultParseWorkers } from '../lib/ingest/parallel.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BENCH_NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? '--max-old-space-size=768';
const BENCH = path.join(ROOT, 'bench');
const DATA = path.join(BENCH, 'data');

interface ProcessRun {
  wallSeconds: number;
  peakRssMb: number;
  code: number;
  stderr: string;
  stdout: string;
}

/** Runs a command, measuring wall time and the child's peak RSS (GNU time's %M when present, else the manifest). */
function timed(cmd: string, args: string[], env: Record<string, string> = {}): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const useTime = existsSync('/usr/bin/time');
    const child = spawn(useTime ? '/usr/bin/time' : cmd, useTime ? ['-f', 'TAILWATCH_MAXRSS_KB=%M', cmd, ...args] : args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const kb = /TAILWATCH_MAXRSS_KB=(\d+)/.exec(stderr)?.[1];
      resolve({ wallSeconds: (performance.now() - t) / 1000, peakRssMb: kb ? Math.round(Number(kb) / 1024) : NaN, code: code ?? 1, stderr, stdout });
    });
  });
}

/** DuckDB's version of the aggregation the streaming path does in its one pass. */
export function duckdbAggregationSql(source: string): string {
  return `
    WITH rows AS (SELECT DISTINCT customer_id, order_id, order_date::DATE AS d, amount, margin, region, channel FROM ${source}),
    days AS (SELECT customer_id, d, sum(amount) AS value, bool_or(amount >= 0) AS purchase FROM rows GROUP BY ALL),
    customers AS (
      SELECT customer_id, min(d) FILTER (WHERE purchase) AS first_day, max(d) FILTER (WHERE purchase) AS last_day,
             count(*) FILTER (WHERE purchase) AS purchase_days, sum(value) AS revenue
      FROM days GROUP BY customer_id),
    activity AS (
      SELECT date_trunc('month', c.first_day) AS cohort, date_diff('month', date_trunc('month', c.first_day), date_trunc('month', dd.d)) AS age,
             count(DISTINCT dd.customer_id) AS active, sum(dd.value) AS revenue
      FROM days dd JOIN customers c USING (customer_id) WHERE c.first_day IS NOT NULL AND dd.purchase GROUP BY ALL)
    SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM activity) AS cohort_cells, (SELECT sum(revenue) FROM customers) AS revenue`;
}

async function duckdbReference(file: string, threads: number): Promise<ProcessRun & { result?: unknown }> {
  const src = file.endsWith('.parquet') ? `read_parquet('${file}')` : `read_csv('${file}', header = true)`;
  const script = `
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:', { threads: '${threads}' });
    const con = await db.connect();
    const r = await con.runAndReadAll(${JSON.stringify(duckdbAggregationSql(src))});
    process.stdout.write(JSON.stringify(r.getRowObjectsJson()[0]));`;
  const run = await timed(process.execPath, ['--input-type=module', '-e', script]);
  return { ...run, result: run.code === 0 ? JSON.parse(run.stdout) : run.stderr.slice(-500) };
}

async function tailwatchRun(file: string, label: string): Promise<Record<string, unknown>> {
  const out = path.join(BENCH, 'out', label);
  await rm(out, { recursive: true, force: true });
  const config = path.join(BENCH, 'config.json');
  // The V8 heap cap the Lambda runs with (infra/compute.ts NODE_OPTIONS): V8 collects sooner instead of growing into memory.
  const run = await timed(process.execPath, [path.join(ROOT, 'scripts/tailwatch.mjs'), 'run', '--input', file, '--out', out, '--config', config, '--quiet'], {
    NODE_OPTIONS: BENCH_NODE_OPTIONS,
  });
  if (run.code !== 0) throw new Error(`tailwatch run on ${file} failed:\n${run.stderr.slice(-2000)}`);
  const manifestPath = (await import('node:fs')).readdirSync(path.join(out, 'runs')).map((d) => path.join(out, 'runs', d, 'manifest.json'))[0];
  const m = JSON.parse(await readFile(manifestPath, 'utf8'));
  const ingestAggregate = (m.timingsMs.ingest + m.timingsMs.summary + m.timingsMs.cohorts) / 1000;
  return {
    file: path.relative(ROOT, file),
    bytes: (await stat(file)).size,
    rows: m.rows.read,
    customers: m.customers,
    wallSeconds: round(run.wallSeconds),
    rowsPerSecond: Math.round(m.rows.read / run.wallSeconds),
    ingestAggregateSeconds: round(ingestAggregate),
    ingestRowsPerSecond: Math.round(m.rows.read / (m.timingsMs.ingest / 1000)),
    stageSeconds: Object.fromEntries(Object.entries(m.timingsMs as Record<string, number>).map(([k, v]) => [k, round(v / 1000)])),
    stagePeakRssMb: m.stagePeakRssMb,
    peakRssMb: Number.isNaN(run.peakRssMb) ? m.peakRssMb : run.peakRssMb,
  };
}

const round = (x: number) => Math.round(x * 100) / 100;

export async function bench(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { rows: { type: 'string', default: '10000000' }, customers: { type: 'string', default: '1000000' }, threads: { type: 'string', default: '2' }, regenerate: { type: 'boolean', default: false } },
  });
  await mkdir(DATA, { recursive: true });
  const csv = path.join(DATA, 'export.csv.gz');
  const parquet = path.join(DATA, 'export.parquet');
  const truthFile = path.join(DATA, 'truth.json');
  const truth = existsSync(truthFile) ? JSON.parse(await readFile(truthFile, 'utf8')) : null;
  if (values.regenerate || !existsSync(csv) || !existsSync(parquet) || truth?.options?.customers !== Number(values.customers)) {
    process.stderr.write(`generating ${values.rows} rows for ${values.customers} customers in ${DATA} ...\n`);
    const gen = await timed(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/generate/cli.ts', 'bench', '--rows', values.rows!, '--customers', values.customers!, '--out', DATA]);
    if (gen.code !== 0) throw new Error(`generator failed: ${gen.stderr.slice(-2000)}`);
  }
  await writeFile(
    path.join(BENCH, 'config.json'),
    JSON.stringify({ input: { columns: { orderId: 'order_id', margin: 'margin', currency: 'currency', dimensions: ['region', 'channel'] } }, report: { company: 'Bench' } }, null, 2),
  );
  const results: Record<string, unknown> = {
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    nodeOptions: BENCH_NODE_OPTIONS,
    // CSV parse worker threads the runs start (TAILWATCH_PARSE_WORKERS, else by CPU count: lib/ingest/parallel.ts)
    parseWorkers: defaultParseWorkers(),
    date: new Date().toISOString(),
  };
  for (const [label, file] of [['csv.gz', csv], ['parquet', parquet]] as const) {
    process.stderr.write(`tailwatch run on ${label} ...\n`);
    const tw = await tailwatchRun(file, label.replace('.', '-'));
    process.stderr.write(`DuckDB (${values.threads} threads) on ${label} ...\n`);
    const dd = await duckdbReference(file, Number(values.threads));
    results[label] = {
      tailwatch: tw,
      duckdb: { wallSeconds: round(dd.wallSeconds), peakRssMb: dd.peakRssMb, result: dd.result },
      ratioIngestAggregateToDuckdb: round((tw.ingestAggregateSeconds as number) / dd.wallSeconds),
    };
  }
  await writeFile(path.join(BENCH, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  const out = [
    line(['input', 'rows', 'tailwatch wall s', 'rows/s', 'ingest+aggregate s', 'DuckDB s', 'ratio', 'peak RSS MB', 'DuckDB RSS MB']),
    line(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...(['csv.gz', 'parquet'] as const).map((k) => {
      const r = results[k] as { tailwatch: Record<string, number>; duckdb: Record<string, number>; ratioIngestAggregateToDuckdb: number };
      return line([k, r.tailwatch.rows, r.tailwatch.wallSeconds, r.tailwatch.rowsPerSecond, r.tailwatch.ingestAggregateSeconds, r.duckdb.wallSeconds, r.ratioIngestAggregateToDuckdb, r.tailwatch.peakRssMb, r.duckdb.peakRssMb]);
    }),
  ];
  process.stdout.write(`${out.join('\n')}\n\nstages (s): ${JSON.stringify((results['csv.gz'] as { tailwatch: { stageSeconds: unknown } }).tailwatch.stageSeconds)}\nwritten to bench/results.json\n`);
  return 0;
}
