/**
 * Gunzip on a worker thread (lib/ingest/gunzip-thread.ts, issue 8): the same bytes as node:zlib
 * in the main thread, through a ring of slots that wraps many times; multi-member files; the same
 * errors as gunzip(); the worker and the source closed when the reader stops early.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { copyChunks, gunzipOffThread } from '../lib/ingest/gunzip-thread.js';
import { gunzip } from '../lib/ingest/source.js';
import { IngestError } from '../lib/ingest/types.js';

/** Deterministic text of about `bytes` bytes (CSV-like lines, compressible but not trivially). */
function text(bytes: number, seed = 1): Buffer {
  let s = seed;
  const lines: string[] = [];
  let n = 0;
  while (n < bytes) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const line = `O${n},C${s % 100_000},2024-0${1 + (s % 9)}-1${s % 10},${(s % 10_000) / 100}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join(''));
}

/** A source of `data` in chunks of `size` bytes; `closed` is set when its reader closes it. */
function source(data: Buffer, size: number, fail?: Error) {
  const state = { closed: false };
  async function* gen(): AsyncGenerator<Uint8Array> {
    try {
      for (let o = 0; o < data.length; o += size) {
        if (fail && o >= data.length / 2) throw fail;
        yield data.subarray(o, o + size);
      }
    } finally {
      state.closed = true;
    }
  }
  return { stream: gen(), state };
}

async function collect(src: AsyncIterable<Uint8Array>): Promise<{ bytes: Buffer; chunks: number }> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(Buffer.from(c)); // views are valid until the next read: copy
  return { bytes: Buffer.concat(parts), chunks: parts.length };
}

describe('gunzipOffThread', () => {
  it('gives the bytes node:zlib gives, through a ring that wraps around', async () => {
    const plain = text(20 * 1024 * 1024); // 20 slots of 1 MiB: the ring of 8 wraps twice
    const gz = gzipSync(plain);
    const { stream, state } = source(gz, 64 * 1024);
    const off = await collect(gunzipOffThread(stream, 'x.csv.gz'));
    expect(off.chunks).toBeGreaterThanOrEqual(20);
    expect(off.bytes.equals(plain)).toBe(true);
    expect(state.closed).toBe(true);
  });

  it('reads every member of a multi-member file', async () => {
    const a = text(300_000, 2);
    const b = text(1_500_000, 3);
    const gz = Buffer.concat([gzipSync(a), gzipSync(b)]);
    const off = await collect(gunzipOffThread(source(gz, 7_000).stream, 'x.csv.gz'));
    expect(off.bytes.equals(Buffer.concat([a, b]))).toBe(true);
    const small = await collect(gunzipOffThread(source(gz, 7_000).stream, 'x.csv.gz', { slots: 2, slotBytes: 10_000 }));
    expect(small.bytes.equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('rejects a truncated file with the message gunzip() gives, naming it', async () => {
    const gz = gzipSync(text(3_000_000));
    const cut = gz.subarray(0, gz.length - 5_000);
    const inThread = await collect(gunzip(source(cut, 50_000).stream, 'big.csv.gz')).catch((e: unknown) => e);
    const off = await collect(gunzipOffThread(source(cut, 50_000).stream, 'big.csv.gz')).catch((e: unknown) => e);
    expect(inThread).toBeInstanceOf(IngestError);
    expect(off).toBeInstanceOf(IngestError);
    expect((off as Error).message).toBe((inThread as Error).message);
    expect((off as Error).message).toMatch(/^big\.csv\.gz: truncated or corrupt gzip data/);
  });

  it("passes the source's own error through unchanged", async () => {
    const boom = new Error('socket hang up');
    const off = await collect(gunzipOffThread(source(gzipSync(text(2_000_000)), 10_000, boom).stream, 'x.csv.gz')).catch((e: unknown) => e);
    expect(off).toBe(boom);
  });

  it('closes the source (and stops its worker) when the reader stops early', async () => {
    const { stream, state } = source(gzipSync(text(12 * 1024 * 1024)), 64 * 1024);
    let seen = 0;
    for await (const c of gunzipOffThread(stream, 'x.csv.gz')) {
      seen += c.length;
      if (seen > 2 * 1024 * 1024) break;
    }
    expect(state.closed).toBe(true);
  });

  it('copyChunks gives chunks that outlive the next read', async () => {
    const plain = text(10 * 1024 * 1024, 5);
    const kept: Uint8Array[] = [];
    for await (const c of copyChunks(gunzipOffThread(source(gzipSync(plain), 64 * 1024).stream, 'x.csv.gz'))) kept.push(c);
    expect(Buffer.concat(kept).equals(plain)).toBe(true);
  });
});
