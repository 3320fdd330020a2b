/**
 * The period rows made on a second thread (lib/aggregate-thread.ts, issue 8) must be the rows
 * periodRows makes on the main thread, whether the thread is the parse worker ingest hands over or
 * a new one; a worker that fails leaves the rows to the main thread. Also: collectGarbage
 * (lib/memory.ts) really collects.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AggregateThread } from '../lib/aggregate-thread.js';
import { cohortRows } from '../lib/cohorts.js';
import { parseConfig } from '../lib/config.js';
import { periodRows } from '../lib/crr.js';
import { CustomerAccumulator, summarize, type CustomerSummary } from '../lib/customers.js';
import { ingest } from '../lib/ingest/index.js';
import { collectGarbage } from '../lib/memory.js';
import { runPipeline } from '../lib/pipeline.js';
import { segmentation, type Segmentation } from '../lib/segmentation.js';
import { assignTiers, type Tiers } from '../lib/tiers.js';
import { FsStorage, listLocalInputs } from '../functions/local/fs.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SAMPLE = path.join(ROOT, 'examples/sample-export.csv.gz');
const config = parseConfig(JSON.parse(readFileSync(path.join(ROOT, 'examples/sample-config.json'), 'utf8')));
const dims = config.input.columns.dimensions;

interface Summed {
  s: CustomerSummary;
  tiers: Tiers;
  seg: Segmentation;
  spare: Worker | null;
  days: number;
}

/** The sample export through ingest (one parse worker, handed over at the end) and the summary. */
async function summed(): Promise<Summed> {
  const acc = new CustomerAccumulator(dims.length);
  let spare: Worker | null = null;
  const r = await ingest(await listLocalInputs(SAMPLE, config.input.extensions), config, {
    parseWorkers: 1,
    parseWorkersMinRows: 0,
    parseBlockBytes: 64 * 1024,
    parseWhileWorkersStart: false,
    onBatch: (b) => acc.addBatch(b),
    onWorkerFree: (w) => (spare = w),
  });
  const days = acc.dayCount;
  const s = summarize(acc, { asOfDay: r.maxDay!, calibrationEndDay: r.maxDay!, unitDays: 7, marginShare: 0.3 });
  const tiers = assignTiers(s, config.tiers);
  return { s, tiers, seg: segmentation(s, tiers, dims), spare, days };
}

describe('period rows on a second thread', () => {
  let x: Summed;
  const opts = () => ({ unit: config.cohort.period, asOfDay: x.s.lists.day.reduce((a, b) => Math.max(a, b), 0), activeWindowDays: config.cohort.activeWindowDays });
  beforeAll(async () => {
    vi.stubEnv('TAILWATCH_PARSE_WORKERS', '1'); // whatever the machine's CPUs (defaultParseWorkers)
    x = await summed();
  }, 60_000);
  afterAll(() => vi.unstubAllEnvs());

  /** The rows made by `thread`, and whether the fallback made them instead. */
  async function beside(thread: AggregateThread, timeoutMs?: number) {
    let fellBack = false;
    const o = opts();
    const [cohorts, periods] = await thread.periodRowsBeside(
      x.s,
      x.tiers,
      dims,
      o,
      () => cohortRows(x.s, x.seg, { unit: o.unit, asOfDay: o.asOfDay }),
      () => {
        fellBack = true;
        return periodRows(x.s, x.seg, o);
      },
      timeoutMs,
    );
    return { cohorts, periods, fellBack };
  }

  it('the parse worker ingest hands over makes the rows periodRows makes here', async () => {
    expect(x.spare).not.toBeNull();
    expect(x.days).toBeGreaterThan(10_000);
    // the day lists cross without a copy
    expect(x.s.lists.day.buffer).toBeInstanceOf(SharedArrayBuffer);
    const thread = AggregateThread.start(x.days, 0, x.spare)!;
    try {
      const r = await beside(thread);
      expect(r.fellBack).toBe(false);
      const here = periodRows(x.s, x.seg, opts());
      expect(here.length).toBeGreaterThan(100);
      expect(r.periods).toEqual(here);
      expect(r.cohorts).toEqual(cohortRows(x.s, x.seg, { unit: opts().unit, asOfDay: opts().asOfDay }));
    } finally {
      await thread.close();
    }
  }, 60_000);

  it('so does a worker started for them; one that exits or does not answer leaves the rows to this thread', async () => {
    const fresh = AggregateThread.start(x.days, 0)!;
    expect(fresh).not.toBeNull();
    try {
      const r = await beside(fresh);
      expect(r.fellBack).toBe(false);
      expect(r.periods).toEqual(periodRows(x.s, x.seg, opts()));
    } finally {
      await fresh.close();
    }
    const dying = AggregateThread.start(x.days, 0, new Worker('setTimeout(() => process.exit(3), 100)', { eval: true }))!;
    const r = await beside(dying);
    expect(r.fellBack).toBe(true);
    expect(r.periods).toEqual(periodRows(x.s, x.seg, opts()));
    // one that never answers: the rows are made here after the timeout, and the run goes on
    const mute = AggregateThread.start(x.days, 0, new Worker('setInterval(() => {}, 1000)', { eval: true }))!;
    const t0 = performance.now();
    const m = await beside(mute, 300);
    expect(m.fellBack).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(m.periods).toEqual(periodRows(x.s, x.seg, opts()));
    await mute.close();
  }, 60_000);

  it('is not used below its threshold or on one CPU, and a spare worker not used is stopped', async () => {
    const spare = new Worker('setInterval(() => {}, 1000)', { eval: true });
    const exited = new Promise<number>((resolve) => spare.on('exit', resolve));
    expect(AggregateThread.start(999, 1000, spare)).toBeNull();
    await exited;
    vi.stubEnv('TAILWATCH_PARSE_WORKERS', '0');
    expect(AggregateThread.start(10 ** 9, 0)).toBeNull();
    vi.stubEnv('TAILWATCH_PARSE_WORKERS', '1');
  });
});

describe('a run with the second thread', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tailwatch-aggthread-'));
    vi.stubEnv('TAILWATCH_PARSE_WORKERS', '1');
  });
  afterAll(() => {
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the same cohorts and periods tables as a run on one thread', async () => {
    const inputs = await listLocalInputs(SAMPLE, config.input.extensions);
    const tables: Record<string, Buffer>[] = [];
    for (const min of [0, Number.MAX_SAFE_INTEGER]) {
      const out = path.join(dir, String(min));
      const r = await runPipeline({ inputs, out: new FsStorage(out), config, aggregateThreadMinDays: min });
      tables.push(Object.fromEntries(['cohorts', 'periods', 'trends', 'segments'].map((t) => [t, readFileSync(path.join(out, t, `run_date=${r.runDate}`, 'part-00000.parquet'))])));
    }
    expect(tables[0].periods.length).toBeGreaterThan(1000);
    for (const t of Object.keys(tables[0])) expect(tables[0][t].equals(tables[1][t]), t).toBe(true);
  }, 120_000);
});

describe('collectGarbage', () => {
  it('collects an object nothing refers to', async () => {
    let o: object | null = { big: new Array(1000).fill(1) };
    const ref = new WeakRef(o);
    o = null;
    await new Promise((r) => setTimeout(r, 0)); // (a WeakRef keeps its target until the current job ends)
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });
});
