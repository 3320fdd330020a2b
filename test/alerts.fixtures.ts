/**
 * Hand-built metric rows for the alerts tests: a seeded simulator of cohort and period rows
 * per (tier, region) cell with binomial noise and cohort-to-cohort / period-to-period random
 * effects, aggregated into the tier "all" and segment "all" rows exactly as the metrics stage
 * would (sums of counts and revenue). Planted changes are optional knobs.
 */
import type { CohortRow, PeriodRow } from '../lib/types.js';
import { addPeriods } from '../lib/alerts/format.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Binomial draw: exact (sum of Bernoullis) for small n, normal approximation otherwise. */
export function binomial(u: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (n < 60) {
    let x = 0;
    for (let i = 0; i < n; i++) if (u() < p) x++;
    return x;
  }
  return Math.min(n, Math.max(0, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal(u))));
}

export function poisson(u: () => number, lambda: number): number {
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(u)));
  const L = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= u();
  } while (p > L);
  return k - 1;
}

const logit = (p: number) => Math.log(p / (1 - p));
const expit = (x: number) => 1 / (1 + Math.exp(-x));

export interface TierSpec {
  name: string;
  /** New customers per month per region. */
  newPerMonth: number;
  /** Retention at age k. */
  retention: number;
  /** Monthly CRR (share of active customers kept). */
  crr: number;
  /** Share of the active customers buying in a month. */
  buyRate: number;
  /** Revenue per buyer per month. */
  spend: number;
}

export interface SimOptions {
  seed: number;
  /** Complete months of history; one more (partial) month contains asOf. */
  months?: number;
  start?: string;
  tiers?: TierSpec[];
  regions?: string[];
  age?: number;
  /** SD on the logit scale of the month effect shared by all cells, and of the cell's own effect. */
  monthSd?: number;
  cellSd?: number;
  /** Planted change: from month index `from` on, in these cells, multiply retention/CRR/buy rate. */
  plant?: { from: number; tier?: string; region?: string; retention?: number; crr?: number; buyRate?: number; spend?: number };
  /** Mix shift: from month index `from` on, new customers per tier multiplied by these factors. */
  mixShift?: { from: number; factors: Record<string, number> };
  /** Multiply last-period-contains-asOf rows by this (to prove partial rows are ignored). */
  partialCollapse?: number;
}

export const DEFAULT_TIERS: TierSpec[] = [
  { name: 'small', newPerMonth: 300, retention: 0.25, crr: 0.9, buyRate: 0.12, spend: 30 },
  { name: 'mid', newPerMonth: 120, retention: 0.35, crr: 0.93, buyRate: 0.18, spend: 80 },
  { name: 'large', newPerMonth: 45, retention: 0.45, crr: 0.95, buyRate: 0.25, spend: 300 },
];

export interface Sim {
  cohorts: CohortRow[];
  periods: PeriodRow[];
  asOf: string;
}

/**
 * Months 0..months-1 are complete; month `months` contains asOf (partial). Cohort rows exist
 * for ages 0 and `age` (the compared age), partial when that age's month contains asOf, absent
 * when not reached yet.
 */
export function simulate(o: SimOptions): Sim {
  const u = rng(o.seed);
  const months = o.months ?? 24;
  const start = o.start ?? '2022-01-01';
  const tiers = o.tiers ?? DEFAULT_TIERS;
  const regions = o.regions ?? ['APAC', 'EMEA', 'AMER'];
  const k = o.age ?? 3;
  const monthSd = o.monthSd ?? 0.12;
  const cellSd = o.cellSd ?? 0.08;
  const asOf = addPeriods(start, months, 'month').slice(0, 8) + '15';
  const nMonths = months + 1;

  const planted = (m: number, tier: string, region: string) =>
    o.plant && m >= o.plant.from && (!o.plant.tier || o.plant.tier === tier) && (!o.plant.region || o.plant.region === region) ? o.plant : null;

  type CellCohort = { n: number; x: number; rev0: number; revK: number };
  type CellPeriod = { S: number; E: number; N: number; react: number; B: number; rev: number };
  const cohortCells = new Map<string, CellCohort[]>();
  const periodCells = new Map<string, CellPeriod[]>();
  const monthEffect = Array.from({ length: nMonths }, () => monthSd * normal(u));
  const periodEffect = Array.from({ length: nMonths }, () => 0.6 * monthSd * normal(u));
  const season = (m: number) => 1 + 0.15 * Math.sin((2 * Math.PI * m) / 12);

  for (const t of tiers)
    for (const r of regions) {
      const cc: CellCohort[] = [];
      const pc: CellPeriod[] = [];
      let S = Math.round(t.newPerMonth / (1 - t.crr - 0.01)); // the steady state: no drift in tier shares
      for (let m = 0; m < nMonths; m++) {
        const p = planted(m, t.name, r);
        const mixF = o.mixShift && m >= o.mixShift.from ? (o.mixShift.factors[t.name] ?? 1) : 1;
        const n = poisson(u, t.newPerMonth * mixF);
        // the retention plant applies to cohorts acquired from `from` on
        const retP = expit(logit(t.retention * (p?.retention ?? 1)) + monthEffect[m] + cellSd * normal(u));
        const x = binomial(u, n, retP);
        const spend = t.spend * (p?.spend ?? 1);
        cc.push({ n, x, rev0: n * spend * 1.2, revK: x * spend });
        const crrP = expit(logit(t.crr * (p?.crr ?? 1)) + periodEffect[m] + cellSd * normal(u));
        const kept = binomial(u, S, crrP);
        const react = binomial(u, S, 0.01);
        const B = n + binomial(u, S, expit(logit(t.buyRate * (p?.buyRate ?? 1)) + periodEffect[m] + cellSd * normal(u)));
        const rev = B * spend * season(m) * Math.exp(0.05 * normal(u));
        const E = kept + react + n;
        pc.push({ S, E, N: n, react, B, rev });
        S = E;
      }
      cohortCells.set(`${t.name}|${r}`, cc);
      periodCells.set(`${t.name}|${r}`, pc);
    }

  const tierNames = tiers.map((t) => t.name);
  const groups: { tier: string; segment: string; cells: string[] }[] = [];
  for (const tier of [...tierNames, 'all'])
    for (const seg of ['all', ...regions]) {
      const ts = tier === 'all' ? tierNames : [tier];
      const rs = seg === 'all' ? regions : [seg];
      groups.push({ tier, segment: seg === 'all' ? 'all' : `region=${seg}`, cells: ts.flatMap((t) => rs.map((r) => `${t}|${r}`)) });
    }

  const cohorts: CohortRow[] = [];
  const periods: PeriodRow[] = [];
  const totalRev = Array.from({ length: nMonths }, (_, m) => [...periodCells.values()].reduce((s, pc) => s + pc[m].rev, 0));
  const label = (m: number) => addPeriods(start, m, 'month').slice(0, 7);
  for (const g of groups) {
    for (let m = 0; m < nMonths; m++) {
      const sumC = (f: (c: CellCohort) => number) => g.cells.reduce((s, c) => s + f(cohortCells.get(c)![m]), 0);
      const sumP = (f: (c: CellPeriod) => number) => g.cells.reduce((s, c) => s + f(periodCells.get(c)![m]), 0);
      const n = sumC((c) => c.n);
      const cohortStart = addPeriods(start, m, 'month');
      const base = { cohort: label(m), cohort_start: cohortStart, tier: g.tier, segment: g.segment, customers: n };
      const rev0 = sumC((c) => c.rev0);
      cohorts.push({ ...base, period: 0, active_customers: n, retention: n ? 1 : null, revenue: rev0, revenue_retention: rev0 ? 1 : null, cumulative_revenue_per_customer: n ? rev0 / n : null, partial: m === months });
      if (m + k <= months) {
        const x = sumC((c) => c.x);
        const revK = sumC((c) => c.revK);
        const collapse = m + k === months ? (o.partialCollapse ?? 1) : 1;
        cohorts.push({
          ...base,
          period: k,
          active_customers: Math.round(x * collapse),
          retention: n ? (x * collapse) / n : null,
          revenue: revK * collapse,
          revenue_retention: rev0 ? revK / rev0 : null,
          cumulative_revenue_per_customer: n ? (rev0 + revK) / n : null,
          partial: m + k === months,
        });
      }
      const collapse = m === months ? (o.partialCollapse ?? 1) : 1;
      const S = sumP((c) => c.S);
      const N = sumP((c) => c.N);
      const E = Math.round(N + (sumP((c) => c.E) - N) * collapse);
      const rev = sumP((c) => c.rev) * collapse;
      periods.push({
        period: label(m),
        period_start: cohortStart,
        tier: g.tier,
        segment: g.segment,
        active_start: S,
        active_end: E,
        new_customers: N,
        reactivated: sumP((c) => c.react),
        crr: S ? ((E - N) / S) * 100 : null,
        customers_buying: Math.round(sumP((c) => c.B) * collapse),
        revenue: rev,
        revenue_share: totalRev[m] ? rev / totalRev[m] : null,
        partial: m === months,
      });
    }
  }
  return { cohorts, periods, asOf };
}
