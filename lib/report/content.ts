/**
 * The facts of the report, computed once and worded in plain text; html.ts and text.ts only
 * lay them out (and escape them), so the two alternatives always carry the same facts.
 */
import type { AlertRow, CohortRow, PeriodRow } from '../types.js';
import { formatP, formatters, type Formatters } from './format.js';
import type { CohortPeriod, ReportInput } from './types.js';

export const NO_LOSS_LINE = (period: CohortPeriod) => `No value losses detected in small-customer segments this ${period}`;

/** How many warnings are spelled out; the rest are counted and are in alerts.csv. */
export const MAX_WARNINGS = 5;

type MetricKind = 'rate' | 'percent' | 'money' | 'count' | 'number';

const METRICS: Record<string, { kind: MetricKind; label: string }> = {
  retention: { kind: 'rate', label: 'retention' },
  revenue_retention: { kind: 'rate', label: 'revenue retention' },
  revenue_share: { kind: 'rate', label: 'share of revenue' },
  crr: { kind: 'percent', label: 'customer retention rate (CRR)' },
  active_customers: { kind: 'count', label: 'customers still buying' },
  customers: { kind: 'count', label: 'customers' },
  reactivated: { kind: 'count', label: 'customers coming back' },
  revenue: { kind: 'money', label: 'revenue' },
  ltv: { kind: 'money', label: 'lifetime value per customer' },
  clv: { kind: 'money', label: 'value per customer per month' },
  predicted_clv: { kind: 'money', label: 'predicted value per customer' },
  predicted_clv_mean: { kind: 'money', label: 'predicted value per customer' },
  predicted_clv_total: { kind: 'money', label: 'predicted value of the segment' },
  value_at_risk: { kind: 'money', label: 'value at risk' },
};

export function metricInfo(metric: string): { kind: MetricKind; label: string } {
  return METRICS[metric] ?? { kind: 'number', label: metric.replace(/_/g, ' ') };
}

export function formatMetric(f: Formatters, metric: string, v: number | null | undefined): string {
  switch (metricInfo(metric).kind) {
    case 'rate':
      return f.pct(v);
    case 'percent':
      return f.pct100(v);
    case 'money':
      return f.money(v);
    case 'count':
      return f.int(v);
    default:
      return f.num(v);
  }
}

/** "All customers", "small customers", "small customers in region=EU". */
export function who(tier: string, segment: string): string {
  const base = tier === 'all' ? 'All customers' : `${tier} customers`;
  return segment === 'all' ? base : `${base} in ${segment}`;
}

export interface WarningView {
  rank: number;
  severity: AlertRow['severity'];
  who: string;
  metricLabel: string;
  from: string;
  to: string;
  /** "-7.0 pts" / "-12.4%" */
  change: string;
  baseline: string;
  current: string;
  moneyPerYear: string;
  moneyShort: string;
  meaning: string;
  sure: string;
  message: string;
  arithmetic: string;
}

function changeText(f: Formatters, a: AlertRow): string {
  const kind = metricInfo(a.metric).kind;
  const rel = a.relative_change !== null && Number.isFinite(a.relative_change) ? f.pct(a.relative_change, 1) : null;
  if (kind === 'rate') return `${f.pts(a.change)}${rel ? `, ${rel.startsWith('-') ? '' : '+'}${rel}` : ''}`;
  if (kind === 'percent') return `${f.pts(a.change / 100)}${rel ? `, ${rel.startsWith('-') ? '' : '+'}${rel}` : ''}`;
  return rel ? `${rel.startsWith('-') ? '' : '+'}${rel}` : formatMetric(f, a.metric, a.change);
}

function meaning(f: Formatters, a: AlertRow, period: CohortPeriod): string {
  const w = who(a.tier, a.segment);
  const from = formatMetric(f, a.metric, a.baseline);
  const to = formatMetric(f, a.metric, a.current);
  const down = a.current < a.baseline;
  const cost = ` If this persists it costs about ${f.money(a.annual_value_at_risk)} a year.`;
  switch (a.metric) {
    case 'retention': {
      const k = Math.round(Math.abs(a.change) * 100);
      return `Out of every 100 ${w.replace(/^All customers/, 'customers')} acquired, about ${k} ${down ? 'fewer' : 'more'} are still buying at this age than before (${from} now ${to}).${cost}`;
    }
    case 'revenue_share':
      return `${w} now bring ${to} of all revenue, ${down ? 'down' : 'up'} from ${from}: the long tail is ${down ? 'shrinking' : 'growing'} as a source of income.${cost}`;
    case 'crr':
      return `${w} keep ${down ? 'fewer' : 'more'} of their active customers from one ${period} to the next: ${to} now, ${from} before.${cost}`;
    case 'active_customers':
      return `${f.int(Math.abs(a.change))} ${down ? 'fewer' : 'more'} ${w.replace(/^All customers/, 'customers')} are still buying than in the baseline (${from} now ${to}).${cost}`;
    case 'revenue':
      return `${w} brought in ${f.money(Math.abs(a.change))} ${down ? 'less' : 'more'} than in the baseline (${from} now ${to}).${cost}`;
    case 'predicted_clv':
    case 'predicted_clv_mean':
      return `Each of the ${w.replace(/^All customers/, 'customers')} is now expected to be worth ${f.money(Math.abs(a.change))} ${down ? 'less' : 'more'} in future purchases (${from} now ${to}).${cost}`;
    case 'value_at_risk':
      return `Recently active ${w.replace(/^All customers/, 'customers')} who now look likely to stop buying are worth ${to}, ${down ? 'down' : 'up'} from ${from}.${cost}`;
    default:
      return `${metricInfo(a.metric).label} of ${w} moved from ${from} to ${to}.${cost}`;
  }
}

/** The alerts stage's ranking is the one source of order (money, small tiers first when close, roll-ups after their parts). */
export function rankAlerts(alerts: AlertRow[]): AlertRow[] {
  return [...alerts].sort((x, y) => x.rank - y.rank || y.annual_value_at_risk - x.annual_value_at_risk);
}

export function warningView(f: Formatters, a: AlertRow, period: CohortPeriod, rank: number): WarningView {
  const from = formatMetric(f, a.metric, a.baseline);
  const to = formatMetric(f, a.metric, a.current);
  return {
    rank,
    severity: a.severity,
    who: who(a.tier, a.segment),
    metricLabel: metricInfo(a.metric).label,
    from,
    to,
    change: changeText(f, a),
    baseline: `${from} (${a.baseline_window})`,
    current: `${to} (${a.current_window})`,
    moneyPerYear: f.money(a.annual_value_at_risk),
    moneyShort: f.moneyShort(a.annual_value_at_risk),
    meaning: capitalize(meaning(f, a, period)),
    sure: `${a.test}: p ${fmtPEq(a.p_value)}, q ${fmtPEq(a.q_value)} after correcting for every test of the run; ${f.int(a.customers)} customers behind it.`,
    message: a.message,
    arithmetic: a.arithmetic,
  };
}

function fmtPEq(p: number): string {
  const s = formatP(p);
  return s.startsWith('<') ? s : `= ${s}`;
}

// ---- the long tail ----

export interface SeriesPoint {
  x: number;
  label: string;
  y: number | null;
  partial: boolean;
}

/** Periods kept in the revenue-share chart, and the lag of the "a year ago" comparison. */
const PERIOD_WINDOW: Record<CohortPeriod, { window: number; lag: number; lagName: string }> = {
  month: { window: 24, lag: 12, lagName: 'a year earlier' },
  week: { window: 52, lag: 52, lagName: 'a year earlier' },
  quarter: { window: 12, lag: 4, lagName: 'a year earlier' },
};

/** Oldest age shown in the curves and the heatmap. */
const MAX_AGE: Record<CohortPeriod, number> = { month: 12, week: 26, quarter: 8 };
const HEATMAP_AGES: Record<CohortPeriod, number> = { month: 11, week: 11, quarter: 8 };
const HEATMAP_COHORTS = 12;

export function periodSeries(periods: PeriodRow[], tier: string, period: CohortPeriod): { labels: string[]; byTier: SeriesPoint[] } {
  const rows = periods
    .filter((p) => p.tier === tier && p.segment === 'all')
    .sort((a, b) => a.period_start.localeCompare(b.period_start))
    .slice(-PERIOD_WINDOW[period].window);
  return {
    labels: rows.map((r) => r.period),
    byTier: rows.map((r, i) => ({ x: i, label: r.period, y: r.revenue_share, partial: r.partial })),
  };
}

export interface LongTail {
  tier: string;
  customers: number | null;
  customerShare: number | null;
  revenue: number | null;
  revenueShare: number | null;
  prevRevenueShare: number | null;
  prevRunDate: string | null;
  /** Last complete calendar period and its share, and the comparison period. */
  latest: { period: string; share: number } | null;
  earlier: { period: string; share: number; name: string } | null;
  sentence: string;
  trendSentence: string;
  /** One sentence for the summary: size, share and its trend. */
  summarySentence: string;
}

export function longTail(input: ReportInput, f: Formatters): LongTail {
  const tier = input.tierNames[0];
  const seg = input.segments.find((s) => s.tier === tier && s.segment === 'all');
  const all = input.segments.find((s) => s.tier === 'all' && s.segment === 'all');
  const totalCustomers = all?.customers ?? sumBy(input.segments.filter((s) => s.segment === 'all' && s.tier !== 'all'), (s) => s.customers);
  const customerShare = seg && totalCustomers > 0 ? seg.customers / totalCustomers : null;
  const prev = seg ? numOrNull(seg['prev_revenue_share']) : null;

  const complete = input.periods
    .filter((p) => p.tier === tier && p.segment === 'all' && !p.partial && p.revenue_share !== null)
    .sort((a, b) => a.period_start.localeCompare(b.period_start));
  const last = complete[complete.length - 1];
  const period = input.cohortPeriod;
  const { lag, lagName } = PERIOD_WINDOW[period];
  let earlier: LongTail['earlier'] = null;
  if (last) {
    const lagged = complete.length > lag ? complete[complete.length - 1 - lag] : null;
    const first = complete.length > 1 ? complete[0] : null;
    const e = lagged ?? first;
    if (e) earlier = { period: e.period, share: e.revenue_share as number, name: lagged ? lagName : 'at the start of the data' };
  }
  const latest = last ? { period: last.period, share: last.revenue_share as number } : null;

  const sentence = seg
    ? `${tier} customers are ${f.pct(customerShare)} of all customers (${f.int(seg.customers)}) and bring ${f.pct(seg.revenue_share)} of revenue (${f.money(seg.revenue)}).`
    : `No summary row for ${tier} customers in this run.`;
  let trendSentence = '';
  if (latest && earlier) {
    const d = latest.share - earlier.share;
    const dir = Math.abs(d) < 0.0005 ? 'unchanged from' : d < 0 ? 'down from' : 'up from';
    trendSentence = `Their share of revenue was ${f.pct(latest.share)} in ${latest.period}, ${dir} ${f.pct(earlier.share)} in ${earlier.period} (${earlier.name}; ${f.pts(d)}).`;
  } else if (latest) {
    trendSentence = `Their share of revenue was ${f.pct(latest.share)} in ${latest.period}; not enough complete periods for a trend yet.`;
  }
  if (prev !== null && seg?.revenue_share !== null && seg?.revenue_share !== undefined) {
    trendSentence += ` Previous run (${seg.prev_run_date ?? 'earlier'}): ${f.pct(prev)} of revenue.`;
  }
  let summarySentence = seg
    ? `${capitalize(tier)} customers are ${f.pct(customerShare)} of customers and bring ${f.pct(seg.revenue_share)} of revenue`
    : `No summary for ${tier} customers in this run`;
  if (latest && earlier) {
    const d = latest.share - earlier.share;
    summarySentence +=
      Math.abs(d) < 0.0005
        ? `; their monthly share is steady at ${f.pct(latest.share)}.`
        : `; their share of revenue went from ${f.pct(earlier.share)} in ${earlier.period} to ${f.pct(latest.share)} in ${latest.period}.`;
  } else summarySentence += '.';
  summarySentence = summarySentence.replace('monthly share', `${period === 'month' ? 'monthly' : period === 'week' ? 'weekly' : 'quarterly'} share`);
  return {
    tier,
    customers: seg?.customers ?? null,
    customerShare,
    revenue: seg?.revenue ?? null,
    revenueShare: seg?.revenue_share ?? null,
    prevRevenueShare: prev,
    prevRunDate: seg?.prev_run_date ?? null,
    latest,
    earlier,
    sentence: sentence.charAt(0).toUpperCase() + sentence.slice(1),
    trendSentence: trendSentence.trim(),
    summarySentence,
  };
}

// ---- cohort curves ----

export interface Curve {
  tier: string;
  points: { age: number; y: number; cohorts: number; customers: number }[];
}

/**
 * Average curve per tier over age: for each age, the customer-weighted mean over the cohorts
 * that have completed that age (partial cells are excluded: an age still in progress would
 * look like a collapse).
 */
export function cohortCurves(
  cohorts: CohortRow[],
  tiers: string[],
  period: CohortPeriod,
  value: (r: CohortRow) => number | null,
  fromAge: number,
): Curve[] {
  const maxAge = MAX_AGE[period];
  return tiers.map((tier) => {
    const acc = new Map<number, { w: number; sum: number; n: number }>();
    for (const r of cohorts) {
      if (r.tier !== tier || r.segment !== 'all' || r.partial || r.period < fromAge || r.period > maxAge) continue;
      const v = value(r);
      if (v === null || !Number.isFinite(v) || r.customers <= 0) continue;
      const a = acc.get(r.period) ?? { w: 0, sum: 0, n: 0 };
      a.w += r.customers;
      a.sum += v * r.customers;
      a.n += 1;
      acc.set(r.period, a);
    }
    const points = [...acc.entries()]
      .sort((x, y) => x[0] - y[0])
      .map(([age, a]) => ({ age, y: a.sum / a.w, cohorts: a.n, customers: a.w }));
    return { tier, points };
  });
}

export interface Heatmap {
  tier: string;
  ages: number[];
  rows: { cohort: string; customers: number; cells: ({ retention: number | null; partial: boolean } | null)[] }[];
  max: number;
  anyPartial: boolean;
}

/** Small tier, segment "all": latest cohorts as rows, ages 1.. as columns (age 0 is 100% by definition). */
export function heatmap(cohorts: CohortRow[], tier: string, period: CohortPeriod): Heatmap {
  const rows = cohorts.filter((r) => r.tier === tier && r.segment === 'all');
  const byCohort = new Map<string, { start: string; customers: number; cells: Map<number, CohortRow> }>();
  for (const r of rows) {
    const c = byCohort.get(r.cohort) ?? { start: r.cohort_start, customers: r.customers, cells: new Map() };
    c.cells.set(r.period, r);
    if (r.period === 0) c.customers = r.customers;
    byCohort.set(r.cohort, c);
  }
  const chosen = [...byCohort.entries()].sort((a, b) => a[1].start.localeCompare(b[1].start)).slice(-HEATMAP_COHORTS);
  const maxAgeSeen = Math.max(0, ...chosen.flatMap(([, c]) => [...c.cells.keys()]));
  const ages: number[] = [];
  for (let k = 1; k <= Math.min(maxAgeSeen, HEATMAP_AGES[period]); k++) ages.push(k);
  let max = 0;
  let anyPartial = false;
  const out = chosen.map(([cohort, c]) => ({
    cohort,
    customers: c.customers,
    cells: ages.map((k) => {
      const r = c.cells.get(k);
      if (!r) return null;
      if (r.retention !== null && Number.isFinite(r.retention)) max = Math.max(max, r.retention);
      if (r.partial) anyPartial = true;
      return { retention: r.retention, partial: r.partial };
    }),
  }));
  return { tier, ages, rows: out, max, anyPartial };
}

// ---- data quality ----

export interface QualityView {
  lines: { label: string; value: string; flag?: boolean }[];
  rejectedExamples: { reason: string; count: string }[];
}

export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

export function qualityView(input: ReportInput, f: Formatters): QualityView {
  const q = input.quality;
  const r = q.rows;
  const share = r.read > 0 ? r.rejected / r.read : 0;
  const lines: QualityView['lines'] = [
    { label: 'Files read', value: f.int(q.filesRead) },
    { label: 'Rows read', value: f.int(r.read) },
    { label: 'Rows used', value: f.int(r.accepted) },
    // flagged from 1%: a handful of bad rows is normal, more deserves a look (the run fails above input.maxRejectShare)
    { label: 'Rows rejected', value: `${f.int(r.rejected)} (${f.pct(share, 2)})`, flag: share >= 0.01 },
    { label: 'Rows ignored (after the as-of date)', value: f.int(r.ignored) },
    { label: 'Duplicate rows dropped', value: f.int(r.duplicates) },
  ];
  if (q.latestOrderDate) {
    const lag = daysBetween(q.latestOrderDate, input.asOf);
    const stale = lag > (input.cohortPeriod === 'week' ? 7 : input.cohortPeriod === 'month' ? 31 : 92);
    lines.push({
      label: 'Latest order in the data',
      value: `${q.latestOrderDate} (${lag === 0 ? 'same day as' : `${f.int(lag)} day${lag === 1 ? '' : 's'} before`} the as-of date ${input.asOf})${stale ? ': data may be stale' : ''}`,
      flag: stale,
    });
  } else {
    lines.push({ label: 'Latest order in the data', value: 'none', flag: true });
  }
  lines.push({
    label: 'Prediction model',
    value: `${input.model.status === 'ok' ? 'fitted' : 'FAILED: predicted values are missing'}${input.model.summary ? `. ${input.model.summary}` : ''}`,
    flag: input.model.status !== 'ok',
  });
  if (q.marginNote) lines.push({ label: 'Margin', value: q.marginNote });
  return {
    lines,
    rejectedExamples: (q.rejectedExamples ?? []).slice(0, 5).map((e) => ({ reason: e.reason, count: f.int(e.count) })),
  };
}

// ---- the whole report's wording ----

export interface ReportContent {
  f: Formatters;
  headline: string;
  subject: string;
  summary: string[];
  warnings: WarningView[];
  moreWarnings: number;
  longTail: LongTail;
  quality: QualityView;
  tooSmall: { who: string; metric: string; customers: string }[];
  /** Declines explained by a change of customer mix, not behaviour. */
  mix: string[];
  tablesLocation: string;
  query: string;
  periodWord: CohortPeriod;
}

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function buildContent(input: ReportInput): ReportContent {
  const f = formatters(input.currency, input.locale);
  const ranked = rankAlerts(input.alerts);
  const warnings = ranked.slice(0, MAX_WARNINGS).map((a, i) => warningView(f, a, input.cohortPeriod, i + 1));
  const lt = longTail(input, f);

  let headline: string;
  const summary: string[] = [];
  if (warnings.length === 0) {
    headline = NO_LOSS_LINE(input.cohortPeriod);
    summary.push(`No segment showed a statistically significant loss of value in this run (data to ${input.asOf}).`);
  } else {
    const w = warnings[0];
    headline = `${capitalize(w.who)}: ${w.metricLabel} down from ${w.from} to ${w.to}, about ${w.moneyShort} a year at risk`;
    summary.push(
      ranked.length === 1
        ? `1 value-loss warning this run: about ${f.money(ranked[0].annual_value_at_risk)} a year at risk if it persists.`
        : // Segments overlap (a tier's loss also shows in its regions and in all customers), so amounts are not added up.
          `${ranked.length} value-loss warnings this run; the largest puts about ${f.money(Math.max(...ranked.map((a) => a.annual_value_at_risk)))} a year at risk (they overlap: a tier's loss also shows in its regions and in all customers).`,
    );
  }
  summary.push(lt.summarySentence);

  const prefix = input.company ? `${input.company} ` : '';
  const more = ranked.length > 1 ? ` (+${ranked.length - 1} more)` : '';
  const subject = `${prefix}tailwatch ${input.runDate}: ${headline}${more}`;

  const loc = input.tablesLocation.endsWith('/') ? input.tablesLocation : `${input.tablesLocation}/`;
  const smallTier = input.tierNames[0];
  const query =
    `SELECT tier, segment, customers, revenue_share, crr, ltv, predicted_clv_mean, change_revenue_share\n` +
    `FROM read_parquet(${sqlString(`${loc}segments/*/*.parquet`)}, hive_partitioning = true)\n` +
    `WHERE run_date = ${sqlString(input.runDate)} AND tier = ${sqlString(smallTier)}\n` +
    `ORDER BY revenue DESC;`;

  return {
    f,
    headline,
    subject,
    summary,
    warnings,
    moreWarnings: Math.max(0, ranked.length - warnings.length),
    longTail: lt,
    quality: qualityView(input, f),
    tooSmall: input.tooSmall.map((t) => ({ who: who(t.tier, t.segment), metric: metricInfo(t.metric).label, customers: f.int(t.customers) })),
    mix: (input.mix ?? []).map((m) => m.explanation).filter((e) => e.trim().length > 0),
    tablesLocation: loc,
    query,
    periodWord: input.cohortPeriod,
  };
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function sumBy<T>(xs: T[], f: (x: T) => number): number {
  return xs.reduce((s, x) => s + f(x), 0);
}

function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

