/**
 * Parquet exports, read with hyparquet (+ hyparquet-compressors for SNAPPY, GZIP, ZSTD, BROTLI,
 * LZ4). parquetjs-lite is never used to read exports: it cannot read ZSTD and misreads DuckDB's
 * dictionary-encoded columns (issue 2).
 *
 * Memory trade-off: Parquet keeps its schema and row-group offsets in a footer at the END of the
 * file, so a reader needs random access, and an InputFile is only a byte stream. The stream is
 * therefore spooled: kept in memory up to `memoryLimit` bytes (default 64 MiB), and beyond that
 * written to a temporary file (Lambda: /tmp, up to 10 GB of ephemeral storage) that is read
 * back by offset and deleted afterwards. Decoding then goes row group by row group, column by
 * column, and only the mapped columns: resident memory is one row group's mapped columns
 * (DuckDB writes ~122,880 rows a group), not the file.
 */
import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadataAsync, parquetScan, parquetSchema, type AsyncBuffer, type FileMetaData, type SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { ColumnRef } from '../config.js';
import { ROW_REJECTED, SLOT, slotKey, type DateKind, type RowBuilder } from './rows.js';
import { IngestError } from './types.js';

export interface ParquetOptions {
  memoryLimit: number;
  tmpDir?: string;
  progress: () => void;
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
  const size = total;
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
    close: async () => {
      await handle.close().catch(() => {});
      await unlink(path).catch(() => {});
    },
  };
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
  const spooled = await spool(stream, opts.memoryLimit, opts.tmpDir ?? tmpdir());
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

    let scan;
    try {
      scan = await parquetScan({
        file,
        metadata,
        columns: neededNames,
        compressors,
        // numbers instead of Date objects: no allocation per value, and DATE vs TIMESTAMP is known from the schema
        parsers: {
          dateFromDays: (d: number) => d as unknown as Date,
          timestampFromMilliseconds: (v: bigint) => Number(v) as unknown as Date,
          timestampFromMicroseconds: (v: bigint) => Math.floor(Number(v) / 1000) as unknown as Date,
          timestampFromNanoseconds: (v: bigint) => Math.floor(Number(v) / 1e6) as unknown as Date,
        },
      });
    } catch (e) {
      throw new IngestError(`${name}: unreadable Parquet file (${(e as Error).message})`);
    }
    // hyparquet decodes DECIMAL as n * 10^-scale, which is not correctly rounded (4273 * 0.01 =
    // 42.730000000000004); money must read as the writer wrote it, so recover n and divide instead.
    const decimalScale = needed.map((c) => {
      const el = tree.children[c].element;
      const scale = el.logical_type?.type === 'DECIMAL' ? el.logical_type.scale : el.converted_type === 'DECIMAL' ? (el.scale ?? 0) : 0;
      return scale > 0 ? 10 ** scale : 0;
    });
    const vals = builder.vals;
    const nSlots = refs.length;
    for (const range of scan.ranges) {
      let cols: ArrayLike<unknown>[];
      try {
        cols = await Promise.all(
          neededNames.map((column) => scan.readColumn({ column, rowStart: range.rowStart, rowEnd: range.rowEnd })),
        );
      } catch (e) {
        throw new IngestError(
          `${name}: unreadable Parquet data in rows ${range.rowStart + 1}-${range.rowEnd} (${(e as Error).message})`,
        );
      }
      for (let k = 0; k < cols.length; k++) {
        const f = decimalScale[k];
        if (f === 0) continue;
        const src = cols[k];
        const fixed: unknown[] = new Array(src.length);
        for (let i = 0; i < src.length; i++) {
          const v = src[i];
          fixed[i] = typeof v === 'number' ? Math.round(v * f) / f : v;
        }
        cols[k] = fixed;
      }
      const n = range.rowEnd - range.rowStart;
      for (let i = 0; i < n; i++) {
        for (let s = 0; s < nSlots; s++) {
          const p = posOfSlot[s];
          vals[s] = p < 0 ? undefined : cols[p][i];
        }
        if (builder.process() === ROW_REJECTED) {
          const raw: Record<string, unknown> = {};
          for (let k = 0; k < needed.length; k++) raw[neededNames[k]] = jsonValue(cols[k][i]);
          builder.emitReject(range.rowStart + i + 1, JSON.stringify(raw));
        }
      }
      opts.progress();
    }
    return byteLength;
  } finally {
    await spooled.close();
  }
}
