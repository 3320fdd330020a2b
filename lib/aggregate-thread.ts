/**
 * The period rows (crr.ts) made on a second thread while this one makes the cohort rows
 * (cohorts.ts): the two read the same day lists and share nothing else (issue 8). At 10M rows /
 * 1M customers each took ~0.45 s of the ~2 s after ingest, on one thread, while the parse
 * worker's core sat idle.
 *
 * The thread is a parse worker (parse-worker.ts): the one ingest used, handed over with its code
 * loaded (ParsePool.release), else one warmed and not used (warmParseWorker), else one started
 * when the summary stage begins, to have loaded (tsx took ~0.45 s) by the time the cohorts stage
 * needs it. The day lists live in SharedArrayBuffers (customers.ts: dayLists), so they cross
 * without a copy; the rest (a few columns per customer) is copied. The worker rebuilds
 * the segmentation from the tiers and dimension keys (segmentation.ts is pure), so both threads
 * number segments the same way. If the worker cannot start or fails, the rows are made here.
 */
import type { Worker } from 'node:worker_threads';
import type { CustomerSummary, DayLists } from './customers.js';
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

/** The worker's side: the period rows from a PeriodsMessage (the same call the main thread makes). */
export function periodRowsFromMessage(m: PeriodsMessage): PeriodRow[] {
  // only the fields periodRows and segmentation read (the rest of a summary stays on the main thread)
  const s = { n: m.n, firstDay: m.firstDay, lists: m.lists, dims: m.dims, dimValues: m.dimValues, dimensionCount: m.dimensionCount } as CustomerSummary;
  const tiers = { names: m.tierNames, tierOf: m.tierOf } as Tiers;
  return periodRows(s, segmentation(s, tiers, m.dimensions), m.opts);
}

export class AggregateThread {
  private constructor(private readonly worker: Worker) {
    // a failure is seen by periodRows (it falls back); an idle worker must not hold the process open
    worker.on('error', () => {});
    worker.unref();
  }

  /**
   * A worker for the period rows: `spare` (a parse worker ingest handed over, ParsePool.release),
   * else one warmed and not used (warmParseWorker), else a new one. Null when one would not pay:
   * fewer than minDays customer-days, a single CPU (defaultParseWorkers: TAILWATCH_PARSE_WORKERS=0,
   * or a Lambda function below 2 vCPUs), or no worker code to load. A spare not used is terminated.
   */
  static start(customerDays: number, minDays = MIN_THREAD_DAYS, spare: Worker | null = null): AggregateThread | null {
    if (customerDays < minDays || defaultParseWorkers() < 1) {
      void spare?.terminate();
      return null;
    }
    if (spare) return new AggregateThread(spare);
    try {
      const w = takeWarmParseWorker()?.worker ?? startParseWorker();
      return w && new AggregateThread(w);
    } catch {
      return null;
    }
  }

  /**
   * periodRows(s, segmentation(s, tiers, dimensions), opts) made on the worker; call() runs
   * meanwhile and its result is returned beside them. Falls back to this thread (here()) when the
   * worker fails, exits, or has not answered within timeoutMs (a hung worker must not hang the run;
   * the rows take ~0.5 s at 1M customers).
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
    const w = this.worker;
    let done: (rows: PeriodRow[] | null) => void = () => {};
    const result = new Promise<PeriodRow[] | null>((resolve) => {
      const onMessage = (r: PeriodsResult | { ready?: boolean }) => {
        if ('type' in r && r.type === 'periods') done(r.rows ?? null);
      };
      const onError = () => done(null);
      const timer = setTimeout(onError, timeoutMs);
      done = (rows) => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onError);
        w.unref();
        resolve(rows);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onError);
      w.ref(); // awaited: the process stays alive until it answers
    });
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
    try {
      w.postMessage(m);
    } catch {
      done(null);
    }
    const mine = call();
    const rows = await result;
    return [mine, rows ?? here()];
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
