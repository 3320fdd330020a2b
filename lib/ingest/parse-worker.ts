/**
 * A parse worker (worker_threads; see parallel.ts): splits and validates blocks of a CSV file's
 * bytes with the same splitter, record handler and RowBuilder rules as the main thread, and sends
 * back the staged rows (StagedRows: no lookups, the main thread owns the customer and order
 * tables), the rejects and the counts. Lines in rejects are relative to the block (line 1 = the
 * block's first line); the main thread shifts them, as only it knows where the block starts.
 */
import { parentPort } from 'node:worker_threads';
import type { Config } from '../config.js';
import { ByteCsvSplitter } from './csv.js';
import { csvRecordHandler, type CsvColumns } from './csv-records.js';
import { RowBuilder } from './rows.js';
import { StagedRows, type StagedMessage } from './staged.js';
import { IngestError, type Reject } from './types.js';

/** Sent once per file. */
export interface FileMessage {
  type: 'file';
  name: string;
  config: Config;
  columns: CsvColumns;
  dedupe: boolean;
  asOfDay?: number;
  keepOrderIds: boolean;
}

/** Staged-row buffers the main thread is done with, back for reuse (no allocation per block). */
export interface RecycleMessage {
  type: 'recycle';
  staged: StagedMessage;
}

/** A block of whole lines; offset = its first byte's offset in the uncompressed file. */
export interface BlockMessage {
  type: 'block';
  seq: number;
  bytes: Uint8Array;
  offset: number;
}

export interface BlockResult {
  seq: number;
  staged?: StagedMessage;
  /** Physical lines in the block. */
  lines?: number;
  counts?: { read: number; rejected: number; ignored: number };
  rejects?: Reject[];
  /** Values of each dimension new since the previous block (the worker's keys continue from there). */
  newDimValues?: string[][];
  /** A file-level error (IngestError: user-facing) or a bug. */
  error?: { message: string; user: boolean };
  /** The block's bytes, back to the main thread (for reuse, or to read the block again after an error). */
  bytes?: Uint8Array;
}

let builder: RowBuilder | null = null;
let file: FileMessage | null = null;
let rejects: Reject[] = [];
let sentDims: number[] = [];
const spare: StagedRows[] = [];

function onBlock(m: BlockMessage): BlockResult {
  const b = builder!;
  const f = file!;
  rejects = [];
  const before = { read: b.counts.read, rejected: b.counts.rejected, ignored: b.counts.ignored };
  const { delimiter, quote } = f.config.input.csv;
  const sp = new ByteCsvSplitter({ delimiter, quote }, f.name, csvRecordHandler(b, f.columns), { line: 1, offset: m.offset });
  sp.push(m.bytes);
  sp.end();
  const staged = b.takeStaged(spare.pop()).toMessage();
  const newDimValues = sentDims.map((from, d) => {
    const all = b.dimensionValues(d);
    sentDims[d] = all.length;
    return all.slice(from);
  });
  const result: BlockResult = {
    seq: m.seq,
    staged: staged.message,
    lines: sp.nextLine - 1,
    counts: { read: b.counts.read - before.read, rejected: b.counts.rejected - before.rejected, ignored: b.counts.ignored - before.ignored },
    rejects,
    newDimValues,
    bytes: m.bytes,
  };
  parentPort!.postMessage(result, [...staged.transfer, m.bytes.buffer as ArrayBuffer]);
  return result;
}

parentPort?.on('message', (m: FileMessage | BlockMessage | RecycleMessage) => {
  if (m.type === 'recycle') {
    const st = StagedRows.fromMessage(m.staged);
    st.clear();
    spare.push(st);
    return;
  }
  if (m.type === 'file') {
    file = m;
    builder = new RowBuilder(m.config, {
      parseOnly: true,
      dedupe: m.dedupe,
      asOfDay: m.asOfDay,
      onReject: (r) => rejects.push(r),
      ...(m.keepOrderIds ? { onRow: () => {} } : {}),
    });
    builder.startFile(m.name, m.columns.labels);
    sentDims = m.config.input.columns.dimensions.map(() => 0);
    return;
  }
  try {
    onBlock(m);
  } catch (e) {
    const result: BlockResult = { seq: m.seq, error: { message: (e as Error).message, user: e instanceof IngestError }, bytes: m.bytes };
    parentPort!.postMessage(result, [m.bytes.buffer as ArrayBuffer]);
  }
});
