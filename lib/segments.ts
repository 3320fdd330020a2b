/**
 * The `segments` table: per (tier, segment), the size, revenue, activity, CRR and historic
 * LTV factors of the segment, its predicted CLV and value at risk, and each metric's value
 * in the previous run with the change since.
 *
 * Value at risk = the predicted value lost by customers who bought within the active window
 * but whose P(alive) has fallen under alerts.pAliveThreshold: for each, the value they would
 * bring if alive, predicted_clv / p_alive, times the probability they are gone, 1 - p_alive.
 */
import { round2 } from './cohorts.js';
import type { CustomerSummary } from './customers.js';
import { historicLtv } from './ltv.js';
import { DAYS_PER_MONTH } from './periods.js';
import { SEGMENT_METRICS } from './outputs/schema.js';
import type { Segmentation } from './segmentation.js';
import type { PeriodRow, SegmentRow } from './types.js';
import { NO_TIER_NAME } from './tiers.js';

export interface SegmentOptions {
  asOfDay: number;
  activeWindowDays: number;
  pAliveThreshold: number;
  /** Per customer, NaN where not scored (model failed or customer not calibrated). */
  predictedClv?: Float64Array;
  pAlive?: Float64Array;
}

const F_CUST = 0, F_REV = 1, F_ORD = 2, F_MARGIN = 3, F_LIFE = 4, F_ACTIVE = 5, F_PCLV = 6, F_PN = 7, F_VAR = 8, NF = 9;

export function segmentRows(s: CustomerSummary, seg: Segmentation, periods: PeriodRow[], opts: SegmentOptions): SegmentRow[] {
  const acc = new Float64Array(seg.count * NF);
  const members = new Int32Array(seg.maxMemberships);
  const windowStart = opts.asOfDay - opts.activeWindowDays + 1;
  for (let c = 0; c < s.n; c++) {
    const m = seg.membership(c, members);
    const acquired = s.purchaseDays[c] > 0;
    const life = acquired ? Math.max(1, (s.lastDay[c] - s.firstDay[c]) / DAYS_PER_MONTH) : 0;
    const active = acquired && s.lastDay[c] >= windowStart;
    const pclv = opts.predictedClv ? opts.predictedClv[c] : NaN;
    const pa = opts.pAlive ? opts.pAlive[c] : NaN;
    const atRisk = active && pa === pa && pclv === pclv && pa < opts.pAliveThreshold && pa > 0 ? (pclv / pa) * (1 - pa) : 0;
    for (let k = 0; k < m; k++) {
      const o = members[k] * NF;
      if (acquired) acc[o + F_CUST]++;
      acc[o + F_REV] += s.revenue[c];
      acc[o + F_ORD] += s.orders[c];
      acc[o + F_MARGIN] += s.margin[c];
      acc[o + F_LIFE] += life;
      if (active) acc[o + F_ACTIVE]++;
      if (pclv === pclv) {
        acc[o + F_PCLV] += pclv;
        acc[o + F_PN]++;
      }
      acc[o + F_VAR] += atRisk;
    }
  }
  // CRR and reactivations of the last complete period, per segment.
  const lastComplete = new Map<string, PeriodRow>();
  for (const p of periods) if (!p.partial) lastComplete.set(`${p.tier}\u0000${p.segment}`, p);

  const total = acc[F_REV];
  const rows: SegmentRow[] = [];
  for (let g = 0; g < seg.count; g++) {
    const o = g * NF;
    const { tier, segment } = seg.keys[g];
    const customers = acc[o + F_CUST];
    // Empty segments are left out, except each configured tier overall: an empty tier is a
    // finding in itself (its row says why its values are null).
    if (customers === 0 && acc[o + F_REV] === 0 && !(segment === 'all' && tier !== NO_TIER_NAME)) continue;
    const ltv = historicLtv({
      customers,
      orders: acc[o + F_ORD],
      revenue: acc[o + F_REV],
      margin: acc[o + F_MARGIN],
      lifetimeMonths: acc[o + F_LIFE],
    });
    const period = lastComplete.get(`${tier}\u0000${segment}`);
    const notes: string[] = [];
    if (customers === 0) notes.push(acc[o + F_REV] === 0 ? 'no customers in this segment: values are null' : 'no customers with a purchase (refunds only)');
    if (!period) notes.push('no complete period yet: crr is null');
    else if (period.crr === null) notes.push(`nobody active at the start of ${period.period}: crr is null`);
    if (!opts.predictedClv) notes.push('no predicted CLV (model not fitted)');
    rows.push({
      tier,
      segment,
      customers,
      revenue: round2(acc[o + F_REV]),
      revenue_share: total > 0 ? acc[o + F_REV] / total : null,
      active_customers: acc[o + F_ACTIVE],
      crr: period?.crr ?? null,
      reactivated: period?.reactivated ?? 0,
      avg_order_value: ltv.avgOrderValue,
      orders_per_month: ltv.ordersPerMonth,
      margin_share: ltv.marginShare,
      lifetime_months: ltv.lifetimeMonths,
      ltv: ltv.ltv,
      clv: ltv.clv,
      predicted_clv_mean: opts.predictedClv && acc[o + F_PN] > 0 ? acc[o + F_PCLV] / acc[o + F_PN] : null,
      predicted_clv_total: opts.predictedClv ? round2(acc[o + F_PCLV]) : null,
      value_at_risk: opts.predictedClv ? round2(acc[o + F_VAR]) : null,
      prev_run_date: null,
      note: notes.join('; '),
    });
  }
  return rows;
}

/** Adds prev_<metric> and change_<metric> from the previous run's segments rows. */
export function withPrevious(rows: SegmentRow[], previous: { runDate: string; rows: Record<string, unknown>[] } | null): SegmentRow[] {
  const prev = new Map<string, Record<string, unknown>>();
  for (const r of previous?.rows ?? []) prev.set(`${r.tier}\u0000${r.segment}`, r);
  return rows.map((r) => {
    const p = prev.get(`${r.tier}\u0000${r.segment}`);
    const out: SegmentRow = { ...r, prev_run_date: p ? previous!.runDate : null };
    for (const m of SEGMENT_METRICS) {
      const cur = r[m.name as keyof SegmentRow] as number | null;
      const raw = p?.[m.name];
      const before = typeof raw === 'bigint' ? Number(raw) : typeof raw === 'number' && Number.isFinite(raw) ? raw : null;
      out[`prev_${m.name}`] = before;
      out[`change_${m.name}`] = before !== null && cur !== null ? cur - before : null;
    }
    return out;
  });
}
