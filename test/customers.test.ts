import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CustomerAccumulator, summarize, type CustomerSummary } from '../lib/customers.js';
import { CDNOW_SAMPLE_CONFIG, cdnowDir, computeCore, fileInput } from './helpers/core.js';

describe('per-customer summary', () => {
  it('reproduces the Fader/Hardie CDNOW calibration summary (x, t_x, T, zbar) row for row', async () => {
    const { s } = await computeCore([fileInput(`${cdnowDir()}/CDNOW_sample.txt`)], CDNOW_SAMPLE_CONFIG, '1998-06-30');
    const ref = readFileSync(`${cdnowDir()}/cdnow_customers_summary_with_transactions.csv`, 'utf8').trim().split('\n').slice(1);
    expect(s.n).toBe(2357);
    expect(ref).toHaveLength(2357);
    // Sample ids are "0001".."2357" in column 2; the reference is in that order.
    const byId = new Map(s.ids.map((id, c) => [Number(id), c]));
    let repeatBuyers = 0;
    for (const line of ref) {
      const [id, x, tx, T, zbar] = line.split(',').map(Number);
      const c = byId.get(id)!;
      expect(c, `customer ${id}`).toBeDefined();
      expect(s.frequency[c], `x of ${id}`).toBe(x);
      expect(Math.abs(s.recency[c] - tx), `t_x of ${id}`).toBeLessThanOrEqual(0.005 + 1e-9);
      expect(Math.abs(s.T[c] - T), `T of ${id}`).toBeLessThanOrEqual(0.005 + 1e-9);
      expect(Math.abs(s.zbar[c] - zbar), `zbar of ${id}`).toBeLessThanOrEqual(0.005 + 1e-9);
      if (x > 0) repeatBuyers++;
    }
    expect(repeatBuyers).toBe(946);
    // Holdout: 1,882 repeat transaction days from 1997-10-01 to 1998-06-30 (dataset README).
    expect(s.holdoutPurchases.reduce((a, b) => a + b, 0)).toBe(1882);
  });

  it('pins each formula on a dozen hand-worked orders: refunds, same-day orders, one-order customers', async () => {
    const csv = [
      'customer_id,order_date,amount,order_id',
      'A,2024-01-05,10.00,o1', // A: first day (two orders that day)
      'A,2024-01-05,5.00,o2',
      'A,2024-01-19,20.00,o3', // repeat day 1 (14 days later)
      'A,2024-02-02,-4.00,o3', // refund: nets revenue, no purchase day
      'A,2024-03-01,30.00,o4', // repeat day 2 (56 days after first)
      'B,2024-01-10,0.00,o5', // $0 purchase is still a purchase
      'C,2024-02-15,99.99,o6', // one order
      'D,2024-02-20,-15.00,o7', // refunds only: no cohort, no first purchase
      'E,2024-03-10,12.50,o8',
      'E,2024-03-10,12.50,o8b', // same day, other order: one purchase day, two orders
      'E,2024-03-31,7.25,o9',
      'E,2024-03-31,2.75,o9', // second line of order o9 (not a duplicate: other amount)
    ].join('\n');
    const { s, ing } = await computeCore([{ name: 'hand.csv', open: async function* () { yield Buffer.from(csv); } }], { input: { columns: { orderId: 'order_id' } }, model: { timeUnit: 'day' } }, '2024-03-31');
    expect(ing.rows).toEqual({ read: 12, accepted: 12, rejected: 0, ignored: 0, duplicates: 0 });
    const c = (id: string) => s.ids.indexOf(id);
    const A = c('A');
    expect(s.orders[A]).toBe(4);
    expect(s.purchaseDays[A]).toBe(3);
    expect(s.revenue[A]).toBeCloseTo(61, 10);
    expect(s.firstOrderValue[A]).toBeCloseTo(15, 10);
    expect(s.frequency[A]).toBe(2);
    expect(s.recency[A]).toBe(56);
    expect(s.T[A]).toBe(86); // 2024-01-05 .. 2024-03-31
    expect(s.zbar[A]).toBeCloseTo(25, 10); // (20 + 30) / 2
    const B = c('B');
    expect([s.orders[B], s.purchaseDays[B], s.revenue[B], s.frequency[B], s.zbar[B]]).toEqual([1, 1, 0, 0, 0]);
    const D = c('D');
    expect(s.purchaseDays[D]).toBe(0);
    expect(Number.isNaN(s.firstDay[D])).toBe(true);
    expect(s.revenue[D]).toBe(-15);
    const E = c('E');
    expect([s.orders[E], s.purchaseDays[E], s.frequency[E]]).toEqual([3, 2, 1]);
    expect(s.firstOrderValue[E]).toBeCloseTo(25, 10);
    expect(s.zbar[E]).toBeCloseTo(10, 10);
  });

  it('dimensions of the first purchase also before 1970 (negative days), and after a refund-only start', () => {
    const acc = new CustomerAccumulator(1);
    const row = (customerId: string, day: number, amount: number, dim: string, orderId: string | null = null) =>
      acc.add({ customerId, day, amount, orderId, margin: null, dims: [dim] });
    row('a', -10, -5, 'refund'); // a refund first: carried until a purchase comes
    expect(acc.customerCount).toBe(1);
    row('a', -5, 10, 'late', 'o1');
    row('a', -7, 20, 'early', 'o2');
    row('a', -7, 1, 'same-day-later', 'o2'); // same day, read later: the first row read keeps it
    row('b', -1, -2, 'r1');
    row('b', -3, -2, 'r0'); // refund-only: its earliest row
    const s = summarize(acc, { asOfDay: 0, calibrationEndDay: 0, unitDays: 1, marginShare: 0.5 });
    const dim = (c: number) => s.dimValues[0][s.dims[c]];
    expect([dim(0), dim(1)]).toEqual(['early', 'r0']);
    expect(Array.from(s.orders)).toEqual([2, 0]);
    expect(Array.from(s.revenue)).toEqual([26, -4]);
    expect(Array.from(s.margin)).toEqual([13, -2]);
    expect([s.firstDay[0], s.lastDay[0], s.purchaseDays[0]]).toEqual([-7, -5, 2]);
  });
});

describe('CustomerAccumulator.addBatch', () => {
  const batch = (keys: number[], ids: string[], days: number[]) => ({
    n: keys.length,
    ok: Uint8Array.from(keys.map(() => 1)),
    customerKey: Int32Array.from(keys),
    customerIds: ids,
    day: Int32Array.from(days),
    amount: Float64Array.from(keys.map((_, i) => i + 1)),
    margin: Float64Array.from(keys.map(() => Number.NaN)),
    startsOrder: Uint8Array.from(keys.map(() => 1)),
    dims: keys.map(() => []),
    expectedRows: 0,
  });
  const state = (acc: CustomerAccumulator) => ({ ids: [...acc.ids], revenue: [...acc.column(0, Float64Array)], orders: [...acc.column(2, Int32Array)] });

  it('maps keys to customers whether or not keys arrive in first-seen order', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const inOrder = new CustomerAccumulator(0);
    inOrder.addBatch(batch([0, 1, 0, 2], ids, [1, 2, 3, 4]));
    inOrder.addBatch(batch([3, 1], ids, [5, 6]));
    const outOfOrder = new CustomerAccumulator(0);
    outOfOrder.addBatch(batch([1, 0, 1, 3], ids, [1, 2, 3, 4]));
    outOfOrder.addBatch(batch([2, 0], ids, [5, 6]));
    const byRows = new CustomerAccumulator(0);
    for (const [k, d, a] of [[1, 1, 1], [0, 2, 2], [1, 3, 3], [3, 4, 4], [2, 5, 1], [0, 6, 2]])
      byRows.add({ customerId: ids[k], day: d, amount: a, orderId: null, margin: null, dims: [] });
    expect(state(inOrder)).toEqual({ ids: ['a', 'b', 'c', 'd'], revenue: [4, 4, 4, 1], orders: [2, 2, 1, 1] });
    expect(state(outOfOrder)).toEqual(state(byRows));
    expect(state(outOfOrder).ids).toEqual(['b', 'a', 'd', 'c']);
  });
});

describe('customer days (DayLog) in any row order', () => {
  const opts = { asOfDay: 100, calibrationEndDay: 50, unitDays: 1, marginShare: 0.5 };
  const lists = (s: CustomerSummary) => {
    return s.ids.map((id, c) => {
      const { dayStart, day, value, purchase } = s.lists;
      const out: [number, number, number][] = [];
      for (let i = dayStart[c]; i < dayStart[c + 1]; i++) out.push([day[i], value[i], purchase[i]]);
      return [id, out] as const;
    });
  };

  it('merges the entries of a day met again after a later day, summing in row order', () => {
    const acc = new CustomerAccumulator(0);
    const row = (id: string, day: number, amount: number) => acc.add({ customerId: id, day, amount, orderId: null, margin: null, dims: [] });
    row('a', 5, 10);
    row('a', 3, -1); // earlier day: an entry of its own (a refund: not a purchase day yet)
    row('a', 5, 2); // the latest day again
    row('a', 3, 4); // day 3 again, after day 5: merged with the first day-3 entry, now a purchase
    row('a', 9, -2); // refund-only day
    row('b', 7, 0.1);
    row('b', 2, 0.2);
    row('b', 2, 0.7);
    row('b', 7, 0.3);
    const s = summarize(acc, opts);
    expect(lists(s)).toEqual([
      ['a', [[3, 3, 1], [5, 12, 1], [9, -2, 0]]],
      ['b', [[2, 0.2 + 0.7, 1], [7, 0.1 + 0.3, 1]]],
    ]);
    expect([s.purchaseDays[0], s.firstDay[0], s.lastDay[0], s.firstOrderValue[0]]).toEqual([2, 3, 5, 3]);
    expect([s.purchaseDays[1], s.frequency[1], s.zbar[1]]).toEqual([2, 1, 0.1 + 0.3]);
  });

  it.each([
    ['a narrow span of days (counting sort)', 1],
    ['a span too wide to count (insertion sort)', 20_000],
  ])('gives every ordering of the same rows the same day lists as a map of (customer, day) sums: %s', (_, spread) => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 9 }).map((d) => d * spread), fc.integer({ min: -5, max: 20 })), { minLength: 1, maxLength: 80 }),
        (rows) => {
          const acc = new CustomerAccumulator(0);
          // integer amounts: sums are exact whatever the order, so the reference needs no row order
          const ref = new Map<string, Map<number, [number, number]>>();
          for (const [k, day, amount] of rows) {
            const id = `c${k}`;
            acc.add({ customerId: id, day, amount, orderId: null, margin: null, dims: [] });
            const days = ref.get(id) ?? ref.set(id, new Map()).get(id)!;
            const [v, p] = days.get(day) ?? [0, 0];
            days.set(day, [v + amount, amount >= 0 ? 1 : p]);
          }
          const expected = [...ref].map(([id, days]) => [id, [...days].sort((x, y) => x[0] - y[0]).map(([d, [v, p]]) => [d, v, p])] as const);
          expect(lists(summarize(acc, opts))).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
