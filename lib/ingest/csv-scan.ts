/**
 * The positions of a CSV chunk's delimiters and line feeds, found 16 bytes at a time by a small
 * WebAssembly SIMD function (csv-scan.wat) for ByteCsvSplitter.
 *
 * Why (issue 8, 10M rows, 548 MB of CSV): the splitter's byte loop, one compare a byte in
 * JavaScript, took ~2.8 s of CPU, ~10% of the whole ingest; V8 does not vectorise it. The scan
 * writes each delimiter's position once (about 1 byte in 7 of an export) and the splitter reads
 * the positions instead of the bytes: splitting 300 MB went from ~1,100 to ~330 ms.
 *
 * One scanner per thread (WebAssembly memory is per instance); its positions are valid until the
 * next scan, so a scan is taken for one chunk (acquire/release) and a nested chunk falls back to
 * the byte loop. Without WebAssembly SIMD, or with TAILWATCH_CSV_SCAN=js, there is no scanner.
 */
import { CSV_SCAN_WASM } from './csv-scan-wasm.js';

/** Chunks longer than this use the byte loop (the scan needs ~5 bytes of memory a byte). */
export const MAX_SCAN_BYTES = 16 << 20;
const LINE_FEED = 1 << 31;
const PAGE = 65536;

export class DelimiterScanner {
  private memory: WebAssembly.Memory;
  private readonly fn: (len: number, out: number, dc: number) => number;
  private bytes: Uint8Array;
  /** Positions written by the last scan, from index `first`; a line feed's has bit 31 set (negative). */
  positions: Int32Array;
  first = 0;
  private busy = false;

  constructor(module: WebAssembly.Module) {
    const inst = new WebAssembly.Instance(module, {});
    this.memory = inst.exports.memory as WebAssembly.Memory;
    this.fn = inst.exports.scan as (len: number, out: number, dc: number) => number;
    this.bytes = new Uint8Array(this.memory.buffer);
    this.positions = new Int32Array(this.memory.buffer);
  }

  /**
   * Takes the scanner for one chunk: false when it is already taken (a chunk split inside
   * another's records) or the chunk is too long; then the caller uses its byte loop.
   */
  acquire(len: number): boolean {
    if (this.busy || len > MAX_SCAN_BYTES) return false;
    this.busy = true;
    return true;
  }

  release(): void {
    this.busy = false;
  }

  /**
   * Finds the delimiter dc (a byte above the line feed) and the line feeds of buf; returns their
   * count, at positions[first ...]. buf is copied into the module's memory, padded with zeros
   * (never dc, never a line feed) to a multiple of 16.
   */
  scan(buf: Uint8Array, dc: number): number {
    const len = buf.length;
    const padded = (len + 15) & ~15;
    const out = padded + 16;
    const need = out + 4 * padded;
    if (need > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((need - this.memory.buffer.byteLength) / PAGE));
      this.bytes = new Uint8Array(this.memory.buffer);
      this.positions = new Int32Array(this.memory.buffer);
    }
    this.bytes.set(buf, 0);
    this.bytes.fill(0, len, padded);
    this.first = out >>> 2;
    return this.fn(padded, out, dc);
  }
}

/** A scanned position's byte offset (without the line feed bit). */
export function positionOf(q: number): number {
  return q & ~LINE_FEED;
}

let compiled: WebAssembly.Module | null | undefined;
let scanner: DelimiterScanner | null | undefined;

/** This thread's scanner, made on first use; null when WebAssembly SIMD is missing or TAILWATCH_CSV_SCAN=js. */
export function delimiterScanner(): DelimiterScanner | null {
  if (scanner !== undefined) return scanner;
  if (compiled === undefined) {
    const bytes = Buffer.from(CSV_SCAN_WASM, 'base64');
    compiled = process.env.TAILWATCH_CSV_SCAN !== 'js' && typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  scanner = compiled === null ? null : new DelimiterScanner(compiled);
  return scanner;
}
