/**
 * Moving a run's staged files into place. Each table partition holds exactly one object
 * (part-00000.parquet), so replacing it is one copy that readers see whole; stale objects of
 * an earlier run in the same partitions are removed, and the manifest, written last, marks
 * the run complete.
 *
 * S3 has no multi-object transaction, so the previous run's objects are first copied aside;
 * if a copy into place fails, the ones already replaced are copied back (and new ones removed),
 * so the date keeps the previous run whole. If the store is unreachable even for that, every
 * object is still whole (old or new), the manifest still names the previous run, and a re-run
 * repairs the date.
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

/** Where the previous object of a final key is kept while a run publishes. */
function backupKey(f: StagedFile): string {
  return `${f.tmp.slice(0, f.tmp.length - f.key.length)}previous/${f.key}`;
}

export async function publish(out: Storage, runDate: string, staged: StagedFile[], manifest: string): Promise<void> {
  const manifestKey = layout.run(runDate, 'manifest.json');
  const prefixes = [...TABLE_NAMES.map((t) => layout.tablePrefix(t, runDate)), layout.runPrefix(runDate)];
  const existing = new Set<string>();
  for (const p of prefixes) for (const k of await out.list(p)) existing.add(k);

  const previous = staged.filter((f) => existing.has(f.key));
  for (const f of previous) await out.copy(f.key, backupKey(f));
  const placed: StagedFile[] = [];
  try {
    for (const f of staged) {
      await out.copy(f.tmp, f.key);
      placed.push(f);
    }
  } catch (e) {
    await rollBack(out, placed, existing).catch(() => {});
    throw e;
  }

  const keep = new Set(staged.map((f) => f.key));
  keep.add(manifestKey);
  // Keys of this date written by an earlier run that this run did not write (e.g. old images);
  // the at-most-once send marker stays.
  const stale = [...existing].filter((k) => !keep.has(k) && !k.endsWith('/sent.json'));
  await out.put(manifestKey, manifest, 'application/json');
  if (stale.length) await out.delete(stale);
  await out.delete([...staged.map((f) => f.tmp), ...previous.map(backupKey)]);
}

async function rollBack(out: Storage, placed: StagedFile[], existing: Set<string>): Promise<void> {
  for (const f of placed) {
    if (existing.has(f.key)) await out.copy(backupKey(f), f.key);
    else await out.delete([f.key]);
  }
}
