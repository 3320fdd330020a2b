/**
 * What the report is built from, and what it produces. The input is plain data from the
 * earlier stages (rows of the output tables plus run facts); zod checks it at the boundary so
 * a wrong shape fails here with the field named, not as "undefined" in an email.
 */
import { z } from 'zod';
import type { AlertRow, CohortRow, PeriodRow, RowCounts, SegmentRow } from '../types.js';

export type CohortPeriod = 'month' | 'week' | 'quarter';

export interface TooSmallRow {
  tier: string;
  segment: string;
  metric: string;
  customers: number;
}

export interface QualityInfo {
  rows: RowCounts;
  rejectedExamples?: { reason: string; count: number }[];
  /** Latest order date seen in the export ("YYYY-MM-DD"), or null when no row was accepted. */
  latestOrderDate: string | null;
  filesRead: number;
  /** E.g. "no margin column: margin = revenue x 0.3". */
  marginNote?: string;
}

/** A decline explained by a change of customer mix, not of behaviour (reported, never alerted). */
export interface MixReportNote {
  tier?: string;
  segment?: string;
  metric?: string;
  explanation: string;
}

export interface ModelInfo {
  status: 'ok' | 'failed';
  summary: string;
}

export interface ReportInput {
  runDate: string;
  asOf: string;
  /** ISO 4217, e.g. "USD". */
  currency: string;
  company?: string;
  /** Where the tables live, e.g. "s3://bucket/prefix/". */
  tablesLocation: string;
  cohortPeriod: CohortPeriod;
  /** Tier names ordered small .. large; the first is the long tail. */
  tierNames: string[];
  alerts: AlertRow[];
  segments: SegmentRow[];
  cohorts: CohortRow[];
  periods: PeriodRow[];
  /** Segments that had too few customers to judge. */
  tooSmall: TooSmallRow[];
  quality: QualityInfo;
  model: ModelInfo;
  recipients: string[];
  /** Declines explained by mix (from the alerts stage); shown below the warnings. */
  mix?: MixReportNote[];
  /** BCP 47 locale for numbers and money; default "en-US". */
  locale?: string;
}

export interface ReportImage {
  /** Content-ID without angle brackets; the HTML refers to it as `cid:<cid>`. */
  cid: string;
  filename: string;
  png: Uint8Array;
  alt: string;
}

export interface ReportAttachment {
  filename: string;
  content: string;
}

export interface RenderedReport {
  subject: string;
  html: string;
  text: string;
  images: ReportImage[];
  attachments: ReportAttachment[];
}

// ---- zod: validate the boundary ----

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date "YYYY-MM-DD"');
const num = z.number().finite();
const numOrNull = num.nullable();

const alertRow = z.object({
  rank: num,
  tier: z.string(),
  segment: z.string(),
  metric: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
  baseline: num,
  baseline_window: z.string(),
  current: num,
  current_window: z.string(),
  change: num,
  relative_change: numOrNull,
  test: z.string(),
  p_value: num,
  q_value: num,
  customers: num,
  annual_value_at_risk: num,
  arithmetic: z.string(),
  message: z.string(),
});

const cohortRow = z.object({
  cohort: z.string(),
  cohort_start: isoDate,
  tier: z.string(),
  segment: z.string(),
  period: z.number().int().min(0),
  customers: num,
  active_customers: num,
  retention: numOrNull,
  revenue: num,
  revenue_retention: numOrNull,
  cumulative_revenue_per_customer: numOrNull,
  partial: z.boolean(),
});

const periodRow = z.object({
  period: z.string(),
  period_start: isoDate,
  tier: z.string(),
  segment: z.string(),
  active_start: num,
  active_end: num,
  new_customers: num,
  reactivated: num,
  crr: numOrNull,
  customers_buying: num,
  revenue: num,
  revenue_share: numOrNull,
  partial: z.boolean(),
});

// segments carry prev_*/change_* columns besides these: keep them (passthrough).
const segmentRow = z
  .object({
    tier: z.string(),
    segment: z.string(),
    customers: num,
    revenue: num,
    revenue_share: numOrNull,
    prev_run_date: isoDate.nullable(),
    note: z.string(),
  })
  .passthrough();

export const reportInputSchema = z.object({
  runDate: isoDate,
  asOf: isoDate,
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as "USD"'),
  company: z.string().optional(),
  tablesLocation: z.string().min(1),
  cohortPeriod: z.enum(['month', 'week', 'quarter']),
  tierNames: z.array(z.string().min(1)).min(1),
  alerts: z.array(alertRow),
  segments: z.array(segmentRow),
  cohorts: z.array(cohortRow),
  periods: z.array(periodRow),
  tooSmall: z.array(z.object({ tier: z.string(), segment: z.string(), metric: z.string(), customers: num })),
  quality: z.object({
    rows: z.object({ read: num, accepted: num, rejected: num, ignored: num, duplicates: num }),
    rejectedExamples: z.array(z.object({ reason: z.string(), count: num })).optional(),
    latestOrderDate: isoDate.nullable(),
    filesRead: num,
    marginNote: z.string().optional(),
  }),
  model: z.object({ status: z.enum(['ok', 'failed']), summary: z.string() }),
  recipients: z.array(z.string()),
  mix: z
    .array(z.object({ tier: z.string().optional(), segment: z.string().optional(), metric: z.string().optional(), explanation: z.string() }))
    .optional(),
  locale: z.string().optional(),
});

/** A report input that does not have the expected shape (names the field). */
export class ReportInputError extends Error {
  override name = 'ReportInputError';
}

export function parseReportInput(input: unknown): ReportInput {
  const r = reportInputSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ReportInputError(`report input: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data as unknown as ReportInput;
}
