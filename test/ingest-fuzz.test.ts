/**
 * Property and fuzz tests of ingest (issue 9): every input ends in accepted rows, rejects with a
 * reason, or an IngestError, and read = accepted + rejected + ignored + duplicates, always.
 *
 * Runs per property: env TAILWATCH_FUZZ_RUNS (default 60, a few seconds in CI); nightly, e.g.
 * TAILWATCH_FUZZ_RUNS=5000. The seed is fixed (TAILWATCH_FUZZ_SEED to vary it), so a failure
 * reproduces; fast-check prints the shrunk counterexample.
 */
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { IngestError } from '../lib/ingest/index.js';
import { balanced, chunkedFile, run, type Run } from './fixtures/ingest/helpers.js';

const RUNS = Number(process.env.TAILWATCH_FUZZ_RUNS ?? 60);
const SEED = Number(process.env.TAILWATCH_FUZZ_SEED ?? 20240501);
const params = { numRuns: RUNS, seed: SEED, endOnFailure: true };
const DAY = 86_400_000;

/** Runs ingest and classifies the outcome; anything but a result or an IngestError fails the property. */
async function outcome(p: Promise<Run>): Promise<Run | IngestError> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof IngestError) {
      expect(e.message.length).toBeGreaterThan(0);
      return e;
    }
    throw e;
  }
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 });

describe('random bytes', () => {
  it('end in rows, rejects or an IngestError; the counts always balance', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }),
          fc.string({ unit: 'binary', maxLength: 500 }).map((s) => new Uint8Array(Buffer.from(s))),
          // text that at least starts like an export
          fc.string({ unit: 'binary', maxLength: 500 }).map((s) => new Uint8Array(Buffer.from('customer_id,order_date,amount\n' + s))),
          fc.string({ unit: 'binary', maxLength: 500 }).map((s) => new Uint8Array(Buffer.from('{"customer_id":' + s))),
        ),
        fc.constantFrom('x.csv', 'x.jsonl', 'x', 'x.txt', 'x.csv.gz', 'x.parquet', 'x.tsv'),
        fc.boolean(),
        chunkSizes,
        async (bytes, name, gz, sizes) => {
          const content = gz || name.endsWith('.gz') ? new Uint8Array(gzipSync(bytes)) : bytes;
          const r = await outcome(run([chunkedFile(name, content, sizes)]));
          if (!(r instanceof IngestError)) {
            expect(balanced(r)).toBe(true);
            for (const j of r.rejects) expect(j.reason).not.toBe('');
          }
        },
      ),
      params,
    );
  });
});

// --- a model of valid and invalid cells, with the outcome each must have ---------------------

interface Cell<T> {
  text: string;
  ok: boolean;
  value?: T;
}

// any Unicode except NUL (a NUL makes the file binary: a file-level error, by rule)
const noNul = (max: number) => fc.string({ unit: 'binary', maxLength: max }).map((s) => s.replace(/\0/g, ''));

const validDay = fc.integer({ min: Date.UTC(1900, 0, 1) / DAY, max: Date.UTC(2100, 11, 31) / DAY });
const isoOf = (d: number) => new Date(d * DAY).toISOString().slice(0, 10);
const dateCell: fc.Arbitrary<Cell<number>> = fc.oneof(
  validDay.map((d) => ({ text: isoOf(d), ok: true, value: d })),
  fc.tuple(validDay, fc.integer({ min: 0, max: 86_399 })).map(([d, s]) => ({
    text: `${isoOf(d)}T${new Date(s * 1000).toISOString().slice(11, 19)}`, // no offset: local, the date part is the day
    ok: true,
    value: d,
  })),
  fc.tuple(validDay, fc.integer({ min: 0, max: 86_399 })).map(([d, s]) => ({
    text: new Date(d * DAY + s * 1000).toISOString(), // ...Z, business zone UTC
    ok: true,
    value: d,
  })),
  fc.constantFrom('2024-02-30', '2023-02-29', '1900-02-29', '2024-13-01', '2024-00-10', '2024-04-31', '', ' ', 'yesterday', '2024/01/01', '01/02/2024', '2024-01-01T25:00', '２０２４-01-01').map((text) => ({ text, ok: false })),
  noNul(12).filter((s) => !/^\s*\d{4}-/.test(s)).map((text) => ({ text, ok: false })),
);

const plainNumber = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
const amountCell: fc.Arbitrary<Cell<number>> = fc.oneof(
  fc.integer({ min: -1_000_000_00, max: 1_000_000_00 }).map((c) => ({ text: (c / 100).toFixed(2), ok: true, value: Number((c / 100).toFixed(2)) })),
  fc.integer({ min: -100_000, max: 100_000 }).map((i) => ({ text: String(i), ok: true, value: i })),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }).map((x) => ({ text: String(x), ok: true, value: Number(String(x)) })),
  fc.constantFrom('1,234.50', '1.234,50', '12,50', '$12', '12 EUR', '€5', 'NaN', 'Infinity', '-Infinity', '', 'abc', '0x10', '(12.00)', '1 234', '1e400', '--1').map((text) => ({
    text,
    ok: false,
  })),
  noNul(10).filter((s) => !plainNumber.test(s)).map((text) => ({ text, ok: false })),
);

// text biased towards what breaks CSV and JSON: quotes, delimiters, line breaks, blanks, BOM, astral chars
const text = (max: number) =>
  fc
    .array(
      fc.oneof(
        fc.constantFrom('"', '""', "'", ',', ';', '\t', '|', '\n', '\r', '\r\n', ' ', '\uFEFF', '\u00a0', 'é', '😀', '\\', '{', '}'),
        noNul(3),
      ),
      { maxLength: Math.ceil(max / 2) },
    )
    .map((parts) => parts.join(''));
const idCell = fc.oneof(
  { weight: 8, arbitrary: text(12) },
  { weight: 1, arbitrary: fc.constantFrom('', '   ', '\t') },
  { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'h'.repeat(n)) }, // huge field
);

interface ModelRow {
  id: string;
  date: Cell<number>;
  amount: Cell<number>;
  note: string;
}
const modelRow: fc.Arbitrary<ModelRow> = fc.record({ id: idCell, date: dateCell, amount: amountCell, note: text(20) });

type Expect = { ok: true; id: string; day: number; amount: number; note: string } | { ok: false; column: string };
function expected(r: ModelRow): Expect {
  if (r.id.trim() === '') return { ok: false, column: 'customer_id' };
  if (!r.date.ok) return { ok: false, column: 'order_date' };
  if (!r.amount.ok) return { ok: false, column: 'amount' };
  return { ok: true, id: r.id.trim(), day: r.date.value!, amount: r.amount.value!, note: r.note.trim() };
}

function csvField(s: string, delim: string, forceQuote: boolean): string {
  const needs = forceQuote || s.includes(delim) || /["\r\n]/.test(s) || s !== s.trim() || s === '';
  return needs ? `"${s.replace(/"/g, '""')}"` : s;
}

function checkAgainstModel(res: Run, rows: ModelRow[], lines: number[]): void {
  expect(balanced(res)).toBe(true);
  expect(res.rows.read).toBe(rows.length);
  let a = 0;
  let j = 0;
  rows.forEach((row, i) => {
    const e = expected(row);
    if (e.ok) {
      const got = res.accepted[a++];
      expect(got).toEqual({ customerId: e.id, day: e.day, amount: e.amount, orderId: null, margin: null, dims: [e.note] });
    } else {
      const got = res.rejects[j++];
      expect(got.line).toBe(lines[i]);
      expect(got.column).toBe(e.column);
      expect(got.reason.length).toBeGreaterThan(5);
    }
  });
  expect(a).toBe(res.accepted.length);
  expect(j).toBe(res.rejects.length);
}

describe('model-based: generated CSV rows', () => {
  it('each row is accepted with the values written, or rejected for the right column at the right line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(modelRow, { minLength: 1, maxLength: 30 }),
        fc.constantFrom(',', ';', '\t', '|'),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(), // BOM
        fc.boolean(), // gzip
        fc.boolean(), // quote every field
        chunkSizes,
        async (rows, delim, eol, bom, gz, quoteAll, sizes) => {
          let body = (bom ? '\uFEFF' : '') + ['customer_id', 'order_date', 'amount', 'note'].join(delim) + eol;
          const lines: number[] = [];
          let line = 2;
          for (const r of rows) {
            lines.push(line);
            const rec = [r.id, r.date.text, r.amount.text, r.note].map((f) => csvField(f, delim, quoteAll)).join(delim);
            line += (rec.match(/\n/g) ?? []).length + 1;
            body += rec + eol;
          }
          const bytes = Buffer.from(body, 'utf8');
          const file = chunkedFile(gz ? 'x.csv.gz' : 'x.csv', gz ? gzipSync(bytes) : bytes, sizes.map((s) => s * 7));
          const res = await run([file], { input: { csv: { delimiter: delim }, columns: { dimensions: ['note'] } } });
          checkAgainstModel(res, rows, lines);
        },
      ),
      params,
    );
  });
});

describe('model-based: generated JSON Lines', () => {
  it('each line is accepted with its values, or rejected for the right key at the right line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(modelRow, { minLength: 1, maxLength: 30 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        chunkSizes,
        async (rows, eol, numbersAsJson, sizes) => {
          const lines: number[] = [];
          const body = rows
            .map((r, i) => {
              lines.push(i + 1);
              const amount = numbersAsJson && r.amount.ok ? r.amount.value : r.amount.text;
              return JSON.stringify({ extra: [1, { x: 2 }], customer_id: r.id, order_date: r.date.text, amount, note: r.note });
            })
            .join(eol);
          const res = await run([chunkedFile('x.jsonl', Buffer.from(body), sizes)], { input: { columns: { dimensions: ['note'] } } });
          checkAgainstModel(res, rows, lines);
        },
      ),
      params,
    );
  });
});

describe('mutated exports', () => {
  it('a valid export with random bytes flipped, cut or inserted still balances or fails with an IngestError', async () => {
    let base = 'order_id,customer_id,order_date,amount\n';
    for (let i = 0; i < 50; i++) base += `o${i % 40},c${i % 7},2024-01-${String((i % 28) + 1).padStart(2, '0')},${i}.5\n`;
    const good = Buffer.from(base);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat({ max: good.length }),
        fc.constantFrom('x.csv', 'x.csv.gz'),
        chunkSizes,
        async (flips, cut, name, sizes) => {
          const b = Buffer.from(good);
          for (const [at, v] of flips) b[at] = v;
          let content: Uint8Array = b.subarray(0, Math.max(cut, 1));
          if (name.endsWith('.gz')) {
            const z = gzipSync(b);
            content = z.subarray(0, Math.max(2, Math.floor((z.length * cut) / good.length))); // often a truncated gzip
          }
          const r = await outcome(run([chunkedFile(name, content, sizes)], { input: { columns: { orderId: 'order_id' } } }));
          if (!(r instanceof IngestError)) expect(balanced(r)).toBe(true);
        },
      ),
      params,
    );
  });
});
