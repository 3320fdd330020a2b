/**
 * Engine "athena": the first reduction of an export, as SQL generated from the config's column
 * mapping, for Athena (engine v3, Trino) and, to test it here, DuckDB.
 *
 * The per-customer aggregation is the only pass over every row. In "athena" mode the SQL does a
 * first reduction over the export's Glue table and UNLOADs it as Parquet; the pipeline then reads
 * those (fewer) rows through the SAME ingest and core as usual, so every number downstream is
 * computed by one code path. The reduction therefore keeps exactly what the core needs
 * (lib/customers.ts) and applies exactly the row rules of the streaming ingest (lib/ingest/rows.ts):
 *
 * 1. Validation, in the streaming order (the first failing rule is the reason): customer id
 *    (trimmed, not empty) -> order date in config.input.dateFormat (lib/dates.ts: impossible dates
 *    rejected; a timestamp with an offset is converted to config.timezone, one without is local)
 *    -> amount, or quantity x unit price (lib/ingest/numbers.ts: plain numbers only) -> currency
 *    (equal to config.currency) -> margin or cost (an empty one is "no margin"). Rejected rows are
 *    counted by reason by `buildRejectCountSql`, with the same (normalised) reason texts.
 * 2. Rows after the as-of day are ignored (counted apart), as the streaming path does.
 * 3. De-duplication as input.dedupe says ("auto": only when an orderId column is mapped, as without an
 *    order id two equal rows are as likely two purchases): DISTINCT over the parsed mapped fields.
 * 4. Reduction: one row per (customer, local order day, order id, purchase or refund) with the sums of
 *    amount and margin. The core counts distinct order ids per customer among purchases, sums value
 *    per (customer, day) and calls a day a purchase day when any row of it has amount >= 0, so these
 *    rows give it the same state. A purchase row WITHOUT an order id is an order of its own and stays
 *    one row; refunds (amount < 0) count no order, so those of one customer-day-order merge. Hence the
 *    reduction is large with an order id (one row per order line -> one per order) and small without
 *    one (only same-day refunds merge: CDNOW-like exports shrink only in bytes, typed and projected).
 * 5. Dimensions: the core takes a customer's values from its first purchase (earliest day; ties: the
 *    row read first), or from its first row when it only has refunds. Athena keeps no file order, so
 *    the SQL decides per customer (earliest purchase day, ties broken by the smallest values) and
 *    writes those values on every row of the customer: the core then picks them whatever the order of
 *    the files. Identical to the streaming path unless one customer's first purchase day has rows with
 *    different dimension values (then the streaming path keeps the first in file order).
 *
 * Reading the result: `reducedInputConfig(config)` is the `input` section for the UNLOADed files (with
 * dedupe "never": they are distinct already, and two purchases without an order id can look equal once
 * reduced). Sums are DOUBLE, like the streaming path's, but added in another order:
 * equal to about 1e-9 relative, not bit for bit.
 *
 * Not covered (the export's Glue table is CSV as text, see infra/export-table.ts): typed Parquet columns
 * are cast to text first (a TIMESTAMP column is then read as local wall-clock time, not converted),
 * record-level CSV problems (wrong field count, bad quoting) are the SerDe's business, and "trim"
 * removes ASCII blanks where JavaScript's also removes Unicode spaces.
 */
import type { ColumnRef, Config } from '../config.js';
import { dayToIso } from '../dates.js';
import { dialect as getDialect, ident, lit, type Dialect, type SqlDialect } from './dialect.js';

export type { SqlDialect } from './dialect.js';

export interface SqlOptions {
  /**
   * The export as a SQL relation, inserted as written: a quoted table name such as
   * `"tailwatch"."sales_export"`, or a parenthesised subquery (DuckDB tests: `(SELECT * FROM read_csv(...))`).
   */
  table: string;
  dialect: SqlDialect;
  /** Valid rows after this day (days since 1970-01-01, config.timezone) are ignored, as by ingest's asOfDay. */
  asOfDay?: number;
  /**
   * The table's column name for each configured column reference, keyed by JSON.stringify(ref)
   * (infra's ExportTableSpec.columnNames). Default: a name lower-cased, an index i as `col<i>`.
   */
  columnNames?: Record<string, string>;
  /** ORDER BY the reduced rows (reproducible files; a global sort on Athena). Default: true on DuckDB only. */
  sorted?: boolean;
}

// -------------------------------------------------------------------------------------------------
// Regular expressions (RE2 for DuckDB, Java-style for Trino: only the common subset is used).

/** lib/ingest/numbers.ts: [+-]? digits [. digits]? | [+-]? . digits, optional exponent. */
const NUMBER_RE = '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$';

/** lib/dates.ts applyTimeSuffix: [T|t| ]HH:MM[:SS[.fraction]] then Z or ±HH[[:]MM]; groups 1..8. */
const TIME_RE = '^[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?$';
/** The time suffix as one group (split apart by TIME_RE in a second step). */
const TIME_SUFFIX = '([Tt ].*)?';

interface DateShape {
  /** The date part at the start (groups 1..3), as dateRejectReason tests it. */
  prefix: string;
  /** The date part and the time suffix (group 4) when there is one; the suffix is checked by TIME_RE. */
  full: string;
  /** Which prefix group is year, month, day. */
  ymd: [number, number, number];
  hasTime: boolean;
}

const DATE_SHAPES: Record<Config['input']['dateFormat'], DateShape> = {
  iso: { prefix: '^([0-9]{4})-([0-9]{2})-([0-9]{2})', full: `^([0-9]{4})-([0-9]{2})-([0-9]{2})${TIME_SUFFIX}$`, ymd: [1, 2, 3], hasTime: true },
  yyyyMMdd: { prefix: '^([0-9]{4})([0-9]{2})([0-9]{2})$', full: '^([0-9]{4})([0-9]{2})([0-9]{2})$', ymd: [1, 2, 3], hasTime: false },
  'MM/dd/yyyy': {
    prefix: '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})',
    full: `^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})${TIME_SUFFIX}$`,
    ymd: [3, 1, 2],
    hasTime: true,
  },
  'dd/MM/yyyy': {
    prefix: '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})',
    full: `^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})${TIME_SUFFIX}$`,
    ymd: [3, 2, 1],
    hasTime: true,
  },
};

// -------------------------------------------------------------------------------------------------
// The mapping.

interface NumberField {
  /** SQL column holding the parsed number. */
  col: string;
  /** Word used in reasons ("amount", "unit price"). */
  what: string;
  ref: ColumnRef;
}

interface Mapping {
  customerId: ColumnRef;
  orderDate: ColumnRef;
  amount: NumberField | null;
  quantity: NumberField | null;
  unitPrice: NumberField | null;
  orderId: ColumnRef | null;
  margin: NumberField | null;
  cost: NumberField | null;
  currency: ColumnRef | null;
  dims: ColumnRef[];
}

function mapping(config: Config): Mapping {
  const c = config.input.columns;
  const num = (ref: ColumnRef | null, col: string, what: string): NumberField | null => (ref === null ? null : { col, what, ref });
  return {
    customerId: c.customerId,
    orderDate: c.orderDate,
    amount: num(c.amount, 'amount', 'amount'),
    quantity: c.amount === null ? num(c.quantity, 'quantity', 'quantity') : null,
    unitPrice: c.amount === null ? num(c.unitPrice, 'unit_price', 'unit price') : null,
    orderId: c.orderId,
    margin: num(c.margin, 'margin', 'margin'),
    cost: c.margin === null ? num(c.cost, 'cost', 'cost') : null,
    currency: c.currency,
    dims: c.dimensions,
  };
}

/** The export table's column name for a configured reference (infra/export-table.ts exportColumnName). */
function sourceColumn(ref: ColumnRef, opts: SqlOptions): string {
  const given = opts.columnNames?.[JSON.stringify(ref)];
  if (given !== undefined) return given;
  return typeof ref === 'number' ? `col${ref}` : ref.toLowerCase();
}

/** The fixed output columns of the reduced rows; dimensions follow. */
export const REDUCED_COLUMNS = {
  customerId: 'customer_id',
  orderDate: 'order_date',
  amount: 'amount',
  orderId: 'order_id',
  margin: 'margin',
  sourceRows: 'source_rows',
} as const;

/**
 * Output column name of each dimension: its own name when that is a plain identifier not taken by a
 * fixed column or another dimension (case-insensitively, as Glue and Athena fold case), else `dim_<i>`.
 */
export function reducedDimensionNames(config: Config): string[] {
  const taken = new Set<string>(Object.values(REDUCED_COLUMNS));
  const names = config.input.columns.dimensions.map((d, i) => {
    const own = typeof d === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(d) ? d.toLowerCase() : null;
    const name = own !== null && !taken.has(own) ? own : `dim_${i}`;
    taken.add(name);
    return name;
  });
  // A fallback dim_<i> may collide with a later dimension literally named dim_<i>: number them all then.
  return new Set(names).size === names.length ? names : names.map((_, i) => `dim_${i}`);
}

/** The `input` section the pipeline uses to read the reduced (UNLOADed) Parquet files. */
export function reducedInputConfig(config: Config): Config['input'] {
  const m = mapping(config);
  return {
    ...config.input,
    format: 'parquet',
    columns: {
      customerId: REDUCED_COLUMNS.customerId,
      orderDate: REDUCED_COLUMNS.orderDate,
      amount: REDUCED_COLUMNS.amount,
      orderId: m.orderId !== null ? REDUCED_COLUMNS.orderId : null,
      margin: m.margin !== null || m.cost !== null ? REDUCED_COLUMNS.margin : null,
      cost: null,
      currency: null,
      quantity: null,
      unitPrice: null,
      dimensions: reducedDimensionNames(config),
    },
    // order_date is a Parquet DATE (day numbers), read without text parsing; the format is moot
    dateFormat: 'iso',
    // UNLOAD names its files without an extension
    extensions: [],
    // the reduced rows are distinct already, and two purchases without an order id may look equal once reduced
    dedupe: 'never',
  };
}

// -------------------------------------------------------------------------------------------------
// SQL fragments.

/** Trim as JavaScript's trim() (ASCII whitespace) for ids, currency, dimensions and emptiness. */
const wsTrim = (d: Dialect, x: string) => d.regexpReplaceAll(x, '^\\s+|\\s+$', '');
/** Trim spaces and tabs only, as the date and number scanners do. */
const blankTrim = (d: Dialect, x: string) => d.regexpReplaceAll(x, '^[ \\t]+|[ \\t]+$', '');

function parseNumberSql(d: Dialect, text: string): string {
  return `CASE WHEN ${d.regexpLike(text, NUMBER_RE)} AND ${d.isFinite(`TRY_CAST(${text} AS DOUBLE)`)} THEN TRY_CAST(${text} AS DOUBLE) END`;
}

/** lib/ingest/numbers.ts numberRejectReason, with the quoted value normalised to "…" (as the manifest does). */
function numberReasonSql(d: Dialect, shown: string, what: string): string {
  const q = `non-numeric ${what} "…"`;
  return [
    'CASE',
    `      WHEN ${shown} = '' THEN ${lit(`missing ${what}`)}`,
    `      WHEN ${d.regexpLike(shown, '(?i)^[+-]?(nan|inf|infinity)$')} THEN ${lit(`${q}: not a finite number`)}`,
    `      WHEN ${d.regexpLike(shown, '[$€£¥₹₩₽¢]')} OR ${d.regexpLike(shown, '^[+-]?[A-Z]{3}\\s*[0-9.]|[0-9.]\\s*[A-Z]{3}$')}`,
    `        THEN ${lit(`${q}: currency symbol or code (export plain numbers such as 12.50)`)}`,
    `      WHEN ${d.regexpLike(shown, '^[+-]?[0-9]{1,3}(,[0-9]{3})+([.][0-9]+)?$')}`,
    `        THEN ${lit(`${q}: ambiguous thousands separator ',' (export plain numbers such as 1234.50)`)}`,
    `      WHEN ${d.regexpLike(shown, '^[+-]?[0-9]{1,3}([.][0-9]{3})+,[0-9]+$')} OR ${d.regexpLike(shown, '^[+-]?[0-9]+,[0-9]+$')}`,
    `        THEN ${lit(`${q}: decimal comma (export with '.' as the decimal separator, e.g. 1234.50)`)}`,
    `      WHEN ${d.regexpLike(shown, '^[(].*[)]$')} THEN ${lit(`${q}: accounting parentheses (write negatives as -12.50)`)}`,
    `      WHEN ${d.regexpLike(shown, '(?i)^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)(e[+-]?[0-9]+)?$')} THEN ${lit(`${q}: out of range`)}`,
    `      ELSE ${lit(q)}`,
    '    END',
  ].join('\n');
}

const indent = (s: string, n: number) => s.replace(/\n/g, `\n${' '.repeat(n)}`);

interface Base {
  d: Dialect;
  m: Mapping;
  config: Config;
  /** WITH ... up to and including `checked` (one row per export row, reject_key NULL when valid). */
  ctes: string[];
  /** SQL condition: a valid row is past the as-of day. */
  afterAsOf: string | null;
  dimCols: string[];
  dedupe: boolean;
}

/** A row's parsed mapped fields: what makes two rows equal (duplicates) and what a valid row carries on. */
function parsedFields(m: ReturnType<typeof mapping>, dimCols: string[]): string[] {
  return [
    'customer_id',
    'order_day',
    'amount',
    'order_id',
    ...(m.margin !== null || m.cost !== null ? ['margin'] : []),
    ...(m.amount === null ? ['quantity', 'unit_price'] : []),
    ...dimCols,
  ];
}

/** The CTEs shared by both queries: text -> date parts -> dates -> parsed -> checked. */
function base(config: Config, opts: SqlOptions): Base {
  const d = getDialect(opts.dialect);
  const m = mapping(config);
  const col = (ref: ColumnRef) => `coalesce(CAST(${ident(sourceColumn(ref, opts))} AS VARCHAR), '')`;
  const numbers = [m.amount, m.quantity, m.unitPrice, m.margin, m.cost].filter((n): n is NumberField => n !== null);
  const dimCols = m.dims.map((_, i) => `dim_${i}`);
  const tz = config.timezone;
  const shape = DATE_SHAPES[config.input.dateFormat];

  // 1. Text of each mapped column, trimmed the way the streaming ingest trims it.
  const srcCols = [
    `${wsTrim(d, col(m.customerId))} AS customer_id`,
    `${blankTrim(d, col(m.orderDate))} AS order_date_text`,
    `${wsTrim(d, col(m.orderDate))} AS order_date_shown`,
    ...numbers.flatMap((n) => [`${blankTrim(d, col(n.ref))} AS ${n.col}_text`, `${wsTrim(d, col(n.ref))} AS ${n.col}_shown`]),
    m.orderId !== null ? `nullif(${wsTrim(d, col(m.orderId))}, '') AS order_id` : 'CAST(NULL AS VARCHAR) AS order_id',
    m.currency !== null ? `${wsTrim(d, col(m.currency))} AS currency` : null,
    ...m.dims.map((ref, i) => `${wsTrim(d, col(ref))} AS ${dimCols[i]}`),
  ].filter((s): s is string => s !== null);

  // 2. Date parts by regular expression (NULL where absent: DuckDB's regexp_extract gives '', Trino's NULL).
  const g = (re: string, i: number) => `nullif(regexp_extract(order_date_text, ${lit(re)}, ${i}), '')`;
  const [yi, mi, di] = shape.ymd;
  const timeNames = ['t_hour', 't_minute', 't_second', 't_fraction', 'z_utc', 'z_sign', 'z_hours', 'z_minutes'];
  const dateParts = [
    `${g(shape.prefix, yi)} AS d_year`,
    `${g(shape.prefix, mi)} AS d_month`,
    `${g(shape.prefix, di)} AS d_day`,
    `${d.regexpLike('order_date_text', shape.full)} AS date_form_ok`,
    shape.hasTime ? `${g(shape.full, 4)} AS time_text` : 'CAST(NULL AS VARCHAR) AS time_text',
  ];
  // 2b. The time and offset after the date, split apart (DuckDB's regexp_extract reaches group 9 at most).
  const t = (i: number) => `nullif(regexp_extract(time_text, ${lit(TIME_RE)}, ${i}), '')`;
  const timeParts = [
    `date_form_ok AND (time_text IS NULL OR ${d.regexpLike('time_text', TIME_RE)}) AS date_shaped`,
    ...timeNames.map((name, k) => (shape.hasTime ? `${t(k + 1)} AS ${name}` : `CAST(NULL AS VARCHAR) AS ${name}`)),
  ];

  // 3. The local date (year 0 and impossible days are NULL) and whether the time and offset are in range.
  const dates = [
    `CASE WHEN d_year IS NOT NULL AND d_year <> '0000'\n` +
      `      THEN TRY_CAST(d_year || '-' || lpad(d_month, 2, '0') || '-' || lpad(d_day, 2, '0') AS DATE) END AS local_date`,
    `date_shaped\n` +
      `      AND (t_hour IS NULL OR (CAST(t_hour AS INTEGER) <= 23 AND CAST(t_minute AS INTEGER) <= 59 AND CAST(coalesce(t_second, '0') AS INTEGER) <= 59))\n` +
      `      AND (z_hours IS NULL OR (CAST(z_hours AS INTEGER) <= 18 AND CAST(coalesce(z_minutes, '0') AS INTEGER) <= 59)) AS time_ok`,
  ];

  // 4. The order day: the date itself without an offset (local wall-clock time); with one, the instant
  //    (local time minus offset, milliseconds as lib/dates.ts keeps them) seen in the business time zone.
  const epochMs =
    `(date_diff('day', DATE '1970-01-01', local_date) * 86400\n` +
    `          + CAST(t_hour AS BIGINT) * 3600 + CAST(t_minute AS BIGINT) * 60 + CAST(coalesce(t_second, '0') AS BIGINT)\n` +
    `          - CASE WHEN z_sign = '-' THEN -1 WHEN z_sign = '+' THEN 1 ELSE 0 END\n` +
    `            * (CAST(coalesce(z_hours, '0') AS BIGINT) * 3600 + CAST(coalesce(z_minutes, '0') AS BIGINT) * 60)) * 1000\n` +
    `        + CAST(rpad(coalesce(substr(t_fraction, 1, 3), '0'), 3, '0') AS BIGINT)`;
  const orderDay =
    `CASE WHEN NOT time_ok OR local_date IS NULL THEN NULL\n` +
    `      WHEN z_utc IS NULL AND z_sign IS NULL THEN local_date\n` +
    `      ELSE ${d.localDateOfEpochMs(indent(epochMs, 2), tz)} END AS order_day`;
  const amountSql =
    m.amount !== null
      ? `${parseNumberSql(d, 'amount_text')} AS amount`
      : `${parseNumberSql(d, 'quantity_text')} * ${parseNumberSql(d, 'unit_price_text')} AS amount`;
  const parsed = [
    orderDay,
    amountSql,
    ...(m.amount === null
      ? [`${parseNumberSql(d, 'quantity_text')} AS quantity`, `${parseNumberSql(d, 'unit_price_text')} AS unit_price`]
      : []),
    ...(m.margin !== null ? [`${parseNumberSql(d, 'margin_text')} AS margin_value`] : []),
    ...(m.cost !== null ? [`${parseNumberSql(d, 'cost_text')} AS cost_value`] : []),
  ];

  // 5. The first rule a row breaks, in lib/ingest/rows.ts order (NULL: valid).
  const cur = config.currency.toUpperCase();
  const rules: [string, string][] = [
    ['customerId', `customer_id = ''`],
    ['orderDate', 'order_day IS NULL'],
  ];
  if (m.amount !== null) rules.push(['amount', 'amount IS NULL']);
  else
    rules.push(
      ['quantity', 'quantity IS NULL'],
      ['unitPrice', 'unit_price IS NULL'],
      ['amountOverflow', `NOT ${d.isFinite('amount')}`],
    );
  if (m.currency !== null) rules.push(['currency', `currency = '' OR upper(currency) <> ${lit(cur)}`]);
  if (m.margin !== null) rules.push(['margin', `margin_shown <> '' AND margin_value IS NULL`]);
  if (m.cost !== null) rules.push(['cost', `cost_shown <> '' AND cost_value IS NULL`]);
  const checkedCols = [
    `CASE\n${rules.map(([k, cond]) => `      WHEN ${cond} THEN ${lit(k)}`).join('\n')}\n    END AS reject_key`,
    m.margin !== null
      ? 'margin_value AS margin'
      : m.cost !== null
        ? 'amount - cost_value AS margin'
        : null,
  ].filter((s): s is string => s !== null);

  const fmt = config.input.dateFormat;
  const ctes = [
    `-- 1. The mapped columns as text, trimmed as the streaming ingest trims them.\nsrc AS (\n  SELECT\n    ${srcCols.join(',\n    ')}\n  FROM ${opts.table} AS export\n)`,
    `-- 2. Order date parts (input.dateFormat "${fmt}").\ndate_parts AS (\n  SELECT src.*,\n    ${dateParts.join(',\n    ')}\n  FROM src\n)`,
    `-- 2b. Time of day and offset (regular expression groups 1..8).\ntime_parts AS (\n  SELECT date_parts.*,\n    ${timeParts.join(',\n    ')}\n  FROM date_parts\n)`,
    `-- 3. The calendar date written, and whether time and offset are in range.\ndates AS (\n  SELECT time_parts.*,\n    ${dates.join(',\n    ')}\n  FROM time_parts\n)`,
    `-- 4. The order day in ${tz} and the numbers (NULL where the text is not one).\nparsed AS (\n  SELECT dates.*,\n    ${parsed.join(',\n    ')}\n  FROM dates\n)`,
    `-- 5. The first rule each row breaks (NULL = valid), and its margin (margin, or amount - cost).\nchecked AS (\n  SELECT parsed.*,\n    ${checkedCols.join(',\n    ')}\n  FROM parsed\n)`,
  ];
  const afterAsOf = opts.asOfDay !== undefined ? `order_day > ${dateLiteral(opts.asOfDay)}` : null;
  // as lib/ingest: input.dedupe "auto" de-duplicates only when an order id is mapped
  const dedupe = config.input.dedupe === 'auto' ? m.orderId !== null : config.input.dedupe === 'always';
  return { d, m, config, ctes, afterAsOf, dimCols, dedupe };
}

function dateLiteral(day: number): string {
  if (!Number.isInteger(day) || day < -719162 || day > 2932896)
    throw new RangeError(`asOfDay must be an integer day number in years 1..9999, got ${day}`);
  return `DATE '${dayToIso(day)}'`;
}

function labelOf(ref: ColumnRef): string {
  return String(ref);
}

/**
 * The reduction (see the module comment): one row per customer, local order day, order id and sign
 * (purchase or refund) when the export has order ids; purchases without one stay one row each.
 * Columns: customer_id VARCHAR, order_date DATE, amount DOUBLE, [order_id VARCHAR], [margin DOUBLE],
 * one VARCHAR per dimension (reducedDimensionNames), source_rows BIGINT (export rows folded in).
 * Scans the export once (Trino inlines CTEs, so every CTE here is referenced once).
 */
export function buildReductionSql(config: Config, opts: SqlOptions): string {
  const b = base(config, opts);
  const { m, dimCols } = b;
  const hasMargin = m.margin !== null || m.cost !== null;
  const fields = parsedFields(m, dimCols);
  const where = ['reject_key IS NULL', ...(b.afterAsOf ? [`NOT (${b.afterAsOf})`] : [])].join(' AND ');
  const valid = b.dedupe
    ? `-- 6. Valid rows up to the as-of day, each distinct row once (a duplicate is the same row exported twice:\n--    every parsed mapped field equal; input.dedupe, as in lib/ingest).\nvalid AS (\n  SELECT DISTINCT ${fields.join(', ')}\n  FROM checked\n  WHERE ${where}\n)`
    : `-- 6. Valid rows up to the as-of day (no de-duplication: equal rows are separate purchases, none is dropped).\nvalid AS (\n  SELECT ${fields.join(', ')}\n  FROM checked\n  WHERE ${where}\n)`;
  const pick = `PARTITION BY customer_id ORDER BY CASE WHEN amount >= 0 THEN 0 ELSE 1 END, order_day${dimCols.map((c) => `, ${c}`).join('')}`;
  const ranked =
    `-- 7. Per customer: the dimension values of the first purchase (earliest day, then smallest values; refund-only\n` +
    `--    customers: their first row), and a number telling apart purchases without an order id.\n` +
    `ranked AS (\n  SELECT customer_id, order_day, amount, order_id${hasMargin ? ', margin' : ''},\n` +
    `    CASE WHEN amount < 0 THEN 1 ELSE 0 END AS is_refund,\n` +
    dimCols.map((c) => `    first_value(${c}) OVER (${pick}) AS customer_${c},\n`).join('') +
    `    row_number() OVER (PARTITION BY customer_id ORDER BY order_day) AS row_in_customer\n` +
    `  FROM valid\n)`;
  const dimNames = reducedDimensionNames(config);
  const outCols = [
    `customer_id AS ${ident(REDUCED_COLUMNS.customerId)}`,
    `order_day AS ${ident(REDUCED_COLUMNS.orderDate)}`,
    `sum(amount) AS ${ident(REDUCED_COLUMNS.amount)}`,
    ...(m.orderId !== null ? [`order_id AS ${ident(REDUCED_COLUMNS.orderId)}`] : []),
    ...(hasMargin ? [`sum(margin) AS ${ident(REDUCED_COLUMNS.margin)}`] : []),
    ...dimCols.map((c, i) => `min(customer_${c}) AS ${ident(dimNames[i])}`),
    `count(*) AS ${ident(REDUCED_COLUMNS.sourceRows)}`,
  ];
  const select =
    `-- 8. One row per customer, day, order and sign; a purchase without an order id is an order of its own.\n` +
    `SELECT\n  ${outCols.join(',\n  ')}\nFROM ranked\n` +
    `GROUP BY customer_id, order_day, order_id, is_refund,\n` +
    `  CASE WHEN order_id IS NULL AND is_refund = 0 THEN row_in_customer END` +
    (opts.sorted ?? opts.dialect === 'duckdb' ? `\nORDER BY 1, 2, ${m.orderId !== null ? '4, ' : ''}3` : '');
  const header = `-- tailwatch: first reduction of the export (${opts.dialect}), generated from input.columns by lib/athena/sql.ts.\n`;
  return `${header}WITH\n${[...b.ctes, valid, ranked].join(',\n')}\n${select}`;
}

/**
 * Row accounting of the export in one scan: one row per outcome ("valid", "ignored", "rejected") and,
 * for rejects, per reason and column. Columns: outcome, reason, column_name, row_count, duplicates
 * (for "valid": rows that repeat an earlier one, dropped by the reduction), example (one offending
 * value, the smallest). Reasons are the streaming ingest's, with quoted values replaced by "…" (as the
 * manifest counts them; see `normalizeRejectReason`). Parse it with `rowAccounting`.
 */
export function buildRejectCountSql(config: Config, opts: SqlOptions): string {
  const b = base(config, opts);
  const { d, m, dimCols } = b;
  const fmt = config.input.dateFormat;
  const cur = config.currency.toUpperCase();
  const reasons: [string, string, string, string][] = [
    // key, reason, column label, offending value
    ['customerId', lit('missing customer id'), labelOf(m.customerId), 'customer_id'],
    [
      'orderDate',
      `CASE WHEN order_date_shown = '' THEN 'missing order date'\n` +
        `        WHEN d_year IS NOT NULL AND local_date IS NULL THEN 'impossible date "…"'\n` +
        `        WHEN d_year IS NOT NULL THEN ${lit(`unparseable time or offset in "…" (format ${fmt})`)}\n` +
        `        ELSE ${lit(`unparseable date "…" (expected format ${fmt})`)} END`,
      labelOf(m.orderDate),
      'order_date_shown',
    ],
  ];
  const numberReason = (key: string, n: NumberField) =>
    reasons.push([key, indent(numberReasonSql(d, `${n.col}_shown`, n.what), 4), labelOf(n.ref), `${n.col}_shown`]);
  if (m.amount) numberReason('amount', m.amount);
  if (m.quantity) numberReason('quantity', m.quantity);
  if (m.unitPrice) {
    numberReason('unitPrice', m.unitPrice);
    reasons.push(['amountOverflow', lit('quantity x unit price overflows'), labelOf(m.unitPrice.ref), `quantity_shown || ' x ' || unit_price_shown`]);
  }
  if (m.currency !== null)
    reasons.push([
      'currency',
      `CASE WHEN currency = '' THEN ${lit(`missing currency (the run's currency is ${cur})`)}\n` +
        `        ELSE 'currency ' || CASE WHEN length(currency) > 12 THEN substr(currency, 1, 12) || '…' ELSE currency END\n` +
        `          || ${lit(` differs from the run's currency ${cur}`)} END`,
      labelOf(m.currency),
      'currency',
    ]);
  if (m.margin) numberReason('margin', m.margin);
  if (m.cost) numberReason('cost', m.cost);

  const caseOf = (k: 1 | 2 | 3) =>
    `CASE reject_key\n${reasons.map((r) => `      WHEN ${lit(r[0])} THEN ${k === 2 ? lit(r[k]) : r[k]}`).join('\n')}\n    END`;
  // With de-duplication, valid rows are grouped by every parsed field, so a group of n rows holds n - 1 duplicates.
  const rowKey = parsedFields(m, dimCols);
  const outcome = `CASE WHEN reject_key IS NOT NULL THEN 'rejected'${b.afterAsOf ? ` WHEN ${b.afterAsOf} THEN 'ignored'` : ''} ELSE 'valid' END`;
  const classified =
    `-- 6. Each row's outcome; a reject's reason, column and value; a valid row's fields (to find duplicates).\n` +
    `classified AS (\n  SELECT\n    ${outcome} AS outcome,\n` +
    `    ${caseOf(1)} AS reason,\n` +
    `    ${caseOf(2)} AS column_name,\n` +
    `    ${caseOf(3)} AS example,\n` +
    rowKey.map((k) => `    CASE WHEN reject_key IS NULL THEN ${k} END AS k_${k}`).join(',\n') +
    `\n  FROM checked\n)`;
  const grouped =
    `-- 7. ${b.dedupe ? 'Equal valid rows together (a group of n rows holds n - 1 duplicates); rejects by reason.' : 'No de-duplication: no row is a duplicate; rows by outcome and reason.'}\n` +
    `grouped AS (\n  SELECT outcome, reason, column_name, min(example) AS example, count(*) AS n\n  FROM classified\n` +
    `  GROUP BY outcome, reason, column_name${b.dedupe ? rowKey.map((k) => `, k_${k}`).join('') : ''}\n)`;
  const select =
    `SELECT outcome, reason, column_name, sum(n) AS row_count,\n` +
    `  ${b.dedupe ? "CASE WHEN outcome = 'valid' THEN sum(n) - count(*) ELSE 0 END" : 'CAST(0 AS BIGINT)'} AS duplicates,\n` +
    `  min(example) AS example\n` +
    `FROM grouped\nGROUP BY outcome, reason, column_name\nORDER BY 1, 4 DESC, 2`;
  const header = `-- tailwatch: row accounting of the export (${opts.dialect}), generated from input.columns by lib/athena/sql.ts.\n`;
  return `${header}WITH\n${[...b.ctes, classified, grouped].join(',\n')}\n${select}`;
}

/** Wraps a query for Athena: UNLOAD its rows as SNAPPY Parquet under an (empty) s3:// prefix. */
export function buildUnloadSql(query: string, s3Location: string): string {
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/(.*\/)?$/.test(s3Location))
    throw new RangeError(`UNLOAD target must be an s3://bucket/prefix/ ending in "/", got "${s3Location}"`);
  // A query inside a subquery may begin with WITH in every Trino version; UNLOAD (WITH ...) is less sure.
  return `UNLOAD (SELECT * FROM (\n${query.replace(/;\s*$/, '')}\n))\nTO ${lit(s3Location)}\nWITH (format = 'PARQUET', compression = 'SNAPPY')`;
}
