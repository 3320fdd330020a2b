/**
 * The byte-level CSV path (ByteCsvSplitter + RowBuilder.processBytes, issue 8) against the text
 * path (CsvSplitter + RowBuilder.process), which a non-ASCII quote character selects: on quote-free
 * input both must give the same rows, rejects (line, column, reason, raw), counts and duplicates.
 * Values are drawn to hit every fallback of the byte path: blanks and Unicode blanks around
 * values, non-ASCII ids, exponents, 16+ digit numbers, lowercase currency, timestamps with
 * offsets, impossible dates, empty margins, exact and near duplicates. Also: onAccepted carries
 * the same rows as onRow, with one key per distinct customer id.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config.js';
import { ingest, orderHash, type AcceptedRow, type Reject, type SalesRow } from '../lib/ingest/index.js';
import { DIMS, ROW_REJECTED, RowBuilder, SLOT, slotRefs } from '../lib/ingest/rows.js';
import { memFile } from './fixtures/ingest/helpers.js';

const ids = ['C1', ' C1', 'C1\t', 'Ç9', '\u00a0C1', 'C1\u00a0', '', 'customer-with-a-long-id-0001', 'x', 'C2'];
const dates = ['2024-01-05', ' 2024-01-05', '2024-02-30', '20240105', '2024-01-05T23:30:00-05:00', '2024-01-05 10:00', '', 'soon', '2024-1-5'];
const amounts = ['12.50', '12.5', ' 7', '-3', '1e3', '1234567890123456.5', '1,234.50', '', '.5', '5.', '+', 'NaN', '３'];
const margins = ['', ' ', '1.25', 'x', '\u00a0', '-0'];
const currencies = ['USD', 'usd', ' USD ', 'EUR', '', 'ＵSD'];
const orders = ['O1', 'O2', '', ' O1 ', 'Ö1', 'O-long-order-identifier-17'];
const dims = ['EU', ' EU', 'APAC', '', 'Ünïcode', 'EU\u00a0'];

const row = fc.tuple(
  fc.constantFrom(...orders),
  fc.constantFrom(...ids),
  fc.constantFrom(...dates),
  fc.constantFrom(...amounts),
  fc.constantFrom(...margins),
  fc.constantFrom(...dims),
  fc.constantFrom(...currencies),
  fc.boolean(),
);

async function collect(text: string, quote: string, chunk: number, dedupe: boolean) {
  const config = parseConfig({
    input: {
      columns: { orderId: 'order_id', margin: 'margin', currency: 'currency', dimensions: ['region'] },
      csv: { quote },
    },
    currency: 'USD',
  });
  const rows: SalesRow[] = [];
  const accepted: (Omit<AcceptedRow, 'customerKey'> & { key: number })[] = [];
  const rejects: Reject[] = [];
  const res = await ingest([memFile('x.csv', text, chunk)], config, {
    dedupe,
    onRow: (r) => rows.push(r),
    onAccepted: (a) => accepted.push({ ...a, key: a.customerKey, dims: [...a.dims] }),
    onReject: (r) => rejects.push(r),
  });
  return { rows, accepted, rejects, counts: res.rows, minDay: res.minDay, maxDay: res.maxDay };
}

describe('byte CSV path', () => {
  it('equals the text path on quote-free input, row for row and reject for reject', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 64 }), fc.boolean(), async (rs, chunk, dedupe) => {
        const lines = ['order_id,customer_id,order_date,amount,margin,region,currency'];
        for (const [o, c, d, a, m, g, cur, dup] of rs) {
          const l = [o, c, d, a, m, g, cur].join(',');
          lines.push(l);
          if (dup) lines.push(l);
        }
        const text = lines.join(rs.length % 2 ? '\n' : '\r\n') + '\n';
        const bytes = await collect(text, '"', chunk, dedupe);
        const textPath = await collect(text, '§', chunk, dedupe);
        expect(bytes.rows).toEqual(textPath.rows);
        expect(bytes.rejects).toEqual(textPath.rejects);
        expect(bytes.counts).toEqual(textPath.counts);
        expect([bytes.minDay, bytes.maxDay]).toEqual([textPath.minDay, textPath.maxDay]);
        // onAccepted: the same rows as primitives; one key per distinct id
        expect(bytes.accepted.length).toBe(bytes.rows.length);
        const keyOf = new Map<string, number>();
        bytes.accepted.forEach((a, i) => {
          const r = bytes.rows[i];
          expect(a.customerId).toBe(r.customerId);
          expect([a.day, a.amount, a.dims]).toEqual([r.day, r.amount, r.dims]);
          expect(Number.isNaN(a.margin) ? null : a.margin).toBe(r.margin);
          expect(a.hasOrder).toBe(r.orderId !== null);
          if (r.orderId !== null) expect(a.orderHash).toBe(orderHash(r.orderId));
          const k = keyOf.get(r.customerId) ?? a.key;
          expect(a.key).toBe(k);
          keyOf.set(r.customerId, k);
        });
        expect(new Set(keyOf.values()).size).toBe(keyOf.size);
      }),
      { numRuns: 150, seed: 8 },
    );
  });

  it('rejects bytes that are not UTF-8 wherever the chunk boundary falls, and drops a BOM', async () => {
    const good = Buffer.from('\ufeffcustomer_id,order_date,amount\nÇ1,2024-01-05,3\n', 'utf8');
    for (const chunk of [1, 2, 3, 5, 64]) {
      const rows: SalesRow[] = [];
      await ingest([memFile('g.csv', good, chunk)], parseConfig({}), { onRow: (r) => rows.push(r) });
      expect(rows).toEqual([{ customerId: 'Ç1', day: 19727, amount: 3, orderId: null, margin: null, dims: [] }]);
      const bad = Buffer.concat([Buffer.from('customer_id,order_date,amount\nC1,2024-01-05,3\nC'), Buffer.from([0xc3, 0x28]), Buffer.from(',2024-01-05,3\n')]);
      await expect(ingest([memFile('b.csv', bad, chunk)], parseConfig({}), { onRow: () => {} })).rejects.toThrow(/^b\.csv: not UTF-8 text/);
    }
  });
});

describe('RowBuilder.setTextBytes (Parquet BYTE_ARRAY columns)', () => {
  const config = parseConfig({
    input: { columns: { orderId: 'order_id', margin: 'margin', currency: 'currency', dimensions: ['region'] } },
    currency: 'USD',
  });
  const slots = [SLOT.orderId, SLOT.customerId, SLOT.orderDate, SLOT.amount, SLOT.margin, DIMS, SLOT.currency];

  /** Feeds records through one builder, as strings in vals or as UTF-8 bytes, and keeps everything it emits. */
  function feed(records: string[][], asBytes: boolean, dedupe: boolean) {
    const rows: SalesRow[] = [];
    const batches: { ok: number[]; key: number[]; startsOrder: number[] }[] = [];
    const rejects: { line: number; column: string | null; reason: string }[] = [];
    const b = new RowBuilder(config, {
      dedupe,
      onRow: (r) => rows.push(r),
      onBatch: (x) => batches.push({ ok: [...x.ok.subarray(0, x.n)], key: [...x.customerKey.subarray(0, x.n)], startsOrder: [...x.startsOrder.subarray(0, x.n)] }),
      onReject: (r) => rejects.push({ line: r.line, column: r.column, reason: r.reason }),
    });
    b.startFile('t.parquet', slotRefs(config).map((r) => (r === null ? null : String(r))));
    records.forEach((rec, line) => {
      for (let k = 0; k < slots.length; k++) {
        if (asBytes) {
          // each value inside a larger buffer, as in a Parquet page
          const buf = Buffer.from(`<<${rec[k]}>>`, 'utf8');
          b.vals[slots[k]] = 'stale value that must not be read';
          b.setTextBytes(slots[k], buf, 2, buf.length - 2);
        } else b.vals[slots[k]] = rec[k];
      }
      if (b.process() === ROW_REJECTED) b.emitReject(line + 1, '');
    });
    b.flush();
    return { rows, batches, rejects, counts: b.counts };
  }

  it('gives the rows, keys, order starts, rejects and counts of the same values as strings', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 80 }), fc.boolean(), (rs, dedupe) => {
        const records = rs.flatMap(([o, c, d, a, m, g, cur, dup]) => (dup ? [[o, c, d, a, m, g, cur], [o, c, d, a, m, g, cur]] : [[o, c, d, a, m, g, cur]]));
        const strings = feed(records, false, dedupe);
        const bytes = feed(records, true, dedupe);
        expect(bytes).toEqual(strings);
      }),
      { numRuns: 150, seed: 11 },
    );
  });

  it('batches across more rows than one batch holds, keeping keys dense and first-seen', () => {
    const records = Array.from({ length: 1500 }, (_, i) => [`O${i}`, `C${i % 700}`, '2024-01-05', '1', '', 'EU', 'USD']);
    const { batches, rows, counts } = feed(records, true, true);
    expect(rows).toHaveLength(1500);
    expect(counts).toMatchObject({ read: 1500, accepted: 1500, duplicates: 0 });
    const keys = batches.flatMap((x) => x.key);
    expect(keys).toEqual(records.map((_, i) => i % 700));
    expect(batches.length).toBeGreaterThan(1);
  });
});

describe('RowBuilder.setNumber (Parquet number columns)', () => {
  const config = parseConfig({ input: { columns: { orderId: 'order_id', margin: 'margin', dimensions: [] } } });
  const numbers = [0, -0, 12.5, -3, 1e300, Number.NaN, Number.POSITIVE_INFINITY, 19727, 19727.5, 2 ** 53 + 2, -1e-9];

  function feed(records: number[][], asNumbers: boolean, dateKind: 'days' | 'instantMs') {
    const rows: SalesRow[] = [];
    const rejects: { line: number; column: string | null; reason: string }[] = [];
    const b = new RowBuilder(config, { dedupe: true, onRow: (r) => rows.push(r), onReject: (r) => rejects.push({ line: r.line, column: r.column, reason: r.reason }) });
    b.startFile('n.parquet', slotRefs(config).map((r) => (r === null ? null : String(r))), dateKind);
    records.forEach(([day, amount, margin], line) => {
      b.vals[SLOT.customerId] = `C${line % 7}`;
      b.vals[SLOT.orderId] = `O${line % 5}`;
      const set = (slot: number, x: number) => {
        if (asNumbers) {
          b.vals[slot] = 'stale value that must not be read';
          b.setNumber(slot, x);
        } else b.vals[slot] = x;
      };
      set(SLOT.orderDate, day);
      set(SLOT.amount, amount);
      if (Number.isNaN(margin) && line % 2) b.vals[SLOT.margin] = null;
      else set(SLOT.margin, margin);
      if (b.process() === ROW_REJECTED) b.emitReject(line + 1, '');
    });
    b.flush();
    return { rows, rejects, counts: b.counts };
  }

  it('gives the rows and rejects of the same numbers in vals', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...numbers), fc.constantFrom(...numbers), fc.constantFrom(...numbers)), { maxLength: 60 }), fc.boolean(), (rs, ms) => {
        const kind = ms ? 'instantMs' : 'days';
        const recs = rs.map(([d, a, m]) => [ms ? d * 86_400_000 : d, a, m]);
        expect(feed(recs, true, kind)).toEqual(feed(recs, false, kind));
      }),
      { numRuns: 150, seed: 12 },
    );
  });
});

describe('wide records', () => {
  it('reads records of 64, 65 and 300 fields alike on the byte and text paths', async () => {
    for (const width of [63, 64, 65, 130, 300]) {
      const header = ['customer_id', 'order_date', 'amount', ...Array.from({ length: width - 3 }, (_, i) => `x${i}`)];
      const row = (c: string) => [c, '2024-01-05', '2.5', ...Array.from({ length: width - 3 }, (_, i) => String(i))].join(',');
      const text = [header.join(','), row('A'), row('B'), `${row('C')},one too many`].join('\n') + '\n';
      for (const quote of ['"', '§']) {
        const rows: SalesRow[] = [];
        const rejects: Reject[] = [];
        await ingest([memFile('w.csv', text, 50)], parseConfig({ input: { csv: { quote } } }), { onRow: (r) => rows.push(r), onReject: (r) => rejects.push(r) });
        expect(rows.map((r) => r.customerId)).toEqual(['A', 'B']);
        expect(rejects.map((r) => [r.line, r.reason])).toEqual([[4, `wrong field count: expected ${width} fields, found ${width + 1}`]]);
      }
    }
  });
});
