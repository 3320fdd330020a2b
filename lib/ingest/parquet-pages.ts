/**
 * Flat Parquet column chunks decoded straight into typed arrays (issue 8): no value object, no
 * string and no Uint8Array per value. A BYTE_ARRAY chunk becomes one byte buffer with the
 * [start, end) range of each row's value (PLAIN pages are copied in with their length prefixes,
 * a dictionary page is copied in once and each row points at its entry); a numeric chunk becomes
 * one Float64Array of values as hyparquet's convert() would give them, plus a null flag per row.
 *
 * Only what the common exports use is decoded here: DATA_PAGE and DATA_PAGE_V2, PLAIN and
 * PLAIN_/RLE_DICTIONARY values, RLE definition levels of an optional or required top-level column.
 * Anything else throws Unsupported, and the caller decodes that chunk with hyparquet's generic
 * page decoders instead; planOf() says up front which column types are never done here.
 */
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';
import type { CompressionCodec, Compressors, SchemaElement } from 'hyparquet/src/types.js';
import { le32 } from './bytes.js';

/** This chunk (or page) uses something this decoder does not do: decode it the generic way. */
export class Unsupported extends Error {}

export const KIND_TEXT = 0;
export const KIND_NUM = 1;
/** Values decoded by hyparquet's generic path, in `generic`. */
export const KIND_GENERIC = 2;

// numeric conversions, mirroring hyparquet's convert() with the reader's parsers
const CONV_NONE = 0;
const CONV_DECIMAL = 1;
const CONV_MICROS = 2;
const CONV_NANOS = 3;

export interface Plan {
  kind: typeof KIND_TEXT | typeof KIND_NUM;
  conv: number;
  /** DECIMAL: the scale. */
  scale: number;
  /** An INT64 that hyparquet leaves a bigint: only safe integers are done here, and its reject JSON is a string. */
  rawInt64: boolean;
}

const RAW_INT_CTYPES = new Set([undefined, 'INT_8', 'INT_16', 'INT_32', 'INT_64', 'UINT_8', 'UINT_16', 'TIME_MILLIS', 'TIME_MICROS']);

/**
 * How a flat column's values are decoded here, or null when never (BOOLEAN, INT96,
 * FIXED_LEN_BYTE_ARRAY, unsigned 32/64-bit, JSON/BSON/UUID/GEOMETRY byte arrays, ...).
 */
export function planOf(el: SchemaElement): Plan | null {
  const ct = el.converted_type;
  const lt = el.logical_type;
  if (el.type === 'BYTE_ARRAY') {
    const okC = ct === undefined || ct === 'UTF8' || ct === 'ENUM';
    const okL = lt === undefined || lt.type === 'STRING' || lt.type === 'ENUM';
    return okC && okL ? { kind: KIND_TEXT, conv: CONV_NONE, scale: 0, rawInt64: false } : null;
  }
  if (el.type !== 'INT32' && el.type !== 'INT64' && el.type !== 'FLOAT' && el.type !== 'DOUBLE') return null;
  const num = (conv: number, scale = 0, rawInt64 = false): Plan => ({ kind: KIND_NUM, conv, scale, rawInt64 });
  // the order of convert(): converted type DECIMAL, DATE, TIMESTAMP_*, then the logical TIMESTAMP
  if (ct === 'DECIMAL') {
    const scale = el.scale ?? 0;
    if (lt !== undefined && (lt.type !== 'DECIMAL' || lt.scale !== scale)) return null;
    return num(CONV_DECIMAL, scale);
  }
  if (lt?.type === 'DECIMAL') return null; // DECIMAL without its converted type: hyparquet leaves it raw, rare
  if (ct === 'DATE') return num(CONV_NONE);
  if (ct === 'TIMESTAMP_MILLIS') return num(CONV_NONE);
  if (ct === 'TIMESTAMP_MICROS') return num(CONV_MICROS);
  if (!RAW_INT_CTYPES.has(ct)) return null;
  if (lt?.type === 'TIMESTAMP') return num(lt.unit === 'MILLIS' ? CONV_NONE : lt.unit === 'MICROS' ? CONV_MICROS : CONV_NANOS);
  if (lt !== undefined) {
    if (lt.type === 'INTEGER') {
      if (!lt.isSigned && lt.bitWidth >= 32) return null; // hyparquet reinterprets as unsigned
    } else if (lt.type !== 'DATE' && lt.type !== 'TIME') return null;
  }
  return num(CONV_NONE, 0, el.type === 'INT64');
}

/**
 * Run-length / bit-packed hybrid values (widths up to 24 bits) from b[pos, end) into out[0, n).
 * Returns the position after the last run read.
 */
export function readHybrid(b: Uint8Array, pos: number, end: number, width: number, out: Uint8Array | Int32Array, n: number): number {
  if (width === 0) {
    out.fill(0, 0, n);
    return pos;
  }
  if (width > 24) throw new Unsupported(`bit width ${width}`);
  const mask = (1 << width) - 1;
  const valueBytes = (width + 7) >> 3;
  let seen = 0;
  while (seen < n) {
    if (pos >= end) throw new Error(`RLE/bit-packed data ends after ${seen} of ${n} values`);
    let h = 0;
    let mul = 1;
    let c: number;
    do {
      c = b[pos++];
      h += (c & 0x7f) * mul;
      mul *= 128;
    } while (c & 0x80 && pos < end);
    if (h % 2 === 1) {
      const groups = (h - 1) / 2;
      const stop = pos + groups * width; // 8 values of `width` bits per group
      if (stop > end) throw new Error('bit-packed run past the end of its page');
      let count = Math.min(groups * 8, n - seen);
      let acc = 0;
      let bits = 0;
      while (count-- > 0) {
        while (bits < width) {
          acc |= b[pos++] << bits;
          bits += 8;
        }
        out[seen++] = acc & mask;
        acc >>>= width;
        bits -= width;
      }
      pos = stop;
    } else {
      const count = Math.min(h / 2, n - seen);
      if (pos + valueBytes > end) throw new Error('RLE run past the end of its page');
      let v = 0;
      for (let i = 0; i < valueBytes; i++) v |= b[pos++] << (i << 3);
      out.fill(v, seen, seen + count);
      seen += count;
    }
  }
  return pos;
}

function growInt32(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  return a.length >= n ? a : new Int32Array(Math.max(n, a.length * 2));
}

/**
 * One flat column's decoded chunk for the current row group; its buffers are reused from one
 * row group to the next. Row i is: KIND_TEXT: st[i] < 0 ? null : the UTF-8 bytes data[st[i], en[i]);
 * KIND_NUM: nul[i] ? null : num[i]; KIND_GENERIC: generic[i].
 */
export class FlatColumn {
  kind: number = KIND_GENERIC;
  data = new Uint8Array(1 << 16);
  dataLen = 0;
  st = new Int32Array(0);
  en = new Int32Array(0);
  num = new Float64Array(0);
  nul = new Uint8Array(0);
  generic: ArrayLike<unknown> = [];

  private dSt = new Int32Array(0);
  private dEn = new Int32Array(0);
  private dNum = new Float64Array(0);
  private dSize = -1;
  private defs = new Uint8Array(0);
  private idx = new Int32Array(0);

  constructor(
    readonly name: string,
    readonly type: string,
    /** null: always generic. */
    readonly plan: Plan | null,
    /** 0 (REQUIRED) or 1 (OPTIONAL). */
    readonly maxDef: number,
  ) {}

  /**
   * Decodes a column chunk of `rows` rows. Throws Unsupported (before or after touching the
   * buffers) when a page needs the generic path; other errors mean a corrupt chunk.
   */
  read(buffer: ArrayBuffer, codec: CompressionCodec, compressors: Compressors, rows: number): void {
    const plan = this.plan;
    if (!plan) throw new Unsupported('column type');
    this.kind = plan.kind;
    if (plan.kind === KIND_TEXT) {
      this.st = growInt32(this.st, rows);
      this.en = growInt32(this.en, rows);
    } else if (this.num.length < rows) {
      this.num = new Float64Array(Math.max(rows, this.num.length * 2));
      this.nul = new Uint8Array(this.num.length);
    }
    this.dataLen = 0;
    this.dSize = -1;
    const u8 = new Uint8Array(buffer);
    const reader = { view: new DataView(buffer), offset: 0 };
    let count = 0;
    // the loop condition of hyparquet's readColumn
    while (count < rows && reader.offset < buffer.byteLength - 1) {
      const header = parquetHeader(reader);
      const raw = u8.subarray(reader.offset, reader.offset + header.compressed_page_size);
      reader.offset += header.compressed_page_size;
      if (header.type === 'DICTIONARY_PAGE') {
        const dph = header.dictionary_page_header;
        if (!dph || (dph.encoding !== 'PLAIN' && dph.encoding !== 'PLAIN_DICTIONARY')) throw new Unsupported('dictionary encoding');
        const page = decompressPage(raw, Number(header.uncompressed_page_size), codec, compressors);
        this.readDictionary(page, dph.num_values);
        continue;
      }
      let n: number;
      let page: Uint8Array;
      let pos = 0;
      let encoding: string;
      let nulls = 0;
      if (header.type === 'DATA_PAGE' && header.data_page_header) {
        const daph = header.data_page_header;
        n = daph.num_values;
        encoding = daph.encoding;
        page = decompressPage(raw, Number(header.uncompressed_page_size), codec, compressors);
        if (this.maxDef > 0) {
          if (daph.definition_level_encoding !== 'RLE') throw new Unsupported('definition level encoding');
          const len = le32(page, 0);
          nulls = this.readDefs(page, 4, 4 + len, n);
          pos = 4 + len;
        }
      } else if (header.type === 'DATA_PAGE_V2' && header.data_page_header_v2) {
        const h2 = header.data_page_header_v2;
        n = h2.num_values;
        encoding = h2.encoding;
        const rl = h2.repetition_levels_byte_length;
        const dl = h2.definition_levels_byte_length;
        if (rl !== 0) throw new Unsupported('repetition levels');
        if (this.maxDef > 0) nulls = this.readDefs(raw, 0, dl, n);
        const values = raw.subarray(rl + dl);
        page = h2.is_compressed === false ? values : decompressPage(values, Number(header.uncompressed_page_size) - rl - dl, codec, compressors);
      } else continue; // index pages
      if (count + n > rows) throw new Error(`column "${this.name}" has more values than its row group's ${rows} rows`);
      this.readValues(page, pos, encoding, n, nulls, count);
      count += n;
    }
    if (count !== rows) throw new Error(`column "${this.name}" has ${count} values in a row group of ${rows} rows`);
  }

  /** Definition levels (bit width 1) into defs[0, n); returns the number of nulls. */
  private readDefs(b: Uint8Array, pos: number, end: number, n: number): number {
    if (this.defs.length < n) this.defs = new Uint8Array(Math.max(n, this.defs.length * 2));
    const defs = this.defs;
    readHybrid(b, pos, end, 1, defs, n);
    let present = 0;
    for (let i = 0; i < n; i++) present += defs[i];
    return n - present;
  }

  private appendBytes(b: Uint8Array, start: number, end: number): number {
    const at = this.dataLen;
    const need = at + (end - start);
    if (need > this.data.length) {
      const grown = new Uint8Array(Math.max(need, this.data.length * 2));
      grown.set(this.data.subarray(0, at));
      this.data = grown;
    }
    this.data.set(b.subarray(start, end), at);
    this.dataLen = need;
    return at;
  }

  /** PLAIN byte arrays at data[off, ...): n values' [start, end) into st/en from index `at`. */
  private plainText(off: number, n: number, st: Int32Array, en: Int32Array, at: number): number {
    const d = this.data;
    const limit = this.dataLen;
    for (let i = 0; i < n; i++) {
      if (off + 4 > limit) throw new Error(`column "${this.name}": byte array past the end of its page`);
      const len = le32(d, off);
      const s = off + 4;
      off = s + len;
      if (len < 0 || off > limit) throw new Error(`column "${this.name}": byte array past the end of its page`);
      st[at + i] = s;
      en[at + i] = off;
    }
    return off;
  }

  /** PLAIN numbers of b[pos, ...): n values, converted, into out from index `at`. */
  private plainNum(b: Uint8Array, pos: number, n: number, out: Float64Array, at: number): void {
    const plan = this.plan!;
    const width = this.type === 'INT64' || this.type === 'DOUBLE' ? 8 : 4;
    if (pos + n * width > b.byteLength) throw new Error(`column "${this.name}": values past the end of their page`);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    switch (this.type) {
      case 'DOUBLE':
        for (let i = 0; i < n; i++) out[at + i] = view.getFloat64(pos + 8 * i, true);
        break;
      case 'FLOAT':
        for (let i = 0; i < n; i++) out[at + i] = view.getFloat32(pos + 4 * i, true);
        break;
      case 'INT32':
        for (let i = 0; i < n; i++) out[at + i] = view.getInt32(pos + 4 * i, true);
        break;
      default:
        // Number(bigint) exactly: hi * 2^32 is exact, the sum rounds once
        for (let i = 0; i < n; i++) out[at + i] = view.getInt32(pos + 8 * i + 4, true) * 4294967296 + view.getUint32(pos + 8 * i, true);
        if (plan.rawInt64) {
          for (let i = 0; i < n; i++) if (!Number.isSafeInteger(out[at + i])) throw new Unsupported('INT64 beyond 2^53');
        }
    }
    const conv = plan.conv;
    if (conv === CONV_NONE) return;
    if (conv === CONV_DECIMAL) {
      // hyparquet: n * 10^-scale; the reader then rounds to the scale (see parquet.ts)
      const scale = plan.scale;
      if (scale <= 0) return;
      const factor = 10 ** -scale;
      const f = 10 ** scale;
      for (let i = 0; i < n; i++) out[at + i] = Math.round(out[at + i] * factor * f) / f;
    } else {
      const div = conv === CONV_MICROS ? 1000 : 1e6;
      for (let i = 0; i < n; i++) out[at + i] = Math.floor(out[at + i] / div);
    }
  }

  private readDictionary(page: Uint8Array, n: number): void {
    if (this.plan!.kind === KIND_TEXT) {
      this.dSt = growInt32(this.dSt, n);
      this.dEn = growInt32(this.dEn, n);
      const off = this.appendBytes(page, 0, page.byteLength);
      this.plainText(off, n, this.dSt, this.dEn, 0);
    } else {
      if (this.dNum.length < n) this.dNum = new Float64Array(Math.max(n, this.dNum.length * 2));
      this.plainNum(page, 0, n, this.dNum, 0);
    }
    this.dSize = n;
  }

  /** A data page's values from b[pos, ...): n rows (nulls of them null) into rows [at, at + n). */
  private readValues(b: Uint8Array, pos: number, encoding: string, n: number, nulls: number, at: number): void {
    const text = this.kind === KIND_TEXT;
    const nValues = n - nulls;
    const defs = this.defs;
    const st = this.st;
    const en = this.en;
    const num = this.num;
    const nul = this.nul;
    if (encoding === 'PLAIN') {
      // decode the present values packed at the end of the page's rows, then spread them over the rows
      if (text) {
        const off = this.appendBytes(b, pos, b.byteLength);
        this.plainText(off, nValues, st, en, at + nulls);
      } else this.plainNum(b, pos, nValues, num, at + nulls);
      if (nulls === 0) {
        if (!text) nul.fill(0, at, at + n);
        return;
      }
      let j = at + nulls;
      for (let i = 0; i < n; i++) {
        const r = at + i;
        if (defs[i] === 0) {
          if (text) st[r] = -1;
          else nul[r] = 1;
        } else if (text) {
          st[r] = st[j];
          en[r] = en[j++];
        } else {
          num[r] = num[j++];
          nul[r] = 0;
        }
      }
      return;
    }
    if (encoding !== 'PLAIN_DICTIONARY' && encoding !== 'RLE_DICTIONARY') throw new Unsupported(`encoding ${encoding}`);
    const size = this.dSize;
    if (size < 0) throw new Error(`column "${this.name}": dictionary-encoded page without a dictionary`);
    if (this.idx.length < nValues) this.idx = new Int32Array(Math.max(nValues, this.idx.length * 2));
    const idx = this.idx;
    if (nValues > 0) readHybrid(b, pos + 1, b.byteLength, b[pos], idx, nValues);
    for (let i = 0; i < nValues; i++) {
      const k = idx[i];
      if (k >= size) throw new Error(`column "${this.name}": dictionary index ${k} out of range (${size} entries)`);
    }
    const dSt = this.dSt;
    const dEn = this.dEn;
    const dNum = this.dNum;
    if (nulls === 0) {
      if (text) {
        for (let i = 0; i < n; i++) {
          const k = idx[i];
          st[at + i] = dSt[k];
          en[at + i] = dEn[k];
        }
      } else {
        for (let i = 0; i < n; i++) num[at + i] = dNum[idx[i]];
        nul.fill(0, at, at + n);
      }
      return;
    }
    let j = 0;
    for (let i = 0; i < n; i++) {
      const r = at + i;
      if (defs[i] === 0) {
        if (text) st[r] = -1;
        else nul[r] = 1;
      } else {
        const k = idx[j++];
        if (text) {
          st[r] = dSt[k];
          en[r] = dEn[k];
        } else {
          num[r] = dNum[k];
          nul[r] = 0;
        }
      }
    }
  }
}
