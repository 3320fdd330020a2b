/**
 * Mix shift (Simpson's paradox) for the rates of tier "all": the overall rate is a weighted
 * mean of the tiers' rates, r = sum_t w_t r_t (w_t = the tier's share of the customers
 * behind the rate). Between a baseline (w, r) and a current window (w', r') the change splits
 * exactly, with midpoint weights (the symmetric Kitagawa decomposition):
 *   r' - r = sum_t (w_t + w'_t)/2 (r'_t - r_t)      within-tier change (behaviour)
 *          + sum_t (r_t + r'_t)/2 (w'_t - w_t)      mix effect (composition)
 * Source: Kitagawa (1955) JASA 50:1168, "Components of a difference between two rates".
 * When an overall decline is mostly mix, it is explained in `mix` and not alerted.
 */
import type { CohortRow, PeriodRow } from '../types.js';
import { completeCohortsAtAge, completePeriods, type Context, type MixNote } from './detectors.js';
import { agePhrase, pct, who } from './format.js';

interface Part {
  x: number;
  n: number;
}

export interface Decomposition {
  overall: number;
  within: number;
  mix: number;
  /** Per tier: baseline and current weight and rate. */
  tiers: { tier: string; w0: number; w1: number; r0: number; r1: number }[];
}

export function decompose(base: Map<string, Part>, cur: Map<string, Part>): Decomposition | null {
  const tiers = [...new Set([...base.keys(), ...cur.keys()])];
  const n0 = tiers.reduce((s, t) => s + (base.get(t)?.n ?? 0), 0);
  const n1 = tiers.reduce((s, t) => s + (cur.get(t)?.n ?? 0), 0);
  if (!(n0 > 0 && n1 > 0)) return null;
  const rows = tiers.map((t) => {
    const b = base.get(t) ?? { x: 0, n: 0 };
    const c = cur.get(t) ?? { x: 0, n: 0 };
    const r0 = b.n > 0 ? b.x / b.n : c.n > 0 ? c.x / c.n : 0; // a tier absent on one side: its rate is taken as unchanged
    const r1 = c.n > 0 ? c.x / c.n : r0;
    return { tier: t, w0: b.n / n0, w1: c.n / n1, r0, r1 };
  });
  let within = 0;
  let mix = 0;
  for (const t of rows) {
    within += ((t.w0 + t.w1) / 2) * (t.r1 - t.r0);
    mix += ((t.r0 + t.r1) / 2) * (t.w1 - t.w0);
  }
  return { overall: within + mix, within, mix, tiers: rows };
}

/** Mostly mix: an overall decline whose composition part is larger than the behaviour part. */
export function mostlyMix(d: Decomposition): boolean {
  return d.overall < 0 && d.mix < 0 && Math.abs(d.mix) > Math.abs(d.within);
}

function tierList(d: Decomposition, tierOrder: string[]): Decomposition['tiers'] {
  return [...d.tiers].sort((a, b) => tierOrder.indexOf(a.tier) - tierOrder.indexOf(b.tier));
}

function sharesText(d: Decomposition, tierOrder: string[]): string {
  return tierList(d, tierOrder)
    .filter((t) => Math.abs(t.w1 - t.w0) >= 0.005)
    .map((t) => `${t.tier} ${pct(t.w0)} -> ${pct(t.w1)}`)
    .join(', ');
}

/** Retention at age k of tier "all" in one segment, split into within-tier and mix. */
export function retentionMix(allRows: CohortRow[], tierRows: Map<string, CohortRow[]>, ctx: Context): MixNote | null {
  const { config } = ctx;
  const k = config.alerts.retentionAge;
  const atAge = completeCohortsAtAge(allRows, k, ctx);
  const R = config.alerts.recentPeriods;
  const cur = new Set(atAge.slice(-R).map((r) => r.cohort_start));
  const base = new Set(atAge.slice(Math.max(0, atAge.length - R - config.alerts.baselinePeriods), Math.max(0, atAge.length - R)).map((r) => r.cohort_start));
  if (!cur.size || !base.size) return null;
  const b = new Map<string, Part>();
  const c = new Map<string, Part>();
  for (const [tier, rows] of tierRows) {
    for (const r of completeCohortsAtAge(rows, k, ctx)) {
      const into = cur.has(r.cohort_start) ? c : base.has(r.cohort_start) ? b : null;
      if (!into) continue;
      const p = into.get(tier) ?? { x: 0, n: 0 };
      p.x += Math.min(r.active_customers, r.customers);
      p.n += r.customers;
      into.set(tier, p);
    }
  }
  const d = decompose(b, c);
  if (!d || !mostlyMix(d)) return null;
  const age = agePhrase(k, ctx.unit);
  return {
    explanation:
      `${who('all', allRows[0].segment)}: ${age} retention fell ${(-d.overall * 100).toFixed(1)} points overall, but by` +
      ` ${(-d.within * 100).toFixed(1)} points within tiers; ${(-d.mix * 100).toFixed(1)} points come from the tier mix of new customers` +
      ` (${sharesText(d, config.tiers.names)}), not from customers coming back less.`,
    overallChange: d.overall,
    withinSegmentChange: d.within,
    mixEffect: d.mix,
  };
}

/** CRR (on 0..100) of tier "all" in one segment, split into within-tier and mix (weights: S). */
export function crrMix(allRows: PeriodRow[], tierRows: Map<string, PeriodRow[]>, ctx: Context): MixNote | null {
  const { config } = ctx;
  const complete = completePeriods(allRows, ctx).filter((r) => r.active_start > 0);
  const R = config.alerts.recentPeriods;
  const cur = new Set(complete.slice(-R).map((r) => r.period_start));
  const base = new Set(complete.slice(Math.max(0, complete.length - R - config.alerts.baselinePeriods), Math.max(0, complete.length - R)).map((r) => r.period_start));
  if (!cur.size || !base.size) return null;
  const b = new Map<string, Part>();
  const c = new Map<string, Part>();
  for (const [tier, rows] of tierRows) {
    for (const r of completePeriods(rows, ctx)) {
      const into = cur.has(r.period_start) ? c : base.has(r.period_start) ? b : null;
      if (!into || r.active_start <= 0) continue;
      const p = into.get(tier) ?? { x: 0, n: 0 };
      p.x += Math.min(r.active_start, Math.max(0, r.active_end - r.new_customers));
      p.n += r.active_start;
      into.set(tier, p);
    }
  }
  const d0 = decompose(b, c);
  if (!d0 || !mostlyMix(d0)) return null;
  const d = { ...d0, overall: d0.overall * 100, within: d0.within * 100, mix: d0.mix * 100 };
  return {
    explanation:
      `${who('all', allRows[0].segment)}: the share of active customers kept each ${ctx.unit} fell ${(-d.overall).toFixed(1)} points overall, but by` +
      ` ${(-d.within).toFixed(1)} within tiers; the rest comes from the tier mix of active customers (${sharesText(d0, config.tiers.names)}).`,
    overallChange: d.overall,
    withinSegmentChange: d.within,
    mixEffect: d.mix,
  };
}
