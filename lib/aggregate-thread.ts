/**
 * The summary and the period rows made in part on a second thread (issue 8: at 10M rows / 1M
 * customers the ~2 s after ingest ran on one thread while the parse worker's core sat idle):
 * - the summary's day lists and day columns (customers.ts: summarizePartitions): the worker makes
 *   the later partitions while this thread makes the earlier ones (~0.7 s on one thread);
 * - the period rows (crr.ts) while this thread makes the cohort rows (cohorts.ts): the two read
 *   the same day lists and share nothing else (each ~0.45 s on one thread).
 *
 * The thread is a parse worker (parse-worker.ts): the one ingest used, handed over with its code
 * loaded (ParsePool.release), else one warmed and not used (warmParseWorker), else one started
 * when the summary stage begins, to have loaded (tsx took ~0.45 s) by the time the cohorts stage
 * needs it (the summary is then made here alone). The day log, the day lists and the day columns live in SharedArrayBuffers (customers.ts),
 * so they cross without a copy; the rest (a few columns per customer) is copied. The worker rebuilds
 * the segmentation from the tiers and dimension keys (segmentation.ts is pure), so both threads
 * number segments the same way. If the worker cannot start or fails, its share is made here.
 */
import type { Worker } from 'node:worker_threads';
import { customerState, finishSummary, summarize, summarizePartitions, summaryJob, summarySplit, type CustomerAccumulator, type CustomerSummary, type DayLists, type SummaryJob, type SummaryOptions } from './customers.js';
import { periodRows, type CrrOptions } from './crr.js';
import { defaultParseWorkers, startParseWorker, takeWarmParseWorker } from './ingest/parallel.js';
import { segmentation } from './segmentation.js';
import type { Tiers } from './tiers.js';
import type { PeriodRow } from './types.js';

/** Customer-days below which one thread is quicker than starting a second. */
export const MIN_THREAD_DAYS = 1_000_000;

/** What the worker needs to make the period rows (see periodRowsFromMessage). */
export interface PeriodsMessage {
  type: 'periods';
  n: number;
  firstDay: Float64Array;
  lists: DayLists;
  dims: Int32Array;
  dimValues: string[][];
  dimensionCount: number;
  dimensions: (string | number)[];
  tierNames: string[];
  tierOf: Int8Array;
  opts: CrrOptions;
}

export interface PeriodsResult {
  type: 'periods';
  rows?: PeriodRow[];
  error?: string;
}

/** The worker's share of a summary: partitions from..to-1 of the job (summarizePartitions). */
export interface SummaryMessage {
  type: 'summary';
  job: SummaryJob;
  from: number;
  to: number;
}

export interface SummaryResult {
  type: 'summary';
  /** Where the range's lists end (summarizePartitions). */
  end?: number;
  error?: string;
}

/**
 * Share of the summary's entries made on this thread, which first copies the customers' state out.
 * At 10M rows / 1M customers with 0.45 here: the copy 74-84 ms, this thread's share 289-398 ms, and
 * then 93-183 ms waiting for the worker's (its code new to it, it made its share ~1.4x slower):
 * 520-660 ms in all, in three runs; with 0.55, 397-577 ms (waiting 1-51 ms).
 */
const SUMMARY_SHARE_HERE = 0.55;

/** The worker's side: the period rows from a PeriodsMessage (the same call the main thread makes). */
export function periodRowsFromMessage(m: PeriodsMessage): PeriodRow[] {
  // only the fields periodRows and segmentation read (the rest of a summary stays on the main thread)
  const s = { n: m.n, firstDay: m.firstDay, lists: m.lists, dims: m.dims, dimValues: m.dimValues, dimensionCount: m.dimensionCount } as CustomerSummary;
  const tiers = { names: m.tierNames, tierOf: m.tierOf } as Tiers;
  return periodRows(s, segmentation(s, tiers, m.dimensions), m.opts);
}

export class AggregateThread {
  /** The worker failed, exited or did not answer once: everything is made here from then on. */
  private failed = false;

  /**
   * @param loaded the worker has loaded its code (a parse worker handed over, or a warmed one that
   * said so): a new one takes ~0.45 s under tsx, longer than the summary's share it would make.
   */
  private constructor(
    private readonly worker: Worker,
    readonly loaded: boolean,
  ) {
    // a failure is seen by request() (the work falls back); an idle worker must not hold the process open
    worker.on('error', () => {});
    worker.unref();
  }

  /**
   * A worker for the summary and the period rows: `spare` (a parse worker ingest handed over,
   * ParsePool.release), else one warmed and not used (warmParseWorker), else a new one. Null when
   * one would not pay: fewer than minDays customer-days, a single CPU (defaultParseWorkers:
   * TAILWATCH_PARSE_WORKERS=0, or a Lambda function below 2 vCPUs), or no worker code to load. A
   * spare not used is terminated.
   */
  static start(customerDays: number, minDays = MIN_THREAD_DAYS, spare: Worker | null = null): AggregateThread | null {
    if (customerDays < minDays || defaultParseWorkers() < 1) {
      void spare?.terminate();
      return null;
    }
    if (spare) return new AggregateThread(spare, true);
    try {
      const warm = takeWarmParseWorker();
      if (warm) return new AggregateThread(warm.worker, warm.ready);
      const w = startParseWorker();
      return w && new AggregateThread(w, false);
    } catch {
      return null;
    }
  }

  /**
   * Posts m and resolves with the worker's answer of m's type, or null when the worker fails,
   * exits, or has not answered within timeoutMs (a hung worker must not hang the run). A worker
   * that failed is terminated before null is returned: nothing it does after can touch the
   * shared arrays the caller then fills itself.
   */
  private async request<R extends { type: string; error?: string }>(m: SummaryMessage | PeriodsMessage, timeoutMs: number): Promise<R | null> {
    if (this.failed) return null;
    const w = this.worker;
    const answer = await new Promise<R | null>((resolve) => {
      const onMessage = (r: R | { ready?: boolean }) => {
        if ('type' in r && r.type === m.type) done(r);
      };
      const onError = () => done(null);
      const timer = setTimeout(onError, timeoutMs);
      const done = (r: R | null) => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onError);
        w.unref();
        resolve(r);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onError);
      w.ref(); // awaited: the process stays alive until it answers
      try {
        w.postMessage(m);
      } catch {
        done(null);
      }
    });
    if (answer !== null && answer.error === undefined) return answer;
    this.failed = true;
    await w.terminate();
    return null;
  }

  /**
   * summarize(acc, opts) with the later partitions made on the worker (see the header): this
   * thread copies the customers' state out and makes the earlier partitions meanwhile; and the
   * worker's too if it fails. All here while a new worker loads (it has by the cohorts stage).
   */
  async summarize(acc: CustomerAccumulator, opts: SummaryOptions, timeoutMs = 120_000): Promise<CustomerSummary> {
    if (!this.loaded) return summarize(acc, opts);
    const job = summaryJob(acc, opts);
    const nPart = job.chunks.length;
    const h = summarySplit(job, SUMMARY_SHARE_HERE);
    const theirs = this.request<SummaryResult>({ type: 'summary', job, from: h, to: nPart }, timeoutMs);
    const state = customerState(acc, opts);
    const mine = summarizePartitions(job, 0, h);
    const end = (await theirs)?.end ?? summarizePartitions(job, h, nPart);
    const parts = [
      { from: 0, end: mine },
      { from: h, end },
    ];
    return finishSummary(acc, job, parts, state);
  }

  /**
   * periodRows(s, segmentation(s, tiers, dimensions), opts) made on the worker; call() runs
   * meanwhile and its result is returned beside them. Falls back to this thread (here()) when the
   * worker fails, exits, or has not answered within timeoutMs (the rows take ~0.5 s at 1M customers).
   */
  async periodRowsBeside<T>(
    s: CustomerSummary,
    tiers: Tiers,
    dimensions: (string | number)[],
    opts: CrrOptions,
    call: () => T,
    here: () => PeriodRow[],
    timeoutMs = 120_000,
  ): Promise<[T, PeriodRow[]]> {
    const m: PeriodsMessage = {
      type: 'periods',
      n: s.n,
      firstDay: s.firstDay,
      lists: s.lists,
      dims: s.dims,
      dimValues: s.dimValues,
      dimensionCount: s.dimensionCount,
      dimensions,
      tierNames: tiers.names,
      tierOf: tiers.tierOf,
      opts,
    };
    const theirs = this.request<PeriodsResult>(m, timeoutMs);
    const mine = call();
    const rows = (await theirs)?.rows;
    return [mine, rows ?? here()];
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/** The worker's side of a SummaryMessage. */
export function summaryFromMessage(m: SummaryMessage): SummaryResult {
  return { type: 'summary', end: summarizePartitions(m.job, m.from, m.to) };
}
