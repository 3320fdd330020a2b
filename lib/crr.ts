/**
 * Customer retention rate per calendar period and segment (DESIGN.md):
 *
 *   CRR = (E - N) / S x 100
 *
 * S = customers active at the start of the period, E = active at its end, N = acquired
 * during it; "active" at day d = bought within the trailing window (d - W, d], W =
 * cohort.activeWindowDays. Reactivated customers (not active at the start, acquired
 * earlier, bought again in the period) are counted beside CRR: they are in E but not in S,
 * so they can push (E - N) above S and CRR above 100.
 */
import type { CustomerSummary } from './customers.js';
import { round2, isPartialPeriod } from './cohorts.js';
import { dayToIso } from './dates.js';
import { periodEndDay, periodIndex, periodLabel, periodStartDay, type PeriodUnit } from './periods.js';
import type { Segmentation } from './segmentation.js';
import type { PeriodRow } from './types.js';

export interface CrrOptions {
  unit: PeriodUnit;
  asOfDay: number;
  activeWindowDays: number;
}

/** CRR in percent; null when nobody was active at the start. */
export function crr(activeStart: number, activeEnd: number, acquired: number): number | null {
  return activeStart > 0 ? ((activeEnd - acquired) / activeStart) * 100 : null;
}

const F_S = 0, F_E = 1, F_N = 2, F_R = 3, F_B = 4, F_REV = 5, NF = 6;

export function periodRows(s: CustomerSummary, seg: Segmentation, opts: CrrOptions): PeriodRow[] {
  const { unit, asOfDay } = opts;
  const W = opts.activeWindowDays;
  const { dayStart, day, value, purchase } = s.lists;
  let minDay = Infinity;
  for (let i = 0; i < day.length; i++) if (day[i] < minDay) minDay = day[i];
  if (minDay === Infinity) return [];
  const minP = periodIndex(minDay, unit);
  const asOfP = periodIndex(asOfDay, unit);
  const nP = asOfP - minP + 1;
  const starts = new Int32Array(nP);
  const ends = new Int32Array(nP);
  for (let p = 0; p < nP; p++) {
    starts[p] = periodStartDay(minP + p, unit);
    ends[p] = Math.min(periodEndDay(minP + p, unit), asOfDay);
  }
  const acc = new Float64Array(seg.count * nP * NF);
  const members = new Int32Array(seg.maxMemberships);

  for (let c = 0; c < s.n; c++) {
    const m = seg.membership(c, members);
    const lo = dayStart[c], hi = dayStart[c + 1];
    // Revenue (refunds included) by the period it falls in.
    for (let i = lo; i < hi; i++) {
      const p = periodIndex(day[i], unit) - minP;
      for (let k = 0; k < m; k++) acc[(members[k] * nP + p) * NF + F_REV] += value[i];
    }
    const first = s.firstDay[c];
    if (first !== first) continue;
    const fp = periodIndex(first, unit) - minP;
    // Three monotone pointers over the purchase days: first purchase day >= a bound.
    let jS = lo, jE = lo, jB = lo;
    for (let p = fp; p < nP; p++) {
      const start = starts[p], end = ends[p];
      while (jS < hi && (!purchase[jS] || day[jS] < start - W)) jS++;
      const activeStart = jS < hi && day[jS] <= start - 1;
      while (jE < hi && (!purchase[jE] || day[jE] < end - W + 1)) jE++;
      const activeEnd = jE < hi && day[jE] <= end;
      while (jB < hi && (!purchase[jB] || day[jB] < start)) jB++;
      const bought = jB < hi && day[jB] <= end;
      const isNew = p === fp;
      if (!activeStart && !activeEnd && !bought && jE >= hi) break; // no purchase left: nothing more to count
      const reactivated = !activeStart && !isNew && bought;
      for (let k = 0; k < m; k++) {
        const o = (members[k] * nP + p) * NF;
        if (activeStart) acc[o + F_S]++;
        if (activeEnd) acc[o + F_E]++;
        if (isNew) acc[o + F_N]++;
        if (reactivated) acc[o + F_R]++;
        if (bought) acc[o + F_B]++;
      }
    }
  }

  const rows: PeriodRow[] = [];
  for (let g = 0; g < seg.count; g++) {
    const { tier, segment } = seg.keys[g];
    let any = false;
    for (let p = 0; p < nP && !any; p++) {
      const o = (g * nP + p) * NF;
      any = acc[o + F_S] + acc[o + F_E] + acc[o + F_B] > 0 || acc[o + F_REV] !== 0;
    }
    if (!any) continue;
    for (let p = 0; p < nP; p++) {
      const o = (g * nP + p) * NF;
      const total = acc[p * NF + F_REV]; // segment 0 is all/all
      rows.push({
        period: periodLabel(minP + p, unit),
        period_start: dayToIso(starts[p]),
        tier,
        segment,
        active_start: acc[o + F_S],
        active_end: acc[o + F_E],
        new_customers: acc[o + F_N],
        reactivated: acc[o + F_R],
        crr: crr(acc[o + F_S], acc[o + F_E], acc[o + F_N]),
        customers_buying: acc[o + F_B],
        revenue: round2(acc[o + F_REV]),
        revenue_share: total > 0 ? acc[o + F_REV] / total : null,
        partial: isPartialPeriod(minP + p, unit, asOfDay),
      });
    }
  }
  return rows;
}
