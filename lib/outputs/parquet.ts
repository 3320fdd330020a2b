/**
 * Parquet encoding of the output tables.
 *
 * Writer: parquetjs-lite with V1 data pages (`useDataPageV2: false`): Athena's reader has
 * had known problems with V2 pages, and hyparquet-writer only writes V2. Every table is read
 * back by DuckDB in the tests. Values are streamed row by row into row groups, so the
 * writer never holds the whole table as objects.
 */
import { Writable } from 'node:stream';
import parquet from 'parquetjs-lite';
import { parquetReadObjects } from 'hyparquet';
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
