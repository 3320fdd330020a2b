import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config.js';
import { parseManifest } from '../lib/manifest.js';
import { MAX_KEPT_REJECTS, runPipeline, type RunResult } from '../lib/pipeline.js';
import { RunFailedError } from '../lib/errors.js';
import { tableDefs, TABLE_NAMES, type ColumnType } from '../lib/outputs/schema.js';
import { FsStorage, listLocalInputs } from '../functions/local/fs.js';
import { duck } from './helpers/duckdb.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const config = parseConfig(JSON.parse(readFileSync(path.join(ROOT, 'examples/sample-config.json'), 'utf8')));
const DUCK_TYPE: Record<ColumnType, string> = { string: 'VARCHAR', int: 'INTEGER', bigint: 'BIGINT', double: 'DOUBLE', date: 'DATE', boolean: 'BOOLEAN' };

let dir: string;
let first: RunResult;
let db: Awaited<ReturnType<typeof duck>>;

async function run(asOf?: string, out = dir): Promise<RunResult> {
  const inputs = await listLocalInputs(path.join(ROOT, 'examples/sample-export.csv.gz'), config.input.extensions);
  return runPipeline({ inputs, out: new FsStorage(out), config, asOf });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tailwatch-pipeline-'));
  first = await run();
  db = await duck();
}, 180_000);
afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pipeline outputs on the sample export', () => {
  it('writes every table where DESIGN.md says, with the schema DuckDB reads back', async () => {
    const d = first.runDate;
    for (const def of tableDefs(config.input.columns.dimensions)) {
      const file = path.join(dir, def.name, `run_date=${d}`, 'part-00000.parquet');
      const cols = await db.columns(`SELECT * FROM read_parquet('${file}', hive_partitioning = false)`);
      expect(cols.map((c) => c.name), def.name).toEqual(def.columns.map((c) => c.name));
      expect(cols.map((c) => c.type), def.name).toEqual(def.columns.map((c) => DUCK_TYPE[c.type]));
    }
    for (const f of ['manifest.json', 'model.json', 'rejects.csv', 'report.html', 'report.txt', 'report.eml'])
      expect(readdirSync(path.join(dir, 'runs', `run_date=${d}`))).toContain(f);
  });

  it('keeps the row accounting whole and reconciles revenue with the input', async () => {
    const m = parseManifest(readFileSync(path.join(dir, 'runs', `run_date=${first.runDate}`, 'manifest.json')), 'manifest');
    const r = m.rows;
    expect(r.read).toBe(r.accepted + r.rejected + r.ignored + r.duplicates);
    expect(r.rejected).toBeGreaterThan(0);
    const rejects = readFileSync(path.join(dir, 'runs', `run_date=${first.runDate}`, 'rejects.csv'), 'utf8').trim().split('\n');
    expect(rejects.length - 1).toBe(r.rejected);
    // Revenue of all accepted rows, summed by DuckDB straight from the export, minus the rejected and duplicate rows.
    const [all] = await db.query(
      `SELECT revenue, customers FROM read_parquet('${dir}/segments/*/*.parquet', hive_partitioning = true) WHERE tier = 'all' AND segment = 'all'`,
    );
    const [cust] = await db.query(`SELECT count(*) AS n, round(sum(revenue), 2) AS revenue FROM read_parquet('${dir}/customers/*/*.parquet')`);
    expect(Number(cust.n)).toBe(m.customers);
    expect(Number(all.revenue)).toBeCloseTo(Number(cust.revenue), 1);
    const [cohort0] = await db.query(
      `SELECT min(retention) AS lo, max(retention) AS hi FROM read_parquet('${dir}/cohorts/*/*.parquet') WHERE period = 0`,
    );
    expect([cohort0.lo, cohort0.hi]).toEqual([1, 1]);
  });

  it('answers the analyst queries documented in the README', async () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const queries = [...readme.matchAll(/```sql\n([\s\S]*?)```/g)].flatMap((m) => m[1].split(/;\s*\n/)).map((q) => q.trim()).filter((q) => /^(--[^\n]*\n)*\s*SELECT/i.test(q));
    expect(queries.length).toBeGreaterThanOrEqual(2);
    for (const q of queries) {
      const sql = q.replaceAll("'out/", `'${dir}/`).replaceAll('2026-10-31', first.runDate);
      const rows = await db.query(sql);
      expect(rows.length, sql).toBeGreaterThan(0);
    }
  });

  it('a re-run for the same date replaces each partition whole (one object, no staging left)', async () => {
    const second = await run();
    expect(second.runDate).toBe(first.runDate);
    expect(second.manifest.runId).not.toBe(first.manifest.runId);
    for (const t of TABLE_NAMES) expect(readdirSync(path.join(dir, t, `run_date=${first.runDate}`))).toEqual(['part-00000.parquet']);
    const m = parseManifest(readFileSync(path.join(dir, 'runs', `run_date=${first.runDate}`, 'manifest.json')), 'manifest');
    expect(m.runId).toBe(second.manifest.runId);
    expect(readdirSync(dir)).not.toContain('_staging');
  });

  it('compares every segment metric with the previous run of an earlier date', async () => {
    const prevDir = mkdtempSync(path.join(tmpdir(), 'tailwatch-prev-'));
    try {
      const earlier = await run('2026-09-30', prevDir);
      expect(earlier.manifest.rows.ignored).toBeGreaterThan(0); // October's orders are after the as-of date
      const later = await run(undefined, prevDir);
      const rows = await db.query(
        `SELECT tier, segment, revenue, prev_revenue, change_revenue, customers, prev_customers, prev_run_date FROM read_parquet('${prevDir}/segments/run_date=${later.runDate}/*.parquet')`,
      );
      const prev = await db.query(`SELECT tier, segment, revenue FROM read_parquet('${prevDir}/segments/run_date=2026-09-30/*.parquet')`);
      const prevRevenue = new Map(prev.map((r) => [`${r.tier}/${r.segment}`, Number(r.revenue)]));
      const all = rows.find((r) => r.tier === 'all' && r.segment === 'all')!;
      expect(all.prev_run_date).toBe('2026-09-30');
      expect(Number(all.prev_revenue)).toBe(prevRevenue.get('all/all'));
      expect(Number(all.change_revenue)).toBeCloseTo(Number(all.revenue) - Number(all.prev_revenue), 6);
      expect(Number(all.customers)).toBeGreaterThan(Number(all.prev_customers));
      for (const r of rows) if (prevRevenue.has(`${r.tier}/${r.segment}`)) expect(Number(r.prev_revenue)).toBe(prevRevenue.get(`${r.tier}/${r.segment}`));
    } finally {
      rmSync(prevDir, { recursive: true, force: true });
    }
  });

  it('a run rejecting every row fails its quality gate with bounded memory: the first rejects kept whole, all counted', async () => {
    const badDir = mkdtempSync(path.join(tmpdir(), 'tailwatch-bad-'));
    try {
      const n = MAX_KEPT_REJECTS + 50;
      const lines = ['customer_id,order_date,amount'];
      for (let i = 0; i < n; i++) lines.push(`c${i % 997},2026-01-0${1 + (i % 9)},twelve`);
      const err = await runPipeline({ inputs: [{ name: 'bad.csv', open: async function* () { yield Buffer.from(lines.join('\n')); } }], out: new FsStorage(badDir), config: parseConfig({}) }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(RunFailedError);
      expect((err as RunFailedError).stage).toBe('data quality');
      // No valid row, so no as-of date from the data: the failure is filed under the day of the run.
      const [dateDir] = readdirSync(path.join(badDir, 'failures'));
      const [runDir] = readdirSync(path.join(badDir, 'failures', dateDir));
      const failure = JSON.parse(readFileSync(path.join(badDir, 'failures', dateDir, runDir, 'failure.json'), 'utf8'));
      expect(failure.rows).toMatchObject({ read: n, rejected: n, accepted: 0 });
      expect(Object.values(failure.rejectReasons as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(n);
      const csv = readFileSync(path.join(badDir, 'failures', dateDir, runDir, 'rejects.csv'), 'utf8').trim().split('\n');
      expect(csv).toHaveLength(1 + MAX_KEPT_REJECTS + 1);
      expect(csv.at(-1)).toBe(`# 50 more rejected rows not listed (first ${MAX_KEPT_REJECTS} kept); counts by reason are in the manifest / failure record`);
      expect(readdirSync(badDir)).toEqual(['failures']); // no table, no run record
    } finally {
      rmSync(badDir, { recursive: true, force: true });
    }
  });
});
