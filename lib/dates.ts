/**
 * Calendar days in the business time zone. A day is an integer: days since 1970-01-01 (the
 * proleptic Gregorian calendar, like ISO 8601), so bucketing into weeks and months is integer
 * arithmetic and 10M rows need no Date objects.
 *
 * Rules (DESIGN.md "Input contract"): a timestamp with an offset (or Z) is an instant and is
 * converted to the configured IANA zone; a timestamp without one is already local wall-clock
 * time, so its date part is the day. Impossible dates (2024-02-30, month 13, hour 25) are
 * rejected, never rolled over the way `new Date()` would.
 */

export type DateFormat = 'iso' | 'yyyyMMdd' | 'MM/dd/yyyy' | 'dd/MM/yyyy';

const MS_PER_DAY = 86_400_000;

/**
 * Days from 1970-01-01 to y-m-d (m 1..12). Howard Hinnant's days_from_civil
 * ("chrono-Compatible Low-Level Date Algorithms", 2013): exact for every proleptic
 * Gregorian date, no floating point.
 */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of daysFromCivil (Hinnant's civil_from_days). */
export function civilFromDays(day: number): { y: number; m: number; d: number } {
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeapYear(y) ? 29 : MONTH_DAYS[m];
}

function validYmd(y: number, m: number, d: number): boolean {
  return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

/** "YYYY-MM-DD" for a day number. */
export function dayToIso(day: number): string {
  const { y, m, d } = civilFromDays(day);
  return `${String(y).padStart(4, '0')}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
}

/** Day number of a strict "YYYY-MM-DD", or null if it is not one or names no real day (2024-02-30). */
export function isoToDay(iso: string): number | null {
  if (iso.length !== 10 || iso.charCodeAt(4) !== 45 || iso.charCodeAt(7) !== 45) return null;
  const y = digits(iso, 0, 4), m = digits(iso, 5, 2), d = digits(iso, 8, 2);
  if (y < 0 || m < 0 || d < 0 || !validYmd(y, m, d)) return null;
  return daysFromCivil(y, m, d);
}

// ---------------------------------------------------------------------------------------------
// Time-zone offsets. Intl is the only IANA database in Node 20 and costs microseconds per call,
// so offsets are cached per zone and per UTC day: a day whose offset is the same at its first and
// last millisecond has no transition inside it (zones change offset at most once a day), so one
// lookup serves every row of that day; only the ~2 transition days a year are resolved exactly.

const formatters = new Map<string, Intl.DateTimeFormat>();
const dayOffsetCache = new Map<string, Map<number, number>>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Offset of `tz` from UTC at instant `utcMs`, in ms (local = utc + offset), straight from Intl. */
export function zoneOffsetMsExact(tz: string, utcMs: number): number {
  const whole = Math.floor(utcMs / 1000) * 1000; // Intl drops milliseconds
  const parts = formatter(tz).formatToParts(new Date(whole));
  let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, bc = false;
  for (const p of parts) {
    switch (p.type) {
      case 'year': y = +p.value; break;
      case 'month': mo = +p.value; break;
      case 'day': d = +p.value; break;
      case 'hour': h = +p.value; break;
      case 'minute': mi = +p.value; break;
      case 'second': s = +p.value; break;
      case 'era': bc = p.value === 'BC' || p.value === 'B'; break;
    }
  }
  if (bc) y = 1 - y;
  const local = daysFromCivil(y, mo, d) * MS_PER_DAY + ((h * 60 + mi) * 60 + s) * 1000;
  return local - whole;
}

const NO_SINGLE_OFFSET = Number.NaN;

/** Offset of `tz` at `utcMs`, cached per UTC day (see above). */
export function zoneOffsetMs(tz: string, utcMs: number): number {
  if (tz === 'UTC' || tz === 'Etc/UTC') return 0;
  let cache = dayOffsetCache.get(tz);
  if (!cache) {
    cache = new Map();
    dayOffsetCache.set(tz, cache);
  }
  const utcDay = Math.floor(utcMs / MS_PER_DAY);
  let off = cache.get(utcDay);
  if (off === undefined) {
    const a = zoneOffsetMsExact(tz, utcDay * MS_PER_DAY);
    const b = zoneOffsetMsExact(tz, utcDay * MS_PER_DAY + MS_PER_DAY - 1000);
    off = a === b ? a : NO_SINGLE_OFFSET;
    if (cache.size > 200_000) cache.clear(); // ~550 years of days: never in practice, bounded anyway
    cache.set(utcDay, off);
  }
  return Number.isNaN(off) ? zoneOffsetMsExact(tz, utcMs) : off;
}

/** The local calendar day in `tz` of the instant `utcMs`. */
export function utcMsToDay(utcMs: number, tz: string): number {
  return Math.floor((utcMs + zoneOffsetMs(tz, utcMs)) / MS_PER_DAY);
}

// ---------------------------------------------------------------------------------------------
// Parsing. Hand-written scanners over char codes: no regex, no Date, no allocation on success.

function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k) - 48; // NaN past the end: the test below is written to fail on it
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** 1 or 2 digits at i; returns value and sets `scanEnd`. */
let scanEnd = 0;
function digits12(s: string, i: number, end: number): number {
  const a = i < end ? s.charCodeAt(i) - 48 : -1;
  if (!(a >= 0 && a <= 9)) return -1;
  const b = i + 1 < end ? s.charCodeAt(i + 1) - 48 : -1;
  if (b >= 0 && b <= 9) {
    scanEnd = i + 2;
    return a * 10 + b;
  }
  scanEnd = i + 1;
  return a;
}

/** 4 or 2 ASCII digits of a byte buffer at i (no bounds check beyond the caller's), or -1. */
function digitsB(b: Uint8Array, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = b[i + k] - 48;
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * The day of a plain date in bytes [start, end) of UTF-8 text, for the two shapes that carry no
 * time: 'iso' exactly YYYY-MM-DD and 'yyyyMMdd' exactly 8 digits (blanks around: space and tab,
 * as in parseDateRange). NaN for anything else (a timestamp, another format, an impossible
 * date): the caller then decodes the text and uses parseDateRange, so results never differ.
 * Why: a CSV reader can then turn 10M dates into days without a string per row (issue 8); the
 * last date seen is cached, since exports are mostly sorted by date.
 */
let lastKey = -1;
let lastDay = 0;
export function plainDateBytesToDay(b: Uint8Array, start: number, end: number, format: DateFormat): number {
  while (start < end && (b[start] === 32 || b[start] === 9)) start++;
  while (end > start && (b[end - 1] === 32 || b[end - 1] === 9)) end--;
  let y: number, m: number, d: number;
  if (format === 'iso') {
    if (end - start !== 10 || b[start + 4] !== 45 || b[start + 7] !== 45) return Number.NaN;
    y = digitsB(b, start, 4);
    m = digitsB(b, start + 5, 2);
    d = digitsB(b, start + 8, 2);
  } else if (format === 'yyyyMMdd') {
    if (end - start !== 8) return Number.NaN;
    y = digitsB(b, start, 4);
    m = digitsB(b, start + 4, 2);
    d = digitsB(b, start + 6, 2);
  } else return Number.NaN;
  if (y < 0 || m < 0 || d < 0) return Number.NaN;
  const key = y * 10000 + m * 100 + d;
  if (key === lastKey) return lastDay;
  if (!validYmd(y, m, d)) return Number.NaN;
  lastKey = key;
  lastDay = daysFromCivil(y, m, d);
  return lastDay;
}

/** Sentinel of applyTimeSuffix for an invalid suffix (no real day number is this large). */
const INVALID = 1e9;

/**
 * Parses `[T| ]HH:MM[:SS[.fff]][Z|±HH[:MM]|±HHMM]` from i to end, given the local date `day`.
 * Returns the resulting local day in tz, or INVALID.
 */
function applyTimeSuffix(s: string, i: number, end: number, day: number, tz: string): number {
  if (i === end) return day;
  const sep = s.charCodeAt(i);
  if (sep !== 84 /* T */ && sep !== 116 /* t */ && sep !== 32) return INVALID;
  i++;
  const h = digits(s, i, 2);
  if (h < 0 || h > 23 || s.charCodeAt(i + 2) !== 58 /* : */) return INVALID;
  const mi = digits(s, i + 3, 2);
  if (mi < 0 || mi > 59) return INVALID;
  i += 5;
  let sec = 0;
  let ms = 0;
  if (i < end && s.charCodeAt(i) === 58) {
    sec = digits(s, i + 1, 2);
    if (sec < 0 || sec > 59) return INVALID;
    i += 3;
    if (i < end && (s.charCodeAt(i) === 46 /* . */ || s.charCodeAt(i) === 44 /* , */)) {
      i++;
      const start = i;
      while (i < end) {
        const c = s.charCodeAt(i) - 48;
        if (!(c >= 0 && c <= 9)) break;
        if (i - start < 3) ms = ms * 10 + c;
        i++;
      }
      if (i === start || i - start > 9) return INVALID;
      for (let k = i - start; k < 3; k++) ms *= 10;
    }
  }
  if (i === end) return day; // no offset: local wall-clock time, the date part is the day
  let offMin: number;
  const c = s.charCodeAt(i);
  if (c === 90 /* Z */ || c === 122 /* z */) {
    if (i + 1 !== end) return INVALID;
    offMin = 0;
  } else if (c === 43 /* + */ || c === 45 /* - */) {
    const oh = digits(s, i + 1, 2);
    if (oh < 0 || oh > 18) return INVALID;
    let om = 0;
    const rest = end - (i + 3);
    if (rest === 0) om = 0;
    else if (rest === 3 && s.charCodeAt(i + 3) === 58) om = digits(s, i + 4, 2);
    else if (rest === 2) om = digits(s, i + 3, 2);
    else return INVALID;
    if (om < 0 || om > 59) return INVALID;
    offMin = (c === 45 ? -1 : 1) * (oh * 60 + om);
  } else return INVALID;
  const utcMs = day * MS_PER_DAY + ((h * 60 + mi - offMin) * 60 + sec) * 1000 + ms;
  return utcMsToDay(utcMs, tz);
}

/**
 * The local day of a date or timestamp in `format`, or null when it is not one (including
 * impossible dates). Surrounding blanks are ignored.
 *
 * - iso: YYYY-MM-DD, optionally followed by T or a space, HH:MM[:SS[.fraction]], optionally
 *   Z or an offset ±HH, ±HHMM, ±HH:MM.
 * - yyyyMMdd: exactly 8 digits (CDNOW).
 * - MM/dd/yyyy, dd/MM/yyyy: month and day of 1 or 2 digits, a 4-digit year, optionally the
 *   same time/offset suffix as iso.
 */
export function parseDateToDay(text: string, format: DateFormat, timezone: string): number | null {
  return parseDateRange(text, 0, text.length, format, timezone);
}

/** parseDateToDay on text[start, end): lets a CSV reader parse in place, without a substring. */
export function parseDateRange(text: string, start: number, end: number, format: DateFormat, timezone: string): number | null {
  let i = start;
  while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  while (end > i && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  let y: number, m: number, d: number, next: number;
  switch (format) {
    case 'iso': {
      if (end - i < 10 || text.charCodeAt(i + 4) !== 45 || text.charCodeAt(i + 7) !== 45) return null;
      y = digits(text, i, 4);
      m = digits(text, i + 5, 2);
      d = digits(text, i + 8, 2);
      next = i + 10;
      break;
    }
    case 'yyyyMMdd': {
      if (end - i !== 8) return null;
      y = digits(text, i, 4);
      m = digits(text, i + 4, 2);
      d = digits(text, i + 6, 2);
      next = end;
      break;
    }
    case 'MM/dd/yyyy':
    case 'dd/MM/yyyy': {
      const a = digits12(text, i, end);
      if (a < 0 || text.charCodeAt(scanEnd) !== 47 /* / */) return null;
      const b = digits12(text, scanEnd + 1, end);
      if (b < 0 || text.charCodeAt(scanEnd) !== 47) return null;
      y = digits(text, scanEnd + 1, 4);
      next = scanEnd + 5;
      if (next > end) return null;
      if (format === 'MM/dd/yyyy') (m = a), (d = b);
      else (d = a), (m = b);
      break;
    }
    default:
      return null;
  }
  if (y < 0 || m < 0 || d < 0 || !validYmd(y, m, d)) return null;
  const day = daysFromCivil(y, m, d);
  if (next === end) return day;
  const r = applyTimeSuffix(text, next, end, day, timezone);
  return r === INVALID ? null : r;
}

/**
 * Why `text` is not a date in `format` (only called on the reject path): "impossible date"
 * when it has the right shape but names a day or time that does not exist.
 */
export function dateRejectReason(text: string, format: DateFormat): string {
  const t = text.trim();
  const shown = t.length > 40 ? `${t.slice(0, 40)}…` : t;
  const shape: Record<DateFormat, RegExp> = {
    iso: /^(\d{4})-(\d{2})-(\d{2})/,
    yyyyMMdd: /^(\d{4})(\d{2})(\d{2})$/,
    'MM/dd/yyyy': /^(\d{1,2})\/(\d{1,2})\/(\d{4})/,
    'dd/MM/yyyy': /^(\d{1,2})\/(\d{1,2})\/(\d{4})/,
  };
  const m = shape[format].exec(t);
  if (m) {
    let y: number, mo: number, d: number;
    if (format === 'MM/dd/yyyy') (mo = +m[1]), (d = +m[2]), (y = +m[3]);
    else if (format === 'dd/MM/yyyy') (d = +m[1]), (mo = +m[2]), (y = +m[3]);
    else (y = +m[1]), (mo = +m[2]), (d = +m[3]);
    if (!validYmd(y, mo, d)) return `impossible date "${shown}"`;
    return `unparseable time or offset in "${shown}" (format ${format})`;
  }
  return `unparseable date "${shown}" (expected format ${format})`;
}
