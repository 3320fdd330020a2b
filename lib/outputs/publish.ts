/**
 * Moving a run's staged files into place. Each table partition holds exactly one object
 * (part-00000.parquet), so replacing it is one copy that readers see whole; stale objects of
 * an earlier run in the same partitions are removed, and the manifest, written last, marks
 * the run complete. A failure before the manifest leaves the previous run's partition files
 * readable (each is either the old or the new object, never half of one).
 */
import type { Storage } from '../storage.js';
import { layout, TABLE_NAMES } from './schema.js';

export interface StagedFile {
  /** Staging key it was written to. */
  tmp: string;
  /** Final key. */
  key: string;
  bytes: number;
  rows?: number;
}

export async function publish(out: Storage, runDate: string, staged: StagedFile[], manifest: string): Promise<void> {
  for (const f of staged) await out.copy(f.tmp, f.key);
  const keep = new Set(staged.map((f) => f.key));
  const manifestKey = layout.run(runDate, 'manifest.json');
  keep.add(manifestKey);
  // Keys of this date written by an earlier run that this run did not write (e.g. old images).
  const prefixes = [...TABLE_NAMES.map((t) => layout.tablePrefix(t, runDate)), layout.runPrefix(runDate)];
  const stale: string[] = [];
  for (const p of prefixes)
    for (const k of await out.list(p)) if (!keep.has(k) && !k.endsWith('/sent.json')) stale.push(k);
  await out.put(manifestKey, manifest, 'application/json');
  if (stale.length) await out.delete(stale);
  await out.delete(staged.map((f) => f.tmp));
}
