/**
 * The WebAssembly delimiter scan (lib/ingest/csv-scan.ts, issue 8): its embedded bytes are those
 * of csv-scan.wat, its positions are every delimiter and line feed, and ByteCsvSplitter gives the
 * same records (fields, lines, raw text, errors) reading them as with its byte loop, however the
 * text is quoted and cut into chunks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CSV_SCAN_WASM } from '../lib/ingest/csv-scan-wasm.js';
import { delimiterScanner, positionOf } from '../lib/ingest/csv-scan.js';
import { ByteCsvSplitter } from '../lib/ingest/csv.js';
import { compileWat } from '../scripts/build-wasm.js';

function split(text: string, chunks: number[], delimiter: string, scan: boolean) {
  const out: unknown[] = [];
  const sp = new ByteCsvSplitter({ delimiter, quote: '"', scan }, 'x.csv', (s) =>
    out.push({ line: s.recLine, fields: s.fields(), raw: s.raw(), error: s.error }),
  );
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  for (const c of chunks) {
    if (at >= bytes.length) break;
    sp.push(bytes.subarray(at, at + c));
    at += c;
  }
  if (at < bytes.length) sp.push(bytes.subarray(at));
  sp.end();
  return out;
}

describe('WebAssembly delimiter scan', () => {
  it('embeds the bytes csv-scan.wat compiles to (npm run build:wasm)', async () => {
    expect(Buffer.from(CSV_SCAN_WASM, 'base64').equals(Buffer.from(await compileWat()))).toBe(true);
  });

  it('finds every delimiter and line feed, in order, line feeds flagged', () => {
    const sc = delimiterScanner();
    expect(sc).not.toBeNull();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(44, 59, 124), (bytes, dc) => {
        const count = sc!.scan(bytes, dc);
        const got = Array.from(sc!.positions.subarray(sc!.first, sc!.first + count), (q) => [positionOf(q), q < 0]);
        const want: [number, boolean][] = [];
        bytes.forEach((b, i) => {
          if (b === dc || b === 10) want.push([i, b === 10]);
        });
        expect(got).toEqual(want);
      }),
    );
  });

  it('is taken by one chunk at a time', () => {
    const sc = delimiterScanner()!;
    expect(sc.acquire(10)).toBe(true);
    expect(sc.acquire(10)).toBe(false);
    sc.release();
    expect(sc.acquire(10)).toBe(true);
    sc.release();
  });

  it('gives ByteCsvSplitter the records of its byte loop', () => {
    const field = fc.oneof(
      fc.constantFrom('', 'a', 'C0001', '12.50', ' x ', 'é', '"q"', '"a,b"', '"multi\nline"', '"un', '""', 'a"b', '\r', ' '),
      fc.string({ unit: fc.constantFrom('a', ',', ';', '"', '\n', '\r', ' ', 'é'), maxLength: 6 }),
    );
    const line = fc.array(field, { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 12 }),
        fc.constantFrom(',', ';'),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 20 }),
        (lines, d, eol, lastEol, chunks) => {
          const text = lines.map((l) => l.join(d)).join(eol) + (lastEol ? eol : '');
          expect(split(text, chunks, d, true)).toEqual(split(text, chunks, d, false));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('splits records wider than the field arrays', () => {
    const wide = Array.from({ length: 150 }, (_, i) => `f${i}`);
    const text = `${wide.join(',')}\nx,"y,z"\n${wide.slice(0, 70).join(',')}`;
    const got = split(text, [1 << 20], ',', true) as { fields: string[] }[];
    expect(got).toEqual(split(text, [1 << 20], ',', false));
    expect(got.map((r) => r.fields.length)).toEqual([150, 2, 70]);
  });
});
