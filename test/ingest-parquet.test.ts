/**
 * Parquet exports written by an independent writer (DuckDB), read back by ingest and compared
 * value by value with what DuckDB itself reads from the same file.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestError } from '../lib/ingest/index.js';
import { balanced, memFile, run } from './fixtures/ingest/helpers.js';

const N = 5000;
let dir: string;
let db: DuckDBConnection;

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-ingest-pq-'));
  db = await (await DuckDBInstance.create(':memory:')).connect();
  // deterministic synthetic export: ids repeat (dictionary-encoded columns), a few bad rows
  await db.run(`
    CREATE TABLE t AS
    SELECT
      'o' || (i // 2)                                           AS order_id,
      CASE WHEN i % 997 = 5 THEN NULL ELSE 'c' || lpad(CAST((i * 7919) % 613 AS VARCHAR), 4, '0') END AS customer_id,
      DATE '2021-01-01' + CAST((i * 37) % 900 AS INTEGER)          AS order_date,
      TIMESTAMP '2021-03-01 00:00:00' + to_seconds(CAST((i * 7777) % 40000000 AS BIGINT)) AS ts,
      CAST(TIMESTAMP '2021-03-01 00:00:00' + to_seconds(CAST((i * 7777) % 40000000 AS BIGINT)) AS TIMESTAMPTZ) AS tstz,
      CAST(((i * 131) % 40000) / 100.0 - 20 AS DECIMAL(10,2))    AS amount,
      ((i * 131) % 40000) / 100.0 - 20                          AS amount_d,
      CAST(i % 5 AS BIGINT)                                     AS qty,
      ['EU','NA','APAC'][1 + i % 3]                             AS region,
      CAST(strftime(DATE '2021-01-01' + CAST((i * 37) % 900 AS INTEGER), '%Y%m%d') AS INTEGER) AS ymd
    FROM range(${N}) r(i)`);
  for (const codec of ['zstd', 'snappy', 'gzip'])
    await db.run(`COPY t TO '${join(dir, `x-${codec}.parquet`)}' (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 1024)`);
}, 120_000);

afterAll(() => {
  db?.closeSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const base = { input: { columns: { orderId: 'order_id', dimensions: ['region'] } } };

describe('Parquet written by DuckDB', () => {
  it.each(['zstd', 'snappy', 'gzip'])('%s: every row reads back as DuckDB reads it', async (codec) => {
    const path = join(dir, `x-${codec}.parquet`);
    const r = await run([memFile(path, readFileSync(path), 65536)], base);
    expect(balanced(r)).toBe(true);
    const ref = await rows(`
      SELECT customer_id, CAST(order_date - DATE '1970-01-01' AS INTEGER) AS day, CAST(amount AS DOUBLE) AS amount, order_id, region
      FROM '${path}' WHERE customer_id IS NOT NULL`);
    expect(r.rows).toEqual({ read: N, accepted: ref.length, rejected: N - ref.length, ignored: 0, duplicates: 0 });
    expect(r.accepted.map((x) => [x.customerId, x.day, x.amount, x.orderId, x.dims[0]])).toEqual(
      ref.map((x) => [x.customer_id, x.day, x.amount, x.order_id, x.region]),
    );
    // rejects carry the 1-based row number and the column name
    expect(r.rejects.map((x) => [x.line, x.column, x.reason])).toEqual(
      Array.from({ length: N }, (_, i) => i)
        .filter((i) => i % 997 === 5)
        .map((i) => [i + 1, 'customer_id', 'missing customer id']),
    );
    expect(r.files[0]).toMatchObject({ format: 'parquet', compressed: false, rows: N });
  });

  it('TIMESTAMP (no zone) is local wall time; TIMESTAMPTZ is an instant converted to config.timezone', async () => {
    const path = join(dir, 'x-zstd.parquet');
    const buf = readFileSync(path);
    const local = await run([memFile(path, buf)], { input: { columns: { orderDate: 'ts' } } });
    const refLocal = await rows(`SELECT CAST(CAST(ts AS DATE) - DATE '1970-01-01' AS INTEGER) AS day FROM '${path}' WHERE customer_id IS NOT NULL`);
    expect(local.accepted.map((x) => x.day)).toEqual(refLocal.map((x) => x.day));

    const tz = 'America/Los_Angeles';
    const zoned = await run([memFile(path, buf)], { timezone: tz, input: { columns: { orderDate: 'tstz' } } });
    const ms = await rows(`SELECT epoch_ms(tstz) AS ms FROM '${path}' WHERE customer_id IS NOT NULL`);
    const fmt = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    const expected = ms.map((x) => {
      const s = fmt.format(new Date(Number(x.ms)));
      return Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10)) / 86_400_000;
    });
    expect(zoned.accepted.map((x) => x.day)).toEqual(expected);
    expect(zoned.accepted.some((x, i) => x.day !== local.accepted[i].day)).toBe(true); // the zone mattered
  });

  it('DOUBLE amounts, BIGINT quantities x DECIMAL prices, INTEGER yyyyMMdd dates, columns by index', async () => {
    const path = join(dir, 'x-snappy.parquet');
    const buf = readFileSync(path);
    const a = await run([memFile(path, buf)], { input: { columns: { amount: 'amount_d' } } });
    const b = await run([memFile(path, buf)], { input: { columns: { amount: null, quantity: 'qty', unitPrice: 'amount' } } });
    const ref = await rows(`SELECT amount_d, CAST(qty AS DOUBLE) * CAST(amount AS DOUBLE) AS q FROM '${path}' WHERE customer_id IS NOT NULL`);
    expect(a.accepted.map((x) => x.amount)).toEqual(ref.map((x) => x.amount_d));
    expect(b.accepted.map((x) => x.amount)).toEqual(ref.map((x) => x.q));
    const c = await run([memFile(path, buf)], { input: { columns: { orderDate: 'ymd' }, dateFormat: 'yyyyMMdd' } });
    const d = await run([memFile(path, buf)], { input: { columns: { customerId: 1, orderDate: 2, amount: 5 } } });
    const plain = await run([memFile(path, buf)]);
    expect(c.accepted.map((x) => x.day)).toEqual(plain.accepted.map((x) => x.day));
    expect(d.accepted).toEqual(plain.accepted);
  });

  it('spools a large file to a temporary file (and removes it), gzip around Parquet works', async () => {
    const path = join(dir, 'x-gzip.parquet');
    const buf = readFileSync(path);
    const spoolDir = mkdtempSync(join(tmpdir(), 'tw-spool-'));
    const inMem = await run([memFile(path, buf)], base);
    const { ingest } = await import('../lib/ingest/index.js');
    const { parseConfig } = await import('../lib/config.js');
    const spilled: unknown[] = [];
    await ingest([memFile(path, buf, 4096)], parseConfig(base), { onRow: (x) => spilled.push(x), parquetMemoryLimit: 10_000, tmpDir: spoolDir });
    expect(spilled).toEqual(inMem.accepted);
    expect(readdirSync(spoolDir)).toEqual([]);
    rmSync(spoolDir, { recursive: true });
    const gz = await run([memFile('x.parquet.gz', gzipSync(buf))], base);
    expect(gz.accepted).toEqual(inMem.accepted);
    expect(gz.files[0]).toMatchObject({ format: 'parquet', compressed: true });
  });

  it('rows read in place from their columns equal the row path, on values that need the row path', async () => {
    // every kind of value processColumns hands back: nulls, padded and non-ASCII text, non-finite
    // and unparsable numbers, another currency, blank margins, empty order ids, duplicates
    const path = join(dir, 'edge.parquet');
    await db.run(`
      COPY (SELECT
        CASE WHEN i % 41 = 0 THEN NULL WHEN i % 13 = 0 THEN '  c' || (i % 50) || ' ' WHEN i % 17 = 0 THEN 'é' || (i % 50) WHEN i % 43 = 0 THEN '   ' ELSE 'c' || (i % 50) END AS customer_id,
        CASE WHEN i % 37 = 0 THEN NULL ELSE DATE '2022-01-01' + CAST(i % 400 AS INTEGER) END AS order_date,
        CASE WHEN i % 31 = 0 THEN NULL WHEN i % 29 = 0 THEN 'nan'::DOUBLE WHEN i % 23 = 0 THEN 'inf'::DOUBLE ELSE ((i * 37) % 5000) / 100.0 - 5 END AS amount,
        CASE WHEN i % 19 = 0 THEN ' 12.50 ' WHEN i % 53 = 0 THEN '1e3' WHEN i % 59 = 0 THEN 'x' WHEN i % 61 = 0 THEN '' ELSE CAST(((i * 11) % 900) / 100.0 AS VARCHAR) END AS amount_t,
        CASE WHEN i % 47 = 0 THEN NULL WHEN i % 11 = 0 THEN ' ' || strftime(DATE '2022-01-01' + CAST(i % 400 AS INTEGER), '%Y-%m-%d') WHEN i % 67 = 0 THEN '2022-02-30' ELSE strftime(DATE '2022-01-01' + CAST(i % 400 AS INTEGER), '%Y-%m-%d') END AS date_t,
        CASE WHEN i % 7 = 0 THEN NULL WHEN i % 9 = 0 THEN 'nan'::DOUBLE ELSE i / 100.0 END AS margin,
        CASE WHEN i % 5 = 0 THEN NULL WHEN i % 6 = 0 THEN '  ' WHEN i % 71 = 0 THEN 'abc' ELSE CAST(i / 10 AS VARCHAR) END AS margin_t,
        CASE WHEN i % 8 = 0 THEN NULL WHEN i % 14 = 0 THEN '' WHEN i % 73 = 0 THEN 'ordé' ELSE ' o' || (i // 3) END AS order_id,
        CASE WHEN i % 27 = 0 THEN 'eur' WHEN i % 33 = 0 THEN NULL WHEN i % 34 = 0 THEN ' usd ' ELSE 'USD' END AS currency,
        CASE WHEN i % 21 = 0 THEN NULL WHEN i % 22 = 0 THEN ' EU ' WHEN i % 79 = 0 THEN 'Ünïcode' ELSE ['EU','NA','APAC'][1 + i % 3] END AS region
      FROM range(3000) r(i), range(2) dup(j) ORDER BY i, j) TO '${path}' (FORMAT parquet, ROW_GROUP_SIZE 700)`);
    const buf = readFileSync(path);
    const columns = { orderId: 'order_id', margin: 'margin', currency: 'currency', dimensions: ['region'] };
    for (const cols of [columns, { ...columns, amount: 'amount_t', orderDate: 'date_t', margin: 'margin_t' }]) {
      const inPlace = await run([memFile(path, buf)], { input: { columns: cols } });
      const byRow = await run([memFile(path, buf)], { input: { columns: cols } }, { parquetColumnPath: false });
      expect(balanced(inPlace)).toBe(true);
      expect(inPlace.rows).toEqual(byRow.rows);
      expect(inPlace.accepted).toEqual(byRow.accepted);
      expect(inPlace.rejects).toEqual(byRow.rejects);
      // the orders each row starts (the order-id hashes) and the customer keys, too
      const orders = async (parquetColumnPath: boolean) => {
        const out: string[] = [];
        const { ingest } = await import('../lib/ingest/index.js');
        const { parseConfig } = await import('../lib/config.js');
        await ingest([memFile(path, buf)], parseConfig({ input: { columns: cols } }), {
          parquetColumnPath,
          onAccepted: (r) => out.push(`${r.customerKey}/${r.hasOrder}/${r.orderHash}/${r.newOrder}`),
        });
        return out;
      };
      const a = await orders(true);
      expect(a.filter((x) => x.endsWith('/true')).length).toBeGreaterThan(100);
      expect(a).toEqual(await orders(false));
      // the file exercises accepted rows, rejects of several columns and duplicates
      expect(inPlace.rows.duplicates).toBeGreaterThan(1000);
      expect(new Set(inPlace.rejects.map((r) => r.column)).size).toBeGreaterThanOrEqual(4);
    }
  });

  it('truncated or corrupt Parquet, and a missing column, are IngestErrors naming the file', async () => {
    const path = join(dir, 'x-zstd.parquet');
    const buf = readFileSync(path);
    await expect(run([memFile('s3://b/cut.parquet', buf.subarray(0, buf.length - 100))])).rejects.toThrow(/^s3:\/\/b\/cut\.parquet: truncated Parquet file/);
    const corrupt = Buffer.from(buf);
    corrupt.fill(0x55, 200, 2000);
    await expect(run([memFile('bad.parquet', corrupt)], base)).rejects.toThrow(IngestError);
    await expect(run([memFile('m.parquet', buf)], { input: { columns: { amount: 'revenue' } } })).rejects.toThrow(
      /^m\.parquet: column "revenue" \(input\.columns\.amount\) not found; the file has "order_id", "customer_id"/,
    );
  });
});
