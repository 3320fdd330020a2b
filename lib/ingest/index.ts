/**
 * Ingest: input files (CSV, JSON Lines, Parquet; optionally gzip) -> validated, de-duplicated
 * SalesRows, streamed to a callback in file order, with every row accounted for:
 *   read = accepted + rejected + ignored + duplicates, always.
 *
 * File-level problems (not what its extension says, truncated gzip, a mapped column missing,
 * no rows in any file) throw IngestError naming the file. When that happens mid-file, rows of
 * the earlier part were already passed to onRow: the caller must treat the whole run as failed
 * (the pipeline writes nothing on an IngestError), so no partial file ever feeds a report.
 *
 * De-duplication: a duplicate is the same row exported twice, every mapped field equal. It is
 * only decidable when the export has an order id: without one, two identical rows are as
 * likely two real purchases (CDNOW has 215 such lines, and the published totals count them), so
 * by default rows are de-duplicated only when an orderId column is mapped (opts.dedupe overrides).
 * Lines of one order (same order id, different product or amount) are never duplicates.
 */
import type { ColumnRef, Config } from '../config.js';
import type { InputFile } from '../storage.js';
import { ByteCsvSplitter, CsvSplitter, MAX_RECORD_CHARS } from './csv.js';
import { csvRecordHandler, type CsvColumns } from './csv-records.js';
import { copyChunks, gunzipOffThread, type Ring } from './gunzip-thread.js';
import type { Worker } from 'node:worker_threads';
import { defaultParseWorkers, ParsePool, readCsvWithWorkers, workerEntry } from './parallel.js';
import type { FileMessage } from './parse-worker.js';
import { readParquet } from './parquet.js';
import { ROW_REJECTED, RowBuilder, slotKey, slotRefs } from './rows.js';
import { binaryKind, counted, decodeUtf8, gunzip, isGzip, peek, startsWithAscii, type ByteCounter } from './source.js';
import { IngestError, type AcceptedBatch, type AcceptedRow, type IngestFileSummary, type IngestResult, type Reject, type SalesRow } from './types.js';

export { IngestError } from './types.js';
export type { AcceptedBatch, AcceptedRow, IngestFileSummary, IngestResult, Reject, SalesRow } from './types.js';
export { orderHash } from './rows.js';
export { parseNumber, numberRejectReason } from './numbers.js';

export type InputFormat = 'csv' | 'jsonl' | 'parquet';

export interface IngestOptions {
  /** Rows with day > asOfDay are valid but ignored (counted in rows.ignored). */
  asOfDay?: number;
  /** Accepted, de-duplicated rows, in file order. */
  onRow?: (row: SalesRow) => void;
  /**
   * The same rows as primitives in one reused object (no allocation per row): the fast path the
   * pipeline's CustomerAccumulator takes (issue 8). Either or both of onRow / onAccepted.
   */
  onAccepted?: (row: AcceptedRow) => void;
  /**
   * The same rows as columns, a batch at a time (the fastest consumer; see AcceptedBatch). Rows
   * reach onRow / onAccepted / onBatch a batch late: rejects of later rows may come first.
   */
  onBatch?: (batch: AcceptedBatch) => void;
  onReject?: (r: Reject) => void;
  /** Called at most about once a second while reading, and at the end of each file. */
  onProgress?: (p: { file: string; rows: number; bytes: number }) => void;
  /** De-duplicate exact repeats; default: only when an orderId column is mapped (see above). */
  dedupe?: boolean;
  /** Parquet files larger than this are spooled to a temporary file instead of memory (default 64 MiB). */
  parquetMemoryLimit?: number;
  /** Directory for Parquet spool files (default os.tmpdir()). */
  tmpDir?: string;
  /** Parse worker threads for large CSV files (parallel.ts; default: defaultParseWorkers()). */
  parseWorkers?: number;
  /**
   * Given a parse worker ingest would stop at its end (after a file read by workers, on success),
   * with its parse state dropped: the caller puts it to other work (aggregate-thread.ts) and
   * terminates it.
   */
  onWorkerFree?: (worker: Worker) => void;
  /** Rows a CSV file must be expected to hold (from its size) to be parsed by workers (default 250,000). */
  parseWorkersMinRows?: number;
  /** Bytes of a block handed to a parse worker (default 1 MiB; tests make it small). */
  parseBlockBytes?: number;
  /**
   * Parse on the main thread until a worker has started (default true; ~0.7 s when the sources
   * are TypeScript loaded by tsx). Tests turn it off so that small files reach the workers.
   */
  parseWhileWorkersStart?: boolean;
  /**
   * Inflate a large gzip file (one read by parse workers) on a worker thread of its own (default
   * true when there are parse workers; gunzip-thread.ts); tests give a small ring.
   */
  gunzipThread?: boolean | Ring;
  /** Read Parquet rows in place from their columns where it can (default true; tests compare it with the row path). */
  parquetColumnPath?: boolean;
}

const EXT_FORMATS: [string[], InputFormat][] = [
  [['.csv', '.tsv', '.txt', '.dat', '.psv', '.tab'], 'csv'],
  [['.jsonl', '.ndjson', '.json'], 'jsonl'],
  [['.parquet', '.pq', '.parq'], 'parquet'],
];

/** Format and compression that a file's name claims. */
export function formatFromName(name: string): { format: InputFormat | null; gz: boolean } {
  let base = name.toLowerCase().replace(/[?#].*$/, '');
  const gz = /\.(gz|gzip)$/.test(base);
  if (gz) base = base.replace(/\.(gz|gzip)$/, '');
  for (const [exts, format] of EXT_FORMATS) if (exts.some((e) => base.endsWith(e))) return { format, gz };
  return { format: null, gz };
}

function firstNonBlank(head: Uint8Array): number {
  let i = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < head.length && (head[i] === 32 || head[i] === 9 || head[i] === 10 || head[i] === 13)) i++;
  return i < head.length ? head[i] : -1;
}

function describe(head: Uint8Array): string {
  if (startsWithAscii(head, 'PAR1')) return 'a Parquet file';
  const b = binaryKind(head);
  if (b) return b;
  const c = firstNonBlank(head);
  if (c === 0x7b) return 'JSON text';
  return 'text';
}

/**
 * Decides the file's format from config, name and content, and refuses a file whose content is
 * not what its extension (or the configured format) says.
 */
function decideFormat(name: string, configured: Config['input']['format'], claimed: InputFormat | null, head: Uint8Array): InputFormat {
  const isParquet = startsWithAscii(head, 'PAR1');
  const format: InputFormat =
    configured !== 'auto' ? configured : (claimed ?? (isParquet ? 'parquet' : firstNonBlank(head) === 0x7b ? 'jsonl' : 'csv'));
  const says = configured !== 'auto' ? `input.format is "${configured}"` : claimed ? `its extension says ${claimed}` : `it looks like ${format}`;
  if (format === 'parquet') {
    if (!isParquet) throw new IngestError(`${name}: not a Parquet file (no PAR1 magic bytes; the content is ${describe(head)}), but ${says}`);
    return format;
  }
  if (isParquet) throw new IngestError(`${name}: is a Parquet file, but ${says}`);
  const bin = binaryKind(head);
  if (bin) throw new IngestError(`${name}: contains ${bin}, not ${format} text, but ${says}`);
  const c = firstNonBlank(head);
  if (format === 'jsonl' && c !== 0x7b && c !== -1) {
    if (c === 0x5b)
      throw new IngestError(`${name}: is a JSON array; export JSON Lines instead (one object per line), as ${says}`);
    throw new IngestError(`${name}: not JSON Lines (the first line does not start with "{"), but ${says}`);
  }
  if (format === 'csv' && c === 0x7b && /^\s*\{\s*"/.test(Buffer.from(head.subarray(0, 64)).toString('latin1').replace(/^\uFEFF|^ï»¿/, '')))
    throw new IngestError(`${name}: looks like JSON Lines, but ${says}; rename it .jsonl or set input.format`);
  return format;
}

class Progress {
  private last = Date.now();
  file = '';
  constructor(
    private readonly builder: RowBuilder,
    private readonly counter: ByteCounter,
    private readonly cb?: IngestOptions['onProgress'],
  ) {}
  tick(force = false): void {
    if (!this.cb) return;
    const now = Date.now();
    if (!force && now - this.last < 1000) return;
    this.last = now;
    this.cb({ file: this.file, rows: this.builder.counts.read, bytes: this.counter.bytes });
  }
}

/** Column index of each slot in a CSV file, from the header (names) or the config (indices). */
function resolveCsvColumns(name: string, refs: (ColumnRef | null)[], header: string[] | null, delimiter: string): number[] {
  return refs.map((ref, slot) => {
    if (ref === null) return -1;
    if (typeof ref === 'number') return ref;
    if (!header)
      throw new IngestError(
        `${name}: ${slotKey(slot)} is the column name "${ref}", but input.csv.header is false; give a 0-based column index`,
      );
    let i = header.indexOf(ref);
    if (i < 0) {
      const lower = ref.trim().toLowerCase();
      i = header.findIndex((h) => h.trim().toLowerCase() === lower);
    }
    if (i < 0) {
      const shown = header.slice(0, 20).map((h) => `"${h.length > 40 ? h.slice(0, 40) + '…' : h}"`).join(', ');
      const hint =
        header.length === 1 && delimiter !== 'whitespace'
          ? ` (the header has one column: is the delimiter "${delimiter}" right${/\t/.test(header[0]) ? '? it contains tabs' : /;/.test(header[0]) ? '? it contains ";"' : /\s{2,}/.test(header[0]) ? '? try "whitespace"' : '?'})`
          : '';
      throw new IngestError(`${name}: line 1: column "${ref}" (${slotKey(slot)}) not in the header; the header has ${shown}${hint}`);
    }
    return i;
  });
}

async function readCsv(
  name: string,
  bytes: AsyncIterable<Uint8Array>,
  config: Config,
  refs: (ColumnRef | null)[],
  builder: RowBuilder,
  progress: Progress,
  parallel: { pool: ParsePool; blockBytes?: number; dedupe: boolean; asOfDay?: number; keepOrderIds: boolean; expectedRows?: number } | null,
): Promise<void> {
  const { delimiter, quote, header: hasHeader } = config.input.csv;
  let columns = null as CsvColumns | null;
  let handle: ((s: CsvSplitter | ByteCsvSplitter) => void) | null = null;
  const setup = (header: string[] | null, fieldCount: number, line: number): void => {
    const cols = resolveCsvColumns(name, refs, header, delimiter);
    cols.forEach((c, slot) => {
      if (c >= fieldCount)
        throw new IngestError(
          `${name}: line ${line}: column ${c} (${slotKey(slot)}) does not exist: the ${header ? 'header' : 'first row'} has ${fieldCount} fields`,
        );
    });
    columns = { cols, expected: fieldCount, labels: cols.map((c) => (c < 0 ? null : header ? header[c] : String(c))) };
    builder.startFile(name, columns.labels);
    handle = csvRecordHandler(builder, columns, () => progress.tick());
  };
  builder.startFile(name, refs.map(() => null));
  const onRecord = (s: CsvSplitter | ByteCsvSplitter): void => {
    if (handle === null) {
      if (hasHeader) {
        setup(s.fields().map((h) => h.trim()), s.n, s.recLine);
        return;
      }
      setup(null, s.n, s.recLine);
    }
    handle!(s);
  };
  if (ByteCsvSplitter.supports({ delimiter, quote })) {
    // the common case: split and parse UTF-8 bytes in place (see ByteCsvSplitter)
    if (parallel) {
      const { pool, blockBytes, ...rest } = parallel;
      const fileMessage = (): FileMessage | null => (columns === null ? null : { type: 'file', name, config, columns, ...rest });
      await readCsvWithWorkers(name, bytes, { delimiter, quote }, onRecord, fileMessage, builder, pool, () => progress.tick(), blockBytes);
      return;
    }
    const sp = new ByteCsvSplitter({ delimiter, quote }, name, onRecord);
    for await (const chunk of bytes) sp.push(chunk);
    sp.end();
  } else {
    const sp = new CsvSplitter({ delimiter, quote }, name, onRecord);
    for await (const chunk of decodeUtf8(bytes, name)) sp.push(chunk);
    sp.end();
  }
}

async function readJsonl(
  name: string,
  text: AsyncIterable<string>,
  refs: (ColumnRef | null)[],
  builder: RowBuilder,
  progress: Progress,
): Promise<void> {
  const vals = builder.vals;
  const nSlots = refs.length;
  const keys = refs.map((r) => (r === null ? null : String(r)));
  builder.startFile(name, keys);
  let line = 1;
  const handle = (s: string, from: number, to: number): void => {
    if (to > from && s.charCodeAt(to - 1) === 13) to--;
    let blank = true;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 13) {
        blank = false;
        break;
      }
    }
    if (blank) return;
    const raw = s.slice(from, to);
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      builder.rejectRecord(line, null, `invalid JSON (${(e as Error).message.slice(0, 120)})`, raw);
      return;
    }
    if (obj === null || typeof obj !== 'object') {
      builder.rejectRecord(line, null, 'expected a JSON object on the line', raw);
      return;
    }
    const isArr = Array.isArray(obj);
    for (let k = 0; k < nSlots; k++) {
      const r = refs[k];
      if (r === null) vals[k] = undefined;
      else if (isArr) vals[k] = typeof r === 'number' ? (obj as unknown[])[r] : undefined;
      else vals[k] = Object.prototype.hasOwnProperty.call(obj, keys[k]!) ? (obj as Record<string, unknown>)[keys[k]!] : undefined;
    }
    if (builder.process() === ROW_REJECTED) builder.emitReject(line, raw);
    if ((builder.counts.read & 0x3fff) === 0) progress.tick();
  };
  // the unfinished last line is kept as parts, and only new text is searched for a line end, so
  // a very long line arriving in small chunks stays linear
  let parts: string[] = [];
  let partsLen = 0;
  for await (const chunk of text) {
    let nl = chunk.indexOf('\n');
    if (nl < 0) {
      parts.push(chunk);
      partsLen += chunk.length;
      if (partsLen > MAX_RECORD_CHARS)
        throw new IngestError(`${name}: line ${line}: a line longer than ${MAX_RECORD_CHARS} characters`);
      continue;
    }
    const s = parts.length ? parts.join('') + chunk : chunk;
    nl += partsLen;
    let pos = 0;
    while (nl >= 0) {
      handle(s, pos, nl);
      line++;
      pos = nl + 1;
      nl = s.indexOf('\n', pos);
    }
    parts = pos < s.length ? [s.slice(pos)] : [];
    partsLen = s.length - pos;
  }
  if (partsLen > 0) {
    const s = parts.join('');
    handle(s, 0, s.length);
  }
}

/**
 * About how many rows the files hold, from their sizes, erring low (a table sized too small
 * still grows; one sized too large costs memory for nothing). Bytes a row measured on the bench
 * export (8 columns; issue 8): 11.8 gzip-compressed CSV, 13.9 snappy Parquet, 62 plain CSV; the
 * divisors are ~1.2x those (the tables hold one entry an order or customer-day, fewer than rows).
 */
export function expectedRows(files: InputFile[]): number {
  let rows = 0;
  for (const f of files) {
    if (f.size === undefined) continue;
    const { format, gz } = formatFromName(f.name);
    rows += f.size / (gz ? 14 : format === 'parquet' ? 16.5 : 70);
  }
  return Math.floor(rows);
}

/** Ends a stream's reading (its source's return(): a gunzip worker stops). */
async function closeStream(s: AsyncIterable<Uint8Array>): Promise<void> {
  await s[Symbol.asyncIterator]().return?.();
}

/** Reads every file in order; see the module comment for the contract. */
export async function ingest(files: InputFile[], config: Config, opts: IngestOptions): Promise<IngestResult> {
  if (files.length === 0) throw new IngestError('no input files');
  const refs = slotRefs(config);
  const dedupe = opts.dedupe ?? (config.input.dedupe === 'auto' ? config.input.columns.orderId !== null : config.input.dedupe === 'always');
  const builder = new RowBuilder(config, {
    asOfDay: opts.asOfDay,
    onRow: opts.onRow,
    onAccepted: opts.onAccepted,
    onBatch: opts.onBatch,
    onReject: opts.onReject,
    expectedRows: expectedRows(files),
    dedupe,
    columnPath: opts.parquetColumnPath,
  });
  const counter: ByteCounter = { bytes: 0 };
  const progress = new Progress(builder, counter, opts.onProgress);
  const summaries: IngestFileSummary[] = [];
  const warnings: string[] = [];

  let pool: ParsePool | null | undefined; // started for the first large CSV file
  let inflating: AsyncIterable<Uint8Array> | null = null; // a file being inflated by a gunzip worker
  try {
    for (const file of files) {
      const name = file.name;
      progress.file = name;
      const claimed = formatFromName(name);
      const raw = await peek(counted(file.open(), counter), 4);
      const compressed = isGzip(raw.head);
      if (claimed.gz && !compressed && raw.head.length > 0)
        throw new IngestError(`${name}: named .gz but is not gzip-compressed (the content is ${describe(raw.head)})`);
      const workers = opts.parseWorkers ?? defaultParseWorkers();
      const big = file.size !== undefined && expectedRows([file]) >= (opts.parseWorkersMinRows ?? 250_000);
      // a large file read by parse workers is inflated on a thread of its own (gunzip-thread.ts);
      // its chunks are then valid until the next read, so every reader but the CSV one gets copies
      const offThread = compressed && big && workers > 0 && opts.gunzipThread !== false && workerEntry() !== null;
      const ring = typeof opts.gunzipThread === 'object' ? opts.gunzipThread : undefined;
      const content = await peek(compressed ? (offThread ? gunzipOffThread(raw.stream, name, ring) : gunzip(raw.stream, name)) : raw.stream, 4096);
      const kept = offThread ? copyChunks(content.stream) : content.stream;
      if (offThread) inflating = content.stream;
      const summary: IngestFileSummary = { name, format: 'csv', compressed, rows: 0 };
      if (file.size !== undefined) summary.size = file.size;
      if (file.etag !== undefined) summary.etag = file.etag;
      summaries.push(summary);
      const before = builder.counts.read;
      if (content.head.length > 0) {
        const format = decideFormat(name, config.input.format, claimed.format, content.head);
        summary.format = format;
        if (format === 'parquet') {
          await readParquet(name, kept, refs, builder, {
            memoryLimit: opts.parquetMemoryLimit ?? 64 * 1024 * 1024,
            tmpDir: opts.tmpDir,
            progress: () => progress.tick(),
            pool: () => (big ? (pool === undefined ? (pool = ParsePool.open(workers, opts.parseWhileWorkersStart ?? true)) : pool) : null),
            config,
            dedupe,
            asOfDay: opts.asOfDay,
            keepOrderIds: opts.onRow !== undefined,
            expectedRows: expectedRows([file]),
            localPath: compressed ? undefined : file.localPath,
          });
        } else if (format === 'jsonl') {
          await readJsonl(name, decodeUtf8(kept, name), refs, builder, progress);
        } else {
          if (big && pool === undefined) pool = ParsePool.open(workers, opts.parseWhileWorkersStart ?? true);
          const parallel = big && pool ? { pool, blockBytes: opts.parseBlockBytes, dedupe, asOfDay: opts.asOfDay, keepOrderIds: opts.onRow !== undefined, expectedRows: expectedRows([file]) } : null;
          // the parallel reader copies each chunk as it comes (see readCsvWithWorkers)
          await readCsv(name, parallel && ByteCsvSplitter.supports(config.input.csv) ? content.stream : kept, config, refs, builder, progress, parallel);
        }
      } else {
        summary.format = config.input.format !== 'auto' ? config.input.format : (claimed.format ?? 'csv');
      }
      builder.flush();
      summary.rows = builder.counts.read - before;
      progress.tick(true);
      if (inflating) await closeStream(inflating);
      inflating = null;
    }
    if (pool && opts.onWorkerFree) {
      opts.onWorkerFree(await pool.release());
      pool = null;
    }
  } finally {
    // a reader that stopped early (an error) leaves its gunzip worker running: stop it
    if (inflating) await closeStream(inflating);
    await pool?.close();
  }

  const empty = summaries.filter((s) => s.rows === 0);
  if (builder.counts.read === 0)
    throw new IngestError(
      files.length === 1 ? `${files[0].name}: no rows (the file is empty or has only a header)` : `no rows in any of the ${files.length} input files (all empty or header only)`,
    );
  for (const s of empty) warnings.push(`${s.name}: empty file (no rows), skipped`);

  return {
    rows: { ...builder.counts },
    files: summaries,
    minDay: builder.minDay,
    maxDay: builder.maxDay,
    warnings,
  };
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV cell: neutralised against spreadsheet formula injection (OWASP), then quoted if needed. */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let s = String(value);
  if (typeof value === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** rejects.csv content: file,line,column,reason,raw. */
export function rejectsCsv(rejects: Reject[]): string {
  const out = ['file,line,column,reason,raw'];
  for (const r of rejects) out.push([csvCell(r.file), String(r.line), csvCell(r.column), csvCell(r.reason), csvCell(r.raw)].join(','));
  return out.join('\n') + '\n';
}
