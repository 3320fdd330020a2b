/**
 * Plain data shared between the stages. Type aliases say what a number is; the row types
 * mirror the tables in lib/outputs/schema.ts (one row = one Parquet row).
 */

/** Money in the run's currency (config `currency`). */
export type Money = number;
/** A share in [0, 1]. */
export type Rate = number;
/** A whole number of things (customers, orders, rows). */
export type Count = number;
/** A percentage, 0..100 (CRR is defined as a percentage). */
export type Percent = number;
/** A calendar date in the business time zone, "YYYY-MM-DD". */
export type IsoDate = string;

export interface CohortRow {
  cohort: string;
  cohort_start: IsoDate;
  tier: string;
  segment: string;
  period: Count;
  customers: Count;
  active_customers: Count;
  retention: Rate | null;
  revenue: Money;
  revenue_retention: Rate | null;
  cumulative_revenue_per_customer: Money | null;
  partial: boolean;
}

export interface PeriodRow {
  period: string;
  period_start: IsoDate;
  tier: string;
  segment: string;
  active_start: Count;
  active_end: Count;
  new_customers: Count;
  reactivated: Count;
  crr: Percent | null;
  customers_buying: Count;
  revenue: Money;
  revenue_share: Rate | null;
  partial: boolean;
}

/** `segments` row: each metric m also has prev_m and change_m (null when there is no previous run). */
export interface SegmentRow {
  tier: string;
  segment: string;
  customers: Count;
  revenue: Money;
  revenue_share: Rate | null;
  active_customers: Count;
  crr: Percent | null;
  reactivated: Count;
  avg_order_value: Money | null;
  orders_per_month: number | null;
  margin_share: Rate | null;
  lifetime_months: number | null;
  ltv: Money | null;
  clv: Money | null;
  predicted_clv_mean: Money | null;
  predicted_clv_total: Money | null;
  value_at_risk: Money | null;
  prev_run_date: IsoDate | null;
  note: string;
  [prevOrChange: `prev_${string}` | `change_${string}`]: number | string | null;
}

export type Severity = 'info' | 'warning' | 'critical';

export interface AlertRow {
  rank: Count;
  tier: string;
  segment: string;
  metric: string;
  severity: Severity;
  baseline: number;
  baseline_window: string;
  current: number;
  current_window: string;
  change: number;
  relative_change: number | null;
  test: string;
  p_value: number;
  q_value: number;
  customers: Count;
  annual_value_at_risk: Money;
  arithmetic: string;
  message: string;
}

/** Row accounting of a run: read = accepted + rejected + ignored + duplicates, always. */
export interface RowCounts {
  read: Count;
  accepted: Count;
  rejected: Count;
  /** Valid rows after the as-of date (and header/blank lines are not rows at all). */
  ignored: Count;
  duplicates: Count;
}
