/**
 * A parse worker (worker_threads; see parallel.ts): splits and validates blocks of a CSV file's
 * bytes with the same splitter, record handler and RowBuilder rules as the main thread, and sends
 * back the staged rows (StagedRows: no lookups, the main thread owns the customer and order
 * tables), the rejects and the counts. Lines in rejects are relative to the block (line 1 = the
 * block's first line); the main thread shifts them, as only it knows where the block starts.
 * After ingest, the same worker makes part of the summary and the period rows beside the main
 * thread (aggregate-thread.ts).
 */
import { parentPort } from 'node:worker_threads';
import type { Config } from '../config.js';
import { ByteCsvSplitter } from './csv.js';
import { csvRecordHandler, type CsvColumns } from './csv-records.js';
import { compressors } from 'hyparquet-compressors';
import type { CompressionCodec } from 'hyparquet/src/types.js';
import { FlatColumn, Unsupported, type Plan } from './parquet-pages.js';
import { parquetRows } from './parquet.js';
import { RowBuilder, type DateKind } from './rows.js';
import { StagedRows, type StagedMessage } from './staged.js';
import { IngestError, type Reject } from './types.js';
import { collectGarbage } from '../memory.js';
import { periodRowsFromMessage, summaryFromMessage, type PeriodsMessage, type PeriodsResult, type SummaryMessage, type SummaryResult } from '../aggregate-thread.js';

/** Sent once per file. */
export interface FileMessage {
  type: 'file';
  name: string;
  config: Config;
  columns: CsvColumns;
  dedupe: boolean;
  asOfDay?: number;
  keepOrderIds: boolean;
  /** The file's rows, guessed from its size (sizes the worker's id table). */
  expectedRows?: number;
}

/** Sent once per Parquet file read by workers: the columns to decode and where their values go. */
export interface ParquetFileMessage {
  type: 'pqfile';
  name: string;
  config: Config;
  dedupe: boolean;
  asOfDay?: number;
  keepOrderIds: boolean;
  expectedRows?: number;
  labels: (string | null)[];
  dateKind: DateKind;
  columns: { name: string; type: string; plan: Plan; maxDef: number }[];
  /** Index into columns of each slot's column, -1 when unmapped. */
  posOfSlot: number[];
  neededNames: string[];
}

/** A Parquet row group: the raw column chunks of the file's columns, in ParquetFileMessage.columns order. */
export interface GroupMessage {
  type: 'group';
  seq: number;
  rowStart: number;
  rows: number;
  buffers: ArrayBuffer[];
  codecs: CompressionCodec[];
}

/** Staged-row buffers the main thread is done with, back for reuse (no allocation per block). */
export interface RecycleMessage {
  type: 'recycle';
  staged: StagedMessage;
}

/** The last file is done: the worker drops its parse state (ParsePool.release hands it over for aggregate-thread.ts). */
export interface ResetMessage {
  type: 'reset';
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
  /** A row group with a page the fast decoder does not read: its chunks, back for the main thread to read. */
  buffers?: ArrayBuffer[];
  /** Sent once, when the worker's code has loaded (seq -1). */
  ready?: boolean;
}

let builder: RowBuilder | null = null;
let file: FileMessage | null = null;
let parquet: { m: ParquetFileMessage; columns: FlatColumn[]; colOf: (FlatColumn | null)[] } | null = null;
let rejects: Reject[] = [];
let sentDims: number[] = [];
const spare: StagedRows[] = [];

function onGroup(m: GroupMessage): void {
  const b = builder!;
  const { m: f, columns, colOf } = parquet!;
  rejects = [];
  for (let k = 0; k < columns.length; k++) {
    try {
      columns[k].read(m.buffers[k], m.codecs[k], compressors, m.rows);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      parentPort!.postMessage({ seq: m.seq, buffers: m.buffers } satisfies BlockResult, m.buffers);
      return;
    }
  }
  const before = { read: b.counts.read, rejected: b.counts.rejected, ignored: b.counts.ignored };
  parquetRows(b, colOf, columns, f.neededNames, m.rowStart, m.rows);
  post(m.seq, b, before, 0, []);
}

/** Sends a block's or group's staged rows, counts, rejects and new dimension values. */
function post(seq: number, b: RowBuilder, before: { read: number; rejected: number; ignored: number }, lines: number, transfer: ArrayBuffer[], bytes?: Uint8Array): void {
  const staged = b.takeStaged(spare.pop()).toMessage();
  const newDimValues = sentDims.map((from, d) => {
    const all = b.dimensionValues(d);
    sentDims[d] = all.length;
    return all.slice(from);
  });
  const result: BlockResult = {
    seq,
    staged: staged.message,
    lines,
    counts: { read: b.counts.read - before.read, rejected: b.counts.rejected - before.rejected, ignored: b.counts.ignored - before.ignored },
    rejects,
    newDimValues,
    ...(bytes ? { bytes } : {}),
  };
  parentPort!.postMessage(result, [...staged.transfer, ...transfer]);
}

function newBuilder(m: { config: Config; dedupe: boolean; asOfDay?: number; keepOrderIds: boolean; name: string; expectedRows?: number }, labels: (string | null)[], dateKind?: DateKind): RowBuilder {
  const b = new RowBuilder(m.config, {
    parseOnly: true,
    dedupe: m.dedupe,
    asOfDay: m.asOfDay,
    expectedRows: m.expectedRows,
    onReject: (r) => rejects.push(r),
    ...(m.keepOrderIds ? { onRow: () => {} } : {}),
  });
  b.startFile(m.name, labels, dateKind);
  sentDims = m.config.input.columns.dimensions.map(() => 0);
  return b;
}

function onBlock(m: BlockMessage): void {
  const b = builder!;
  const f = file!;
  rejects = [];
  const before = { read: b.counts.read, rejected: b.counts.rejected, ignored: b.counts.ignored };
  const { delimiter, quote } = f.config.input.csv;
  const sp = new ByteCsvSplitter({ delimiter, quote }, f.name, csvRecordHandler(b, f.columns), { line: 1, offset: m.offset });
  sp.push(m.bytes);
  sp.end();
  post(m.seq, b, before, sp.nextLine - 1, [m.bytes.buffer as ArrayBuffer], m.bytes);
}

/** After ingest: the period rows beside the main thread's cohort rows (aggregate-thread.ts). */
function onPeriods(m: PeriodsMessage): void {
  let r: PeriodsResult;
  try {
    r = { type: 'periods', rows: periodRowsFromMessage(m) };
  } catch (e) {
    r = { type: 'periods', error: (e as Error).message };
  }
  parentPort!.postMessage(r);
}

/** After ingest: the later partitions of the summary (aggregate-thread.ts). */
function onSummary(m: SummaryMessage): void {
  let r: SummaryResult;
  try {
    r = summaryFromMessage(m);
  } catch (e) {
    r = { type: 'summary', error: (e as Error).message };
  }
  parentPort!.postMessage(r);
}

parentPort?.on('message', (m: FileMessage | BlockMessage | RecycleMessage | ParquetFileMessage | GroupMessage | PeriodsMessage | SummaryMessage | ResetMessage) => {
  if (m.type === 'reset') {
    builder = null;
    file = null;
    parquet = null;
    rejects = [];
    spare.length = 0;
    collectGarbage(); // the interner's tables and the staged rows' buffers: freed now, not when V8 would
    return;
  }
  if (m.type === 'summary') {
    onSummary(m);
    return;
  }
  if (m.type === 'periods') {
    onPeriods(m);
    return;
  }
  if (m.type === 'recycle') {
    const st = StagedRows.fromMessage(m.staged);
    st.clear();
    spare.push(st);
    return;
  }
  if (m.type === 'file') {
    file = m;
    builder = newBuilder(m, m.columns.labels);
    return;
  }
  if (m.type === 'pqfile') {
    const columns = m.columns.map((c) => new FlatColumn(c.name, c.type, c.plan, c.maxDef));
    parquet = { m, columns, colOf: m.posOfSlot.map((p) => (p < 0 ? null : columns[p])) };
    builder = newBuilder(m, m.labels, m.dateKind);
    return;
  }
  try {
    if (m.type === 'group') onGroup(m);
    else onBlock(m);
  } catch (e) {
    const error = { message: (e as Error).message, user: e instanceof IngestError };
    if (m.type === 'group') parentPort!.postMessage({ seq: m.seq, error } satisfies BlockResult);
    else parentPort!.postMessage({ seq: m.seq, error, bytes: m.bytes } satisfies BlockResult, [m.bytes.buffer as ArrayBuffer]);
  }
});

parentPort?.postMessage({ seq: -1, ready: true } satisfies BlockResult);
