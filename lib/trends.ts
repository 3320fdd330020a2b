/**
 * Trends across cohorts: for each segment, a metric at a fixed age (retention at age 3,
 * cumulative revenue per customer at age 6 ...) over the last `cohort.trendCohorts` cohorts
 * that have completed that age. Only complete cohort-ages are used (DESIGN.md: compare
 * cohorts only at ages they have all reached).
 *
 *   slope_per_cohort = OLS slope of the value on the cohort's position (0, 1, 2 ...):
 *     sum((i - ibar)(y_i - ybar)) / sum((i - ibar)^2)
 *   relative_change  = (last value - mean of the earlier values) / mean of the earlier values
 */
import type { CohortRow } from './types.js';
import type { Row } from './outputs/schema.js';

export type TrendMetric = 'retention' | 'cumulative_revenue_per_customer';
const METRICS: TrendMetric[] = ['retention', 'cumulative_revenue_per_customer'];

export interface TrendRow {
  tier: string;
  segment: string;
  metric: TrendMetric;
  age: number;
  cohorts: number;
  first_cohort: string;
  last_cohort: string;
  first_value: number;
  last_value: number;
  mean_value: number;
  slope_per_cohort: number | null;
  relative_change: number | null;
}

export function olsSlope(y: number[]): number | null {
  const n = y.length;
  if (n < 2) return null;
  const ibar = (n - 1) / 2;
  const ybar = y.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - ibar) * (y[i] - ybar);
    den += (i - ibar) ** 2;
  }
  return num / den;
}

export function trendRows(cohorts: CohortRow[], ages: number[], lastN: number): TrendRow[] {
  const series = new Map<string, CohortRow[]>();
  const wanted = new Set(ages);
  for (const r of cohorts) {
    if (r.partial || !wanted.has(r.period)) continue;
    const key = `${r.tier}\u0000${r.segment}\u0000${r.period}`;
    (series.get(key) ?? series.set(key, []).get(key)!).push(r);
  }
  const out: TrendRow[] = [];
  for (const rows of series.values()) {
    rows.sort((a, b) => (a.cohort_start < b.cohort_start ? -1 : 1));
    const last = rows.slice(-lastN);
    for (const metric of METRICS) {
      const pts = last.filter((r) => r[metric] !== null);
      if (pts.length === 0) continue;
      const y = pts.map((r) => r[metric] as number);
      const earlier = y.slice(0, -1);
      const earlierMean = earlier.length ? earlier.reduce((a, b) => a + b, 0) / earlier.length : null;
      out.push({
        tier: pts[0].tier,
        segment: pts[0].segment,
        metric,
        age: pts[0].period,
        cohorts: pts.length,
        first_cohort: pts[0].cohort,
        last_cohort: pts[pts.length - 1].cohort,
        first_value: y[0],
        last_value: y[y.length - 1],
        mean_value: y.reduce((a, b) => a + b, 0) / y.length,
        slope_per_cohort: olsSlope(y),
        relative_change: earlierMean ? (y[y.length - 1] - earlierMean) / earlierMean : null,
      });
    }
  }
  return out;
}

export const asRows = (t: TrendRow[]): Row[] => t as unknown as Row[];
