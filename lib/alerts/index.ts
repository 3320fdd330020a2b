/**
 * Value-loss warnings: run every detector on every tier and tier x dimension value, correct
 * all p-values of the run together (Benjamini-Hochberg at alerts.fdr), keep only significant
 * declines, size them in money per year, rank them. Pure: rows in, rows out.
 */
import type { AlertRow, CohortRow, PeriodRow, SegmentRow, Severity } from '../types.js';
import type { Config } from '../config.js';
import {
  type DetectorResult,
  type Finding,
  type TooSmall,
  crrDetector,
  makeContext,
  predictedClvDetector,
  retentionDetector,
  revenueDetector,
  revenueShareDetector,
} from './detectors.js';
import { crrMix, retentionMix } from './mix.js';
import { benjaminiHochberg } from './stats.js';
import { roundMoney } from './format.js';

export type { Finding, TooSmall, Metric } from './detectors.js';

export interface ValueLossInput {
  cohorts: CohortRow[];
  periods: PeriodRow[];
  segments: SegmentRow[];
  config: Config;
  /** The run's as-of date, YYYY-MM-DD: periods containing it (or after it) are never compared. */
  asOf: string;
}

export interface MixFinding {
  metric: string;
  explanation: string;
  overallChange: number;
  withinSegmentChange: number;
  mixEffect: number;
}

export interface ValueLossResult {
  /** Ranked: rank 1 = most money at risk; small-customer tiers first when within 10%. */
  alerts: AlertRow[];
  tooSmall: TooSmall[];
  mix: MixFinding[];
  /** Hypothesis tests run: the Benjamini-Hochberg family size. */
  tests: number;
}

/** Two amounts within this ratio are "close": then the smaller-customer tier ranks first. */
const CLOSE = 1.1;
/** A mix-explained decline is reported once the overall number fell by this share of its baseline. */
const MIX_VISIBLE = 0.05;

export function detectValueLoss(input: ValueLossInput): ValueLossResult {
  const { config, asOf } = input;
  const ctx = makeContext(config, asOf, input.periods);
  const cohortGroups = groupBy(input.cohorts);
  const periodGroups = groupBy(input.periods);

  const findings: Finding[] = [];
  const tooSmall: TooSmall[] = [];
  const mix: MixFinding[] = [];
  const take = (r: DetectorResult) => {
    if (!r) return;
    if ('tooSmall' in r) tooSmall.push(r.tooSmall);
    else findings.push(r.finding);
  };

  for (const rows of cohortGroups.values()) {
    const before = findings.length;
    take(retentionDetector(rows, ctx));
    const f = findings[before];
    if (f && f.tier === 'all') {
      const note = retentionMix(rows, tiersOf(cohortGroups, f.segment, config), ctx);
      if (note) f.mix = note;
    }
  }
  for (const rows of periodGroups.values()) {
    const before = findings.length;
    take(crrDetector(rows, ctx));
    const f = findings[before];
    if (f && f.tier === 'all') {
      const note = crrMix(rows, tiersOf(periodGroups, f.segment, config), ctx);
      if (note) f.mix = note;
    }
    take(revenueDetector(rows, ctx));
    take(revenueShareDetector(rows, ctx));
  }
  for (const row of input.segments) for (const r of predictedClvDetector(row, ctx)) take(r);

  // One BH family: every test run, whichever way it came out (declines, rises, mix-explained).
  const tested = findings.filter((f) => f.test !== null);
  const q = benjaminiHochberg(tested.map((f) => clampP(f.test!.p)));
  const qOf = new Map(tested.map((f, i) => [f, q[i]]));

  const alerts: Omit<AlertRow, 'rank'>[] = [];
  for (const f of findings) {
    // A loss: the metric fell (for value at risk, which counts money about to be lost: rose).
    const worse = f.metric === 'value_at_risk' ? f.current > f.baseline : f.current < f.baseline;
    const declined = worse && f.annualValueAtRisk > 0;
    if (!declined) continue;
    const qv = qOf.get(f);
    const significant = qv !== undefined && qv <= config.alerts.fdr;
    if (f.mix) {
      // Explained, never alerted; only when the overall number visibly moved (significant, or
      // down by at least MIX_VISIBLE of its baseline), else it is noise.
      const visible = f.baseline !== 0 && (f.baseline - f.current) / Math.abs(f.baseline) >= MIX_VISIBLE;
      if (f.test === null || significant || f.test.p <= config.alerts.fdr || visible) mix.push({ metric: f.metric, ...f.mix });
      continue;
    }
    if (f.test !== null && !significant) continue;
    alerts.push(toRow(f, qv ?? 1, significant, config));
  }

  const tierOrder = config.tiers.names;
  const order = (t: string) => {
    const i = tierOrder.indexOf(t);
    return i < 0 ? tierOrder.length : i;
  };
  // Rank key: money, boosted by 10% for the smallest tier, so a small-customer loss within
  // 10% of a bigger one ranks first; ties by tier order, then by q-value.
  const key = (a: Omit<AlertRow, 'rank'>) => a.annual_value_at_risk * (order(a.tier) === 0 ? CLOSE : 1);
  alerts.sort((a, b) => key(b) - key(a) || order(a.tier) - order(b.tier) || a.q_value - b.q_value);
  // A roll-up (tier "all") whose loss also shows in a specific tier, same metric and segment,
  // ranks after its parts: the headline names the customers who are actually leaving.
  const isRollUp = (a: Omit<AlertRow, 'rank'>) =>
    a.tier === 'all' && alerts.some((b) => b.tier !== 'all' && b.metric === a.metric && b.segment === a.segment);
  const rollUps = new Set(alerts.filter(isRollUp));
  alerts.splice(0, alerts.length, ...alerts.filter((a) => !rollUps.has(a)), ...alerts.filter((a) => rollUps.has(a)));
  return {
    alerts: alerts.map((a, i) => ({ rank: i + 1, ...a })),
    tooSmall,
    mix,
    tests: tested.length,
  };
}

function toRow(f: Finding, q: number, significant: boolean, config: Config): Omit<AlertRow, 'rank'> {
  const money = f.annualValueAtRisk;
  const severity: Severity =
    f.test === null || !significant ? 'info' : money >= config.alerts.criticalAmount ? 'critical' : money >= config.alerts.warningAmount ? 'warning' : 'info';
  const p = f.test ? clampP(f.test.p) : 1;
  const testText = f.test
    ? `${f.test.name}: ${f.test.df === null ? 'z' : `t(${f.test.df})`} = ${f.test.statistic.toFixed(2)}`
    : 'none: model estimate compared with the previous run (no sampling test)';
  return {
    tier: f.tier,
    segment: f.segment,
    metric: f.metric,
    severity,
    baseline: f.baseline,
    baseline_window: f.baselineWindow,
    current: f.current,
    current_window: f.currentWindow,
    change: f.current - f.baseline,
    relative_change: f.baseline !== 0 ? (f.current - f.baseline) / f.baseline : null,
    test: testText,
    p_value: p,
    q_value: f.test ? q : 1,
    customers: f.customers,
    annual_value_at_risk: money,
    arithmetic: f.arithmetic,
    message: `${f.headline}; about ${roundMoney(money, config.currency)} a year at risk.`,
  };
}

function clampP(p: number): number {
  return Number.isFinite(p) ? Math.min(1, Math.max(0, p)) : 1;
}

function groupBy<T extends { tier: string; segment: string }>(rows: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const k = `${r.tier}\u0000${r.segment}`;
    const g = m.get(k);
    if (g) g.push(r);
    else m.set(k, [r]);
  }
  return m;
}

/** The configured tiers' rows of one segment (the parts whose weighted mean is tier "all"). */
function tiersOf<T>(groups: Map<string, T[]>, segment: string, config: Config): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of config.tiers.names) {
    const g = groups.get(`${t}\u0000${segment}`);
    if (g) out.set(t, g);
  }
  return out;
}
