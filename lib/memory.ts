/**
 * A full garbage collection on demand, for the pipeline's stage boundaries (issue 8: peak RSS of
 * a 10M-row run under 1 GB, the Lambda's size).
 *
 * Why: when ingest returns, its tables (the orders table alone is ~290 MB at 10M rows) are garbage
 * at once, but V8 collects them only when its heuristics say so; the summary's allocations could
 * come first and stack on top. Measured on the bench export: the summary stage's peak RSS was
 * 60-110 MB above the ingest stage's in four runs, and equal to it in four runs with a collection
 * here.
 *
 * Node exposes gc() only under --expose-gc; the flag set at run time applies to contexts made
 * after it, so a fresh vm context hands the function over (it collects the whole isolate's heap).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/** Collects garbage now (a no-op where the runtime does not allow it). */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
