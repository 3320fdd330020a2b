import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeParquet, encodeParquet, encodeParquetColumns } from '../lib/outputs/parquet.js';
import type { TableDef } from '../lib/outputs/schema.js';
import { duck } from './helpers/duckdb.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tailwatch-parquet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const table: TableDef = {
  name: 'customers',
  doc: 'test',
  columns: [
    { name: 's', type: 'string', doc: '' },
    { name: 'i', type: 'int', doc: '' },
    { name: 'b', type: 'bigint', doc: '' },
    { name: 'd', type: 'double', doc: '' },
    { name: 'day', type: 'date', doc: '' },
    { name: 'ok', type: 'boolean', doc: '' },
  ],
};
const rows = [
  { s: 'a', i: 1, b: 10, d: 1.5, day: '2024-02-29', ok: true },
  { s: '<b>é', i: -2, b: 2 ** 40, d: NaN, day: null, ok: false },
  { s: null, i: null, b: null, d: -0.25, day: '1970-01-01', ok: null },
  { s: 'x', i: 4, b: 4, d: Infinity, day: '2026-10-31', ok: true },
  { s: 'y', i: 5, b: 5, d: 5, day: '2000-01-01', ok: false },
];
// What any reader must see: non-finite numbers as null, dates as dates.
const expected = rows.map((r) => ({ ...r, d: Number.isFinite(r.d) ? r.d : null }));
const MS_PER_DAY = 86_400_000;

async function viaDuckdb(bytes: Uint8Array, name: string) {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  const db = await duck();
  const out = await db.query(`SELECT s, i, b, d, day, ok FROM read_parquet('${file}')`);
  db.close();
  return out.map((r) => ({ ...r, b: r.b === null ? null : Number(r.b) }));
}

describe('Parquet writers, read back by DuckDB and hyparquet', () => {
  it('row-wise (parquetjs-lite, V1 pages) keeps values, nulls and dates', async () => {
    const bytes = await encodeParquet(table, rows);
    expect(await viaDuckdb(bytes, 'rows.parquet')).toEqual(expected);
    expect((await decodeParquet(bytes)).map((r) => ({ ...r, b: r.b === null ? null : Number(r.b) }))).toEqual(expected);
  });

  it('column-wise in chunks (hyparquet-writer, one row group per chunk) gives the same table', async () => {
    const col = (k: keyof (typeof rows)[number], start: number, end: number) =>
      rows.slice(start, end).map((r) => (k === 'day' ? (r.day === null ? null : Date.parse(`${r.day}T00:00:00Z`) / MS_PER_DAY) : r[k]));
    const bytes = encodeParquetColumns(table, rows.length, (start, end) => Object.fromEntries(table.columns.map((c) => [c.name, col(c.name as never, start, end)])), 2);
    expect(await viaDuckdb(bytes, 'cols.parquet')).toEqual(expected);
    expect(() => encodeParquetColumns(table, 2, () => ({ s: ['a'] }))).toThrow(/customers\.s: expected 2 values, got 1/);
  });

  it('a column marked plain is stored PLAIN where the writer would have chosen a dictionary; clean and unclean number columns alike', async () => {
    const t: TableDef = {
      name: 'customers',
      doc: 'test',
      columns: [
        { name: 'rep', type: 'double', doc: '' },
        { name: 'rep_plain', type: 'double', doc: '', plain: true },
        { name: 'odd_plain', type: 'double', doc: '', plain: true },
      ],
    };
    const n = 3000;
    const rep = Array.from({ length: n }, (_, i) => [1.25, 2.5, null][i % 3]);
    const odd = rep.map((v, i) => (i % 7 === 0 ? NaN : v)); // not finite: copied with nulls
    const bytes = encodeParquetColumns(t, n, (a, b) => ({ rep: rep.slice(a, b), rep_plain: rep.slice(a, b), odd_plain: odd.slice(a, b) }), 1000);
    const file = path.join(dir, 'plain.parquet');
    writeFileSync(file, bytes);
    const db = await duck();
    const enc = await db.query(`SELECT path_in_schema AS c, string_agg(DISTINCT encodings, ';') AS e FROM parquet_metadata('${file}') GROUP BY 1 ORDER BY 1`);
    const read = await db.query(`SELECT rep, rep_plain, odd_plain FROM read_parquet('${file}')`);
    db.close();
    expect(enc).toEqual([
      { c: 'odd_plain', e: 'PLAIN' },
      { c: 'rep', e: 'PLAIN, RLE_DICTIONARY' },
      { c: 'rep_plain', e: 'PLAIN' },
    ]);
    expect(read).toEqual(rep.map((v, i) => ({ rep: v, rep_plain: v, odd_plain: i % 7 === 0 ? null : v })));
  });
});
