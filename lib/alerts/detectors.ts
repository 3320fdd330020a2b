/**
 * The value-loss detectors. Each looks at ONE (tier, segment) and returns a Finding (a test was
 * run: its p-value joins the run's Benjamini-Hochberg family, whatever the direction), a
 * too-small note, or nothing (not enough complete history to compare). Money at risk is
 * computed here, with its arithmetic in words; significance and severity are decided in
 * index.ts once every p-value of the run is known.
 */
import type { CohortRow, PeriodRow, SegmentRow } from '../types.js';
import type { Config } from '../config.js';
import {
  type PeriodUnit,
  PERIODS_PER_YEAR,
  addPeriods,
  agePhrase,
  count,
  money,
  moneyCents,
  pct,
  pct100,
  periodWords,
  who,
  windowText,
} from './format.js';
import {
  type TestResult,
  externalVarianceTTest,
  groupedProportionTest,
  lag1Autocorrelation,
  mean,
  pooledTTest,
  sampleVariance,
  trendPredictionTest,
} from './stats.js';

export type Metric = 'retention' | 'active_customers' | 'crr' | 'revenue' | 'revenue_share' | 'predicted_clv' | 'value_at_risk';

export interface Finding {
  tier: string;
  segment: string;
  metric: Metric;
  baseline: number;
  baselineWindow: string;
  current: number;
  currentWindow: string;
  /** null: a model estimate compared with the previous run, not a sampling test (never above info). */
  test: TestResult | null;
  customers: number;
  /** >= 0: money per year the decline costs if it persists (0 when the metric did not fall). */
  annualValueAtRisk: number;
  arithmetic: string;
  /** The sentence without its money clause; index.ts appends "; about $X a year at risk." */
  headline: string;
  /** Set when the decline is explained by a change of mix, not of behaviour: reported, never alerted. */
  mix?: MixNote;
}

export interface MixNote {
  explanation: string;
  overallChange: number;
  withinSegmentChange: number;
  mixEffect: number;
}

export interface TooSmall {
  tier: string;
  segment: string;
  metric: string;
  customers: number;
}

export type DetectorResult = { finding: Finding } | { tooSmall: TooSmall } | null;

export interface Context {
  config: Config;
  asOf: string;
  unit: PeriodUnit;
  /** Periods per year of the cohort period. */
  ppy: number;
  /** Revenue per period of everyone (tier all, segment all), by period_start, complete periods. */
  totalRevenue: Map<string, number>;
  /** The tier all, segment all period rows by period_start (complete periods). */
  totalPeriods: Map<string, PeriodRow>;
}

export function makeContext(config: Config, asOf: string, periods: PeriodRow[]): Context {
  const unit = config.cohort.period;
  const totalRevenue = new Map<string, number>();
  const totalPeriods = new Map<string, PeriodRow>();
  for (const r of periods)
    if (r.tier === 'all' && r.segment === 'all' && isComplete(r.period_start, 0, unit, asOf, r.partial)) {
      totalRevenue.set(r.period_start, finite(r.revenue));
      totalPeriods.set(r.period_start, r);
    }
  return { config, asOf, unit, ppy: PERIODS_PER_YEAR[unit], totalRevenue, totalPeriods };
}

const finite = (x: number | null | undefined): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0);

/** Age `age` of a cohort starting at `start` is complete when the period after it has begun by asOf. */
export function isComplete(start: string, age: number, unit: PeriodUnit, asOf: string, partial: boolean): boolean {
  // Complete when the period has ended by the as-of date: its last day (next start - 1) <= asOf.
  return !partial && addPeriods(start, age + 1, unit) <= dayAfter(asOf);
}

function dayAfter(iso: string): string {
  return new Date(Date.parse(`${iso}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** Split sorted units into the last `recent` and up to `baseline` before them. */
function windows<T>(sorted: T[], recent: number, baseline: number): { base: T[]; cur: T[] } {
  const cur = sorted.slice(Math.max(0, sorted.length - recent));
  const base = sorted.slice(Math.max(0, sorted.length - recent - baseline), sorted.length - cur.length);
  return { base, cur };
}

const MIN_BASELINE_UNITS = 3;

// ---------------------------------------------------------------------------------------
// 1. Retention at age k: recent complete cohorts vs earlier cohorts at the same age.

export function retentionDetector(rows: CohortRow[], ctx: Context): DetectorResult {
  const { config, unit, ppy } = ctx;
  const k = config.alerts.retentionAge;
  const atAge = completeCohortsAtAge(rows, k, ctx);
  const cur = atAge.slice(Math.max(0, atAge.length - config.alerts.recentPeriods));
  if (cur.length < 1) return null;
  // Baseline cohorts were observed at age k before the recent cohorts were acquired: a cohort
  // whose age-k period overlaps the recent window in calendar time already carries the change
  // being tested (a drop that hits every customer from some month on), so it is left out.
  const firstRecent = cur[0].cohort_start;
  const earlier = atAge.filter((r) => addPeriods(r.cohort_start, k + 1, unit) <= firstRecent);
  const base = earlier.slice(Math.max(0, earlier.length - config.alerts.baselinePeriods));
  if (base.length < MIN_BASELINE_UNITS) return null;
  const [tier, segment] = [rows[0].tier, rows[0].segment];
  const nBase = sum(base.map((r) => r.customers));
  const nCur = sum(cur.map((r) => r.customers));
  const customers = Math.min(nBase, nCur);
  if (customers < config.alerts.minCustomers) return { tooSmall: { tier, segment, metric: 'retention', customers } };

  const units = (rs: CohortRow[]) => rs.map((r) => ({ x: Math.min(r.active_customers, r.customers), n: r.customers }));
  const test = groupedProportionTest(units(base), units(cur));
  const baseline = sum(base.map((r) => Math.min(r.active_customers, r.customers))) / nBase;
  const current = sum(cur.map((r) => Math.min(r.active_customers, r.customers))) / nCur;

  // Money: each year brings (mean recent cohort size x periods/yr) new customers; each one
  // not retained at age k costs the revenue a retained customer brings at that age.
  const newPerYear = (nCur / cur.length) * ppy;
  const activeBase = sum(base.map((r) => r.active_customers));
  const valuePerRetained = activeBase > 0 ? sum(base.map((r) => finite(r.revenue))) / activeBase : 0;
  const drop = Math.max(0, baseline - current);
  const annual = drop * newPerYear * valuePerRetained;
  const age = agePhrase(k, unit);
  const arithmetic =
    `(${pct(baseline)} - ${pct(current)}) x ${count(newPerYear)} new ${tierNoun(tier, segment)}/yr` +
    ` x ${moneyCents(valuePerRetained, config.currency)} revenue per retained customer at age ${k} = ${money(annual, config.currency)}`;
  return {
    finding: {
      tier,
      segment,
      metric: 'retention',
      baseline,
      baselineWindow: `${windowText(base.map((r) => r.cohort), 'cohort')} at age ${k}`,
      current,
      currentWindow: `${windowText(cur.map((r) => r.cohort), 'cohort')} at age ${k}`,
      test,
      customers,
      annualValueAtRisk: annual,
      arithmetic,
      headline:
        `${who(tier, segment)} are coming back less: ${age} retention fell from ${pct(baseline)} to ${pct(current)}` +
        ` for cohorts since ${periodWords(cur[0].cohort_start, unit)}`,
    },
  };
}

/** One row per cohort at age k, complete only, sorted by cohort start. */
export function completeCohortsAtAge(rows: CohortRow[], k: number, ctx: Context): CohortRow[] {
  const byCohort = new Map<string, CohortRow>();
  for (const r of rows)
    if (r.period === k && r.customers > 0 && isComplete(r.cohort_start, k, ctx.unit, ctx.asOf, r.partial)) byCohort.set(r.cohort_start, r);
  return [...byCohort.values()].sort((a, b) => (a.cohort_start < b.cohort_start ? -1 : 1));
}

function tierNoun(tier: string, segment: string): string {
  const t = tier === 'all' ? 'customers' : `${tier} customers`;
  return segment === 'all' ? t : `${t} ${segment.replace(/^[^=]*=/, '')}`.trim();
}

// ---------------------------------------------------------------------------------------
// 2. Customer retention rate, CRR = (E - N) / S: recent complete periods vs a trailing baseline.

/** Complete periods of one (tier, segment), sorted. */
export function completePeriods(rows: PeriodRow[], ctx: Context): PeriodRow[] {
  const byStart = new Map<string, PeriodRow>();
  for (const r of rows) if (isComplete(r.period_start, 0, ctx.unit, ctx.asOf, r.partial)) byStart.set(r.period_start, r);
  return [...byStart.values()].sort((a, b) => (a.period_start < b.period_start ? -1 : 1));
}

export function crrDetector(rows: PeriodRow[], ctx: Context): DetectorResult {
  const { config, unit, ppy } = ctx;
  const complete = completePeriods(rows, ctx).filter((r) => r.active_start > 0);
  const { base, cur } = windows(complete, config.alerts.recentPeriods, config.alerts.baselinePeriods);
  if (base.length < MIN_BASELINE_UNITS || cur.length < 1) return null;
  const [tier, segment] = [rows[0].tier, rows[0].segment];
  const customers = Math.round(mean(cur.map((r) => r.active_start)));
  if (customers < config.alerts.minCustomers) return { tooSmall: { tier, segment, metric: 'crr', customers } };

  // Retained = E - N, clamped into [0, S] so it reads as "of S at the start, how many stayed".
  const retained = (r: PeriodRow) => Math.min(r.active_start, Math.max(0, r.active_end - r.new_customers));
  const units = (rs: PeriodRow[]) => rs.map((r) => ({ x: retained(r), n: r.active_start }));
  const test = groupedProportionTest(units(base), units(cur));
  const baseline = (100 * sum(base.map(retained))) / sum(base.map((r) => r.active_start));
  const current = (100 * sum(cur.map(retained))) / sum(cur.map((r) => r.active_start));

  // Money: (drop in CRR) x active customers x periods/yr = customers lost per year, each worth
  // a year of revenue per active customer (baseline periods).
  const lostPerYear = (Math.max(0, baseline - current) / 100) * customers * ppy;
  const revPerActiveYear = (sum(base.map((r) => finite(r.revenue))) / sum(base.map((r) => r.active_start))) * ppy;
  const annual = lostPerYear * revPerActiveYear;
  const arithmetic =
    `(${pct100(baseline)} - ${pct100(current)}) x ${count(customers)} active ${tierNoun(tier, segment)} x ${ppy} ${unit}s/yr` +
    ` = ${count(lostPerYear)} customers lost/yr x ${moneyCents(revPerActiveYear, config.currency)} revenue per active customer per year` +
    ` = ${money(annual, config.currency)}`;
  return {
    finding: {
      tier,
      segment,
      metric: 'crr',
      baseline,
      baselineWindow: windowText(base.map((r) => r.period), unit),
      current,
      currentWindow: windowText(cur.map((r) => r.period), unit),
      test,
      customers,
      annualValueAtRisk: annual,
      arithmetic,
      headline:
        `${who(tier, segment)} are lapsing faster: the share of active customers kept each ${unit} fell from ${pct100(baseline)}` +
        ` to ${pct100(current)} since ${periodWords(cur[0].period_start, unit)}`,
    },
  };
}

// ---------------------------------------------------------------------------------------
// 3. Revenue and revenue share. With a year of history, revenue is compared with the same
// periods last year (seasonality); otherwise with the trailing baseline.

export function revenueDetector(rows: PeriodRow[], ctx: Context): DetectorResult {
  const { config, unit, ppy } = ctx;
  const complete = completePeriods(rows, ctx);
  const R = config.alerts.recentPeriods;
  if (complete.length < R + MIN_BASELINE_UNITS) return null;
  const [tier, segment] = [rows[0].tier, rows[0].segment];
  const cur = complete.slice(-R);
  const customers = Math.round(mean(cur.map((r) => r.active_end)));
  if (customers < config.alerts.minCustomers) return { tooSmall: { tier, segment, metric: 'revenue', customers } };

  const byStart = new Map(complete.map((r) => [r.period_start, r]));
  const lastYear = (r: PeriodRow) => byStart.get(addPeriods(r.period_start, -ppy, unit));
  const yoy = cur.every((r) => lastYear(r) !== undefined);
  let test: TestResult;
  let base: PeriodRow[];
  let baselineWindow: string;
  if (yoy) {
    base = cur.map((r) => lastYear(r)!);
    const logRatio = (r: PeriodRow) => {
      const prev = finite(lastYear(r)?.revenue);
      return prev > 0 && r.revenue > 0 ? Math.log(r.revenue / prev) : null;
    };
    const dCur = cur.map(logRatio);
    // Noise of a year-over-year log ratio, measured on earlier periods' own ratios; without
    // enough of them, twice the variance of log revenue over the trailing periods (a
    // difference of two independent logs; seasonality inflates it, which errs on silence).
    const earlier = complete.slice(Math.max(0, complete.length - R - config.alerts.baselinePeriods), complete.length - R);
    const dEarlier = earlier.map(logRatio).filter((d): d is number => d !== null);
    const phi = lag1Autocorrelation(dEarlier);
    if (dCur.some((d) => d === null)) test = { statistic: 0, df: null, p: 1, name: 'year-over-year (not testable: a period without revenue)' };
    else if (dEarlier.length >= MIN_BASELINE_UNITS) test = externalVarianceTTest(dCur as number[], 0, sampleVariance(dEarlier), dEarlier.length - 1, phi);
    else {
      const logs = earlier.filter((r) => r.revenue > 0).map((r) => Math.log(r.revenue));
      test = externalVarianceTTest(dCur as number[], 0, 2 * sampleVariance(logs), logs.length - 1, lag1Autocorrelation(logs));
    }
    baselineWindow = `same ${unit}s last year: ${windowText(base.map((r) => r.period), unit)}, mean per ${unit}`;
  } else {
    base = complete.slice(Math.max(0, complete.length - R - config.alerts.baselinePeriods), complete.length - R);
    const logs = (rs: PeriodRow[]) => rs.map((r) => Math.log(Math.max(r.revenue, 1e-9)));
    test = base.concat(cur).every((r) => r.revenue > 0)
      ? { ...pooledTTest(logs(base), logs(cur)), name: 'two-sample t-test on log revenue (pooled variance, one-sided)' }
      : { statistic: 0, df: null, p: 1, name: 'not testable: a period without revenue' };
    baselineWindow = `${windowText(base.map((r) => r.period), unit)}, mean per ${unit} (less than a year of history)`;
  }
  const baseline = mean(base.map((r) => finite(r.revenue)));
  const current = mean(cur.map((r) => finite(r.revenue)));
  const annual = Math.max(0, baseline - current) * ppy;
  const arithmetic = `(${money(baseline, config.currency)} - ${money(current, config.currency)}) per ${unit} x ${ppy} ${unit}s/yr = ${money(annual, config.currency)}`;
  const finding: Finding = {
    tier,
    segment,
    metric: 'revenue',
    baseline,
    baselineWindow,
    current,
    currentWindow: `${windowText(cur.map((r) => r.period), unit)}, mean per ${unit}`,
    test,
    customers,
    annualValueAtRisk: annual,
    arithmetic,
    headline:
      `${who(tier, segment)} are spending less: revenue per ${unit} fell from ${money(baseline, config.currency)}` +
      `${yoy ? ' a year earlier' : ''} to ${money(current, config.currency)} since ${periodWords(cur[0].period_start, unit)}`,
  };
  const mix = volumeMix(base, cur, finding, ctx);
  if (mix) finding.mix = mix;
  return { finding };
}

export function revenueShareDetector(rows: PeriodRow[], ctx: Context): DetectorResult {
  const { config, unit, ppy } = ctx;
  const [tier, segment] = [rows[0].tier, rows[0].segment];
  if (tier === 'all' && segment === 'all') return null; // always 100%
  const complete = completePeriods(rows, ctx).filter((r) => r.revenue_share !== null && Number.isFinite(r.revenue_share));
  const { base, cur } = windows(complete, config.alerts.recentPeriods, config.alerts.baselinePeriods);
  if (base.length < MIN_BASELINE_UNITS || cur.length < 1) return null;
  const customers = Math.round(mean(cur.map((r) => r.active_end)));
  if (customers < config.alerts.minCustomers) return { tooSmall: { tier, segment, metric: 'revenue_share', customers } };

  const share = (r: PeriodRow) => r.revenue_share as number;
  // Noise model, chosen on generated control exports (npx vitest run test/alerts.falsealarm.test.ts
  // with ALERTS_FALSE_ALARM=1 measures it): a flat pooled t-test on the monthly shares was far
  // too sure (p ~ 1e-4 on controls, 3x the nominal rate of p < 1e-3) because (1) shares drift
  // while the base matures (small customers churn sooner, so their share falls slowly with no
  // change in behaviour), (2) months are autocorrelated, (3) shares are bounded and lumpy (a few
  // large orders). So: logit of the share (Cox & Snell, Analysis of Binary Data, 1989: the
  // variance-stabilising scale for a bounded proportion), the recent months compared with the
  // baseline's own linear trend extrapolated, AR(1) inflation from the trend residuals
  // (trendPredictionTest). The price is power against a drop already under way in the last
  // baseline months (it tilts the trend); retention (cohort-based) carries those.
  const logit = (r: PeriodRow) => {
    const s = Math.min(1 - 1e-6, Math.max(1e-6, share(r)));
    return Math.log(s / (1 - s));
  };
  const test = { ...trendPredictionTest(base.map(logit), cur.map(logit)), name: 'trend-adjusted t-test on the logit of the revenue share per period (AR(1) residuals, one-sided)' };
  const baseline = mean(base.map(share));
  const current = mean(cur.map(share));
  // Total revenue per period: the all/all rows, else revenue / share of this segment's rows.
  const totals = cur.map((r) => ctx.totalRevenue.get(r.period_start) ?? (share(r) > 0 ? r.revenue / share(r) : 0));
  const totalPerYear = mean(totals) * ppy;
  const annual = Math.max(0, baseline - current) * totalPerYear;
  const arithmetic = `(${pct(baseline)} - ${pct(current)}) x ${money(totalPerYear, config.currency)} total revenue/yr = ${money(annual, config.currency)}`;
  const finding: Finding = {
    tier,
    segment,
    metric: 'revenue_share',
    baseline,
    baselineWindow: `${windowText(base.map((r) => r.period), unit)}, mean share`,
    current,
    currentWindow: `${windowText(cur.map((r) => r.period), unit)}, mean share`,
    test,
    customers,
    annualValueAtRisk: annual,
    arithmetic,
    headline:
      `${who(tier, segment)} bring a smaller share of revenue: down from ${pct(baseline)} to ${pct(current)}` +
      ` since ${periodWords(cur[0].period_start, unit)}`,
  };
  const mix = volumeMix(base, cur, finding, ctx);
  if (mix) finding.mix = mix;
  return { finding };
}

/**
 * Is a revenue (or share) decline a change in how customers behave, or only in how many of
 * them there are (acquisition mix)? Revenue = buyers x revenue per buyer, buyers = N + S x rho
 * (N new, S active at the start, rho the share of S buying). With midpoint weights the change
 * splits exactly:
 *   dR = vbar (dN + rhobar dS)                     volume: how many customers (mix)
 *      + vbar Sbar d(rho) + Bbar d(v)              behaviour: how often and how much they buy
 * A decline whose behaviour part is less than half of it is reported as mix, never alerted.
 */
function volumeMix(base: PeriodRow[], cur: PeriodRow[], f: Finding, ctx: Context): MixNote | undefined {
  const seg = split(base, cur);
  if (!seg) return undefined;
  const { a, b, behaviour } = seg;
  const relDecline = (f.current - f.baseline) / (f.baseline || 1);
  // A share is relative to everyone: behaviour that changed for all customers alike (season,
  // prices) moves no share, so the segment's behaviour counts net of the total's.
  let relBehaviour = behaviour / a.R;
  if (f.metric === 'revenue_share') {
    const tb = base.map((r) => ctx.totalPeriods.get(r.period_start));
    const tc = cur.map((r) => ctx.totalPeriods.get(r.period_start));
    if (tb.every(Boolean) && tc.every(Boolean)) {
      const tot = split(tb as PeriodRow[], tc as PeriodRow[]);
      if (tot) relBehaviour -= tot.behaviour / tot.a.R;
    }
  }
  if (!(relDecline < 0) || relBehaviour <= 0.5 * relDecline) return undefined; // behaviour explains at least half
  const unit = ctx.unit;
  const what = f.metric === 'revenue' ? `revenue per ${unit}` : 'revenue share';
  const explanation =
    `${who(f.tier, f.segment)}: ${what} fell ${f.metric === 'revenue' ? `from ${money(f.baseline, ctx.config.currency)} to ${money(f.current, ctx.config.currency)}` : `from ${pct(f.baseline)} to ${pct(f.current)}`}` +
    ` mostly because of how many customers there are (new per ${unit} ${count(a.N)} -> ${count(b.N)}, active ${count(a.S)} -> ${count(b.S)}` +
    `${f.metric === 'revenue_share' ? ', against the other segments' : ''}),` +
    ` not because each buys less (buying share ${pct(a.rho)} -> ${pct(b.rho)}, revenue per buyer ${moneyCents(a.v, ctx.config.currency)} -> ${moneyCents(b.v, ctx.config.currency)}).`;
  const within = relBehaviour * f.baseline; // the behaviour part in the metric's own unit
  return { explanation, overallChange: f.current - f.baseline, withinSegmentChange: within, mixEffect: f.current - f.baseline - within };
}

function split(base: PeriodRow[], cur: PeriodRow[]) {
  const agg = (rs: PeriodRow[]) => {
    const S = mean(rs.map((r) => r.active_start));
    const N = mean(rs.map((r) => r.new_customers));
    const B = mean(rs.map((r) => r.customers_buying));
    const R = mean(rs.map((r) => finite(r.revenue)));
    return { S, N, B, R, rho: S > 0 ? Math.max(0, B - N) / S : 0, v: B > 0 ? R / B : 0 };
  };
  const a = agg(base);
  const b = agg(cur);
  if (!(a.R > 0)) return undefined;
  const vbar = (a.v + b.v) / 2;
  const volume = vbar * (b.N - a.N + ((a.rho + b.rho) / 2) * (b.S - a.S));
  const behaviour = b.R - a.R - volume; // = vbar Sbar d(rho) + Bbar d(v), exactly when B >= N
  return { a, b, volume, behaviour };
}

// ---------------------------------------------------------------------------------------
// 4. Predicted CLV per customer and value at risk vs the previous run. Model estimates with no
// sampling distribution here: shown as info, never as a tested warning.

export function predictedClvDetector(row: SegmentRow, ctx: Context): DetectorResult[] {
  const { config } = ctx;
  const out: DetectorResult[] = [];
  const perYear = 12 / config.model.horizon;
  const prevMean = num(row.prev_predicted_clv_mean);
  const prevVar = num(row.prev_value_at_risk);
  const small = row.customers < config.alerts.minCustomers;
  const since = row.prev_run_date ? `the previous run (${row.prev_run_date})` : 'the previous run';
  if (prevMean !== null && row.predicted_clv_mean !== null && row.predicted_clv_mean < prevMean * 0.95) {
    if (small) out.push({ tooSmall: { tier: row.tier, segment: row.segment, metric: 'predicted_clv', customers: row.customers } });
    else {
      const annual = (prevMean - row.predicted_clv_mean) * row.customers * perYear;
      out.push({
        finding: {
          tier: row.tier,
          segment: row.segment,
          metric: 'predicted_clv',
          baseline: prevMean,
          baselineWindow: `previous run${row.prev_run_date ? ` (${row.prev_run_date})` : ''}, mean predicted CLV per customer over ${config.model.horizon} months`,
          current: row.predicted_clv_mean,
          currentWindow: `this run (${ctx.asOf}), mean predicted CLV per customer over ${config.model.horizon} months`,
          test: null,
          customers: row.customers,
          annualValueAtRisk: annual,
          arithmetic:
            `(${moneyCents(prevMean, config.currency)} - ${moneyCents(row.predicted_clv_mean, config.currency)}) x ${count(row.customers)} customers` +
            ` x 12/${config.model.horizon} months = ${money(annual, config.currency)}`,
          headline:
            `${who(row.tier, row.segment)} are expected to be worth less: predicted value per customer fell from` +
            ` ${moneyCents(prevMean, config.currency)} to ${moneyCents(row.predicted_clv_mean, config.currency)} since ${since} (model estimate, not a tested change)`,
        },
      });
    }
  }
  if (prevVar !== null && row.value_at_risk !== null && row.value_at_risk > prevVar * 1.05 && row.value_at_risk - prevVar > 0) {
    if (small) out.push({ tooSmall: { tier: row.tier, segment: row.segment, metric: 'value_at_risk', customers: row.customers } });
    else {
      const annual = (row.value_at_risk - prevVar) * perYear;
      out.push({
        finding: {
          tier: row.tier,
          segment: row.segment,
          metric: 'value_at_risk',
          baseline: prevVar,
          baselineWindow: `previous run${row.prev_run_date ? ` (${row.prev_run_date})` : ''}: predicted CLV of recently active customers with p_alive < ${config.alerts.pAliveThreshold}`,
          current: row.value_at_risk,
          currentWindow: `this run (${ctx.asOf})`,
          test: null,
          customers: row.customers,
          annualValueAtRisk: annual,
          arithmetic: `(${money(row.value_at_risk, config.currency)} - ${money(prevVar, config.currency)}) x 12/${config.model.horizon} months = ${money(annual, config.currency)}`,
          headline:
            `More ${lowerFirst(who(row.tier, row.segment))} look likely to stop buying: value at risk rose from` +
            ` ${money(prevVar, config.currency)} to ${money(row.value_at_risk, config.currency)} since ${since} (model estimate, not a tested change)`,
        },
      });
    }
  }
  return out;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function sum(x: number[]): number {
  return x.reduce((s, v) => s + v, 0);
}
