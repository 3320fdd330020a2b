/**
 * The summary and the period rows made in part on a second thread (lib/aggregate-thread.ts, issue 8)
 * must be what summarize and periodRows make on the main thread, whether the thread is the parse
 * worker ingest hands over or a new one; a worker that fails leaves its share to the main thread.
 * Also: collectGarbage (lib/memory.ts) really collects.
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
import { startParseWorker } from '../lib/ingest/parallel.js';
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

describe('the summary on two threads', () => {
  beforeAll(() => vi.stubEnv('TAILWATCH_PARSE_WORKERS', '1'));
  afterAll(() => vi.unstubAllEnvs());

  /** 40k customers (five day-log partitions), in date order or shuffled (days met again: merged). */
  function accumulator(shuffled: boolean): CustomerAccumulator {
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const rows: [string, number, number][] = [];
    for (let c = 0; c < 40_000; c++) {
      const first = Math.floor(rnd() * 700);
      for (let j = 0, k = 1 + Math.floor(rnd() * rnd() * 12); j < k; j++)
        rows.push([`c${c}`, j === 0 ? first : first + Math.floor(rnd() * rnd() * 300), rnd() < 0.1 ? -5 : Math.round(rnd() * 10_000) / 100]);
    }
    if (shuffled)
      for (let i = rows.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [rows[i], rows[j]] = [rows[j], rows[i]];
      }
    else rows.sort((a, b) => a[1] - b[1]);
    const acc = new CustomerAccumulator(0);
    for (const [id, day, amount] of rows) acc.add({ customerId: id, day, amount, orderId: null, margin: null, dims: [] });
    return acc;
  }
  const opts = { asOfDay: 1000, calibrationEndDay: 800, unitDays: 7, marginShare: 0.3 };
  const plain = (s: CustomerSummary): Record<string, unknown> => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : k === 'lists' ? plain(v as CustomerSummary) : v]));

  it.each([
    ['in date order', false],
    ['shuffled: days merged, the ranges joined', true],
  ])('gives what summarize gives on one thread: %s', async (_, shuffled) => {
    const here = summarize(accumulator(shuffled), opts);
    // a parse worker that has loaded, as ingest hands over (a new one is not given the summary)
    const loaded = startParseWorker()!;
    await new Promise((resolve) => loaded.once('message', resolve));
    const thread = AggregateThread.start(10 ** 6, 0, loaded)!;
    expect(thread.loaded).toBe(true);
    try {
      const there = await thread.summarize(accumulator(shuffled), opts);
      expect(there.lists.day.length).toBe(here.lists.day.length);
      expect(plain(there)).toEqual(plain(here));
      // the worker's share came back (a failed worker would have left everything here)
      expect((thread as unknown as { failed: boolean }).failed).toBe(false);
    } finally {
      await thread.close();
    }
  }, 60_000);

  it('is all made here while a new worker loads', async () => {
    const fresh = AggregateThread.start(10 ** 6, 0)!;
    expect(fresh.loaded).toBe(false);
    try {
      expect(plain(await fresh.summarize(accumulator(false), opts))).toEqual(plain(summarize(accumulator(false), opts)));
    } finally {
      await fresh.close();
    }
  }, 60_000);

  it("makes the worker's share here when it exits or does not answer, and asks it nothing more", async () => {
    const here = plain(summarize(accumulator(true), opts));
    const dying = AggregateThread.start(10 ** 6, 0, new Worker('setTimeout(() => process.exit(3), 50)', { eval: true }))!;
    expect(plain(await dying.summarize(accumulator(true), opts))).toEqual(here);
    const mute = AggregateThread.start(10 ** 6, 0, new Worker('setInterval(() => {}, 1000)', { eval: true }))!;
    const t0 = performance.now();
    const s = await mute.summarize(accumulator(true), opts, 300);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(plain(s)).toEqual(here);
    // failed once: the period rows are made here at once, not after another timeout
    const t1 = performance.now();
    let fellBack = false;
    const tiers = assignTiers(s, config.tiers);
    const o = { unit: 'month' as const, asOfDay: 1000, activeWindowDays: 90 };
    await mute.periodRowsBeside(s, tiers, [], o, () => 0, () => ((fellBack = true), periodRows(s, segmentation(s, tiers, []), o)), 60_000);
    expect(fellBack).toBe(true);
    expect(performance.now() - t1).toBeLessThan(5_000);
  }, 60_000);
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
