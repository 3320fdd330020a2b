import { describe, expect, it } from 'vitest';
import { historicLtv } from '../lib/ltv.js';
import { olsSlope, trendRows } from '../lib/trends.js';
import { computeCore, memoryFile } from './helpers/core.js';

describe('historic LTV = S x C x P x t', () => {
  it('multiplies its factors, each kept', () => {
    // 2 customers, 6 orders, $300 revenue, $120 margin, lifetimes 1 and 3 months.
    const l = historicLtv({ customers: 2, orders: 6, revenue: 300, margin: 120, lifetimeMonths: 4 });
    expect(l.avgOrderValue).toBe(50); // S = 300 / 6
    expect(l.lifetimeMonths).toBe(2); // t = 4 / 2
    expect(l.ordersPerMonth).toBe(1.5); // C = (6 / 2) / 2
    expect(l.marginShare).toBe(0.4); // P = 120 / 300
    expect(l.clv).toBeCloseTo(30, 12); // 50 x 1.5 x 0.4
    expect(l.ltv).toBeCloseTo(60, 12); // = margin per customer
  });

  it('is null, never NaN, without customers or orders', () => {
    expect(historicLtv({ customers: 0, orders: 0, revenue: 0, margin: 0, lifetimeMonths: 0 })).toEqual({
      avgOrderValue: null, ordersPerMonth: null, marginShare: null, lifetimeMonths: null, ltv: null, clv: null,
    });
  });

  it('on a hand-worked export: refunds net, one-order customers live one month, an empty tier is kept with a reason', async () => {
    const csv = [
      'customer_id,order_date,amount,margin',
      'a,2024-01-01,20,8', // a: small (first order 20), lifetime 2024-01-01..2024-03-01 = 60 days
      'a,2024-03-01,40,16',
      'a,2024-03-05,-10,-4', // refund
      'b,2024-02-01,30,6', // b: small, one order: lifetime 1 month
      'c,2024-02-10,400,100', // c: mid
    ].join('\n');
    const { segments } = await computeCore([memoryFile('ltv.csv', csv)], {
      input: { columns: { margin: 'margin' } },
      tiers: { bounds: [100, 1000], names: ['small', 'mid', 'large'] },
    }, '2024-03-31');
    const small = segments.find((r) => r.tier === 'small' && r.segment === 'all')!;
    expect(small.customers).toBe(2);
    expect(small.revenue).toBe(80);
    expect(small.avg_order_value).toBeCloseTo(80 / 3, 10); // refunds are not orders
    const lifeA = 60 / (365.25 / 12);
    expect(small.lifetime_months).toBeCloseTo((lifeA + 1) / 2, 10);
    expect(small.margin_share).toBeCloseTo(26 / 80, 10);
    expect(small.ltv).toBeCloseTo(26 / 2, 10); // margin per customer
    const large = segments.find((r) => r.tier === 'large' && r.segment === 'all')!;
    expect(large.customers).toBe(0);
    expect(large.ltv).toBeNull();
    expect(large.note).toMatch(/no customers/);
    for (const r of segments) for (const v of Object.values(r)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
  });
});

describe('trends across cohorts', () => {
  it('OLS slope per cohort step', () => {
    expect(olsSlope([1, 2, 3])).toBe(1);
    expect(olsSlope([0.3, 0.2, 0.1, 0.0])).toBeCloseTo(-0.1, 12);
    expect(olsSlope([5])).toBeNull();
  });

  it('uses complete cohorts at the age only, the last N of them', () => {
    const row = (cohort: string, period: number, retention: number, partial = false) => ({
      cohort, cohort_start: `${cohort}-01`, tier: 'all', segment: 'all', period, customers: 100, active_customers: retention * 100,
      retention, revenue: 0, revenue_retention: null, cumulative_revenue_per_customer: null, partial,
    });
    const t = trendRows([row('2024-01', 1, 0.3), row('2024-02', 1, 0.2), row('2024-03', 1, 0.25), row('2024-04', 1, 0.01, true)], [1], 2);
    expect(t).toHaveLength(1);
    expect(t[0]).toMatchObject({ metric: 'retention', age: 1, cohorts: 2, first_cohort: '2024-02', last_cohort: '2024-03', first_value: 0.2, last_value: 0.25 });
    expect(t[0].slope_per_cohort).toBeCloseTo(0.05, 12);
    expect(t[0].relative_change).toBeCloseTo(0.25, 12);
  });
});
