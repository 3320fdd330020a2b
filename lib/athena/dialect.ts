/**
 * The few places where Athena (engine v3, Trino) and DuckDB spell the same thing differently.
 * Everything else in the generated SQL is their common subset: CTEs, CASE, TRY_CAST, regexp_extract,
 * lpad, date_diff, GROUP BY expressions, window functions, UNION ALL.
 */

export type SqlDialect = 'athena' | 'duckdb';

export interface Dialect {
  name: SqlDialect;
  /** True when `x` matches the (anchored) regular expression. */
  regexpLike(x: string, re: string): string;
  /** Every match of `re` in `x` replaced (DuckDB replaces only the first without the 'g' flag). */
  regexpReplaceAll(x: string, re: string, replacement: string): string;
  isFinite(x: string): string;
  /** The calendar date in IANA zone `tz` of the instant `epochMs` milliseconds after 1970-01-01T00:00Z. */
  localDateOfEpochMs(epochMs: string, tz: string): string;
}

/** A SQL string literal: single quotes doubled, the same in both dialects (no backslash escapes). */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A quoted identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const athena: Dialect = {
  name: 'athena',
  regexpLike: (x, re) => `regexp_like(${x}, ${lit(re)})`,
  regexpReplaceAll: (x, re, r) => `regexp_replace(${x}, ${lit(re)}, ${lit(r)})`,
  isFinite: (x) => `is_finite(${x})`,
  // from_unixtime(seconds, zone) is a timestamp with time zone in `zone`; its DATE is the local date.
  localDateOfEpochMs: (ms, tz) => `CAST(from_unixtime(CAST(${ms} AS DOUBLE) / 1000, ${lit(tz)}) AS DATE)`,
};

const duckdb: Dialect = {
  name: 'duckdb',
  regexpLike: (x, re) => `regexp_matches(${x}, ${lit(re)})`,
  regexpReplaceAll: (x, re, r) => `regexp_replace(${x}, ${lit(re)}, ${lit(r)}, 'g')`,
  isFinite: (x) => `isfinite(${x})`,
  // to_timestamp gives a TIMESTAMPTZ; timezone(zone, tstz) its wall-clock TIMESTAMP in `zone` (ICU).
  localDateOfEpochMs: (ms, tz) => `CAST(timezone(${lit(tz)}, to_timestamp(CAST(${ms} AS DOUBLE) / 1000)) AS DATE)`,
};

export function dialect(name: SqlDialect): Dialect {
  if (name === 'athena') return athena;
  if (name === 'duckdb') return duckdb;
  throw new RangeError(`unknown SQL dialect "${String(name)}" (expected "athena" or "duckdb")`);
}
