/**
 * The export's Glue table for config `engine: "athena"`: which columns, which SerDe. Pure, so
 * its rules are unit-tested without synthesising. The Athena SQL (lib/) reads the columns by
 * the names `exportColumnName` gives the configured column references.
 */
import type { ColumnRef, Config } from '../lib/config.js';
import { SettingsError } from './errors.js';
import type { ExportColumn } from './settings.js';

export type ExportFormat = 'csv' | 'jsonl' | 'parquet';

export interface ExportTableSpec {
  format: ExportFormat;
  /** Ordered table columns (for CSV, positional: OpenCSVSerde maps fields by position). */
  columns: ExportColumn[];
  /** SerDe parameters (CSV: separator, quote, escape). */
  serdeParameters: Record<string, string>;
  /** Table parameters (CSV: header lines to skip). */
  tableParameters: Record<string, string>;
  /** Configured column reference (as JSON) -> Glue column name. */
  columnNames: Record<string, string>;
}

/** Glue column names are lower case; a numeric reference (file without a header) is `col<i>`. */
export function exportColumnName(ref: ColumnRef): string {
  return typeof ref === 'number' ? `col${ref}` : ref.toLowerCase();
}

function mappedRefs(config: Config): ColumnRef[] {
  const c = config.input.columns;
  const refs = [c.customerId, c.orderDate, c.amount, c.orderId, c.margin, c.cost, c.currency, c.quantity, c.unitPrice, ...c.dimensions];
  return refs.filter((r): r is ColumnRef => r !== null);
}

const ATHENA = 'config "engine": "athena"';

/** Throws SettingsError with the fix when the export cannot be described to Athena from the settings given. */
export function exportTableSpec(config: Config, exportColumns?: ExportColumn[]): ExportTableSpec {
  const format = config.input.format;
  if (format === 'auto')
    throw new SettingsError(`${ATHENA} needs "input.format" set to "csv", "jsonl" or "parquet": the Glue table must name one SerDe`);
  const refs = mappedRefs(config);
  let columns: ExportColumn[];
  const serdeParameters: Record<string, string> = {};
  const tableParameters: Record<string, string> = {};

  if (format === 'csv') {
    const csv = config.input.csv;
    if (csv.delimiter === 'whitespace')
      throw new SettingsError(`${ATHENA}: Athena's CSV reader cannot split on runs of blanks ("input.csv.delimiter": "whitespace"); use engine "lambda" or a single-character delimiter`);
    if (exportColumns) {
      columns = exportColumns.map((c) => ({ name: c.name.toLowerCase(), type: 'string' }));
    } else if (refs.every((r) => typeof r === 'number')) {
      const n = Math.max(...(refs as number[])) + 1;
      columns = Array.from({ length: n }, (_, i) => ({ name: `col${i}`, type: 'string' }));
    } else {
      throw new SettingsError(
        `${ATHENA} with CSV input and named columns: give context "exportColumns", every column of the export in file order ` +
          `(e.g. ["customer_id","order_date","amount"]); Athena's CSV reader maps fields by position, not by header name`,
      );
    }
    // OpenCSVSerde reads every field as a string; the SQL casts (and rejects what does not parse).
    Object.assign(serdeParameters, { separatorChar: csv.delimiter, quoteChar: csv.quote, escapeChar: '\\' });
    if (csv.header) tableParameters['skip.header.line.count'] = '1';
  } else if (format === 'parquet') {
    if (!exportColumns || exportColumns.some((c) => typeof c.type !== 'string'))
      throw new SettingsError(
        `${ATHENA} with Parquet input: give context "exportColumns" with each column's type as written in the files ` +
          `(e.g. [{"name":"customer_id","type":"string"},{"name":"amount","type":"double"}]); Athena reads Parquet by name but needs the types`,
      );
    columns = exportColumns.map((c) => ({ name: c.name.toLowerCase(), type: c.type }));
  } else {
    // JSON Lines: the OpenX SerDe reads by key and converts scalars to the declared type; strings accept anything.
    columns = exportColumns
      ? exportColumns.map((c) => ({ name: c.name.toLowerCase(), type: c.type }))
      : [...new Set(refs.map(exportColumnName))].map((name) => ({ name, type: 'string' }));
    if (refs.some((r) => typeof r === 'number'))
      throw new SettingsError(`${ATHENA} with JSON Lines input: columns are keys, so the mapping must name them (no numeric indexes)`);
  }

  const names = new Set(columns.map((c) => c.name));
  if (names.size !== columns.length) throw new SettingsError('context "exportColumns": column names repeat (Glue names are case-insensitive)');
  const columnNames: Record<string, string> = {};
  for (const ref of refs) {
    const name = typeof ref === 'number' && format === 'csv' && exportColumns ? columns[ref]?.name : exportColumnName(ref);
    if (name === undefined || !names.has(name))
      throw new SettingsError(
        `config "input.columns" maps ${JSON.stringify(ref)}, which is not among the export's columns for Athena (${columns.map((c) => c.name).join(', ')})`,
      );
    columnNames[JSON.stringify(ref)] = name;
  }
  return { format, columns, serdeParameters, tableParameters, columnNames };
}
