import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeCore, memoryFile } from './helpers/core.js';

const order = fc.record({
  customer: fc.integer({ min: 1, max: 40 }),
  day: fc.integer({ min: 0, max: 900 }),
  cents: fc.integer({ min: -3000, max: 60000 }),
  region: fc.constantFrom('EU', 'NA', 'APAC'),
});

function toCsv(orders: { customer: number; day: number; cents: number; region: string }[]): string {
  const base = Date.UTC(2022, 0, 1);
  return [
    'customer_id,order_date,amount,region',
    ...orders.map((o) => `c${o.customer},${new Date(base + o.day * 86_400_000).toISOString().slice(0, 10)},${(o.cents / 100).toFixed(2)},${o.region}`),
  ].join('\n');
}

describe('metric properties on generated exports', () => {
  it('retention in [0, 1], age 0 = 1, cohort sizes sum to customers, revenue reconciles per segment', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(order, { minLength: 1, maxLength: 120 }), async (orders) => {
        const { cohorts, segments, periods, s } = await computeCore([memoryFile('gen.csv', toCsv(orders))], {
          input: { columns: { dimensions: ['region'] } },
          tiers: { bounds: [50, 250] },
        });
        const totalCents = orders.reduce((a, o) => a + o.cents, 0);
        for (const r of cohorts) {
          expect(r.retention).toBeGreaterThanOrEqual(0);
          expect(r.retention).toBeLessThanOrEqual(1);
          if (r.period === 0) expect(r.retention).toBe(1);
          for (const v of Object.values(r)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
        }
        const acquired = Array.from(s.purchaseDays).filter((d) => d > 0).length;
        const sizes = new Map<string, number>();
        for (const r of cohorts.filter((r) => r.period === 0 && r.tier === 'all' && r.segment === 'all')) sizes.set(r.cohort, r.customers);
        expect([...sizes.values()].reduce((a, b) => a + b, 0)).toBe(acquired);
        // Segment revenue sums to the total: over tiers (refund-only customers in tier "none"), and over regions.
        const all = segments.find((r) => r.tier === 'all' && r.segment === 'all')!;
        expect(Math.round(all.revenue * 100)).toBe(totalCents);
        const tierSum = segments.filter((r) => r.tier !== 'all' && r.segment === 'all').reduce((a, r) => a + r.revenue, 0);
        expect(Math.round(tierSum * 100)).toBe(totalCents);
        const regionSum = segments.filter((r) => r.tier === 'all' && r.segment.startsWith('region=')).reduce((a, r) => a + r.revenue, 0);
        expect(Math.round(regionSum * 100)).toBe(totalCents);
        const periodSum = periods.filter((p) => p.tier === 'all' && p.segment === 'all').reduce((a, p) => a + p.revenue, 0);
        expect(Math.round(periodSum * 100)).toBe(totalCents);
        for (const p of periods) {
          expect(p.active_end).toBeGreaterThanOrEqual(p.new_customers);
          if (p.crr !== null) expect(Number.isFinite(p.crr)).toBe(true);
          // E = S - lapsed + N + reactivated, so E - N <= S + reactivated.
          expect(p.active_end - p.new_customers).toBeLessThanOrEqual(p.active_start + p.reactivated);
        }
        for (const r of segments) for (const v of Object.values(r)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
      }),
      { numRuns: 60, seed: 20261123 },
    );
  });
});
