/**
 * Cohort retention (customers and revenue) by acquisition period x age, per segment.
 *
 * - cohort: customers grouped by the period of their first purchase;
 * - retention(k) = customers of the cohort who bought in the k-th period after their first
 *   / cohort size (age 0 is 100% by construction);
 * - revenue_retention(k) = cohort revenue at age k / cohort revenue at age 0 (refunds net
 *   the revenue of the period they fall in);
 * - cumulative_revenue_per_customer(k) = revenue at ages 0..k / cohort size: the cohort's
 *   historic LTV curve.
 * An age period that contains the as-of date (and does not end on it) is partial: its row is
 * written with partial = true and never used in comparisons.
 */
import { dayRange, type CustomerSummary } from './customers.js';
import { dayToIso } from './dates.js';
import { periodEndDay, periodIndex, periodIndexTable, periodLabel, periodStartDay, type PeriodUnit } from './periods.js';
import type { Segmentation } from './segmentation.js';
import type { CohortRow } from './types.js';

export interface CohortOptions {
  unit: PeriodUnit;
  asOfDay: number;
}

/** True when the period containing the as-of date has not ended on the as-of date. */
export function isPartialPeriod(index: number, unit: PeriodUnit, asOfDay: number): boolean {
  return index === periodIndex(asOfDay, unit) && asOfDay < periodEndDay(index, unit);
}

/**
 * Cohort sizes and active customers are integer counts: they are made per segment cell (one
 * update a customer-day, issue 8) and summed into the segments at the end. Revenue keeps one sum
 * per segment, added in customer order, so its floating-point rounding is unchanged.
 */
export function cohortRows(s: CustomerSummary, seg: Segmentation, opts: CohortOptions): CohortRow[] {
  const { unit, asOfDay } = opts;
  const { dayStart, day, value, purchase } = s.lists;
  // the earliest first purchase's period (periodIndex never decreases with the day)
  let minFirst = Infinity;
  for (let c = 0; c < s.n; c++) if (s.firstDay[c] < minFirst) minFirst = s.firstDay[c]; // (NaN: no purchase)
  if (minFirst === Infinity) return [];
  const minP = periodIndex(minFirst, unit);
  const asOfP = periodIndex(asOfDay, unit);
  const nC = asOfP - minP + 1;
  const nA = nC;
  const [minDay, maxDay] = dayRange(s.lists, s.n);
  const pOf = periodIndexTable(minDay, maxDay, unit);
  const cells = seg.cells?.() ?? null;
  const nG = cells ? cells.count : seg.count;
  const gSize = new Int32Array(nG * nC);
  const gActive = new Int32Array(nG * nC * nA);
  const revenue = new Float64Array(seg.count * nC * nA);
  const members = new Int32Array(seg.maxMemberships);
  const revBase = new Int32Array(Math.max(8, seg.maxMemberships));
  const one = new Int32Array(1);

  for (let c = 0; c < s.n; c++) {
    const first = s.firstDay[c];
    if (first !== first) continue; // refunds only: no cohort
    const cohort = pOf[first - minDay] - minP;
    const m = seg.membership(c, members);
    let targets = members, nt = m;
    if (cells) {
      one[0] = cells.of[c];
      targets = one;
      nt = 1;
    }
    for (let k = 0; k < nt; k++) gSize[targets[k] * nC + cohort]++;
    for (let k = 0; k < m; k++) revBase[k] = (members[k] * nC + cohort) * nA;
    // Up to 8 memberships (three dimensions) unrolled: fewer loads and no loop per customer-day.
    const b0 = revBase[0], b1 = revBase[1], b2 = revBase[2], b3 = revBase[3];
    const b4 = revBase[4], b5 = revBase[5], b6 = revBase[6], b7 = revBase[7];
    const p0 = minP + cohort;
    let lastActiveAge = -1;
    for (let i = dayStart[c]; i < dayStart[c + 1]; i++) {
      // A refund dated before the first purchase is booked at age 0.
      const age = Math.max(0, pOf[day[i] - minDay] - p0);
      const v = value[i];
      if (m <= 8) {
        revenue[b0 + age] += v;
        if (m > 1) revenue[b1 + age] += v;
        if (m > 2) {
          revenue[b2 + age] += v;
          if (m > 3) revenue[b3 + age] += v;
          if (m > 4) {
            revenue[b4 + age] += v;
            if (m > 5) revenue[b5 + age] += v;
            if (m > 6) {
              revenue[b6 + age] += v;
              if (m > 7) revenue[b7 + age] += v;
            }
          }
        }
      } else for (let k = 0; k < m; k++) revenue[revBase[k] + age] += v;
      if (purchase[i] && age !== lastActiveAge) {
        lastActiveAge = age;
        for (let k = 0; k < nt; k++) gActive[(targets[k] * nC + cohort) * nA + age]++;
      }
    }
  }
  // Groups (cells, or the segments themselves) into the segments' counts.
  let size: Float64Array | Int32Array = gSize, active: Float64Array | Int32Array = gActive;
  if (cells) {
    size = new Float64Array(seg.count * nC);
    active = new Float64Array(seg.count * nC * nA);
    for (let g = 0; g < nG; g++) {
      for (let k = 0; k < cells.size[g]; k++) {
        const t = cells.members[g * cells.stride + k];
        for (let ci = 0; ci < nC; ci++) {
          if (gSize[g * nC + ci] === 0) continue;
          size[t * nC + ci] += gSize[g * nC + ci];
          const from = (g * nC + ci) * nA, to = (t * nC + ci) * nA;
          for (let a = 0; a < nA; a++) active[to + a] += gActive[from + a];
        }
      }
    }
  }

  const rows: CohortRow[] = [];
  for (let g = 0; g < seg.count; g++) {
    const { tier, segment } = seg.keys[g];
    for (let ci = 0; ci < nC; ci++) {
      const customers = size[g * nC + ci];
      if (customers === 0) continue;
      const p = minP + ci;
      const label = periodLabel(p, unit);
      const start = dayToIso(periodStartDay(p, unit));
      const base = (g * nC + ci) * nA;
      const rev0 = revenue[base];
      let cum = 0;
      for (let age = 0; age <= asOfP - p; age++) {
        const rev = revenue[base + age];
        cum += rev;
        rows.push({
          cohort: label,
          cohort_start: start,
          tier,
          segment,
          period: age,
          customers,
          active_customers: active[base + age],
          retention: active[base + age] / customers,
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

/** Sums of many cents drift in binary floating point; money is reported to the cent. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
