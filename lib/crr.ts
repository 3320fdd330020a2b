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
import { dayRange, type CustomerSummary } from './customers.js';
import { round2, isPartialPeriod } from './cohorts.js';
import { dayToIso } from './dates.js';
import { periodEndDay, periodIndex, periodIndexTable, periodLabel, periodStartDay, type PeriodUnit } from './periods.js';
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
/** Per-group integer counts: changes of S and E at each period (a difference array), then N, R, B. */
const G_DS = 0, G_DE = 1, G_N = 2, G_R = 3, G_B = 4, NG = 5;

/**
 * Counts are made per purchase day, not per period (issue 8: 1M customers x ~20 periods x 6
 * memberships x 5 counters was most of this stage): a purchase day x makes a customer active at
 * the start of every period starting in [x + 1, x + W] and at the end of every period ending in
 * [x, x + W - 1]; those period ranges, merged over the customer's days, go into a difference
 * array. A customer bought in period p if one of its purchase days falls in it, and was
 * reactivated there if its previous purchase day is before start(p) - W. Counts go to the
 * customer's segment cell (one update) and are summed into the segments at the end; revenue keeps
 * one sum per segment in customer order, so its floating-point rounding is unchanged.
 */
export function periodRows(s: CustomerSummary, seg: Segmentation, opts: CrrOptions): PeriodRow[] {
  const { unit, asOfDay } = opts;
  const W = opts.activeWindowDays;
  const { dayStart, day, value, purchase } = s.lists;
  const [minDay, maxDay] = dayRange(s.lists, s.n);
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
  // Lookups over days [minDay, top]: the period of a day, the first period starting / ending on or after it.
  const top = Math.max(maxDay, asOfDay) + W + 1;
  const pOf = periodIndexTable(minDay, top, unit);
  for (let i = 0; i < pOf.length; i++) pOf[i] -= minP;
  const startGE = new Int32Array(top - minDay + 1);
  const endGE = new Int32Array(top - minDay + 1);
  for (let y = minDay, ps = 0, pe = 0; y <= top; y++) {
    while (ps < nP && starts[ps] < y) ps++;
    while (pe < nP && ends[pe] < y) pe++;
    startGE[y - minDay] = ps;
    endGE[y - minDay] = pe;
  }

  const cells = seg.cells?.() ?? null;
  const nG = cells ? cells.count : seg.count;
  const stride = (nP + 1) * NG;
  const cnt = new Int32Array(nG * stride);
  const acc = new Float64Array(seg.count * nP * NF);
  const rev = new Float64Array(seg.count * nP);
  const members = new Int32Array(Math.max(8, seg.maxMemberships));
  const revBase = new Int32Array(seg.maxMemberships);
  const one = new Int32Array(1);

  for (let c = 0; c < s.n; c++) {
    const m = seg.membership(c, members);
    const lo = dayStart[c], hi = dayStart[c + 1];
    // Revenue (refunds included) by the period it falls in: each segment's sum in customer order.
    if (m <= 8) {
      // Up to 8 memberships (three dimensions) unrolled: fewer loads and no loop per customer-day.
      const b0 = members[0] * nP, b1 = members[1] * nP, b2 = members[2] * nP, b3 = members[3] * nP;
      const b4 = members[4] * nP, b5 = members[5] * nP, b6 = members[6] * nP, b7 = members[7] * nP;
      for (let i = lo; i < hi; i++) {
        const p = pOf[day[i] - minDay];
        const v = value[i];
        rev[b0 + p] += v;
        if (m > 1) rev[b1 + p] += v;
        if (m > 2) {
          rev[b2 + p] += v;
          if (m > 3) rev[b3 + p] += v;
          if (m > 4) {
            rev[b4 + p] += v;
            if (m > 5) rev[b5 + p] += v;
            if (m > 6) {
              rev[b6 + p] += v;
              if (m > 7) rev[b7 + p] += v;
            }
          }
        }
      }
    } else {
      for (let k = 0; k < m; k++) revBase[k] = members[k] * nP;
      for (let i = lo; i < hi; i++) {
        const p = pOf[day[i] - minDay];
        const v = value[i];
        for (let k = 0; k < m; k++) rev[revBase[k] + p] += v;
      }
    }
    const first = s.firstDay[c];
    if (first !== first) continue;
    let targets = members, nt = m;
    if (cells) {
      one[0] = cells.of[c];
      targets = one;
      nt = 1;
    }
    const fp = pOf[first - minDay];
    if (fp >= nP) continue; // after the as-of date (ingest drops such rows): counted nowhere
    for (let k = 0; k < nt; k++) cnt[targets[k] * stride + fp * NG + G_N]++;
    // Merged period ranges [sa, sb] (active at start) and [ea, eb] (active at end); -1 = none yet.
    let sa = -1, sb = -2, ea = -1, eb = -2;
    let lastB = -1, prev = -Infinity;
    for (let i = lo; i < hi; i++) {
      if (!purchase[i]) continue;
      const x = day[i] - minDay;
      const a1 = startGE[x + 1], b1 = startGE[x + W + 1] - 1;
      if (a1 <= b1) {
        if (a1 > sb + 1) {
          if (sb >= sa) addRange(cnt, targets, nt, stride, G_DS, sa, sb);
          sa = a1;
        }
        if (b1 > sb) sb = b1;
      }
      const a2 = endGE[x], b2 = endGE[x + W] - 1;
      if (a2 <= b2) {
        if (a2 > eb + 1) {
          if (eb >= ea) addRange(cnt, targets, nt, stride, G_DE, ea, eb);
          ea = a2;
        }
        if (b2 > eb) eb = b2;
      }
      const p = pOf[x];
      if (p !== lastB && p < nP) {
        const reactivated = p !== fp && prev < starts[p] - W;
        for (let k = 0; k < nt; k++) {
          const o = targets[k] * stride + p * NG;
          cnt[o + G_B]++;
          if (reactivated) cnt[o + G_R]++;
        }
        lastB = p;
      }
      prev = day[i];
    }
    if (sb >= sa) addRange(cnt, targets, nt, stride, G_DS, sa, sb);
    if (eb >= ea) addRange(cnt, targets, nt, stride, G_DE, ea, eb);
  }

  for (let i = 0; i < rev.length; i++) acc[i * NF + F_REV] = rev[i];
  // Groups (cells, or the segments themselves) into the segments' counts.
  for (let g = 0; g < nG; g++) {
    const base = g * stride;
    let S = 0, E = 0;
    for (let p = 0; p < nP; p++) {
      const o = base + p * NG;
      S += cnt[o + G_DS];
      E += cnt[o + G_DE];
      const N = cnt[o + G_N], R = cnt[o + G_R], B = cnt[o + G_B];
      if (S === 0 && E === 0 && N === 0 && B === 0) continue;
      const nk = cells ? cells.size[g] : 1;
      for (let k = 0; k < nk; k++) {
        const t = ((cells ? cells.members[g * cells.stride + k] : g) * nP + p) * NF;
        acc[t + F_S] += S;
        acc[t + F_E] += E;
        acc[t + F_N] += N;
        acc[t + F_R] += R;
        acc[t + F_B] += B;
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

/** +1 on periods [a, b] of a difference array (one -1 after b; the array has a slot past the last period). */
function addRange(cnt: Int32Array, targets: Int32Array, nt: number, stride: number, field: number, a: number, b: number): void {
  for (let k = 0; k < nt; k++) {
    const o = targets[k] * stride + field;
    cnt[o + a * NG]++;
    cnt[o + (b + 1) * NG]--;
  }
}
