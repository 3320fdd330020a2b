/**
 * The page-level Parquet decoder (lib/ingest/parquet-pages.ts) against hyparquet's generic
 * decoding of the same files: every row, reject (with its raw JSON), count and date bound must
 * be identical, for files written by DuckDB (V1 pages, dictionary and PLAIN, every codec) and by
 * hyparquet-writer (V2 pages, small pages, DELTA / BYTE_STREAM_SPLIT columns that fall back).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import parquet from 'parquetjs-lite';
import { PassThrough } from 'node:stream';
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ConfigInput } from '../lib/config.js';
import { readParquet } from '../lib/ingest/parquet.js';
import { FlatColumn, planOf, readHybrid, Unsupported } from '../lib/ingest/parquet-pages.js';
import { RowBuilder, slotRefs } from '../lib/ingest/rows.js';
import type { Reject, SalesRow } from '../lib/ingest/types.js';

const N = 6000;
let dir: string;
let db: DuckDBConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-pq-pages-'));
  db = await (await DuckDBInstance.create(':memory:')).connect();
  // every column has nulls or odd values somewhere; unique columns are PLAIN, repeating ones dictionary-encoded
  await db.run(`
    CREATE TABLE t AS
    SELECT
      CASE WHEN i % 101 = 3 THEN NULL WHEN i % 103 = 4 THEN '' WHEN i % 107 = 5 THEN '   '
           ELSE ['c1', ' Zoë ', 'ünï', '東京', 'c5 ', '😀x'][1 + (i * 7) % 6] END            AS cust,
      CASE WHEN i % 97 = 1 THEN NULL ELSE 'p' || i || 'é' END                                AS cust_plain,
      'o' || (i // 2)                                                                        AS oid,
      CASE WHEN i % 89 = 2 THEN NULL ELSE DATE '2021-01-01' + CAST((i * 37) % 900 AS INTEGER) END AS d,
      TIMESTAMP '2021-03-01' + to_seconds(CAST((i * 7777) % 40000000 AS BIGINT))            AS ts,
      CAST(TIMESTAMP '2021-03-01' + to_seconds(CAST((i * 7777) % 40000000 AS BIGINT)) AS TIMESTAMPTZ) AS tsz,
      CAST(TIMESTAMP '1969-12-31 23:00:00' + to_seconds(CAST((i * 7777) % 4000000 AS BIGINT)) AS TIMESTAMP_MS) AS ts_ms,
      CAST(TIMESTAMP '1969-12-31 23:00:00' + to_microseconds(CAST((i * 777777) % 4000000000 AS BIGINT)) AS TIMESTAMP_NS) AS ts_ns,
      CASE WHEN i % 83 = 7 THEN NULL WHEN i % 211 = 9 THEN 'NaN'::DOUBLE WHEN i % 223 = 9 THEN 'inf'::DOUBLE
           ELSE i * 1.37 - 3000 END                                                          AS amt,
      CASE WHEN i % 79 = 8 THEN NULL ELSE [1.5, -2.25, 0.1, 3][1 + i % 4] END                AS amt_dict,
      CAST(((i * 131) % 40000) / 100.0 - 20 AS DECIMAL(10,2))                                AS dec,
      CASE WHEN i % 71 = 1 THEN NULL ELSE CAST(((i * 131) % 40000) / 100.0 AS DECIMAL(7,2)) END AS dec7,
      CAST((i * 7919) % 100000 / 10000.0 AS DECIMAL(18,4))                                   AS dec18,
      CAST(i % 50 AS FLOAT) / 4                                                               AS f,
      CASE WHEN i >= 5000 AND i % 10 = 0 THEN 9007199254740993 + i ELSE CAST(i % 7 AS BIGINT) END AS big,
      CAST(i % 5 AS UINTEGER)                                                                AS ui,
      i % 3 = 0                                                                              AS flag,
      CAST(i % 300 AS SMALLINT)                                                              AS si,
      [' 12.5 ', 'abc', '1e3', '', '7', '-0.5'][1 + i % 6]                                   AS amt_txt,
      CASE WHEN i % 61 = 2 THEN NULL ELSE ['USD', 'usd', 'EUR', ' USD'][1 + i % 4] END      AS cur,
      CASE WHEN i % 59 = 1 THEN NULL ELSE ['EU', 'NA', '', 'APAC'][1 + i % 4] END          AS region,
      CAST(strftime(DATE '2021-01-01' + CAST((i * 37) % 900 AS INTEGER), '%Y%m%d') AS INTEGER) AS ymd,
      CAST('b' || (i % 9) AS BLOB)                                                           AS bl
    FROM range(${N}) r(i)`);
  for (const codec of ['zstd', 'snappy', 'gzip', 'uncompressed'])
    await db.run(`COPY t TO '${join(dir, `t-${codec}.parquet`)}' (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 1500)`);
}, 120_000);

afterAll(() => {
  db?.closeSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  rows: SalesRow[];
  rejects: Reject[];
  counts: unknown;
  minDay: number | null;
  maxDay: number | null;
  textCalls: number;
}

async function ingestWith(buf: Uint8Array, input: ConfigInput, generic: boolean, memoryLimit = 1 << 30): Promise<Outcome> {
  const config = parseConfig(input);
  const rows: SalesRow[] = [];
  const rejects: Reject[] = [];
  const builder = new RowBuilder(config, { onRow: (r) => rows.push(r), onReject: (r) => rejects.push(r), dedupe: true });
  let textCalls = 0;
  const setTextBytes = builder.setTextBytes.bind(builder);
  builder.setTextBytes = (slot, b, start, end) => {
    textCalls++;
    setTextBytes(slot, b, start, end);
  };
  async function* stream() {
    for (let i = 0; i < buf.byteLength; i += 7000) yield buf.subarray(i, i + 7000);
  }
  await readParquet('t.parquet', stream(), slotRefs(config), builder, { memoryLimit, progress: () => {}, generic });
  return { rows, rejects, counts: { ...builder.counts }, minDay: builder.minDay, maxDay: builder.maxDay, textCalls };
}

/** Both decodings agree; returns the fast one. */
async function same(buf: Uint8Array, input: ConfigInput): Promise<Outcome> {
  const slow = await ingestWith(buf, input, true);
  const fast = await ingestWith(buf, input, false);
  expect(slow.textCalls).toBe(0);
  expect({ ...fast, textCalls: 0 }).toEqual(slow);
  return fast;
}

const CONFIGS: [string, ConfigInput][] = [
  [
    'dictionary/PLAIN text with nulls, DATE, DOUBLE with NaN/inf, currency, dims',
    { input: { columns: { customerId: 'cust', orderDate: 'd', amount: 'amt', orderId: 'oid', margin: 'amt_dict', currency: 'cur', dimensions: ['region', 'cust_plain'] } } },
  ],
  ['TIMESTAMP, DECIMAL(10,2) on INT64, BLOB as text', { input: { columns: { customerId: 'cust_plain', orderDate: 'ts', amount: 'dec', dimensions: ['bl'] } } }],
  [
    'TIMESTAMPTZ in a zone, BIGINT beyond 2^53 x FLOAT, DECIMAL(18,4) cost',
    { timezone: 'America/Los_Angeles', input: { columns: { customerId: 'cust', orderDate: 'tsz', amount: null, quantity: 'big', unitPrice: 'f', cost: 'dec18' } } },
  ],
  ['TIMESTAMP_MS before 1970, text amounts, UINTEGER margin', { input: { columns: { customerId: 'oid', orderDate: 'ts_ms', amount: 'amt_txt', margin: 'ui' } } }],
  ['TIMESTAMP_NS, DECIMAL(7,2) on INT32 with nulls, BOOLEAN dim', { input: { columns: { customerId: 'region', orderDate: 'ts_ns', amount: 'dec7', dimensions: ['flag'] } } }],
  ['yyyyMMdd INTEGER dates, SMALLINT amounts, BIGINT customer ids', { input: { columns: { customerId: 'big', orderDate: 'ymd', amount: 'si', orderId: null }, dateFormat: 'yyyyMMdd' } }],
  ['numbers as order dates and text as amounts (rejects)', { input: { columns: { customerId: 'cust', orderDate: 'amt', amount: 'cust_plain' } } }],
];

describe('page-level decoding gives what hyparquet gives (DuckDB files)', () => {
  it('the files use both dictionary and PLAIN text pages', () => {
    const md = parquetMetadata(readFileSync(join(dir, 't-snappy.parquet')).buffer as ArrayBuffer);
    const enc = (name: string) => new Set(md.row_groups.flatMap((g) => g.columns.find((c) => c.meta_data?.path_in_schema[0] === name)!.meta_data!.encodings));
    expect(enc('cust').has('RLE_DICTIONARY') || enc('cust').has('PLAIN_DICTIONARY')).toBe(true);
    expect(enc('oid').has('RLE_DICTIONARY') || enc('oid').has('PLAIN_DICTIONARY')).toBe(false);
    expect(md.row_groups.length).toBeGreaterThan(2);
  });

  it.each(CONFIGS)('%s', async (_, input) => {
    const buf = readFileSync(join(dir, 't-snappy.parquet'));
    const fast = await same(buf, input);
    expect(fast.counts).toMatchObject({ read: N });
  });

  it('rejects carry the raw JSON of the mapped columns, nulls and INT64 as the generic path writes them', async () => {
    const buf = readFileSync(join(dir, 't-zstd.parquet'));
    const fast = await same(buf, CONFIGS[0][1]);
    expect(fast.textCalls).toBeGreaterThan(N);
    const missing = fast.rejects.find((r) => r.reason === 'missing customer id' && r.line === 4)!;
    expect(JSON.parse(missing.raw)).toMatchObject({ cust: null, cust_plain: 'p3é', amt: 3 * 1.37 - 3000, oid: 'o1' });
    const big = await same(buf, { input: { columns: { customerId: 'cust', orderDate: 'big', amount: 'amt' } } });
    expect(JSON.parse(big.rejects.find((r) => r.line === 5001)!.raw)).toMatchObject({ big: '9007199254745993' });
    expect(JSON.parse(big.rejects.find((r) => r.line === 2)!.raw)).toMatchObject({ big: '1' });
  });

  it.each(['zstd', 'gzip', 'uncompressed'])('%s, and spooled to a temporary file', async (codec) => {
    const buf = readFileSync(join(dir, `t-${codec}.parquet`));
    await same(buf, CONFIGS[0][1]);
    const spooled = await ingestWith(buf, CONFIGS[1][1], false, 10_000);
    expect(spooled.textCalls).toBeGreaterThan(N);
    expect({ ...spooled, textCalls: 0 }).toEqual(await ingestWith(buf, CONFIGS[1][1], true));
  });
});

describe('page-level decoding of hyparquet-writer files (DATA_PAGE_V2)', () => {
  const n = 3000;
  const cust = Array.from({ length: n }, (_, i) => (i % 13 === 0 ? null : i % 17 === 0 ? '' : `k${(i * 31) % 200}ß`));
  const uniq = Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : `u${i}`));
  const amount = Array.from({ length: n }, (_, i) => (i % 19 === 0 ? null : i * 0.25 - 100));
  const day = Array.from({ length: n }, (_, i) => (i % 23 === 0 ? null : 18_000 + ((i * 7) % 800)));
  const ts = Array.from({ length: n }, (_, i) => new Date(Date.UTC(2022, 0, 1) + i * 3_600_000 * 7));
  const qty = Array.from({ length: n }, (_, i) => (i % 29 === 0 ? null : BigInt(i % 9)));
  const write = (encodings: Record<string, string> = {}) =>
    new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'cust', data: cust, type: 'STRING' },
          { name: 'uniq', data: uniq, type: 'STRING', encoding: encodings.uniq as never },
          { name: 'amount', data: amount, type: 'DOUBLE', encoding: encodings.amount as never },
          { name: 'day', data: day, type: 'INT32' },
          { name: 'ts', data: ts, type: 'TIMESTAMP' },
          { name: 'qty', data: qty, type: 'INT64' },
        ],
        rowGroupSize: 1100,
        pageSize: 2000,
        codec: 'SNAPPY',
      }),
    );

  it('V2 pages, several pages a chunk, nulls, dictionary and PLAIN', async () => {
    const buf = write();
    const md = parquetMetadata(buf.buffer as ArrayBuffer);
    expect(md.row_groups.length).toBe(3);
    const fast = await same(buf, { input: { columns: { customerId: 'cust', orderDate: 'day', amount: 'amount', orderId: 'uniq', dimensions: ['uniq'] }, dateFormat: 'yyyyMMdd' } });
    expect(fast.textCalls).toBeGreaterThan(n);
    const b = await same(buf, { input: { columns: { customerId: 'uniq', orderDate: 'ts', amount: null, quantity: 'qty', unitPrice: 'amount' } } });
    expect(b.rows.length).toBeGreaterThan(1000);
  });

  it('DELTA_BYTE_ARRAY text and BYTE_STREAM_SPLIT doubles fall back to the generic decoder', async () => {
    const buf = write({ uniq: 'DELTA_BYTE_ARRAY', amount: 'BYTE_STREAM_SPLIT' });
    const fast = await same(buf, { input: { columns: { customerId: 'cust', orderDate: 'ts', amount: 'amount', dimensions: ['uniq'] } } });
    expect(fast.rows.length).toBeGreaterThan(1000);
  });
});

describe('page-level decoding of parquetjs-lite files (V1 pages, REQUIRED columns)', () => {
  it('required and optional columns, several row groups', async () => {
    const schema = new parquet.ParquetSchema({
      cust: { type: 'UTF8', compression: 'SNAPPY' },
      oid: { type: 'UTF8', optional: true, compression: 'SNAPPY' },
      day: { type: 'DATE', compression: 'SNAPPY' },
      amount: { type: 'DOUBLE', optional: true, compression: 'SNAPPY' },
      qty: { type: 'INT64', compression: 'SNAPPY' },
    });
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const writer = await parquet.ParquetWriter.openStream(schema, sink, { useDataPageV2: false, rowGroupSize: 700 });
    for (let i = 0; i < 2000; i++)
      await writer.appendRow({
        cust: i % 31 === 0 ? ' ' : `c${(i * 13) % 97} ñ`,
        oid: i % 7 === 0 ? null : `o${i}`,
        day: new Date(Date.UTC(2023, 0, 1 + (i % 400))),
        amount: i % 11 === 0 ? null : i / 8 - 50,
        qty: i % 5,
      });
    await writer.close();
    const buf = new Uint8Array(Buffer.concat(chunks));
    const md = parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
    expect(md.schema.find((e) => e.name === 'cust')?.repetition_type).toBe('REQUIRED');
    expect(md.row_groups.length).toBeGreaterThan(1);
    const fast = await same(buf, { input: { columns: { customerId: 'cust', orderDate: 'day', amount: 'amount', orderId: 'oid', margin: 'qty' } } });
    expect(fast.textCalls).toBeGreaterThan(2000);
    expect(fast.rows.length).toBeGreaterThan(1000);
    await same(buf, { input: { columns: { customerId: 'oid', orderDate: 'day', amount: null, quantity: 'qty', unitPrice: 'amount', dimensions: ['cust'] } } });
  });
});

describe('readHybrid', () => {
  // an independent encoder: runs of RLE and bit-packed groups, LSB first, as the Parquet spec says
  function encode(runs: { rle: boolean; values: number[] }[], width: number): Uint8Array {
    const out: number[] = [];
    const varint = (v: number) => {
      while (v >= 128) {
        out.push((v % 128) | 128);
        v = Math.floor(v / 128);
      }
      out.push(v);
    };
    for (const r of runs) {
      if (r.rle) {
        varint(r.values.length * 2);
        for (let i = 0; i < (width + 7) >> 3; i++) out.push(Math.floor(r.values[0] / 2 ** (8 * i)) & 255);
      } else {
        const groups = Math.ceil(r.values.length / 8);
        varint(groups * 2 + 1);
        const bits: number[] = [];
        for (let i = 0; i < groups * 8; i++) for (let k = 0; k < width; k++) bits.push(Math.floor((r.values[i] ?? 0) / 2 ** k) & 1);
        for (let i = 0; i < bits.length; i += 8) out.push(bits.slice(i, i + 8).reduce((a, b, k) => a | (b << k), 0));
      }
    }
    return new Uint8Array(out);
  }

  it.each([1, 2, 3, 7, 8, 9, 13, 16, 17, 20, 24])('width %i: the values encoded, as hyparquet decodes them', (width) => {
    let seed = width * 7919;
    const rnd = (m: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % m;
    };
    const runs: { rle: boolean; values: number[] }[] = [];
    const all: number[] = [];
    for (let r = 0; r < 40; r++) {
      const len = 1 + rnd(70);
      const rle = rnd(2) === 0;
      const v = rnd(2 ** width);
      const values = Array.from({ length: len }, () => (rle ? v : rnd(2 ** width)));
      runs.push({ rle, values });
      // a bit-packed run pads to groups of 8; only the last run's padding is beyond n
      all.push(...values, ...(rle ? [] : Array<number>((8 - (len % 8)) % 8).fill(0)));
    }
    const bytes = encode(runs, width);
    const out = new Int32Array(all.length);
    expect(readHybrid(bytes, 0, bytes.length, width, out, all.length)).toBe(bytes.length);
    expect(Array.from(out)).toEqual(all);
    const ref = new Array<number>(all.length);
    readRleBitPackedHybrid({ view: new DataView(bytes.buffer), offset: 0 }, width, ref, bytes.length);
    expect(Array.from(out)).toEqual(ref);
    expect(() => readHybrid(bytes, 0, bytes.length - 3, width, new Int32Array(all.length), all.length)).toThrow();
  });

  it('widths over 24 bits and unusual column types are left to the generic decoder', () => {
    expect(() => readHybrid(new Uint8Array(8), 0, 8, 25, new Int32Array(1), 1)).toThrow(Unsupported);
    expect(planOf({ name: 'b', type: 'BOOLEAN' })).toBeNull();
    expect(planOf({ name: 'x', type: 'INT96' })).toBeNull();
    expect(planOf({ name: 'u', type: 'INT32', converted_type: 'UINT_32' })).toBeNull();
    expect(planOf({ name: 'j', type: 'BYTE_ARRAY', converted_type: 'JSON' })).toBeNull();
    expect(planOf({ name: 'd', type: 'FIXED_LEN_BYTE_ARRAY', converted_type: 'DECIMAL', scale: 2, precision: 20 })).toBeNull();
    expect(planOf({ name: 's', type: 'BYTE_ARRAY', converted_type: 'UTF8' })?.kind).toBe(0);
    expect(() => new FlatColumn('b', 'BOOLEAN', null, 1).read(new ArrayBuffer(0), 'UNCOMPRESSED', {}, 0)).toThrow(Unsupported);
  });
});
