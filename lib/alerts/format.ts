/**
 * Words and numbers for the warnings: money in the run's currency, percentages, segment
 * names in plain words, period arithmetic on the cohort period (month | week | quarter).
 */

export type PeriodUnit = 'month' | 'week' | 'quarter';

export const PERIODS_PER_YEAR: Record<PeriodUnit, number> = { month: 12, week: 52, quarter: 4 };

/** Money, exact to the unit: "$48,600". */
export function money(amount: number, currency: string): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 0, minimumFractionDigits: 0 }).format(
    Math.round(amount),
  );
}

/** Money for a sentence: two significant figures, "$48,600" -> "$49,000". */
export function roundMoney(amount: number, currency: string): string {
  if (amount === 0) return money(0, currency);
  const digits = Math.floor(Math.log10(Math.abs(amount)));
  const step = 10 ** Math.max(0, digits - 1);
  return money(Math.round(amount / step) * step, currency);
}

/** Money with cents for per-customer values: "$45.20". */
export function moneyCents(amount: number, currency: string): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 2, minimumFractionDigits: 2 }).format(amount);
}

/** A share 0..1 as "31%" (one decimal below 10%). */
export function pct(rate: number): string {
  const v = rate * 100;
  return `${Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0)}%`;
}

/** A percentage already on 0..100 (CRR). */
export function pct100(value: number): string {
  return `${Math.abs(value) < 10 ? value.toFixed(1) : value.toFixed(0)}%`;
}

export function count(n: number): string {
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 }).format(Math.round(n));
}

/** "region=APAC" -> "in APAC"; "all" -> "". Several dimensions joined by "&" or ",". */
export function segmentWords(segment: string): string {
  if (segment === 'all' || segment === '') return '';
  const parts = segment.split(/[&,;]/).map((p) => {
    const eq = p.indexOf('=');
    return eq >= 0 ? p.slice(eq + 1).trim() : p.trim();
  });
  return `in ${parts.join(', ')}`;
}

/** "small" -> "Small customers"; "all" -> "Customers". */
export function tierWords(tier: string): string {
  if (tier === 'all') return 'Customers';
  return `${tier.charAt(0).toUpperCase()}${tier.slice(1)} customers`;
}

/** "Small customers in APAC". */
export function who(tier: string, segment: string): string {
  const s = segmentWords(segment);
  return s ? `${tierWords(tier)} ${s}` : tierWords(tier);
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The start of a period in words: "March 2024", "Q1 2024", "the week of 2024-03-04". */
export function periodWords(start: string, unit: PeriodUnit): string {
  const [y, m] = start.split('-').map(Number);
  if (unit === 'month') return `${MONTHS[m - 1]} ${y}`;
  if (unit === 'quarter') return `Q${Math.floor((m - 1) / 3) + 1} ${y}`;
  return `the week of ${start}`;
}

/** First day of the period `n` periods after the one starting at `start` (UTC calendar arithmetic). */
const addCache = new Map<string, string>();

export function addPeriods(start: string, n: number, unit: PeriodUnit): string {
  const key = `${start}|${n}|${unit}`;
  let out = addCache.get(key);
  if (out === undefined) {
    out = computeAddPeriods(start, n, unit);
    if (addCache.size > 100_000) addCache.clear();
    addCache.set(key, out);
  }
  return out;
}

function computeAddPeriods(start: string, n: number, unit: PeriodUnit): string {
  const [y, m, d] = start.split('-').map(Number);
  const date =
    unit === 'week' ? new Date(Date.UTC(y, m - 1, d + 7 * n)) : new Date(Date.UTC(y, m - 1 + (unit === 'quarter' ? 3 * n : n), d));
  return date.toISOString().slice(0, 10);
}

/** "2023-01..2023-12 (12 cohorts)". */
export function windowText(labels: string[], noun: string): string {
  if (labels.length === 0) return `no ${noun}s`;
  const range = labels.length === 1 ? labels[0] : `${labels[0]}..${labels[labels.length - 1]}`;
  return `${noun}s ${range} (${labels.length} ${noun}${labels.length === 1 ? '' : 's'})`;
}

export function agePhrase(age: number, unit: PeriodUnit): string {
  return `${age}-${unit}`;
}
