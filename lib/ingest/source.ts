/**
 * Bytes of one input file: counting, peeking at the first bytes (magic numbers), streaming gunzip,
 * and UTF-8 decoding. Nothing here holds more than one chunk plus a small head.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { IngestError } from './types.js';

/** Bytes pulled from the underlying source so far (compressed size, for progress). */
export interface ByteCounter {
  bytes: number;
}

export async function* counted(src: AsyncIterable<Uint8Array>, counter: ByteCounter): AsyncGenerator<Uint8Array> {
  for await (const c of src) {
    counter.bytes += c.byteLength;
    yield c;
  }
}

/**
 * Reads at least `n` bytes (or everything, if shorter) and returns them with a stream that
 * yields the same bytes again followed by the rest.
 */
export async function peek(
  src: AsyncIterable<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; stream: AsyncIterable<Uint8Array> }> {
  const it = src[Symbol.asyncIterator]();
  const got: Uint8Array[] = [];
  let total = 0;
  let done = false;
  while (total < n) {
    // a chunk kept while reading on is copied first (a source may reuse it: gunzip-thread.ts)
    if (got.length > 0) got[got.length - 1] = Buffer.from(got[got.length - 1]);
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    if (r.value.byteLength === 0) continue;
    got.push(r.value);
    total += r.value.byteLength;
  }
  const head = got.length === 1 ? got[0] : Buffer.concat(got);
  async function* replay(): AsyncGenerator<Uint8Array> {
    for (const g of got) yield g;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  const gen = replay();
  // return() closes the source even when the replay has not started (a Parquet file read in place)
  const stream: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: () => gen.next(),
      return: async () => {
        await it.return?.();
        return gen.return(undefined);
      },
    }),
  };
  return { head, stream };
}

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

export function startsWithAscii(head: Uint8Array, s: string, at = 0): boolean {
  if (head.length < at + s.length) return false;
  for (let i = 0; i < s.length; i++) if (head[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Names a binary container/compression we do not read, from its magic bytes; null if none. */
export function binaryKind(head: Uint8Array): string | null {
  if (startsWithAscii(head, 'PK\x03\x04')) return 'a zip archive (xlsx or zip)';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd-compressed data';
  if (startsWithAscii(head, 'BZh')) return 'bzip2-compressed data';
  if (head.length >= 6 && head[0] === 0xfd && startsWithAscii(head, '7zXZ', 1)) return 'xz-compressed data';
  if (head.length >= 8 && head[0] === 0xd0 && head[1] === 0xcf && head[2] === 0x11 && head[3] === 0xe0) return 'an old Excel/Office file';
  const n = Math.min(head.length, 65536);
  for (let i = 0; i < n; i++) if (head[i] === 0) return 'binary data (NUL bytes)';
  return null;
}

/** Bytes node:zlib inflates into one output chunk (also the gunzip worker's, gunzip-thread.ts). */
export const GUNZIP_CHUNK_BYTES = 256 * 1024;

export function isZlibError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Streaming gunzip (multi-member files too). A truncated or corrupt stream is an IngestError
 * naming the file; errors of the underlying source pass through unchanged.
 */
export async function* gunzip(src: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<Uint8Array> {
  const gz = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  const input = Readable.from(src, { objectMode: false });
  input.on('error', (e) => gz.destroy(e));
  input.pipe(gz);
  try {
    for await (const c of gz) yield c as Buffer;
  } catch (e) {
    if (isZlibError(e)) throw corruptGzip(name, (e as Error).message);
    throw e;
  } finally {
    input.destroy();
    gz.destroy();
  }
}

/** The error for a gzip stream that zlib cannot inflate. */
export function corruptGzip(name: string, message: string): IngestError {
  return new IngestError(`${name}: truncated or corrupt gzip data (${message}); the whole file is rejected`);
}

/**
 * UTF-8 text chunks. A byte sequence that is not UTF-8 is a file-level error (a Latin-1 export
 * read as UTF-8 would silently change customer ids); a BOM is dropped.
 */
export async function* decodeUtf8(src: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<string> {
  const dec = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  let s: string;
  for await (const c of src) {
    try {
      s = dec.decode(c, { stream: true });
    } catch (e) {
      throw notUtf8(e, name, offset, offset + c.byteLength);
    }
    offset += c.byteLength;
    if (s.length) yield s;
  }
  try {
    s = dec.decode();
  } catch (e) {
    throw notUtf8(e, name, offset, offset);
  }
  if (s.length) yield s;
}

function notUtf8(e: unknown, name: string, from: number, to: number): unknown {
  if ((e as { code?: string })?.code !== 'ERR_ENCODING_INVALID_ENCODED_DATA') return e;
  const where = from === to ? `at the end (byte ${to})` : `between bytes ${from} and ${to}`;
  return new IngestError(`${name}: not UTF-8 text (invalid byte sequence ${where} of the uncompressed data); re-export as UTF-8`);
}
