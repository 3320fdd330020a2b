/**
 * Money and quantities in exports. One rule, no locale guessing:
 *
 *   accepted:  [+-]? digits [. digits]?  or  [+-]? . digits,  optionally e±digits;  blanks around ignored
 *              ("12.50", "-3", "1234.5", "+7", ".5", "5.", "1e3")
 *   rejected:  everything else, with a reason: "1,234.50" (thousands separator), "1.234,50" and
 *              "12,50" (decimal comma), "$12" / "12 EUR" (currency symbol or code), "NaN",
 *              "Infinity", "0x1F", "(12.00)", "1 234", and values that overflow a double.
 *
 * A "1,234.50" in a comma-delimited file can only arrive quoted, so the field is seen whole and
 * rejected with its reason instead of being split into two columns. "1.234" is one point two
 * three four: '.' is always the decimal separator.
 */

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * The number in s[start, end) under the rule above, or NaN. Fast path: up to 15 significant
 * digits without exponent is m / 10^k with m < 2^53 and 10^k exact, and one IEEE division of
 * two exact values is correctly rounded, so the result equals Number(s) (Clinger 1990).
 */
export function parseNumberRange(s: string, start: number, end: number): number {
  while (start < end && (s.charCodeAt(start) === 32 || s.charCodeAt(start) === 9)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 32 || s.charCodeAt(end - 1) === 9)) end--;
  let i = start;
  let neg = false;
  const c0 = s.charCodeAt(i);
  if (c0 === 45 /* - */ || c0 === 43 /* + */) {
    neg = c0 === 45;
    i++;
  }
  let m = 0;
  let nd = 0; // digits seen
  let frac = 0; // digits after the point
  let c = 0;
  while (i < end && (c = s.charCodeAt(i) - 48) >= 0 && c <= 9) {
    m = m * 10 + c;
    nd++;
    i++;
  }
  if (i < end && s.charCodeAt(i) === 46 /* . */) {
    i++;
    while (i < end && (c = s.charCodeAt(i) - 48) >= 0 && c <= 9) {
      m = m * 10 + c;
      nd++;
      frac++;
      i++;
    }
  }
  if (nd === 0) return Number.NaN;
  if (i === end) {
    if (nd <= 15) return neg ? -m / POW10[frac] : m / POW10[frac];
    const v = Number(s.slice(start, end));
    return Number.isFinite(v) ? v : Number.NaN;
  }
  const e = s.charCodeAt(i);
  if (e !== 101 && e !== 69) return Number.NaN; // e / E
  i++;
  if (i < end && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++;
  const expStart = i;
  while (i < end && (c = s.charCodeAt(i) - 48) >= 0 && c <= 9) i++;
  if (i === expStart || i !== end) return Number.NaN;
  const v = Number(s.slice(start, end));
  return Number.isFinite(v) ? v : Number.NaN;
}

/**
 * parseNumberRange over ASCII bytes, for the common shape only: [+-]? digits [. digits] with at
 * most 15 digits (blanks around: space, tab). NaN for anything else, including numbers the rule
 * accepts in other shapes ("1e3", 16+ digits): the caller then decodes the text and calls
 * parseNumberRange, so the two never disagree. Lets the CSV reader parse amounts in place.
 */
export function parseSimpleNumberBytes(b: Uint8Array, start: number, end: number): number {
  return simpleNumberBytesInto(b, start, end, one, 0) ? one[0] : Number.NaN;
}

const one = new Float64Array(1);

/**
 * parseSimpleNumberBytes writing its number to out[k]: true when it did, false when it declines.
 * The hot paths use this form: a double returned from a call that is not inlined is boxed as a
 * heap number (issue 8: ~16 bytes of garbage per number, 10M+ numbers a run on each thread).
 */
export function simpleNumberBytesInto(b: Uint8Array, start: number, end: number, out: Float64Array, k: number): boolean {
  while (start < end && (b[start] === 32 || b[start] === 9)) start++;
  while (end > start && (b[end - 1] === 32 || b[end - 1] === 9)) end--;
  let i = start;
  let neg = false;
  const c0 = b[i];
  if (c0 === 45 || c0 === 43) {
    neg = c0 === 45;
    i++;
  }
  let m = 0;
  let nd = 0;
  let frac = 0;
  let c = 0;
  while (i < end && (c = b[i] - 48) >= 0 && c <= 9) {
    m = m * 10 + c;
    nd++;
    i++;
  }
  if (i < end && b[i] === 46) {
    i++;
    while (i < end && (c = b[i] - 48) >= 0 && c <= 9) {
      m = m * 10 + c;
      nd++;
      frac++;
      i++;
    }
  }
  if (nd === 0 || nd > 15 || i !== end) return false;
  out[k] = neg ? -m / POW10[frac] : m / POW10[frac];
  return true;
}

export function parseNumber(s: string): number {
  return parseNumberRange(s, 0, s.length);
}

/** Why `text` is not an accepted number (reject path only); `what` is e.g. "amount". */
export function numberRejectReason(text: string, what: string): string {
  const t = text.trim();
  const shown = t.length > 40 ? `${t.slice(0, 40)}…` : t;
  if (t === '') return `missing ${what}`;
  const q = `non-numeric ${what} "${shown}"`;
  if (/^[+-]?(nan|inf|infinity)$/i.test(t)) return `${q}: not a finite number`;
  if (/[$€£¥₹₩₽¢]/.test(t) || /^[+-]?[A-Z]{3}\s*[\d.]|[\d.]\s*[A-Z]{3}$/.test(t))
    return `${q}: currency symbol or code (export plain numbers such as 12.50)`;
  if (/^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(t))
    return `${q}: ambiguous thousands separator ',' (export plain numbers such as 1234.50)`;
  if (/^[+-]?\d{1,3}(\.\d{3})+,\d+$/.test(t) || /^[+-]?\d+,\d+$/.test(t))
    return `${q}: decimal comma (export with '.' as the decimal separator, e.g. 1234.50)`;
  if (/^\(.*\)$/.test(t)) return `${q}: accounting parentheses (write negatives as -12.50)`;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return `${q}: out of range`;
  return q;
}
