/**
 * Calendar periods (month, week, quarter) over day numbers. A day number is a local
 * calendar day in the business time zone, counted from 1970-01-01 (ingest converts every
 * timestamp to it), so period arithmetic here is plain UTC calendar arithmetic.
 */

export type PeriodUnit = 'month' | 'week' | 'quarter';

const MS_PER_DAY = 86_400_000;
/** 1970-01-01 was a Thursday; ISO weeks start on Monday. */
const EPOCH_WEEKDAY_OFFSET = 3;

function ymd(day: number): { y: number; m: number; d: number } {
  const dt = new Date(day * MS_PER_DAY);
  return { y: dt.getUTCFullYear(), m: dt.getUTCMonth(), d: dt.getUTCDate() };
}

/** Index of the period containing a day: months since 1970-01, ISO weeks since the week of 1970-01-01, quarters since 1970-Q1. */
export function periodIndex(day: number, unit: PeriodUnit): number {
  if (unit === 'week') return Math.floor((day + EPOCH_WEEKDAY_OFFSET) / 7);
  const month = monthsSinceEpoch(day);
  return unit === 'month' ? month : Math.floor(month / 3);
}

/**
 * Months since 1970-01 of a day number, in integer arithmetic (civil_from_days, H. Hinnant,
 * "chrono-Compatible Low-Level Date Algorithms"). Issue 8: cohorts and CRR call this for every
 * customer-day (7.2M at the bench's 10M rows); a Date per call made it the cohort stage's cost.
 */
export function monthsSinceEpoch(day: number): number {
  const z = day + 719468; // days from 0000-03-01
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097; // [0, 146096]
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365); // [0, 399]
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // [0, 365], from March 1
  const mp = Math.floor((5 * doy + 2) / 153); // [0, 11], March = 0
  const m0 = mp < 10 ? mp + 2 : mp - 10; // 0-based calendar month
  const y = yoe + era * 400 + (mp >= 10 ? 1 : 0);
  return (y - 1970) * 12 + m0;
}

/** First day (day number) of a period. */
export function periodStartDay(index: number, unit: PeriodUnit): number {
  if (unit === 'week') return index * 7 - EPOCH_WEEKDAY_OFFSET;
  const month = unit === 'month' ? index : index * 3;
  return Math.round(Date.UTC(1970 + Math.floor(month / 12), ((month % 12) + 12) % 12, 1) / MS_PER_DAY);
}

/** Last day (day number) of a period. */
export function periodEndDay(index: number, unit: PeriodUnit): number {
  return periodStartDay(index + 1, unit) - 1;
}

/** The label analysts see: "1997-01", "1997-Q1", or the ISO week "1997-W03". */
export function periodLabel(index: number, unit: PeriodUnit): string {
  const start = periodStartDay(index, unit);
  const { y, m } = ymd(start);
  if (unit === 'month') return `${y}-${String(m + 1).padStart(2, '0')}`;
  if (unit === 'quarter') return `${y}-Q${Math.floor(m / 3) + 1}`;
  // ISO week-year: the year of the week's Thursday.
  const thursday = start + 3;
  const ty = ymd(thursday).y;
  const jan1 = Math.round(Date.UTC(ty, 0, 1) / MS_PER_DAY);
  const week = Math.floor((thursday - jan1) / 7) + 1;
  return `${ty}-W${String(week).padStart(2, '0')}`;
}

/** Average month length in days (365.25 / 12), used to express lifetimes and horizons in months. */
export const DAYS_PER_MONTH = 365.25 / 12;

/**
 * periodIndex of every day in [fromDay, toDay], as a table: out[d - fromDay]. Issue 8: cohorts and
 * CRR look a period up for each of millions of customer-days; a table of a few thousand entries
 * replaces the calendar arithmetic with one load from cache. Filled period by period.
 */
export function periodIndexTable(fromDay: number, toDay: number, unit: PeriodUnit): Int32Array {
  const out = new Int32Array(Math.max(0, toDay - fromDay + 1));
  let d = fromDay;
  for (let p = periodIndex(fromDay, unit); d <= toDay; p++) {
    const end = Math.min(periodEndDay(p, unit), toDay);
    out.fill(p, d - fromDay, end - fromDay + 1);
    d = end + 1;
  }
  return out;
}
