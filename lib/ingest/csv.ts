/**
 * A streaming CSV record splitter over decoded text chunks.
 *
 * Why hand-written: issue 8 measured csv-parse at 5x the time of a plain splitter on 10M rows.
 * The fast path handles a line without the quote character: it finds the line end and the
 * delimiters with String.indexOf (vectorised in V8), records field boundaries in two reused
 * Int32Arrays and allocates nothing per field; a reader then takes substrings of only the
 * columns it maps. A line that contains the quote character goes through a char-by-char slow
 * path (RFC 4180: "" inside quotes is a quote; delimiters and newlines inside quotes are data).
 *
 * Delimiter "whitespace": fields are separated by runs of blanks (space, tab, CR) and leading or
 * trailing blanks are ignored (CDNOW's fixed-width look). Memory: the unconsumed tail of the
 * text (one partial record) plus the current chunk; a record longer than MAX_RECORD_CHARS is a
 * file-level error (in practice an unterminated quote that swallows the rest of the file).
 */
import { isUtf8 } from 'node:buffer';
import { delimiterScanner, positionOf, type DelimiterScanner } from './csv-scan.js';
import { IngestError } from './types.js';

export const MAX_RECORD_CHARS = 16 * 1024 * 1024;

export interface CsvOptions {
  /** One character, or "whitespace". */
  delimiter: string;
  quote: string;
  /** ByteCsvSplitter: false = split with the byte loop, never the WebAssembly scan (tests compare the two). */
  scan?: boolean;
}

export class CsvSplitter {
  /** 1-based physical line where the current record starts. */
  recLine = 0;
  /** Field count of the current record. */
  n = 0;
  /** Set when the current record is malformed (unterminated quote, text after a closing quote). */
  error: string | null = null;

  private readonly ws: boolean;
  private readonly delim: string;
  private readonly delimCode: number;
  private readonly quote: string;
  private readonly quoteCode: number;
  private text = '';
  private pending: string[] = [];
  private pendingLen = 0;
  private needLen = 0;
  private line = 1;
  private recStart = 0;
  private recEnd = 0;
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);
  private slowFields: string[] | null = null;

  constructor(
    opts: CsvOptions,
    private readonly fileName: string,
    private readonly onRecord: (s: CsvSplitter) => void,
  ) {
    this.ws = opts.delimiter === 'whitespace';
    this.delim = this.ws ? ' ' : opts.delimiter;
    this.delimCode = this.delim.charCodeAt(0);
    this.quote = opts.quote;
    this.quoteCode = opts.quote.charCodeAt(0);
    if (!this.ws && this.delim === this.quote) throw new IngestError(`${fileName}: the CSV delimiter and quote are the same character`);
    if (!this.ws && (this.delim === '\n' || this.delim === '\r')) throw new IngestError(`${fileName}: a line break cannot be the CSV delimiter`);
  }

  /** Field i of the current record (0-based). */
  field(i: number): string {
    return this.slowFields ? this.slowFields[i] : this.text.substring(this.starts[i], this.ends[i]);
  }

  /** All fields of the current record (for headers; allocates). */
  fields(): string[] {
    const out: string[] = new Array(this.n);
    for (let i = 0; i < this.n; i++) out[i] = this.field(i);
    return out;
  }

  /** The current record's text, without its line ending. */
  raw(): string {
    return this.text.substring(this.recStart, this.recEnd);
  }

  push(chunk: string): void {
    if (chunk.length === 0) return;
    if (this.needLen > 0) {
      // a long partial record is waiting: grow geometrically before re-scanning it (keeps a huge
      // field O(n) instead of O(n^2) in the number of chunks)
      this.pending.push(chunk);
      this.pendingLen += chunk.length;
      if (this.text.length + this.pendingLen < this.needLen) return;
      this.text += this.pending.join('');
      this.pending = [];
      this.pendingLen = 0;
      this.needLen = 0;
    } else {
      this.text = this.text.length === 0 ? chunk : this.text + chunk;
    }
    this.run(false);
  }

  end(): void {
    if (this.pending.length) {
      this.text += this.pending.join('');
      this.pending = [];
      this.pendingLen = 0;
    }
    this.needLen = 0;
    this.run(true);
  }

  private grow(): void {
    const s = new Int32Array(this.starts.length * 2);
    s.set(this.starts);
    const e = new Int32Array(this.ends.length * 2);
    e.set(this.ends);
    this.starts = s;
    this.ends = e;
  }

  private run(final: boolean): void {
    const text = this.text;
    const len = text.length;
    const quote = this.quote;
    const NONE = 0x7fffffff;
    let nextQuote = -1;
    let pos = 0;
    while (pos < len) {
      const nl = text.indexOf('\n', pos);
      let lineEnd: number;
      let next: number;
      if (nl === -1) {
        if (!final) break;
        lineEnd = len;
        next = len;
      } else {
        lineEnd = nl;
        next = nl + 1;
      }
      if (nextQuote < pos) {
        nextQuote = text.indexOf(quote, pos);
        if (nextQuote === -1) nextQuote = NONE;
      }
      if (nextQuote < lineEnd) {
        const r = this.slow(text, pos, final);
        if (r < 0) break; // the record continues in the next chunk
        this.recLine = this.line;
        for (let k = pos; k < r; k++) if (text.charCodeAt(k) === 10) this.line++;
        this.recStart = pos;
        let e = r;
        if (e > pos && text.charCodeAt(e - 1) === 10) e--;
        if (e > pos && text.charCodeAt(e - 1) === 13) e--;
        this.recEnd = e;
        this.onRecord(this);
        pos = r;
        continue;
      }
      let end = lineEnd;
      if (end > pos && text.charCodeAt(end - 1) === 13) end--;
      let n = 0;
      if (this.ws) {
        let p = pos;
        while (p < end) {
          let c = text.charCodeAt(p);
          if (c === 32 || c === 9 || c === 13) {
            p++;
            continue;
          }
          const s = p;
          while (p < end && (c = text.charCodeAt(p)) !== 32 && c !== 9 && c !== 13) p++;
          if (n === this.starts.length) this.grow();
          this.starts[n] = s;
          this.ends[n] = p;
          n++;
        }
      } else if (end > pos) {
        const d = this.delim;
        let p = pos;
        for (;;) {
          const q = text.indexOf(d, p);
          if (n === this.starts.length) this.grow();
          this.starts[n] = p;
          if (q === -1 || q >= end) {
            this.ends[n] = end;
            n++;
            break;
          }
          this.ends[n] = q;
          n++;
          p = q + 1;
        }
        if (n === 1 && isBlank(text, pos, end)) n = 0;
      }
      if (n > 0) {
        this.n = n;
        this.recLine = this.line;
        this.recStart = pos;
        this.recEnd = end;
        this.slowFields = null;
        this.error = null;
        this.onRecord(this);
      }
      this.line++;
      pos = next;
    }
    // keep the unconsumed tail as a flat copy, so the big chunk it was cut from can be freed
    this.text = pos >= len ? '' : pos === 0 ? text : (' ' + text.slice(pos)).slice(1);
    if (final) return;
    if (this.text.length > MAX_RECORD_CHARS)
      throw new IngestError(
        `${this.fileName}: line ${this.line}: a record longer than ${MAX_RECORD_CHARS} characters (an unterminated quote?)`,
      );
    if (this.text.length > 1024) this.needLen = this.text.length * 2;
  }

  /**
   * Parses one record starting at pos char by char. Returns the position after its line ending
   * (or the text's end), or -1 when the record may continue in a later chunk.
   */
  private slow(text: string, pos: number, final: boolean): number {
    const len = text.length;
    const ws = this.ws;
    const dc = this.delimCode;
    const qc = this.quoteCode;
    const fields: string[] = [];
    let error: string | null = null;
    let p = pos;
    let c = 0;
    for (;;) {
      if (ws) while (p < len && ((c = text.charCodeAt(p)) === 32 || c === 9 || c === 13)) p++;
      if (p >= len) {
        if (!final) return -1;
        if (!ws) fields.push('');
        break;
      }
      c = text.charCodeAt(p);
      if (ws && c === 10) {
        p++;
        break;
      }
      let val: string;
      if (c === qc) {
        val = '';
        let seg = p + 1;
        for (;;) {
          const q = text.indexOf(this.quote, seg);
          if (q === -1) {
            if (!final) return -1;
            error = 'unterminated quoted field';
            val += text.slice(seg);
            p = len;
            break;
          }
          if (q + 1 >= len && !final) return -1; // cannot tell a closing quote from a doubled one yet
          if (q + 1 < len && text.charCodeAt(q + 1) === qc) {
            val += text.slice(seg, q + 1);
            seg = q + 2;
            continue;
          }
          val += text.slice(seg, q);
          p = q + 1;
          break;
        }
        // anything between the closing quote and the next delimiter / line end
        const j = p;
        while (p < len && (c = text.charCodeAt(p)) !== 10 && (ws ? c !== 32 && c !== 9 && c !== 13 : c !== dc)) p++;
        let junkEnd = p;
        if (!ws && junkEnd > j && (p >= len || c === 10) && text.charCodeAt(junkEnd - 1) === 13) junkEnd--;
        if (junkEnd > j) {
          if (isBlank(text, j, junkEnd)) {
            // `"a" ,b`: blanks after a closing quote are tolerated
          } else {
            error ??= 'text after a closing quote';
            val += text.slice(j, junkEnd);
          }
        }
      } else {
        const j = p;
        if (ws) while (p < len && (c = text.charCodeAt(p)) !== 32 && c !== 9 && c !== 13 && c !== 10) p++;
        else while (p < len && (c = text.charCodeAt(p)) !== dc && c !== 10) p++;
        let e = p;
        if (!ws && (p >= len || c === 10) && e > j && text.charCodeAt(e - 1) === 13) e--;
        val = text.slice(j, e);
      }
      fields.push(val);
      if (p >= len) {
        if (!final) return -1;
        break;
      }
      c = text.charCodeAt(p);
      if (c === 10) {
        p++;
        break;
      }
      if (!ws && c === dc) {
        p++;
        continue;
      }
      // ws: a blank after the field, skipped at the top of the loop
    }
    this.n = fields.length;
    this.slowFields = fields;
    this.error = error;
    return p;
  }
}

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/**
 * The same splitter over raw UTF-8 bytes (used whenever the delimiter and quote are ASCII, i.e.
 * always in practice): no TextDecoder and no string per field. Issue 8 measured, on 1M rows,
 * ~0.75 s of CPU in decoding, splitting and substring-taking for the text splitter above; here a
 * record's fields stay byte ranges (`buf`, `starts`, `ends`) that RowBuilder.processBytes parses
 * in place, and strings are made only for the rare record that needs them (a quoted field, a
 * reject). Bytes are checked to be UTF-8 (Buffer's native isUtf8, simdutf) line block by line
 * block before they are split: '\n' never occurs inside a multi-byte sequence, so a block that
 * ends after a '\n' never cuts a character. Records, line numbers, quoting rules and errors are
 * those of CsvSplitter (the tests run both through the same cases via ingest).
 */
export class ByteCsvSplitter {
  recLine = 0;
  n = 0;
  error: string | null = null;
  /** The bytes the current record's field ranges point into. */
  buf: Buffer = Buffer.alloc(0);
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  /** Set (and the ranges meaningless) when the record went through the quoted path. */
  slowFields: string[] | null = null;

  private readonly ws: boolean;
  private readonly dc: number;
  private readonly qc: number;
  private tail: Buffer = Buffer.alloc(0);
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private needLen = 0;
  private line = 1;
  private recStart = 0;
  private recEnd = 0;
  /** Uncompressed byte offset of tail[0] in the file, and how far UTF-8 was checked. */
  private base = 0;
  private checked = 0;
  private started = false;
  private readonly scanner: DelimiterScanner | null;

  /**
   * at: where the bytes start when they are not the file's beginning (a block of a file split
   * between threads, parallel.ts): the 1-based line and the byte offset in the uncompressed file;
   * a BOM is only dropped at the file's beginning.
   */
  constructor(
    opts: CsvOptions,
    private readonly fileName: string,
    private readonly onRecord: (s: ByteCsvSplitter) => void,
    at?: { line: number; offset: number },
  ) {
    if (at) {
      this.line = at.line;
      this.base = this.checked = at.offset;
      this.started = at.offset > 0;
    }
    this.ws = opts.delimiter === 'whitespace';
    const delim = this.ws ? ' ' : opts.delimiter;
    this.dc = delim.charCodeAt(0);
    this.qc = opts.quote.charCodeAt(0);
    if (!this.ws && delim === opts.quote) throw new IngestError(`${fileName}: the CSV delimiter and quote are the same character`);
    if (!this.ws && (delim === '\n' || delim === '\r')) throw new IngestError(`${fileName}: a line break cannot be the CSV delimiter`);
    // the scan finds one delimiter besides the line feed: a comma or a semicolon, not a tab or blanks
    this.scanner = !this.ws && this.dc > 10 && opts.scan !== false ? delimiterScanner() : null;
  }

  /** Whether the byte splitter can split with these options (ASCII delimiter and quote). */
  static supports(opts: CsvOptions): boolean {
    return (opts.delimiter === 'whitespace' || (opts.delimiter.length === 1 && opts.delimiter.charCodeAt(0) < 128)) && opts.quote.length === 1 && opts.quote.charCodeAt(0) < 128;
  }

  field(i: number): string {
    return this.slowFields ? this.slowFields[i] : this.buf.toString('utf8', this.starts[i], this.ends[i]);
  }

  /** The line the next record starts on (after end(): one past the last line). */
  get nextLine(): number {
    return this.line;
  }

  fields(): string[] {
    const out: string[] = new Array(this.n);
    for (let i = 0; i < this.n; i++) out[i] = this.field(i);
    return out;
  }

  raw(): string {
    return this.buf.toString('utf8', this.recStart, this.recEnd);
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    let c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!this.started) {
      this.started = true;
      if (c.length >= 3 && c[0] === 0xef && c[1] === 0xbb && c[2] === 0xbf) {
        c = c.subarray(3); // BOM (a BOM split across chunks is not handled; chunks are >= 64 KiB)
        this.base += 3;
        this.checked += 3;
      }
    }
    if (this.needLen > 0) {
      this.pending.push(c);
      this.pendingLen += c.length;
      if (this.tail.length + this.pendingLen < this.needLen) return;
      this.tail = Buffer.concat([this.tail, ...this.pending]);
      this.pending = [];
      this.pendingLen = 0;
      this.needLen = 0;
    } else {
      this.tail = this.tail.length === 0 ? c : Buffer.concat([this.tail, c]);
    }
    this.run(false);
  }

  end(): void {
    if (this.pending.length) {
      this.tail = Buffer.concat([this.tail, ...this.pending]);
      this.pending = [];
      this.pendingLen = 0;
    }
    this.needLen = 0;
    this.run(true);
  }

  private check(buf: Buffer, upTo: number): void {
    const from = this.checked - this.base;
    if (upTo <= from) return;
    if (!isUtf8(buf.subarray(from, upTo))) {
      // the exact place (the same whichever way the file was cut into chunks or blocks)
      const at = firstInvalidUtf8(buf, from, upTo);
      let line = this.line;
      for (let i = 0; i < at; i++) if (buf[i] === 10) line++;
      throw new IngestError(
        `${this.fileName}: not UTF-8 text (invalid byte sequence at byte ${this.base + at} of the uncompressed data, line ${line}); re-export as UTF-8`,
      );
    }
    this.checked = this.base + upTo;
  }

  private grow(): void {
    const s = new Int32Array(this.starts.length * 2);
    s.set(this.starts);
    const e = new Int32Array(this.ends.length * 2);
    e.set(this.ends);
    this.starts = s;
    this.ends = e;
  }

  private run(final: boolean): void {
    const buf = this.tail;
    const len = buf.length;
    this.buf = buf;
    if (final) this.check(buf, len);
    else {
      const lastNl = buf.lastIndexOf(10);
      if (lastNl >= 0) this.check(buf, lastNl + 1);
    }
    const sc = this.scanner;
    let pos: number;
    if (sc !== null && sc.acquire(len)) {
      try {
        pos = this.recordsScanned(buf, final, sc);
      } finally {
        sc.release();
      }
    } else pos = this.records(buf, final);
    this.keepTail(buf, pos, final);
  }

  /**
   * records() for a delimiter above the line feed, reading the positions DelimiterScanner found
   * instead of every byte (csv-scan.ts). The same records, lines and errors: a line with a quote
   * goes to slow() exactly as there, and the positions it consumed are skipped.
   */
  private recordsScanned(buf: Buffer, final: boolean, sc: DelimiterScanner): number {
    const len = buf.length;
    const qc = this.qc;
    const count = sc.scan(buf, this.dc);
    const at = sc.positions;
    let k = sc.first;
    const kEnd = k + count;
    let pos = 0;
    let nextQuote = -1;
    while (pos < len) {
      let n = 0;
      let starts = this.starts;
      let ends = this.ends;
      starts[0] = pos;
      for (;;) {
        const room = starts.length - 1;
        // a line feed's position is negative (bit 31)
        for (; k < kEnd; k++) {
          const q = at[k];
          if (q < 0 || n === room) break;
          ends[n] = q;
          n++;
          starts[n] = q + 1;
        }
        if (k >= kEnd || at[k] < 0) break;
        this.grow();
        starts = this.starts;
        ends = this.ends;
      }
      let lineEnd = -1;
      if (k < kEnd) lineEnd = positionOf(at[k++]);
      const e = lineEnd >= 0 ? lineEnd : len;
      if (nextQuote < pos) {
        nextQuote = buf.indexOf(qc, pos);
        if (nextQuote < 0) nextQuote = len;
      }
      if (nextQuote < e) {
        const r = this.quotedRecord(buf, pos, final);
        if (r < 0) break;
        pos = r;
        // the record may span lines: their positions were not this record's fields
        while (k < kEnd && positionOf(at[k]) < r) k++;
        continue;
      }
      if (lineEnd < 0 && !final) break; // the record continues in the next chunk
      let end = e;
      if (end > pos && buf[end - 1] === 13) end--;
      ends[n] = end;
      n++;
      if (end === pos || (n === 1 && isBlankB(buf, pos, end))) n = 0;
      if (n > 0) this.plainRecord(n, pos, end);
      this.line++;
      pos = lineEnd < 0 ? len : lineEnd + 1;
    }
    return pos;
  }

  /**
   * Emits the records of buf from its start; returns where the unconsumed tail starts. Kept apart
   * from keepTail: code after the loop that runs once per chunk had no type feedback when V8
   * optimised the loop, so reaching it deoptimised the loop at every chunk (issue 8: 3.4 -> 1.9 s
   * for 10M lines).
   */
  private records(buf: Buffer, final: boolean): number {
    const len = buf.length;
    const dc = this.dc;
    const qc = this.qc;
    const ws = this.ws;
    let pos = 0;
    let nextQuote = -1;
    while (pos < len) {
      let p = pos;
      let n = 0;
      let starts = this.starts;
      let ends = this.ends;
      let c = 0;
      let quoted = false;
      let lineEnd = -1;
      if (ws) {
        for (;;) {
          while (p < len && ((c = buf[p]) === 32 || c === 9 || c === 13)) p++;
          if (p >= len || c === 10) break;
          if (c === qc) {
            quoted = true;
            break;
          }
          const s = p;
          while (p < len && (c = buf[p]) !== 32 && c !== 9 && c !== 13 && c !== 10 && c !== qc) p++;
          if (c === qc && p < len) {
            quoted = true;
            break;
          }
          if (n === starts.length) {
            this.grow();
            starts = this.starts;
            ends = this.ends;
          }
          starts[n] = s;
          ends[n] = p;
          n++;
        }
        if (!quoted) lineEnd = p < len ? p : -1;
      } else {
        // the next quote by Buffer.indexOf (native memchr); a delimiter below the line feed (a tab):
        // the line end by indexOf too, then one compare a byte for the delimiters (a byte loop
        // testing three characters cost ~2x; issue 8)
        if (nextQuote < p) {
          nextQuote = buf.indexOf(qc, p);
          if (nextQuote < 0) nextQuote = len;
        }
        if (dc > 10) {
          // the delimiters and the line end in one pass (a byte above the delimiter is neither),
          // without a Buffer.indexOf call a line; a quote in the line: the fields are dropped
          // and the record goes to slow() as before
          starts[0] = p;
          for (;;) {
            const room = starts.length - 1;
            for (; p < len; p++) {
              const c = buf[p];
              if (c > dc) continue;
              if (c === dc) {
                if (n === room) break;
                ends[n] = p;
                n++;
                starts[n] = p + 1;
              } else if (c === 10) break;
            }
            if (p >= len || buf[p] === 10) break;
            this.grow();
            starts = this.starts;
            ends = this.ends;
          }
          lineEnd = p < len ? p : -1;
          if (nextQuote < p) {
            quoted = true;
            n = 0;
          }
        } else if (nextQuote < (lineEnd = buf.indexOf(10, p)) || (lineEnd < 0 && nextQuote < len)) quoted = true;
        else {
          const e = lineEnd < 0 ? len : lineEnd;
          starts[0] = p;
          for (;;) {
            // no call inside this loop: V8 then keeps the buffer's and arrays' data pointers out
            // of it (with the grow() call inside, splitting 10M lines took 3.5 s instead of ~1.5)
            const room = starts.length - 1;
            for (; p < e; p++) {
              if (buf[p] !== dc) continue;
              if (n === room) break;
              ends[n] = p;
              n++;
              starts[n] = p + 1;
            }
            if (p >= e) break;
            this.grow();
            starts = this.starts;
            ends = this.ends;
          }
        }
        if (!quoted) {
          const e = lineEnd >= 0 ? lineEnd : len;
          let end = e;
          if (end > pos && buf[end - 1] === 13) end--;
          ends[n] = end;
          n++;
          if (end === pos || (n === 1 && isBlankB(buf, pos, end))) n = 0;
        }
      }
      if (quoted) {
        const r = this.quotedRecord(buf, pos, final);
        if (r < 0) break;
        pos = r;
        continue;
      }
      if (lineEnd < 0 && !final) break; // the record continues in the next chunk
      const next = lineEnd < 0 ? len : lineEnd + 1;
      if (n > 0) {
        let end = lineEnd < 0 ? len : lineEnd;
        if (end > pos && buf[end - 1] === 13) end--;
        this.plainRecord(n, pos, end);
      }
      this.line++;
      pos = next;
    }
    return pos;
  }

  /** Emits the record of n fields (starts/ends) on the current line, buf[pos, end) without its line break. */
  private plainRecord(n: number, pos: number, end: number): void {
    this.n = n;
    this.recLine = this.line;
    this.recStart = pos;
    this.recEnd = end;
    this.slowFields = null;
    this.error = null;
    this.onRecord(this);
  }

  /** A record with a quote, from pos, by slow(): emitted, its lines counted; its end, or -1 to wait for more. */
  private quotedRecord(buf: Buffer, pos: number, final: boolean): number {
    const r = this.slow(buf, pos, final);
    if (r < 0) return -1;
    this.recLine = this.line;
    for (let k = pos; k < r; k++) if (buf[k] === 10) this.line++;
    this.recStart = pos;
    let e = r;
    if (e > pos && buf[e - 1] === 10) e--;
    if (e > pos && buf[e - 1] === 13) e--;
    this.recEnd = e;
    this.onRecord(this);
    return r;
  }

  private keepTail(buf: Buffer, pos: number, final: boolean): void {
    const len = buf.length;
    // keep the unconsumed tail as its own copy, so the chunk it was cut from can be freed
    this.base += pos;
    this.tail = pos >= len ? Buffer.alloc(0) : pos === 0 ? buf : Buffer.from(buf.subarray(pos));
    if (final) return;
    if (this.tail.length > MAX_RECORD_CHARS)
      throw new IngestError(
        `${this.fileName}: line ${this.line}: a record longer than ${MAX_RECORD_CHARS} characters (an unterminated quote?)`,
      );
    if (this.tail.length > 1024) this.needLen = this.tail.length * 2;
  }

  /** CsvSplitter.slow over bytes: one record from pos; the end position, or -1 to wait for more. */
  private slow(buf: Buffer, pos: number, final: boolean): number {
    const len = buf.length;
    const ws = this.ws;
    const dc = this.dc;
    const qc = this.qc;
    const fields: string[] = [];
    let error: string | null = null;
    let p = pos;
    let c = 0;
    for (;;) {
      if (ws) while (p < len && ((c = buf[p]) === 32 || c === 9 || c === 13)) p++;
      if (p >= len) {
        if (!final) return -1;
        if (!ws) fields.push('');
        break;
      }
      c = buf[p];
      if (ws && c === 10) {
        p++;
        break;
      }
      let val: string;
      if (c === qc) {
        val = '';
        let seg = p + 1;
        for (;;) {
          const q = buf.indexOf(qc, seg);
          if (q === -1) {
            if (!final) return -1;
            error = 'unterminated quoted field';
            val += buf.toString('utf8', seg, len);
            p = len;
            break;
          }
          if (q + 1 >= len && !final) return -1;
          if (q + 1 < len && buf[q + 1] === qc) {
            val += buf.toString('utf8', seg, q + 1);
            seg = q + 2;
            continue;
          }
          val += buf.toString('utf8', seg, q);
          p = q + 1;
          break;
        }
        const j = p;
        while (p < len && (c = buf[p]) !== 10 && (ws ? c !== 32 && c !== 9 && c !== 13 : c !== dc)) p++;
        let junkEnd = p;
        if (!ws && junkEnd > j && (p >= len || c === 10) && buf[junkEnd - 1] === 13) junkEnd--;
        if (junkEnd > j) {
          if (!isBlankB(buf, j, junkEnd)) {
            error ??= 'text after a closing quote';
            val += buf.toString('utf8', j, junkEnd);
          }
        }
      } else {
        const j = p;
        if (ws) while (p < len && (c = buf[p]) !== 32 && c !== 9 && c !== 13 && c !== 10) p++;
        else while (p < len && (c = buf[p]) !== dc && c !== 10) p++;
        let e = p;
        if (!ws && (p >= len || c === 10) && e > j && buf[e - 1] === 13) e--;
        val = buf.toString('utf8', j, e);
      }
      fields.push(val);
      if (p >= len) {
        if (!final) return -1;
        break;
      }
      c = buf[p];
      if (c === 10) {
        p++;
        break;
      }
      if (!ws && c === dc) {
        p++;
        continue;
      }
    }
    this.n = fields.length;
    this.slowFields = fields;
    this.error = error;
    return p;
  }
}

function isBlankB(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/**
 * Offset of the first byte in b[from, to) that does not start a well-formed UTF-8 sequence
 * (RFC 3629: no overlong forms, surrogates or code points above U+10FFFF), or `to` if none.
 */
export function firstInvalidUtf8(b: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + n >= to || b[i + 1] < lo || b[i + 1] > hi) return i;
    for (let k = 2; k <= n; k++) if ((b[i + k] & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return to;
}
