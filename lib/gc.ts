/**
 * A full garbage collection on demand, for the two moments a run drops hundreds of MB at once
 * (issue 8, 10M rows): the end of ingest (its id, order and fingerprint tables) and a parse
 * worker's release of its file state. V8 frees an ArrayBuffer's memory only when it next collects;
 * it collects sooner as new ArrayBuffers are made, but not for SharedArrayBuffers, which the
 * summary's day lists are (customers.ts): without this, the dropped tables stayed resident under
 * the new ones and the run's peak memory depended on when V8 happened to collect.
 *
 * `gc` is exposed by turning the --expose-gc flag on at run time and taking the function from a
 * new context (the flag applies to contexts made after it is set).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    const f: unknown = runInNewContext('typeof gc === "function" ? gc : null');
    gc = typeof f === 'function' ? (f as () => void) : null;
  }
  gc?.();
}
