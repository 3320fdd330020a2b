/**
 * The summary and cohort stages (issue 8: partitioned day-list sort, per-cell counts, CRR counts
 * from activity ranges) against plain reference implementations written from the definitions
 * (DESIGN.md; lib/crr.ts and lib/cohorts.ts module comments), on seeded random data: equal day
 * lists, equal rows (revenue sums added in the same order, so equal to the bit).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config.js';
import { CustomerAccumulator, summarize, type CustomerSummary } from '../lib/customers.js';
import { cohortRows, isPartialPeriod, round2 } from '../lib/cohorts.js';
import { crr, periodRows } from '../lib/crr.js';
import { dayToIso } from '../lib/dates.js';
import { periodEndDay, periodIndex, periodLabel, periodStartDay, type PeriodUnit } from '../lib/periods.js';
import { segmentation, type Segmentation } from '../lib/segmentation.js';
import { assignTiers } from '../lib/tiers.js';
import type { CohortRow, PeriodRow } from '../lib/types.js';

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row { id: string; day: number; amount: number; dims: string[] }

/** Customers with long-tailed day counts over [from, to], refunds (some before the first purchase, some refund-only customers). */
function makeRows(seed: number, customers: number, from: number, to: number, dimSizes: number[]): Row[] {
  const rnd = mulberry32(seed);
  const rows: Row[] = [];
  for (let c = 0; c < customers; c++) {
    const first = from + Math.floor(rnd() * (to - from + 1));
    const k = 1 + Math.floor(-Math.log(1 - rnd()) * 4 * rnd());
    const dims = dimSizes.map((n, d) => `v${d}.${Math.floor(rnd() * n)}`);
    for (let j = 0; j < k; j++) {
      const day = j === 0 ? first : Math.min(to, first - 20 + Math.floor(rnd() * rnd() * (to - first + 40)));
      const amount = rnd() < 0.1 ? -Math.round(rnd() * 3000) / 100 : Math.round(rnd() * 20000) / 100;
      rows.push({ id: `c${(c * 7919) % customers}`, day, amount, dims });
    }
  }
  // Interleave customers, as an export ordered by time would.
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows;
}

function build(rows: Row[], nd: number, asOfDay: number): CustomerSummary {
  const acc = new CustomerAccumulator(nd);
  for (const r of rows) acc.add({ customerId: r.id, day: r.day, amount: r.amount, orderId: null, margin: null, dims: r.dims });
  return summarize(acc, { asOfDay, calibrationEndDay: asOfDay - 100, unitDays: 7, marginShare: 0.3 });
}

/** Day lists from the definition: per customer, per day, the net value (rows added in input order) and whether a purchase was made. */
function refLists(rows: Row[], ids: string[]) {
  const byId = new Map(ids.map((id, c) => [id, c]));
  const per: Map<number, { v: number; p: boolean }>[] = ids.map(() => new Map());
  for (const r of rows) {
    const m = per[byId.get(r.id)!];
    const e = m.get(r.day);
    if (e === undefined) m.set(r.day, { v: r.amount, p: r.amount >= 0 }); // -0 stays -0, as in the table
    else {
      e.v += r.amount;
      e.p ||= r.amount >= 0;
    }
  }
  const dayStart = [0], day: number[] = [], value: number[] = [], purchase: number[] = [];
  for (const m of per) {
    for (const d of [...m.keys()].sort((a, b) => a - b)) {
      day.push(d);
      value.push(m.get(d)!.v);
      purchase.push(m.get(d)!.p ? 1 : 0);
    }
    dayStart.push(day.length);
  }
  return { dayStart, day, value, purchase };
}

function customerDays(s: CustomerSummary, c: number) {
  const { dayStart, day, value, purchase } = s.lists;
  const out: { d: number; v: number; p: boolean }[] = [];
  for (let i = dayStart[c]; i < dayStart[c + 1]; i++) out.push({ d: day[i], v: value[i], p: purchase[i] === 1 });
  return out;
}

function membersOf(seg: Segmentation, c: number): number[] {
  const out = new Int32Array(seg.maxMemberships);
  return Array.from(out.subarray(0, seg.membership(c, out)));
}

/** CRR rows by the definition: each period, each customer acquired by then, checked against its purchase days directly. */
function refPeriodRows(s: CustomerSummary, seg: Segmentation, unit: PeriodUnit, asOfDay: number, W: number): PeriodRow[] {
  const minDay = Math.min(...s.lists.day);
  const minP = periodIndex(minDay, unit);
  const nP = periodIndex(asOfDay, unit) - minP + 1;
  const z = () => Array.from({ length: nP }, () => ({ S: 0, E: 0, N: 0, R: 0, B: 0, rev: 0 }));
  const acc = Array.from({ length: seg.count }, z);
  for (let c = 0; c < s.n; c++) {
    const ms = membersOf(seg, c);
    const days = customerDays(s, c);
    for (const { d, v } of days) for (const g of ms) acc[g][periodIndex(d, unit) - minP].rev += v;
    const buys = days.filter((x) => x.p).map((x) => x.d);
    if (buys.length === 0) continue;
    const fp = periodIndex(buys[0], unit) - minP;
    const within = (a: number, b: number) => buys.some((d) => d >= a && d <= b);
    for (let p = fp; p < nP; p++) {
      const start = periodStartDay(minP + p, unit), end = Math.min(periodEndDay(minP + p, unit), asOfDay);
      const S = within(start - W, start - 1), E = within(end - W + 1, end), B = within(start, end), N = p === fp;
      for (const g of ms) {
        const a = acc[g][p];
        a.S += +S; a.E += +E; a.N += +N; a.B += +B; a.R += +(!S && !N && B);
      }
    }
  }
  const rows: PeriodRow[] = [];
  acc.forEach((ps, g) => {
    if (!ps.some((a) => a.S + a.E + a.B > 0 || a.rev !== 0)) return;
    ps.forEach((a, p) => {
      const total = acc[0][p].rev;
      rows.push({
        period: periodLabel(minP + p, unit),
        period_start: dayToIso(periodStartDay(minP + p, unit)),
        ...seg.keys[g],
        active_start: a.S,
        active_end: a.E,
        new_customers: a.N,
        reactivated: a.R,
        crr: crr(a.S, a.E, a.N),
        customers_buying: a.B,
        revenue: round2(a.rev),
        revenue_share: total > 0 ? a.rev / total : null,
        partial: isPartialPeriod(minP + p, unit, asOfDay),
      });
    });
  });
  return rows;
}

/** Cohort rows by the definition, keyed by (segment, cohort, age) in maps. */
function refCohortRows(s: CustomerSummary, seg: Segmentation, unit: PeriodUnit, asOfDay: number): CohortRow[] {
  const asOfP = periodIndex(asOfDay, unit);
  const size = new Map<number, number>(), active = new Map<number, number>(), revenue = new Map<number, number>();
  const bump = (m: Map<number, number>, k: number, x: number) => m.set(k, (m.get(k) ?? 0) + x);
  const key = (g: number, cohort: number, age = 0) => ((g * 8192 + cohort + 4096) * 8192 + age);
  let minP = Infinity;
  for (let c = 0; c < s.n; c++) {
    const days = customerDays(s, c);
    const first = days.find((x) => x.p);
    if (!first) continue;
    const cohort = periodIndex(first.d, unit);
    minP = Math.min(minP, cohort);
    const ms = membersOf(seg, c);
    const activeAges = new Set<number>();
    for (const { d, v, p } of days) {
      const age = Math.max(0, periodIndex(d, unit) - cohort);
      for (const g of ms) bump(revenue, key(g, cohort, age), v);
      if (p) activeAges.add(age);
    }
    for (const g of ms) {
      bump(size, key(g, cohort), 1);
      for (const age of activeAges) bump(active, key(g, cohort, age), 1);
    }
  }
  const rows: CohortRow[] = [];
  for (let g = 0; g < seg.count; g++) {
    for (let p = minP; p <= asOfP; p++) {
      const customers = size.get(key(g, p)) ?? 0;
      if (customers === 0) continue;
      const rev0 = revenue.get(key(g, p, 0)) ?? 0;
      let cum = 0;
      for (let age = 0; age <= asOfP - p; age++) {
        const rev = revenue.get(key(g, p, age)) ?? 0;
        const act = active.get(key(g, p, age)) ?? 0;
        cum += rev;
        rows.push({
          cohort: periodLabel(p, unit),
          cohort_start: dayToIso(periodStartDay(p, unit)),
          ...seg.keys[g],
          period: age,
          customers,
          active_customers: act,
          retention: act / customers,
          revenue: round2(rev),
          revenue_retention: rev0 > 0 ? rev / rev0 : null,
          cumulative_revenue_per_customer: cum / customers,
          partial: isPartialPeriod(p + age, unit, asOfDay),
        });
      }
    }
  }
  return rows;
}

const tiersCfg = parseConfig({}).tiers;

/** The summary's day lists are refLists' (the definition) of the rows it was built from. */
function expectRefLists(s: CustomerSummary, rows: Row[]): void {
  const ref = refLists(rows, s.ids);
  expect(Array.from(s.lists.dayStart)).toEqual(ref.dayStart);
  expect(Array.from(s.lists.day)).toEqual(ref.day);
  expect(Array.from(s.lists.value)).toEqual(ref.value);
  expect(Array.from(s.lists.purchase)).toEqual(ref.purchase);
}

describe('summary and cohort stages against reference implementations', () => {
  // 20k customers: three partitions of the day log; days across 1970 (negative day numbers).
  const asOfDay = 900;
  const rows = makeRows(8, 20_000, -400, asOfDay, [4, 2]);
  const s = build(rows, 2, asOfDay);
  const seg = segmentation(s, assignTiers(s, tiersCfg), ['region', 'channel']);

  it('day lists: grouped by customer in order, days ascending, net values and purchase flags per day', () => {
    expect(s.n).toBe(20_000);
    expectRefLists(s, rows);
  });

  it('day lists of rows in date order (no sort by day, no merging), over three partitions', () => {
    const sorted = [...rows].sort((a, b) => a.day - b.day);
    const s2 = build(sorted, 2, asOfDay);
    expect(s2.n).toBe(20_000);
    expectRefLists(s2, sorted);
    // the summary does not depend on the order rows came in (but the ids' numbering)
    const byId = new Map(s.ids.map((id, c) => [id, c]));
    for (let c = 0; c < s2.n; c += 97) {
      const c1 = byId.get(s2.ids[c])!;
      expect([s2.firstDay[c], s2.lastDay[c], s2.purchaseDays[c], s2.frequency[c], s2.recency[c], s2.T[c], s2.holdoutPurchases[c]]).toEqual([
        s.firstDay[c1], s.lastDay[c1], s.purchaseDays[c1], s.frequency[c1], s.recency[c1], s.T[c1], s.holdoutPurchases[c1],
      ]);
      expect(s2.zbar[c]).toBeCloseTo(s.zbar[c1], 9);
    }
  });

  it('day lists over a span of days too wide to count by day (the insertion-sort path)', () => {
    const wide = makeRows(10, 9_000, -400, 900, [2]);
    wide.push({ id: 'far', day: 70_000, amount: 5, dims: ['x'] }, { id: 'c1', day: 69_000, amount: 1, dims: ['y'] });
    const s2 = build(wide, 1, 70_000);
    expectRefLists(s2, wide);
  });

  it('period rows (CRR counts, revenue) for each unit and short and long activity windows', () => {
    expect(seg.cells?.()).not.toBeNull(); // the per-cell path
    for (const unit of ['month', 'week', 'quarter'] as const)
      for (const W of [365, 30, 7]) {
        const got = periodRows(s, seg, { unit, asOfDay: asOfDay + 3, activeWindowDays: W });
        expect(got.length).toBeGreaterThan(0);
        expect(got, `${unit}, W = ${W}`).toEqual(refPeriodRows(s, seg, unit, asOfDay + 3, W));
      }
  });

  it('cohort rows by month and quarter (weeks: below, on fewer customers)', () => {
    for (const unit of ['month', 'quarter'] as const) {
      const got = cohortRows(s, seg, { unit, asOfDay });
      expect(got.length).toBeGreaterThan(0);
      expect(got, unit).toEqual(refCohortRows(s, seg, unit, asOfDay));
    }
  });

  it('the per-segment path (too many dimension value combinations for cells) gives the reference rows too; weekly cohorts', () => {
    const rows2 = makeRows(9, 3_000, 0, 400, [40, 40]);
    const s2 = build(rows2, 2, 400);
    const seg2 = segmentation(s2, assignTiers(s2, tiersCfg), ['a', 'b']);
    expect(seg2.cells?.()).toBeNull();
    expect(periodRows(s2, seg2, { unit: 'month', asOfDay: 400, activeWindowDays: 60 })).toEqual(refPeriodRows(s2, seg2, 'month', 400, 60));
    for (const unit of ['month', 'week'] as const) expect(cohortRows(s2, seg2, { unit, asOfDay: 400 }), unit).toEqual(refCohortRows(s2, seg2, unit, 400));
  });

  it('no dimension (2 memberships) and four dimensions (10: past the unrolled revenue sums)', () => {
    for (const dimSizes of [[], [2, 3, 2, 2]]) {
      const r = makeRows(11, 2_000, 0, 500, dimSizes);
      const s3 = build(r, dimSizes.length, 500);
      const seg3 = segmentation(s3, assignTiers(s3, tiersCfg), dimSizes.map((_, d) => `d${d}`));
      expect(seg3.maxMemberships).toBe(2 * (1 + dimSizes.length));
      expect(periodRows(s3, seg3, { unit: 'month', asOfDay: 500, activeWindowDays: 90 })).toEqual(refPeriodRows(s3, seg3, 'month', 500, 90));
      expect(cohortRows(s3, seg3, { unit: 'month', asOfDay: 500 })).toEqual(refCohortRows(s3, seg3, 'month', 500));
    }
  });
});
