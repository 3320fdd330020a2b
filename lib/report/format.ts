/**
 * Escaping and number formatting. Everything that comes from the data (segment names, tier
 * names, messages) goes through escapeHtml before it reaches HTML or SVG, and through csvCell
 * before it reaches a CSV, so a segment named `<script>` or `=HYPERLINK(...)` stays text.
 */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escape text for HTML/XML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return String(s).replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);
}

/**
 * One CSV cell (RFC 4180 quoting), safe against formula injection (OWASP "CSV injection"):
 * a text cell starting with = + - @ tab or CR gets a leading apostrophe so spreadsheets show
 * it as text. Finite numbers are written as numbers: a number is never a formula, and a
 * negative value must stay numeric for analysts. null/undefined/NaN become an empty cell.
 */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  if (/[",\r\n]/.test(s) || /^\s|\s$/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

/** A CSV file: header then rows, CRLF line ends (RFC 4180). */
export function toCsv(columns: string[], rows: Record<string, unknown>[]): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** A header value (Subject): no control characters, no line breaks, bounded length. */
export function headerSafe(s: string, max = 180): string {
  // eslint-disable-next-line no-control-regex
  const flat = s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Number formatters bound to the run's locale and currency. */
export interface Formatters {
  money(v: number | null | undefined): string;
  /** Short money for headlines: "$48K", "€1.2M". */
  moneyShort(v: number | null | undefined): string;
  /** A share 0..1 as "31.2%". */
  pct(v: number | null | undefined, digits?: number): string;
  /** A percentage already in 0..100 (CRR) as "84.0%". */
  pct100(v: number | null | undefined): string;
  /** Percentage-point difference of two shares: "-7.1 pts". */
  pts(v: number | null | undefined): string;
  int(v: number | null | undefined): string;
  num(v: number | null | undefined, digits?: number): string;
}

const DASH = '–';

export function formatters(currency: string, locale = 'en-US'): Formatters {
  const money = new Intl.NumberFormat(locale, { style: 'currency', currency, maximumFractionDigits: 0, minimumFractionDigits: 0 });
  const moneyCents = new Intl.NumberFormat(locale, { style: 'currency', currency, maximumFractionDigits: 2, minimumFractionDigits: 2 });
  const moneyShort = new Intl.NumberFormat(locale, { style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1, minimumFractionDigits: 0 });
  const int = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const ok = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
  return {
    // Small amounts (per-customer values) keep cents; totals do not need them.
    money: (v) => (ok(v) ? (Math.abs(v) < 100 ? moneyCents : money).format(v) : DASH),
    moneyShort: (v) => (ok(v) ? moneyShort.format(v) : DASH),
    pct: (v, digits = 1) =>
      ok(v) ? new Intl.NumberFormat(locale, { style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v) : DASH,
    pct100: (v) =>
      ok(v) ? new Intl.NumberFormat(locale, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(v / 100) : DASH,
    pts: (v) => {
      if (!ok(v)) return DASH;
      const p = v * 100;
      const s = new Intl.NumberFormat(locale, { maximumFractionDigits: 1, minimumFractionDigits: 1, signDisplay: 'exceptZero' }).format(p);
      return `${s} pts`;
    },
    int: (v) => (ok(v) ? int.format(v) : DASH),
    num: (v, digits = 2) =>
      ok(v) ? new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(v) : DASH,
  };
}

/** p or q value for humans: "< 0.001" or 3 significant digits. */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return DASH;
  if (p < 0.001) return '< 0.001';
  return p.toPrecision(2);
}
