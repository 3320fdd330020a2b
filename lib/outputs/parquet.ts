/**
 * Parquet encoding of the output tables. Every table is read back by DuckDB in the tests.
 *
 * Writers, chosen by measurement (README "Performance"):
 * - the small tables (cohorts, segments, periods, trends, alerts; thousands of rows) by
 *   parquetjs-lite with V1 data pages (`useDataPageV2: false`; V2 pages are a known Athena
 *   problem), streamed row by row;
 * - the large `customers` table (one row per customer) by hyparquet-writer from columns:
 *   parquetjs-lite takes 84 s per million customer rows here, hyparquet-writer 4.9 s.
 */
import { Writable } from 'node:stream';
import parquet from 'parquetjs-lite';
import { parquetReadObjects } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { compressors } from 'hyparquet-compressors';
import type { ColumnType, Row, TableDef } from './schema.js';

const FIELD_TYPE: Record<ColumnType, 'UTF8' | 'INT32' | 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'DATE'> = {
  string: 'UTF8',
  int: 'INT32',
  bigint: 'INT64',
  double: 'DOUBLE',
  date: 'DATE',
  boolean: 'BOOLEAN',
};

const MS_PER_DAY = 86_400_000;

function toParquetValue(type: ColumnType, v: Row[string]): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number' && !Number.isFinite(v)) return undefined; // never write NaN
  switch (type) {
    case 'date':
      return Math.round(Date.parse(`${String(v)}T00:00:00Z`) / MS_PER_DAY);
    case 'int':
    case 'bigint':
      return Math.round(Number(v));
    case 'double':
      return Number(v);
    case 'boolean':
      return Boolean(v);
    default:
      return String(v);
  }
}

/** Encodes rows (any iterable, consumed once) as one Parquet file. */
export async function encodeParquet(table: TableDef, rows: Iterable<Row>): Promise<Uint8Array> {
  const fields: Record<string, { type: (typeof FIELD_TYPE)[ColumnType]; optional: boolean; compression: 'SNAPPY' }> = {};
  for (const c of table.columns) fields[c.name] = { type: FIELD_TYPE[c.type], optional: true, compression: 'SNAPPY' };
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  const writer = await parquet.ParquetWriter.openStream(new parquet.ParquetSchema(fields), sink, {
    useDataPageV2: false,
    rowGroupSize: 50_000,
  });
  for (const row of rows) {
    const rec: Record<string, unknown> = {};
    for (const c of table.columns) {
      const v = toParquetValue(c.type, row[c.name]);
      if (v !== undefined) rec[c.name] = v;
    }
    await writer.appendRow(rec);
  }
  await writer.close();
  return new Uint8Array(Buffer.concat(chunks));
}

/** Reads a Parquet file (ours or anyone's) into plain objects; dates become "YYYY-MM-DD". */
export async function decodeParquet(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({ file, compressors })) as Record<string, unknown>[];
  for (const r of rows)
    for (const [k, v] of Object.entries(r)) if (v instanceof Date) r[k] = v.toISOString().slice(0, 10);
  return rows;
}

/** Column values for `encodeParquetColumns`: null where undefined; dates as day numbers. */
export type ColumnValues = (string | number | boolean | null)[];

const ELEMENT: Record<ColumnType, { type: 'BYTE_ARRAY' | 'INT32' | 'INT64' | 'DOUBLE' | 'BOOLEAN'; converted_type?: 'UTF8' | 'DATE' }> = {
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  int: { type: 'INT32' },
  bigint: { type: 'INT64' },
  double: { type: 'DOUBLE' },
  date: { type: 'INT32', converted_type: 'DATE' },
  boolean: { type: 'BOOLEAN' },
};

/**
 * Whether every value is null or a finite number, so the column goes to the writer as it is: a
 * copy of each number column made ~1 s of garbage and work in the bench's 1M-row table (issue 8).
 */
function finiteOrNull(values: ColumnValues): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && !(typeof v === 'number' && Number.isFinite(v))) return false;
  }
  return true;
}

/**
 * Encodes a table given as columns, produced `chunkRows` rows at a time by `chunk(start, end)`
 * (one array per column, end - start values each), one row group per chunk: the table is never
 * held as values whole (1M customers x 20 columns as JS values would be most of a gigabyte).
 * Row groups of 50,000 rows: at 200,000 a chunk's boxed values cost ~70 MB more at the peak, and at
 * 100,000 the 10M-row Parquet run peaked at 869-927 MB against 845-860 MB now (outputs stage, same time).
 * Dates are day numbers (days since 1970-01-01); non-finite numbers are written as null.
 */
export function encodeParquetColumns(
  table: TableDef,
  n: number,
  chunk: (start: number, end: number) => Record<string, ColumnValues>,
  chunkRows = 50_000,
): Uint8Array {
  const schema = [
    { name: 'root', num_children: table.columns.length },
    ...table.columns.map((c) => ({ name: c.name, repetition_type: 'OPTIONAL' as const, ...ELEMENT[c.type] })),
  ];
  // sized for ~48 bytes a row (the bench's 1M customers: 47.5 MB), so the buffer seldom doubles
  // (old and new copies held at once), and handed out as a view, not a copy (issue 8: peak RSS)
  const writer = new ByteWriter(Math.max(1024, n * 48));
  const pq = new ParquetWriter({ writer, schema });
  for (let start = 0; start < n || (n === 0 && start === 0); start += chunkRows) {
    const end = Math.min(n, start + chunkRows);
    const columns = chunk(start, end);
    const columnData = table.columns.map((c) => {
      const values = columns[c.name];
      if (!values || values.length !== end - start) throw new Error(`${table.name}.${c.name}: expected ${end - start} values, got ${values?.length ?? 'none'}`);
      const data =
        c.type === 'bigint'
          ? values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? BigInt(Math.round(v)) : null))
          : c.type === 'string' || c.type === 'boolean' || finiteOrNull(values)
            ? values
            : values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null));
      return c.plain ? { name: c.name, data, encoding: 'PLAIN' as const } : { name: c.name, data };
    });
    pq.write({ columnData, rowGroupSize: chunkRows });
    if (n === 0) break;
  }
  pq.finish();
  return writer.getBytes();
}
