/**
 * The output tables' schemas: the one source of truth for the Parquet files written by lib,
 * the Glue tables created by the CDK stack, and the README. Column names are a contract
 * (analysts' queries rely on them): add columns freely, rename none.
 */

export type ColumnType = 'string' | 'int' | 'bigint' | 'double' | 'date' | 'boolean';

export interface ColumnDef {
  name: string;
  type: ColumnType;
  /** One line for the README and the Glue column comment. */
  doc: string;
  /**
   * Values that seldom repeat (money, probabilities, ids): the customers table's writer stores
   * them PLAIN without first trying a dictionary, which it would build for a whole row group only
   * to drop it (issue 8: ~0.4 s of the bench's 1M-row table, for 0.1% more bytes).
   */
  plain?: true;
}

export interface TableDef {
  name: TableName;
  doc: string;
  columns: ColumnDef[];
}

export type TableName = 'customers' | 'cohorts' | 'segments' | 'periods' | 'trends' | 'alerts';
export const TABLE_NAMES: TableName[] = ['customers', 'cohorts', 'segments', 'periods', 'trends', 'alerts'];

/** Hive partition column of every table. */
export const PARTITION_COLUMN = 'run_date';

const c = (name: string, type: ColumnType, doc: string, plain?: 'plain'): ColumnDef => (plain ? { name, type, doc, plain: true } : { name, type, doc });

/** A dimension column name as it appears in `customers`: lower snake case, never clashing. */
export function dimensionColumnName(dimension: string | number): string {
  const base = typeof dimension === 'number' ? `dim_${dimension}` : dimension;
  let name = base
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!name || /^\d/.test(name)) name = `dim_${name}`;
  if (CUSTOMER_FIXED.some((col) => col.name === name)) name = `dim_${name}`;
  return name;
}

/** A dimension's label in segment names ("region=EU"): the configured name, or "col3". */
export function dimensionLabel(dimension: string | number): string {
  return typeof dimension === 'number' ? `col${dimension}` : dimension;
}

const CUSTOMER_FIXED: ColumnDef[] = [
  c('customer_id', 'string', 'customer id as in the export', 'plain'),
  c('cohort', 'string', 'acquisition cohort: the period of the first purchase (e.g. 1997-01)'),
  c('first_order_date', 'date', 'first purchase date (business time zone); null for refund-only customers'),
  c('last_order_date', 'date', 'last purchase date'),
  c('orders', 'bigint', 'distinct orders (order id, else purchase rows after de-duplication)'),
  c('purchase_days', 'int', 'distinct days with a purchase'),
  c('revenue', 'double', 'net revenue up to the as-of date, refunds netted', 'plain'),
  c('margin', 'double', 'net margin (margin column, amount - cost, or revenue x model.marginShare)', 'plain'),
  c('first_order_value', 'double', 'value bought on the first purchase day', 'plain'),
  c('tier', 'string', 'value tier fixed at acquisition (tiers.basis), e.g. small | mid | large'),
];

const CUSTOMER_MODEL: ColumnDef[] = [
  c('frequency', 'double', 'calibration period: repeat purchase days (purchase days after the first)'),
  c('recency', 'double', 'calibration period: last minus first purchase, in model.timeUnit'),
  c('t', 'double', 'calibration period: calibration end minus first purchase, in model.timeUnit'),
  c('zbar', 'double', 'calibration period: mean value of repeat purchase days (0 without repeats)', 'plain'),
  c('p_alive', 'double', 'BG/NBD probability that the customer is still active at the as-of date', 'plain'),
  c('expected_purchases', 'double', 'BG/NBD expected purchases over model.horizon months', 'plain'),
  c('expected_avg_spend', 'double', 'Gamma-Gamma conditional expected value per purchase', 'plain'),
  c('predicted_clv', 'double', 'discounted, margin-adjusted predicted value over model.horizon months', 'plain'),
];

/** `customers` has one column per configured dimension, between the fixed and model columns. */
export function customersTable(dimensions: (string | number)[]): TableDef {
  return {
    name: 'customers',
    doc: 'one row per customer',
    columns: [
      ...CUSTOMER_FIXED,
      ...dimensions.map((d) => c(dimensionColumnName(d), 'string', `dimension "${dimensionLabel(d)}" of the first order`)),
      ...CUSTOMER_MODEL,
    ],
  };
}

/** The (tier, segment) key of every per-segment table. */
const SEGMENT_KEY: ColumnDef[] = [
  c('tier', 'string', 'acquisition tier, or "all"'),
  c('segment', 'string', '"all", or a dimension value such as "region=EU"'),
];

export const cohortsTable: TableDef = {
  name: 'cohorts',
  doc: 'cohort x tier x segment x age: retention and revenue',
  columns: [
    c('cohort', 'string', 'acquisition period, e.g. 1997-01, 1997-W03, 1997-Q1'),
    c('cohort_start', 'date', 'first day of the cohort period'),
    ...SEGMENT_KEY,
    c('period', 'int', 'age in cohort periods (0 = the acquisition period)'),
    c('customers', 'int', 'cohort size'),
    c('active_customers', 'int', 'cohort members who bought in this age period'),
    c('retention', 'double', 'active_customers / customers'),
    c('revenue', 'double', 'net revenue of the cohort in this age period'),
    c('revenue_retention', 'double', 'revenue at this age / revenue at age 0 (null when age-0 revenue is 0)'),
    c('cumulative_revenue_per_customer', 'double', 'revenue up to this age / cohort size: the LTV curve'),
    c('partial', 'boolean', 'this age period contains the as-of date (incomplete): shown, never compared'),
  ],
};

/** Metrics of `segments` that carry a previous-run value and change. */
export const SEGMENT_METRICS: ColumnDef[] = [
  c('customers', 'bigint', 'customers acquired up to the as-of date'),
  c('revenue', 'double', 'net revenue'),
  c('revenue_share', 'double', 'revenue / revenue of all customers'),
  c('active_customers', 'bigint', 'customers who bought within cohort.activeWindowDays before the as-of date'),
  c('crr', 'double', 'customer retention rate of the last complete period, (E - N) / S x 100'),
  c('reactivated', 'bigint', 'customers who came back after lapsing in the last complete period'),
  c('avg_order_value', 'double', 'S: revenue / orders'),
  c('orders_per_month', 'double', 'C: orders per customer per month of lifetime'),
  c('margin_share', 'double', 'P: margin / revenue'),
  c('lifetime_months', 'double', 't: average customer lifetime in months (first to last purchase, min 1)'),
  c('ltv', 'double', 'historic LTV = S x C x P x t'),
  c('clv', 'double', 'CLV per month = S x C x P'),
  c('predicted_clv_mean', 'double', 'mean predicted CLV per customer'),
  c('predicted_clv_total', 'double', 'total predicted CLV'),
  c('value_at_risk', 'double', 'predicted CLV of recently active customers whose p_alive is below alerts.pAliveThreshold'),
];

export const segmentsTable: TableDef = {
  name: 'segments',
  doc: 'tier x segment summary, with the previous run and the change',
  columns: [
    ...SEGMENT_KEY,
    ...SEGMENT_METRICS.flatMap((m) => [
      m,
      c(`prev_${m.name}`, m.type === 'bigint' ? 'bigint' : 'double', `${m.name} in the previous run's segments partition`),
      c(`change_${m.name}`, 'double', `${m.name} - prev_${m.name}`),
    ]),
    c('prev_run_date', 'date', 'run date of the previous partition compared against (null if none)'),
    c('note', 'string', 'why a value is null (e.g. "no customers"), or empty'),
  ],
};

export const periodsTable: TableDef = {
  name: 'periods',
  doc: 'calendar period x tier x segment: active customers, CRR, revenue',
  columns: [
    c('period', 'string', 'calendar period, same labels as cohort'),
    c('period_start', 'date', 'first day of the period'),
    ...SEGMENT_KEY,
    c('active_start', 'bigint', 'S: active customers at the start of the period'),
    c('active_end', 'bigint', 'E: active customers at the end of the period'),
    c('new_customers', 'bigint', 'N: customers acquired during the period'),
    c('reactivated', 'bigint', 'customers inactive at the start who bought again during the period'),
    c('crr', 'double', 'CRR = (E - N) / S x 100 (null when S = 0)'),
    c('customers_buying', 'bigint', 'customers with a purchase in the period'),
    c('revenue', 'double', 'net revenue in the period'),
    c('revenue_share', 'double', 'revenue / revenue of all customers in the period'),
    c('partial', 'boolean', 'the period contains the as-of date: shown, never compared'),
  ],
};

export const trendsTable: TableDef = {
  name: 'trends',
  doc: 'tier x segment x metric x age: the metric across the last cohort.trendCohorts complete cohorts',
  columns: [
    ...SEGMENT_KEY,
    c('metric', 'string', 'retention | cumulative_revenue_per_customer'),
    c('age', 'int', 'cohort age in periods (cohort.trendAges)'),
    c('cohorts', 'int', 'complete cohorts in the series'),
    c('first_cohort', 'string', 'first cohort of the series'),
    c('last_cohort', 'string', 'last cohort of the series'),
    c('first_value', 'double', 'value of the first cohort'),
    c('last_value', 'double', 'value of the last cohort'),
    c('mean_value', 'double', 'mean over the series'),
    c('slope_per_cohort', 'double', 'OLS slope of the value per cohort step (null with one cohort)'),
    c('relative_change', 'double', '(last - mean of the earlier cohorts) / mean of the earlier cohorts'),
  ],
};

export const alertsTable: TableDef = {
  name: 'alerts',
  doc: 'one row per value-loss warning',
  columns: [
    c('rank', 'int', '1 = most money at risk'),
    ...SEGMENT_KEY,
    c('metric', 'string', 'what fell: retention | active_customers | crr | revenue | revenue_share | predicted_clv | value_at_risk'),
    c('severity', 'string', 'info | warning | critical'),
    c('baseline', 'double', 'baseline value'),
    c('baseline_window', 'string', 'what the baseline covers'),
    c('current', 'double', 'current value'),
    c('current_window', 'string', 'what the current value covers'),
    c('change', 'double', 'current - baseline'),
    c('relative_change', 'double', '(current - baseline) / baseline'),
    c('test', 'string', 'statistical test used'),
    c('p_value', 'double', 'p-value of the test'),
    c('q_value', 'double', 'Benjamini-Hochberg adjusted p-value over every test of the run'),
    c('customers', 'bigint', 'customers behind the comparison'),
    c('annual_value_at_risk', 'double', 'money per year the change costs if it persists'),
    c('arithmetic', 'string', 'how annual_value_at_risk was computed'),
    c('message', 'string', 'one sentence for the report'),
  ],
};

export function tableDefs(dimensions: (string | number)[]): TableDef[] {
  return [customersTable(dimensions), cohortsTable, segmentsTable, periodsTable, trendsTable, alertsTable];
}

/** A row of a table: a value per column; null where the value is undefined (never NaN). */
export type Row = Record<string, string | number | boolean | null>;

/** Keys under the output root, per DESIGN.md. */
export const layout = {
  table: (table: TableName, runDate: string) => `${table}/${PARTITION_COLUMN}=${runDate}/part-00000.parquet`,
  tablePrefix: (table: TableName, runDate: string) => `${table}/${PARTITION_COLUMN}=${runDate}/`,
  run: (runDate: string, file: string) => `runs/${PARTITION_COLUMN}=${runDate}/${file}`,
  runPrefix: (runDate: string) => `runs/${PARTITION_COLUMN}=${runDate}/`,
  /** Staging area of a run in progress: written whole, then moved into place. */
  staging: (runId: string) => `_staging/${runId}/`,
} as const;
