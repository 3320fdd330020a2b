/** The `tailwatch` command as a user runs it: a child process, its exit code, stdout and stderr. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cdnowDir } from './helpers/core.js';
import { duck } from './helpers/duckdb.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(path.join(tmpdir(), 'tailwatch-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tailwatch(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/tailwatch.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at /);

describe('tailwatch CLI: user errors are one clear line and exit code 2', () => {
  it('a missing input file', () => {
    const r = tailwatch('run', '--input', path.join(tmp, 'nope.csv'), '--out', path.join(tmp, 'o1'), '--quiet');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tailwatch: .*nope\.csv/);
    noStack(r.stderr);
  });

  it('a wrong config key names the key', () => {
    const cfg = path.join(tmp, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ input: { colums: {} } }));
    const r = tailwatch('run', '--input', path.join(ROOT, 'examples/sample-export.csv.gz'), '--out', path.join(tmp, 'o2'), '--config', cfg, '--quiet');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"input\.colums"/);
    noStack(r.stderr);
  });

  it('a bad value names the key and why', () => {
    const cfg = path.join(tmp, 'bad2.json');
    writeFileSync(cfg, JSON.stringify({ timezone: 'Mars/Olympus' }));
    const r = tailwatch('run', '--input', path.join(ROOT, 'examples/sample-export.csv.gz'), '--out', path.join(tmp, 'o3'), '--config', cfg, '--quiet');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"timezone": not an IANA time zone/);
  });

  it('an unknown flag or a bad --as-of shows the usage', () => {
    const a = tailwatch('run', '--inptu', 'x');
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/usage:/);
    const b = tailwatch('run', '--input', 'x', '--out', 'y', '--as-of', '2024-13');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--as-of "2024-13": expected YYYY-MM-DD/);
  });
});

describe('tailwatch run on the CDNOW reference data', () => {
  it('CDNOW_sample.txt, calibration to 1997-09-30 in weeks: the published BG/NBD and Gamma-Gamma fits', () => {
    const cfg = path.join(tmp, 'cdnow-sample.json');
    const base = JSON.parse(readFileSync(path.join(ROOT, 'examples/cdnow-sample.json'), 'utf8'));
    writeFileSync(cfg, JSON.stringify({ ...base, model: { calibrationEnd: '1997-09-30', timeUnit: 'week' } }));
    const out = path.join(tmp, 'cdnow-sample');
    const r = tailwatch('run', '--input', path.join(cdnowDir(), 'CDNOW_sample.txt'), '--out', out, '--config', cfg, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/report: .*report\.html/);
    const model = JSON.parse(readFileSync(path.join(out, 'runs/run_date=1998-06-30/model.json'), 'utf8'));
    expect(model.timeUnit).toBe('week');
    expect(model.calibrationEnd).toBe('1997-09-30');
    const within = (x: number, ref: number, rel: number) => expect(Math.abs(x - ref) / ref).toBeLessThanOrEqual(rel);
    within(model.bgnbd.r, 0.243, 0.005);
    within(model.bgnbd.alpha, 4.414, 0.005);
    within(model.bgnbd.a, 0.793, 0.005);
    within(model.bgnbd.b, 2.426, 0.005);
    expect(Math.abs(model.bgnbd.logLikelihood - -9582.4)).toBeLessThanOrEqual(0.1);
    expect(model.bgnbd.converged).toBe(true);
    within(model.gammaGamma.p, 6.25, 0.01);
    within(model.gammaGamma.q, 3.74, 0.01);
    within(model.gammaGamma.v, 15.44, 0.01);
    // Holdout: 1,882 actual repeat transaction days from 1997-10-01 to 1998-06-30.
    expect(model.holdout.status).toBe('ok');
    expect(model.holdout.actualTotal).toBe(1882);
    expect(Math.abs(model.holdout.relativeError)).toBeLessThan(0.2);
    const manifest = JSON.parse(readFileSync(path.join(out, 'runs/run_date=1998-06-30/manifest.json'), 'utf8'));
    expect(manifest.customers).toBe(2357);
    expect(manifest.rows).toEqual({ read: 6919, accepted: 6919, rejected: 0, ignored: 0, duplicates: 0 });
  });

  it('CDNOW_master.txt: 23,570 customers and the 1997-01 cohort retention a hand computation gives', async () => {
    const out = path.join(tmp, 'cdnow-master');
    const r = tailwatch('run', '--input', path.join(cdnowDir(), 'CDNOW_master.txt'), '--out', out, '--config', path.join(ROOT, 'examples/cdnow-master.json'), '--quiet');
    expect(r.code).toBe(0);
    const db = await duck();
    const [jan] = await db.query(
      `SELECT customers, retention FROM read_parquet('${out}/cohorts/*/*.parquet', hive_partitioning = true) WHERE tier = 'all' AND segment = 'all' AND cohort = '1997-01' AND period = 1`,
    );
    const [n] = await db.query(`SELECT count(*) AS n, round(sum(revenue), 2) AS revenue FROM read_parquet('${out}/customers/*/*.parquet')`);
    db.close();
    expect(Number(jan.customers)).toBe(7846);
    expect(Number(jan.retention)).toBeCloseTo(0.1475, 4);
    expect(Number(n.n)).toBe(23570);
    expect(Number(n.revenue)).toBeCloseTo(2500315.63, 2);
  });
});
