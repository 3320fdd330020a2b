/**
 * Parquet exports, read with hyparquet (+ hyparquet-compressors for SNAPPY, GZIP, ZSTD, BROTLI,
 * LZ4). parquetjs-lite is never used to read exports: it cannot read ZSTD and misreads DuckDB's
 * dictionary-encoded columns (issue 2).
 *
 * Memory trade-off: Parquet keeps its schema and row-group offsets in a footer at the END of the
 * file, so a reader needs random access, and an InputFile is only a byte stream. The stream is
 * therefore spooled: kept in memory up to `memoryLimit` bytes (default 64 MiB), and beyond that
 * written to a temporary file (Lambda: /tmp, up to 10 GB of ephemeral storage) that is read
 * back by offset and deleted afterwards. A file on local disk (InputFile.localPath: the CLI's
 * local inputs) is read in place instead: copying the 138 MB bench export first cost ~1 s. Decoding then goes row group by row group, column by
 * column, and only the mapped columns: resident memory is one row group's mapped columns
 * (DuckDB writes ~122,880 rows a group), not the file.
 *
 * Speed (issue 8): hyparquet's generic decoding makes a Uint8Array and a string (TextDecoder) per
 * text value, a JS array of definition levels and of dictionary indices per page, and arrays of
 * boxed values per column: on the 10M-row bench export the reader alone took 18.1 s CPU, much of
 * it garbage collection. Flat columns of the common kinds (text; INT32/INT64/FLOAT/DOUBLE with
 * DATE, TIMESTAMP, DECIMAL) are therefore decoded page by page in parquet-pages.ts into typed
 * arrays: text as byte ranges of one buffer a column chunk, handed to the builder with
 * setTextBytes (no string per value; strings are made only for a reject's raw JSON), numbers
 * in a Float64Array with a null flag. Same file, same no-op row consumer: 4.0 s CPU; the whole
 * ingest (no-op onAccepted, byte-reading RowBuilder) 44 -> 28 s CPU, garbage collection 8 ->
 * 0.5 s. Everything else (nested or repeated columns, BOOLEAN, INT96, FIXED_LEN_BYTE_ARRAY, JSON, unsigned 32/64,
 * INT64 beyond 2^53, DELTA_* and BYTE_STREAM_SPLIT pages) still goes through hyparquet, per
 * column chunk, and test/ingest-parquet-pages.test.ts checks both paths give the same rows,
 * rejects and counts (`generic: true` forces the generic path).
 */
import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadataAsync, parquetScan, parquetSchema, type AsyncBuffer, type FileMetaData, type SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { parquetHeader, readPage } from 'hyparquet/src/column.js';
import { convert, convertWithDictionary, DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import { decompressPage, readDataPage, readDataPageV2 } from 'hyparquet/src/datapage.js';
import type { ColumnDecoder, ColumnMetaData, DecodedArray, ParquetParsers, SchemaTree } from 'hyparquet/src/types.js';
import type { ColumnRef, Config } from '../config.js';
import type { ParsePool } from './parallel.js';
import type { BlockResult } from './parse-worker.js';
import { mainThreadShare } from './parallel.js';
import { FlatColumn, KIND_GENERIC, KIND_NUM, KIND_TEXT, planOf, Unsupported } from './parquet-pages.js';
import { ROW_REJECTED, SLOT, slotKey, type DateKind, type RowBuilder } from './rows.js';
import { IngestError } from './types.js';

export interface ParquetOptions {
  memoryLimit: number;
  tmpDir?: string;
  progress: () => void;
  /** Decode every column with hyparquet's generic page decoders (the reference the fast path is tested against). */
  generic?: boolean;
  /** Parse workers for this file's row groups (parallel.ts), and what they need to stage rows as this thread would. */
  pool?: () => ParsePool | null;
  config?: Config;
  dedupe?: boolean;
  asOfDay?: number;
  keepOrderIds?: boolean;
  /** Rows the file holds, guessed from its size (sizes the parse workers' id tables). */
  expectedRows?: number;
  /** The (uncompressed) file on local disk: read in place, the stream is not read. */
  localPath?: string;
}

interface Spooled {
  file: AsyncBuffer;
  byteLength: number;
  close(): Promise<void>;
}

async function spool(stream: AsyncIterable<Uint8Array>, memoryLimit: number, dir: string): Promise<Spooled> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let fh: FileHandle | null = null;
  let path = '';
  try {
    for await (const c of stream) {
      if (fh) {
        await fh.write(c);
        total += c.byteLength;
        continue;
      }
      chunks.push(c);
      total += c.byteLength;
      if (total > memoryLimit) {
        path = join(dir, `tailwatch-${process.pid}-${randomBytes(6).toString('hex')}.parquet`);
        fh = await open(path, 'w+', 0o600);
        for (const k of chunks) await fh.write(k);
        chunks.length = 0;
      }
    }
  } catch (e) {
    if (fh) {
      await fh.close().catch(() => {});
      await unlink(path).catch(() => {});
    }
    throw e;
  }
  if (!fh) {
    const buf = Buffer.concat(chunks);
    return {
      byteLength: buf.byteLength,
      file: {
        byteLength: buf.byteLength,
        slice: (start: number, end?: number) => {
          const b = buf.subarray(start, end ?? buf.byteLength);
          return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
        },
      },
      close: async () => {},
    };
  }
  const handle: FileHandle = fh;
  return onDisk(handle, total, async () => {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {});
  });
}

/** A file read by offset through an open handle. */
function onDisk(handle: FileHandle, size: number, close: () => Promise<void>): Spooled {
  return {
    byteLength: size,
    file: {
      byteLength: size,
      async slice(start: number, end?: number): Promise<ArrayBuffer> {
        const stop = Math.min(end ?? size, size);
        const out = Buffer.allocUnsafe(Math.max(0, stop - start));
        let off = 0;
        while (off < out.byteLength) {
          const { bytesRead } = await handle.read(out, off, out.byteLength - off, start + off);
          if (bytesRead === 0) break;
          off += bytesRead;
        }
        return out.buffer.slice(out.byteOffset, out.byteOffset + off) as ArrayBuffer;
      },
    },
    close,
  };
}

/** A local file in place (the stream it was sniffed from is closed unread), else the stream spooled. */
async function source(stream: AsyncIterable<Uint8Array>, opts: ParquetOptions): Promise<Spooled> {
  if (opts.localPath === undefined) return spool(stream, opts.memoryLimit, opts.tmpDir ?? tmpdir());
  await stream[Symbol.asyncIterator]().return?.();
  const handle = await open(opts.localPath, 'r');
  const { size } = await handle.stat();
  return onDisk(handle, size, () => handle.close().catch(() => {}));
}

function dateKindOf(el: SchemaElement | undefined): DateKind {
  if (!el) return 'text';
  const lt = el.logical_type;
  if (lt?.type === 'DATE' || el.converted_type === 'DATE') return 'days';
  if (lt?.type === 'TIMESTAMP') return lt.isAdjustedToUTC ? 'instantMs' : 'localMs';
  if (el.converted_type === 'TIMESTAMP_MILLIS' || el.converted_type === 'TIMESTAMP_MICROS') return 'instantMs';
  if (el.type === 'INT96') return 'instantMs'; // legacy Spark/Impala timestamps are UTC instants
  return 'text';
}

function resolveColumn(name: string, ref: ColumnRef, slot: number, names: string[]): number {
  if (typeof ref === 'number') {
    if (ref >= names.length)
      throw new IngestError(`${name}: column ${ref} (${slotKey(slot)}) does not exist: the file has ${names.length} columns`);
    return ref;
  }
  let i = names.indexOf(ref);
  if (i < 0) {
    const lower = ref.toLowerCase();
    i = names.findIndex((n) => n.toLowerCase() === lower);
  }
  if (i < 0)
    throw new IngestError(
      `${name}: column "${ref}" (${slotKey(slot)}) not found; the file has ${names.map((n) => `"${n}"`).join(', ')}`,
    );
  return i;
}

// numbers instead of Date objects: no allocation per value, and DATE vs TIMESTAMP is known from the schema
const PARSERS: Partial<ParquetParsers> = {
  dateFromDays: (d: number) => d as unknown as Date,
  timestampFromMilliseconds: (v: bigint) => Number(v) as unknown as Date,
  timestampFromMicroseconds: (v: bigint) => Math.floor(Number(v) / 1000) as unknown as Date,
  timestampFromNanoseconds: (v: bigint) => Math.floor(Number(v) / 1e6) as unknown as Date,
};

/** A top-level column that is neither nested nor repeated: rows and values line up one to one. */
function isFlat(el: SchemaTree): boolean {
  return el.children.length === 0 && el.element.repetition_type !== 'REPEATED';
}

/**
 * One flat column chunk (one row group) decoded with hyparquet's page decoders but without its
 * list assembly. Why (issue 8, 10M rows, DuckDB's Parquet, every column OPTIONAL): for an optional
 * column with no nulls on a page, hyparquet's assembleLists synthesises a definition level per
 * value and pushes each value into a new array, ~6 s of a 48 s ingest plus its garbage. Here a page
 * without nulls hands its decoded values over as they are; a page with nulls is expanded once.
 */
function readFlatChunk(buffer: ArrayBuffer, decoder: ColumnDecoder, rows: number): DecodedArray {
  const reader = { view: new DataView(buffer), offset: 0 };
  const maxDef = decoder.element.repetition_type === 'REQUIRED' ? 0 : 1;
  const parts: DecodedArray[] = [];
  let dictionary: DecodedArray | undefined;
  let count = 0;
  while (count < rows && reader.offset < buffer.byteLength - 1) {
    const header = parquetHeader(reader);
    if (header.type === 'DICTIONARY_PAGE') {
      const { data } = readPage(reader, header, decoder, undefined, undefined, 0);
      if (data) dictionary = convert(data, decoder);
      continue;
    }
    const bytes = new Uint8Array(buffer, reader.offset, header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    let page;
    let encoding;
    if (header.type === 'DATA_PAGE' && header.data_page_header) {
      const daph = header.data_page_header;
      encoding = daph.encoding;
      page = readDataPage(decompressPage(bytes, Number(header.uncompressed_page_size), decoder.codec, decoder.compressors), daph, decoder);
    } else if (header.type === 'DATA_PAGE_V2' && header.data_page_header_v2) {
      encoding = header.data_page_header_v2.encoding;
      page = readDataPageV2(bytes, header, decoder);
    } else continue; // index pages: nothing to read
    const values = convertWithDictionary(page.dataPage, dictionary, encoding, decoder);
    const defs = page.definitionLevels;
    if (defs && defs.length > 0 && maxDef > 0) {
      const out: unknown[] = new Array(defs.length);
      let j = 0;
      for (let i = 0; i < defs.length; i++) out[i] = defs[i] === maxDef ? values[j++] : null;
      parts.push(out);
      count += defs.length;
    } else {
      parts.push(values);
      count += values.length;
    }
  }
  if (count !== rows) throw new Error(`column "${decoder.element.name}" has ${count} values in a row group of ${rows} rows`);
  if (parts.length === 1) return parts[0];
  const out: unknown[] = new Array(count);
  let k = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) out[k++] = p[i];
  return out;
}

/** The metadata of a row group's column chunk of a flat column. */
function chunkOf(g: FileMetaData['row_groups'][number], column: string): { md: ColumnMetaData } {
  const chunk = g.columns.find((col) => col.meta_data?.path_in_schema.length === 1 && col.meta_data.path_in_schema[0] === column);
  const md = chunk?.meta_data;
  if (!md) throw new Error(`no column chunk for "${column}"`);
  if (chunk!.file_path) throw new Error('column chunks in external files (file_path) are not supported');
  return { md };
}

/** The byte range of a column chunk in the file (as hyparquet: a dictionary page offset of 0 means none). */
function chunkRange(md: ColumnMetaData): [number, number] {
  const start = Number(md.dictionary_page_offset || md.data_page_offset);
  return [start, start + Number(md.total_compressed_size)];
}

function jsonValue(v: unknown): unknown {
  return typeof v === 'bigint' ? String(v) : v;
}

export async function readParquet(
  name: string,
  stream: AsyncIterable<Uint8Array>,
  refs: (ColumnRef | null)[],
  builder: RowBuilder,
  opts: ParquetOptions,
): Promise<number> {
  const spooled = await source(stream, opts);
  try {
    const { file, byteLength } = spooled;
    if (byteLength < 12)
      throw new IngestError(`${name}: not a Parquet file or truncated (${byteLength} bytes)`);
    const tail = new Uint8Array(await file.slice(byteLength - 4, byteLength));
    if (String.fromCharCode(...tail) !== 'PAR1')
      throw new IngestError(`${name}: truncated Parquet file (no footer; the file ends before its metadata)`);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (e) {
      throw new IngestError(`${name}: unreadable Parquet metadata (${(e as Error).message})`);
    }
    const tree = parquetSchema(metadata);
    const names = tree.children.map((c) => c.element.name);
    const colOfSlot: number[] = refs.map((r, slot) => (r === null ? -1 : resolveColumn(name, r, slot, names)));
    for (let slot = 0; slot < refs.length; slot++) {
      const c = colOfSlot[slot];
      if (c >= 0 && tree.children[c].children.length > 0)
        throw new IngestError(`${name}: column "${names[c]}" (${slotKey(slot)}) is nested (struct/list); map a flat column`);
    }
    const needed = [...new Set(colOfSlot.filter((c) => c >= 0))];
    const neededNames = needed.map((c) => names[c]);
    const posOfSlot = colOfSlot.map((c) => (c < 0 ? -1 : needed.indexOf(c)));
    const dateKind = dateKindOf(tree.children[colOfSlot[SLOT.orderDate]]?.element);
    builder.startFile(
      name,
      colOfSlot.map((c) => (c < 0 ? null : names[c])),
      dateKind,
    );

    const flat = needed.every((c) => isFlat(tree.children[c]));
    let scan: Awaited<ReturnType<typeof parquetScan>> | null = null;
    if (!flat) {
      try {
        scan = await parquetScan({ file, metadata, columns: neededNames, compressors, parsers: PARSERS });
      } catch (e) {
        throw new IngestError(`${name}: unreadable Parquet file (${(e as Error).message})`);
      }
    }
    const parsers: ParquetParsers = { ...DEFAULT_PARSERS, ...PARSERS };
    // the column chunk of each needed column in a row group: flat columns are leaves, one chunk each
    let ranges: { rowStart: number; rowEnd: number; group: number }[] = [];
    let rowStart = 0;
    metadata.row_groups.forEach((g, group) => {
      const n = Number(g.num_rows);
      ranges.push({ rowStart, rowEnd: rowStart + n, group });
      rowStart += n;
    });
    if (scan) ranges = scan.ranges.map((r) => ({ ...r, group: -1 }));
    // hyparquet decodes DECIMAL as n * 10^-scale, which is not correctly rounded (4273 * 0.01 =
    // 42.730000000000004); money must read as the writer wrote it, so recover n and divide instead.
    const decimalScale = needed.map((c) => {
      const el = tree.children[c].element;
      const scale = el.logical_type?.type === 'DECIMAL' ? el.logical_type.scale : el.converted_type === 'DECIMAL' ? (el.scale ?? 0) : 0;
      return scale > 0 ? 10 ** scale : 0;
    });
    const columns = needed.map((c) => {
      const el = tree.children[c].element;
      return new FlatColumn(el.name, el.type ?? '', opts.generic || !flat ? null : planOf(el), el.repetition_type === 'REQUIRED' ? 0 : 1);
    });
    const setGeneric = (k: number, values: DecodedArray): void => {
      const col = columns[k];
      col.kind = KIND_GENERIC;
      const f = decimalScale[k];
      if (f === 0) {
        col.generic = values;
        return;
      }
      const fixed: unknown[] = new Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        fixed[i] = typeof v === 'number' ? Math.round(v * f) / f : v;
      }
      col.generic = fixed;
    };
    const readGroup = async (range: { rowStart: number; rowEnd: number; group: number }, given?: ArrayBuffer[]): Promise<void> => {
      if (scan) {
        const all = await Promise.all(neededNames.map((column) => scan!.readColumn({ column, rowStart: range.rowStart, rowEnd: range.rowEnd })));
        all.forEach((values, k) => setGeneric(k, values));
        return;
      }
      const g = metadata.row_groups[range.group];
      await Promise.all(
        needed.map(async (c, k) => {
          const leaf = tree.children[c];
          const md = chunkOf(g, leaf.element.name).md;
          const buffer = given ? given[k] : await file.slice(...chunkRange(md));
          const rows = range.rowEnd - range.rowStart;
          if (columns[k].plan) {
            try {
              columns[k].read(buffer, md.codec, compressors, rows);
              return;
            } catch (e) {
              if (!(e instanceof Unsupported)) throw e;
            }
          }
          const decoder: ColumnDecoder = {
            pathInSchema: md.path_in_schema,
            type: md.type,
            element: leaf.element,
            schemaPath: [tree, leaf],
            codec: md.codec,
            parsers,
            compressors,
          };
          setGeneric(k, readFlatChunk(buffer, decoder, rows));
        }),
      );
    };
    const colOf: (FlatColumn | null)[] = posOfSlot.map((p) => (p < 0 ? null : columns[p]));
    const local = async (range: { rowStart: number; rowEnd: number; group: number }, buffers?: ArrayBuffer[]) => {
      try {
        await readGroup(range, buffers);
      } catch (e) {
        throw new IngestError(
          `${name}: unreadable Parquet data in rows ${range.rowStart + 1}-${range.rowEnd} (${(e as Error).message})`,
        );
      }
      parquetRows(builder, colOf, columns, neededNames, range.rowStart, range.rowEnd - range.rowStart);
    };
    const pool = opts.pool?.();
    if (pool && !scan && columns.every((c) => c.plan !== null)) {
      // row groups decoded and validated on parse workers (parallel.ts), resolved here in order
      pool.startFile({
        type: 'pqfile',
        name,
        config: opts.config!,
        dedupe: opts.dedupe!,
        asOfDay: opts.asOfDay,
        keepOrderIds: opts.keepOrderIds!,
        expectedRows: opts.expectedRows,
        labels: colOfSlot.map((c) => (c < 0 ? null : names[c])),
        dateKind,
        columns: columns.map((c) => ({ name: c.name, type: c.type, plan: c.plan!, maxDef: c.maxDef })),
        posOfSlot,
        neededNames,
      });
      // null result: a group this thread reads itself when its turn comes (see mainThreadShare)
      const inflight: { range: (typeof ranges)[number]; result: Promise<BlockResult & { worker: number }> | null }[] = [];
      let submitted = 0;
      const drainOne = async () => {
        const { range, result } = inflight.shift()!;
        if (result === null) {
          await local(range);
          opts.progress();
          return;
        }
        submitted--;
        const r = await result;
        if (r.buffers) await local(range, r.buffers); // a page the fast decoder does not read: this thread reads the group
        else if (r.error) await local(range); // read it here, to fail as the one-thread reader does
        else pool.absorb(r, builder, 1);
        opts.progress();
      };
      const every = mainThreadShare(pool.size, 'parquet');
      try {
        let i = 0;
        for (const range of ranges) {
          if (range.rowEnd === range.rowStart) continue;
          const turn = ++i;
          if (!pool.started || (every > 0 && turn % every === 0)) {
            inflight.push({ range, result: null });
            // while the workers start, this thread's own groups are read as they come
            while (!pool.started && inflight.length > 0 && inflight[0].result === null) await drainOne();
            continue;
          }
          const g = metadata.row_groups[range.group];
          const chunks = needed.map((c) => chunkOf(g, tree.children[c].element.name).md);
          const buffers = await Promise.all(chunks.map((md) => file.slice(...chunkRange(md))));
          inflight.push({ range, result: pool.submitGroup({ rowStart: range.rowStart, rows: range.rowEnd - range.rowStart, buffers, codecs: chunks.map((md) => md.codec) }) });
          submitted++;
          // a row group is ~10 MB decoded: one in flight a worker plus one, to bound memory
          while (submitted > pool.size + (every > 0 ? 1 : 0)) await drainOne();
        }
        while (inflight.length > 0) await drainOne();
      } finally {
        await Promise.allSettled(inflight.map((f) => f.result));
      }
      return byteLength;
    }
    for (const range of ranges) {
      if (range.rowEnd === range.rowStart) continue;
      await local(range);
      opts.progress();
    }
    return byteLength;
  } finally {
    await spooled.close();
  }
}

const textDecoder = new TextDecoder();

/** A column's value in row i as the generic path gives it, for a reject's raw JSON. */
function rawValue(col: FlatColumn, i: number): unknown {
  if (col.kind === KIND_TEXT) return col.st[i] < 0 ? null : textDecoder.decode(col.data.subarray(col.st[i], col.en[i]));
  if (col.kind === KIND_NUM) return col.nul[i] ? null : col.plan!.rawInt64 ? String(col.num[i]) : col.num[i];
  return jsonValue(col.generic[i]);
}

/**
 * The rows of one decoded row group into the builder (rows rowStart + 1.. of the file for
 * rejects): shared by this module and the parse workers (parse-worker.ts).
 */
export function parquetRows(builder: RowBuilder, colOf: (FlatColumn | null)[], columns: FlatColumn[], neededNames: string[], rowStart: number, n: number): void {
  const vals = builder.vals;
  const nSlots = colOf.length;
  builder.forgetTextBuffers(); // the columns' byte buffers are refilled for every row group
  // the mapped slots by kind of column, so that the row loop below has no per-value dispatch
  const tSlot: number[] = [];
  const tSt: Int32Array[] = [];
  const tEn: Int32Array[] = [];
  const tData: Uint8Array[] = [];
  const nSlot: number[] = [];
  const nNum: Float64Array[] = [];
  const nNul: Uint8Array[] = [];
  const gSlot: number[] = [];
  const gVal: ArrayLike<unknown>[] = [];
  for (let s = 0; s < nSlots; s++) {
    const col = colOf[s];
    if (col === null) vals[s] = undefined;
    else if (col.kind === KIND_TEXT) {
      tSlot.push(s);
      tSt.push(col.st);
      tEn.push(col.en);
      tData.push(col.data);
    } else if (col.kind === KIND_NUM) {
      nSlot.push(s);
      nNum.push(col.num);
      nNul.push(col.nul);
    } else {
      gSlot.push(s);
      gVal.push(col.generic);
    }
  }
  const nt = tSlot.length;
  const nn = nSlot.length;
  const ng = gSlot.length;
  const inPlace = builder.bindColumns(colOf);
  for (let i = 0; i < n; i++) {
    if (inPlace && builder.processColumns(i) >= 0) continue;
    for (let k = 0; k < nt; k++) {
      const a = tSt[k][i];
      if (a < 0) vals[tSlot[k]] = null;
      else builder.setTextBytes(tSlot[k], tData[k], a, tEn[k][i]);
    }
    for (let k = 0; k < nn; k++) {
      if (nNul[k][i] === 0) builder.setNumber(nSlot[k], nNum[k][i]);
      else vals[nSlot[k]] = null;
    }
    for (let k = 0; k < ng; k++) vals[gSlot[k]] = gVal[k][i];
    if (builder.process() === ROW_REJECTED) {
      const raw: Record<string, unknown> = {};
      for (let k = 0; k < columns.length; k++) raw[neededNames[k]] = rawValue(columns[k], i);
      builder.emitReject(rowStart + i + 1, JSON.stringify(raw));
    }
  }
}
