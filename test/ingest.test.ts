import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isoToDay } from '../lib/dates.js';
import { csvCell, formatFromName, ingest, IngestError, rejectsCsv } from '../lib/ingest/index.js';
import { parseNumber } from '../lib/ingest/numbers.js';
import { fastrange, slotsFor } from '../lib/ingest/slots.js';
import { parseConfig } from '../lib/config.js';
import { balanced, chunkedFile, memFile, run } from './fixtures/ingest/helpers.js';

const cdnowDir = new URL('./fixtures/cdnow/', import.meta.url);
const example = (n: string) => JSON.parse(readFileSync(new URL(`../examples/${n}.json`, import.meta.url), 'utf8'));
const day = (iso: string): number => isoToDay(iso)!;

const HDR = 'customer_id,order_date,amount\n';

describe('CDNOW through config alone', () => {
  it('master: 69,659 rows, 23,570 customers, $2,500,315.63', async () => {
    const buf = readFileSync(new URL('CDNOW_master.txt', cdnowDir));
    const r = await run([memFile('CDNOW_master.txt', buf, 65536)], example('cdnow-master'));
    expect(r.rows).toEqual({ read: 69659, accepted: 69659, rejected: 0, ignored: 0, duplicates: 0 });
    expect(new Set(r.accepted.map((x) => x.customerId)).size).toBe(23570);
    expect(r.accepted.reduce((s, x) => s + Math.round(x.amount * 100), 0)).toBe(250031563);
    expect(r.minDay).toBe(day('1997-01-01'));
    expect(r.maxDay).toBe(day('1998-06-30'));
    expect(r.accepted[0]).toEqual({ customerId: '00001', day: day('1997-01-01'), amount: 11.77, orderId: null, margin: null, dims: [] });
    // 80 zero-dollar transactions are purchases, kept (README facts)
    expect(r.accepted.filter((x) => x.amount === 0).length).toBe(80);
    expect(r.files).toEqual([{ name: 'CDNOW_master.txt', size: buf.byteLength, format: 'csv', compressed: false, rows: 69659 }]);
  });

  it('sample: 6,919 rows, 2,357 customers, $244,091.94, ids from column 1', async () => {
    const buf = readFileSync(new URL('CDNOW_sample.txt', cdnowDir));
    const r = await run([memFile('CDNOW_sample.txt', buf, 4096)], example('cdnow-sample'));
    expect(r.rows).toEqual({ read: 6919, accepted: 6919, rejected: 0, ignored: 0, duplicates: 0 });
    expect(new Set(r.accepted.map((x) => x.customerId)).size).toBe(2357);
    expect(r.accepted.reduce((s, x) => s + Math.round(x.amount * 100), 0)).toBe(24409194);
    expect(r.accepted[0]).toMatchObject({ customerId: '00004', day: day('1997-01-01'), amount: 29.33 });
    // calibration/holdout split from the README: 4,960 rows up to 1997-09-30
    expect(r.accepted.filter((x) => x.day <= day('1997-09-30')).length).toBe(4960);
  });

  it('the master file gzipped and with an as-of date: later rows are counted as ignored', async () => {
    const buf = gzipSync(readFileSync(new URL('CDNOW_master.txt', cdnowDir)));
    const r = await run([memFile('CDNOW_master.txt.gz', buf, 10000)], example('cdnow-master'), { asOfDay: day('1997-09-30') });
    expect(r.rows).toEqual({ read: 69659, accepted: 49086, rejected: 0, ignored: 20573, duplicates: 0 });
    expect(r.files[0].compressed).toBe(true);
  });
});

describe('reject reasons (file, 1-based line, column, reason)', () => {
  const cfg = { input: { columns: { orderId: 'order_id', currency: 'currency' } } };
  const csv =
    'order_id,customer_id,order_date,amount,currency\n' + // line 1
    'o1,c1,2024-01-05,12.50,USD\n' + // 2 ok
    'o2,,2024-01-05,3,USD\n' + // 3 missing customer
    'o3,c3,2024-13-05,3,USD\n' + // 4 unparseable/impossible date
    'o4,c4,2024-02-30,3,USD\n' + // 5 impossible date
    'o5,c5,,3,USD\n' + // 6 missing date
    'o6,c6,2024-01-05,abc,USD\n' + // 7 non-numeric
    'o7,c7,2024-01-05,"1,234.50",USD\n' + // 8 thousands separator
    'o8,c8,2024-01-05,"1.234,50",USD\n' + // 9 decimal comma
    'o9,c9,2024-01-05,$12,USD\n' + // 10 currency symbol
    'o10,c10,2024-01-05,NaN,USD\n' + // 11
    'o11,c11,2024-01-05,Infinity,USD\n' + // 12
    'o12,c12,2024-01-05,5,EUR\n' + // 13 other currency
    'o13,c13,2024-01-05,5\n' + // 14 wrong field count
    'o14,c14,2024-01-05,5,USD,extra\n' + // 15 wrong field count
    'o15,c15,2024-01-05,-3,usd\n' + // 16 ok (refund, currency case-insensitive)
    'o16,c16,2024-01-05,,USD\n' + // 17 missing amount
    'o17,"c17"x,2024-01-05,1,USD\n' + // 18 malformed quoting
    'o18,c18,2024-01-05,1e400,USD\n'; // 19 out of range

  it('each bad row is rejected with its reason and nothing is dropped', async () => {
    const r = await run([memFile('s3://b/export.csv', csv)], cfg);
    expect(balanced(r)).toBe(true);
    expect(r.rows).toEqual({ read: 18, accepted: 2, rejected: 16, ignored: 0, duplicates: 0 });
    expect(r.accepted.map((x) => [x.orderId, x.amount])).toEqual([
      ['o1', 12.5],
      ['o15', -3],
    ]);
    const by = Object.fromEntries(r.rejects.map((x) => [x.line, x]));
    expect(r.rejects.every((x) => x.file === 's3://b/export.csv')).toBe(true);
    expect(by[3]).toMatchObject({ column: 'customer_id', reason: 'missing customer id', raw: 'o2,,2024-01-05,3,USD' });
    expect(by[4]).toMatchObject({ column: 'order_date', reason: 'impossible date "2024-13-05"' });
    expect(by[5]).toMatchObject({ column: 'order_date', reason: 'impossible date "2024-02-30"' });
    expect(by[6]).toMatchObject({ column: 'order_date', reason: 'missing order date' });
    expect(by[7]).toMatchObject({ column: 'amount', reason: 'non-numeric amount "abc"' });
    expect(by[8].reason).toMatch(/^non-numeric amount "1,234.50": ambiguous thousands separator/);
    expect(by[9].reason).toMatch(/^non-numeric amount "1.234,50": decimal comma/);
    expect(by[10].reason).toMatch(/^non-numeric amount "\$12": currency symbol/);
    expect(by[11].reason).toMatch(/"NaN": not a finite number/);
    expect(by[12].reason).toMatch(/"Infinity": not a finite number/);
    expect(by[13]).toMatchObject({ column: 'currency', reason: "currency EUR differs from the run's currency USD" });
    expect(by[14]).toMatchObject({ column: null, reason: 'wrong field count: expected 5 fields, found 4' });
    expect(by[15]).toMatchObject({ column: null, reason: 'wrong field count: expected 5 fields, found 6' });
    expect(by[17]).toMatchObject({ column: 'amount', reason: 'missing amount' });
    expect(by[18]).toMatchObject({ column: null, reason: 'malformed CSV: text after a closing quote' });
    expect(by[19].reason).toMatch(/"1e400": out of range/);
  });

  it('gives the same result whatever the chunking (1-byte chunks, odd sizes)', async () => {
    const whole = await run([memFile('a.csv', csv)], cfg);
    for (const sizes of [[1], [3, 7, 1, 64], [1000]]) {
      const r = await run([chunkedFile('a.csv', Buffer.from(csv), sizes)], cfg);
      expect(r.rows).toEqual(whole.rows);
      expect(r.rejects).toEqual(whole.rejects);
      expect(r.accepted).toEqual(whole.accepted);
    }
  });

  it('quantity x unit price when amount is not mapped', async () => {
    const r = await run(
      [memFile('q.csv', 'customer_id,order_date,qty,price\na,2024-01-01,3,2.50\nb,2024-01-01,x,2\nc,2024-01-01,2,\nd,2024-01-01,-1,4\n')],
      { input: { columns: { amount: null, quantity: 'qty', unitPrice: 'price' } } },
    );
    expect(r.accepted.map((x) => [x.customerId, x.amount])).toEqual([
      ['a', 7.5],
      ['d', -4],
    ]);
    expect(r.rejects.map((x) => [x.line, x.column, x.reason])).toEqual([
      [3, 'qty', 'non-numeric quantity "x"'],
      [4, 'price', 'missing unit price'],
    ]);
  });

  it('margin column, or amount - cost; empty margin is null', async () => {
    const m = await run([memFile('m.csv', HDR.trim() + ',margin\na,2024-01-01,10,4\nb,2024-01-01,10,\nc,2024-01-01,10,x\n')], {
      input: { columns: { margin: 'margin' } },
    });
    expect(m.accepted.map((x) => x.margin)).toEqual([4, null]);
    expect(m.rejects[0]).toMatchObject({ line: 4, column: 'margin', reason: 'non-numeric margin "x"' });
    const c = await run([memFile('c.csv', HDR.trim() + ',cost\na,2024-01-01,10,4\n')], { input: { columns: { cost: 'cost' } } });
    expect(c.accepted[0].margin).toBe(6);
  });

  it('dimensions are kept in order, trimmed, empty as ""', async () => {
    const r = await run([memFile('d.csv', HDR.trim() + ',region,channel\na,2024-01-01,1, EU ,\n')], {
      input: { columns: { dimensions: ['channel', 'region'] } },
    });
    expect(r.accepted[0].dims).toEqual(['', 'EU']);
  });

  it('rows after the as-of day are valid but ignored; invalid ones are still rejected', async () => {
    const r = await run([memFile('a.csv', HDR + 'a,2024-01-01,1\nb,2024-02-01,1\nc,2024-02-30,1\n')], {}, { asOfDay: day('2024-01-15') });
    expect(r.rows).toEqual({ read: 3, accepted: 1, rejected: 1, ignored: 1, duplicates: 0 });
    expect(r.maxDay).toBe(day('2024-01-01'));
  });
});

describe('dimensions', () => {
  it("carry each row's values, whether the value keys are small (an array of tuples) or not (a map)", async () => {
    const lines = Array.from({ length: 120 }, (_, i) => `c${i % 7},2024-01-01,1,r${(i * 7) % 40},ch${i % 3},t${i % 20}`);
    const body = 'customer_id,order_date,amount,region,channel,team\n' + lines.join('\n') + '\n';
    for (const dims of [['region', 'channel'], ['channel'], ['channel', 'team', 'region'], ['region', 'channel', 'team', 'channel']]) {
      const r = await run([memFile('d.csv', body)], { input: { columns: { dimensions: dims } } });
      const col = (name: string) => ['region', 'channel', 'team'].indexOf(name) + 3;
      expect(r.accepted.map((x) => x.dims)).toEqual(lines.map((l) => dims.map((d) => l.split(',')[col(d)])));
    }
  });
});

describe('duplicates', () => {
  const cfg = { input: { columns: { orderId: 'order_id', dimensions: ['sku'] } } };
  it('the same row exported twice counts once; lines of one order are not duplicates', async () => {
    const body = 'order_id,customer_id,order_date,amount,sku\n' + 'o1,a,2024-01-01,5,x\n' + 'o1,a,2024-01-01,7,y\n' + 'o1,a,2024-01-01,5,x\n' + 'o2,a,2024-01-01,5,x\n';
    const r = await run([memFile('a.csv', body)], cfg);
    expect(r.rows).toEqual({ read: 4, accepted: 3, rejected: 0, ignored: 0, duplicates: 1 });
    expect(r.accepted.map((x) => [x.orderId, x.amount])).toEqual([
      ['o1', 5],
      ['o1', 7],
      ['o2', 5],
    ]);
  });

  it('across files (an overlapping re-export), and equal after normalisation ("5" = "5.00")', async () => {
    const a = memFile('a.csv', 'order_id,customer_id,order_date,amount,sku\no1,a,2024-01-01,5,x\n');
    const b = memFile('b.csv', 'order_id,customer_id,order_date,amount,sku\no1,a,2024-01-01,5.00,x\no9,a,2024-01-01,5,x\n');
    const r = await run([a, b], cfg);
    expect(r.rows).toEqual({ read: 3, accepted: 2, rejected: 0, ignored: 0, duplicates: 1 });
    expect(r.files.map((f) => f.rows)).toEqual([1, 2]);
  });

  it('a row in a CSV and again in a JSON Lines file (values read as bytes, then as text) is one row', async () => {
    // order ids of 1 to 9 characters (every tail length of the four-byte steps) and a non-ASCII one
    const orders = ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh', 'abcdefghi', 'ordé1'];
    const csv = memFile('a.csv', 'order_id,customer_id,order_date,amount,sku\n' + orders.map((o, i) => `${o},c${i},2024-01-01,5,x\n`).join(''));
    const jsonl = memFile(
      'b.jsonl',
      orders.map((o, i) => JSON.stringify({ order_id: o, customer_id: `c${i}`, order_date: '2024-01-01', amount: 5, sku: 'x' }) + '\n').join('') +
        // one field different each: not duplicates
        JSON.stringify({ order_id: 'abcdefgh', customer_id: 'c7', order_date: '2024-01-02', amount: 5, sku: 'x' }) + '\n' +
        JSON.stringify({ order_id: 'abcdefgh', customer_id: 'c6', order_date: '2024-01-01', amount: 5, sku: 'x' }) + '\n' +
        JSON.stringify({ order_id: 'abcdefgh', customer_id: 'c7', order_date: '2024-01-01', amount: 5, sku: 'y' }) + '\n' +
        JSON.stringify({ order_id: 'abcdefgH', customer_id: 'c7', order_date: '2024-01-01', amount: 5, sku: 'x' }) + '\n',
    );
    const r = await run([csv, jsonl], cfg);
    expect(r.rows).toEqual({ read: 24, accepted: 14, rejected: 0, ignored: 0, duplicates: 10 });
  });

  it('without an order id, identical rows are separate purchases unless dedupe is asked for', async () => {
    const body = HDR + 'a,2024-01-01,5\na,2024-01-01,5\n';
    expect((await run([memFile('a.csv', body)])).rows.duplicates).toBe(0);
    expect((await run([memFile('a.csv', body)], {}, { dedupe: true })).rows).toMatchObject({ accepted: 1, duplicates: 1 });
  });

  it('keeps 100k distinct rows distinct (no false duplicates) and finds all repeats', async () => {
    let body = 'order_id,customer_id,order_date,amount,sku\n';
    for (let i = 0; i < 100_000; i++) body += `o${i},c${i % 997},2024-01-${String((i % 28) + 1).padStart(2, '0')},${(i % 500) / 4},s${i % 13}\n`;
    for (let i = 0; i < 100_000; i += 10) body += `o${i},c${i % 997},2024-01-${String((i % 28) + 1).padStart(2, '0')},${(i % 500) / 4},s${i % 13}\n`;
    const r = await run([memFile('big.csv', body, 1 << 16)], cfg);
    expect(r.rows).toEqual({ read: 110_000, accepted: 100_000, rejected: 0, ignored: 0, duplicates: 10_000 });
  });
});

describe('orders and duplicates in one table (issue 8)', () => {
  // A seeded mix of multi-line orders, refunds before the purchase, lines without an order id,
  // one order id used by two customers, and repeated lines (of first and of later lines of an
  // order), checked against a Set of line texts and a Set of (customer, order) purchase pairs.
  const lines: string[] = [];
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let i = 0; i < 20_000; i++) {
    if (i > 0 && rnd(8) === 0) {
      lines.push(lines[rnd(lines.length)]); // an exact repeat
      continue;
    }
    const order = rnd(10) === 0 ? '' : `o${rnd(3000)}`;
    lines.push(`${order},c${rnd(50)},2024-01-${String(rnd(28) + 1).padStart(2, '0')},${[-3, 0, 2.5, 7][rnd(4)]},s${rnd(3)}`);
  }
  const body = 'order_id,customer_id,order_date,amount,sku\n' + lines.join('\n') + '\n';
  const config = parseConfig({ input: { columns: { orderId: 'order_id', dimensions: ['sku'] } } });

  async function newOrders(dedupe: boolean): Promise<{ duplicates: number; newOrders: number; keys: Map<number, string> }> {
    let n = 0;
    const keys = new Map<number, string>();
    const r = await ingest([memFile('o.csv', body, 4096)], config, {
      dedupe,
      onAccepted: (a) => {
        if (a.newOrder) n++;
        keys.set(a.customerKey, a.customerId);
        expect(a.newOrder && (a.amount < 0 || !a.hasOrder)).toBe(false);
      },
    });
    return { duplicates: r.rows.duplicates, newOrders: n, keys };
  }

  it('table slots: fastrange stays in [0, cap) at the extremes and spreads evenly; load <= 0.7', () => {
    for (const cap of [128, 1000, 12_345_679, 2 ** 27 + 3]) {
      expect(fastrange(0xffffffff, cap)).toBe(cap - 1);
      expect(fastrange(-1, cap)).toBe(cap - 1);
      expect(fastrange(0, cap)).toBe(0);
      expect(fastrange(0x80000000, cap)).toBe(Math.floor(cap / 2));
    }
    expect(slotsFor(7_000_000)).toBe(10_000_000);
    expect(slotsFor(0)).toBe(128);
  });

  it('duplicates are exact repeats; newOrder marks each (customer, order) first purchase row once', async () => {
    const seen = new Set<string>();
    const pairs = new Set<string>();
    let dups = 0;
    for (const l of lines) {
      if (seen.has(l)) {
        dups++;
        continue;
      }
      seen.add(l);
      const [o, c, , amount] = l.split(',');
      if (o !== '' && Number(amount) >= 0) pairs.add(`${c}/${o}`);
    }
    expect(dups).toBeGreaterThan(2000);
    const r = await newOrders(true);
    expect(r.duplicates).toBe(dups);
    expect(r.newOrders).toBe(pairs.size);
  });

  it('without de-duplication every line counts, and orders are still counted once', async () => {
    const pairs = new Set<string>();
    for (const l of lines) {
      const [o, c, , amount] = l.split(',');
      if (o !== '' && Number(amount) >= 0) pairs.add(`${c}/${o}`);
    }
    const r = await newOrders(false);
    expect(r.duplicates).toBe(0);
    expect(r.newOrders).toBe(pairs.size);
  });
});

describe('CSV dialects', () => {
  it('CRLF line endings, a UTF-8 BOM, quoted delimiters, quotes and newlines; line numbers count physical lines', async () => {
    const body =
      '\uFEFFcustomer_id,order_date,amount,note\r\n' +
      '"a, inc.",2024-01-01,1,"said ""hi"""\r\n' +
      'b,2024-01-02,2,"two\r\nlines"\r\n' +
      '\r\n' +
      'c,2024-01-03,x,plain\r\n';
    const r = await run([memFile('a.csv', body, 5)], { input: { columns: { dimensions: ['note'] } } });
    expect(r.accepted.map((x) => [x.customerId, x.dims[0]])).toEqual([
      ['a, inc.', 'said "hi"'],
      ['b', 'two\r\nlines'],
    ]);
    expect(r.rejects).toEqual([{ file: 'a.csv', line: 6, column: 'amount', reason: 'non-numeric amount "x"', raw: 'c,2024-01-03,x,plain' }]);
  });

  it('other delimiters and quote characters, no header with 0-based indices', async () => {
    const r = await run([memFile('a.tsv', '2024-01-01\tx\t12.5\n2024-01-02\ty\t1\n')], {
      input: { csv: { delimiter: '\t', header: false }, columns: { customerId: 1, orderDate: 0, amount: 2 } },
    });
    expect(r.accepted.map((x) => x.customerId)).toEqual(['x', 'y']);
    const s = await run([memFile('a.csv', "customer_id;order_date;amount\n'a;b';2024-01-01;3\n")], { input: { csv: { delimiter: ';', quote: "'" } } });
    expect(s.accepted[0].customerId).toBe('a;b');
  });

  it('whitespace delimiter: runs of blanks and tabs, leading blanks, quoted fields', async () => {
    const r = await run([memFile('w.txt', '  id   date\tamt  \n  a  20240101   1.5 \n"b c" 20240102 2\n\n   \n')], {
      input: { csv: { delimiter: 'whitespace' }, columns: { customerId: 'id', orderDate: 'date', amount: 'amt' }, dateFormat: 'yyyyMMdd' },
    });
    expect(r.accepted.map((x) => [x.customerId, x.amount])).toEqual([
      ['a', 1.5],
      ['b c', 2],
    ]);
    expect(r.rows.read).toBe(2);
  });

  it('an unterminated quote at the end is one rejected record', async () => {
    const r = await run([memFile('a.csv', HDR + 'a,2024-01-01,1\n"b,2024-01-01,2\nc,2024-01-01,3\n')]);
    expect(r.rows).toMatchObject({ read: 2, accepted: 1, rejected: 1 });
    expect(r.rejects[0]).toMatchObject({ line: 3, reason: 'malformed CSV: unterminated quoted field' });
  });

  it('a huge field is read whole (and its reject raw text is clipped)', async () => {
    const big = 'x'.repeat(3_000_000);
    const r = await run([memFile('a.csv', `${HDR}a,2024-01-01,1\n"${big}",2024-01-01,2\nb,2024-01-01,${big}\n`, 65536)]);
    expect(r.accepted.map((x) => x.customerId.length)).toEqual([1, 3_000_000]);
    expect(r.rejects[0].raw.length).toBeLessThanOrEqual(1001);
    expect(r.rejects[0].reason.length).toBeLessThan(120);
  });

  it('a named column missing from the header is an IngestError listing the header', async () => {
    await expect(run([memFile('s3://b/a.csv', 'cust,order_date,amount\nx,2024-01-01,1\n')])).rejects.toThrow(
      /^s3:\/\/b\/a\.csv: line 1: column "customer_id" \(input\.columns\.customerId\) not in the header; the header has "cust", "order_date", "amount"$/,
    );
    await expect(run([memFile('a.csv', 'customer_id\torder_date\tamount\n')])).rejects.toThrow(/the header has one column.*contains tabs/);
    await expect(run([memFile('a.csv', 'x,y,z\n')], { input: { csv: { header: false } } })).rejects.toThrow(
      /input\.columns\.customerId is the column name "customer_id", but input\.csv\.header is false/,
    );
    await expect(
      run([memFile('a.csv', 'x,y,z\n')], { input: { csv: { header: false }, columns: { customerId: 0, orderDate: 1, amount: 7 } } }),
    ).rejects.toThrow(/column 7 \(input\.columns\.amount\) does not exist: the first row has 3 fields/);
  });

  it('header names match case-insensitively when not exact', async () => {
    const r = await run([memFile('a.csv', 'Customer_ID,Order_Date,AMOUNT\na,2024-01-01,1\n')]);
    expect(r.rows.accepted).toBe(1);
  });

  it('text that is not UTF-8 is an IngestError naming the file', async () => {
    const latin1 = Buffer.from(HDR + 'M\xfcller,2024-01-01,1\n', 'latin1');
    await expect(run([memFile('a.csv', latin1)])).rejects.toThrow(/^a\.csv: not UTF-8 text/);
  });
});

describe('JSON Lines', () => {
  it('keys are columns; numbers may be JSON numbers; bad lines are rejected with their line', async () => {
    const body = [
      '{"customer_id":"a","order_date":"2024-01-01T10:00:00Z","amount":12.5,"region":"EU"}',
      '',
      '{"customer_id":42,"order_date":"2024-01-02","amount":"3"}',
      '{"customer_id":"b","order_date":"2024-01-02","amount":"1,234.50"}',
      '{not json',
      '[1,2,3]',
      '"just a string"',
      '{"customer_id":"c","order_date":"2024-01-02","amount":{"v":1}}',
      '{"customer_id":null,"order_date":"2024-01-02","amount":1}',
    ].join('\r\n');
    const r = await run([memFile('e.jsonl', body, 7)], { input: { columns: { dimensions: ['region'] } } });
    expect(balanced(r)).toBe(true);
    expect(r.accepted).toEqual([
      { customerId: 'a', day: day('2024-01-01'), amount: 12.5, orderId: null, margin: null, dims: ['EU'] },
      { customerId: '42', day: day('2024-01-02'), amount: 3, orderId: null, margin: null, dims: [''] },
    ]);
    expect(r.rejects.map((x) => [x.line, x.column, x.reason.replace(/\(.*/, '(…)')])).toEqual([
      [4, 'amount', 'non-numeric amount "1,234.50": ambiguous thousands separator \',\' (…)'],
      [5, null, 'invalid JSON (…)'],
      [6, 'customer_id', 'missing customer id'],
      [7, null, 'expected a JSON object on the line'],
      [8, 'amount', 'non-numeric amount: expected a number, found object'],
      [9, 'customer_id', 'missing customer id'],
    ]);
  });
});

describe('files: compression, format detection, emptiness', () => {
  const good = HDR + 'a,2024-01-01,1\n';

  it('gzip is detected by its magic bytes, with or without .gz; multi-member gzip is read whole', async () => {
    const gz = gzipSync(good);
    expect((await run([memFile('export.csv', gz)])).files[0]).toMatchObject({ compressed: true, format: 'csv', rows: 1 });
    const two = Buffer.concat([gzipSync(HDR + 'a,2024-01-01,1\n'), gzipSync('b,2024-01-02,2\n')]);
    expect((await run([memFile('x.csv.gz', two, 10)])).rows.accepted).toBe(2);
  });

  it('a truncated gzip fails the run with an IngestError naming the file', async () => {
    let body = HDR;
    for (let i = 0; i < 20000; i++) body += `c${i},2024-01-01,${i}\n`;
    const gz = gzipSync(body);
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6));
    await expect(run([memFile('s3://b/big.csv.gz', cut, 4096)])).rejects.toThrow(/^s3:\/\/b\/big\.csv\.gz: truncated or corrupt gzip data/);
    await expect(run([memFile('tiny.csv.gz', gz.subarray(0, 12))])).rejects.toThrow(IngestError);
  });

  it('a file that is not what its extension says is an IngestError naming the file', async () => {
    const parquetMagic = Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(100), Buffer.from('PAR1')]);
    await expect(run([memFile('a.csv', parquetMagic)])).rejects.toThrow(/^a\.csv: is a Parquet file, but its extension says csv/);
    await expect(run([memFile('a.parquet', good)])).rejects.toThrow(/^a\.parquet: not a Parquet file \(no PAR1 magic bytes; the content is text\)/);
    await expect(run([memFile('a.csv.gz', good)])).rejects.toThrow(/^a\.csv\.gz: named \.gz but is not gzip-compressed/);
    await expect(run([memFile('a.jsonl', good)])).rejects.toThrow(/^a\.jsonl: not JSON Lines/);
    await expect(run([memFile('a.json', '[{"a":1}]')])).rejects.toThrow(/^a\.json: is a JSON array; export JSON Lines/);
    await expect(run([memFile('a.csv', '{"customer_id":"a"}\n')])).rejects.toThrow(/^a\.csv: looks like JSON Lines/);
    await expect(run([memFile('a.csv', Buffer.from('PK\x03\x04rest-of-zip', 'latin1'))])).rejects.toThrow(/^a\.csv: contains a zip archive/);
    await expect(run([memFile('a.csv', Buffer.from([0x41, 0, 0x42, 10]))])).rejects.toThrow(/binary data \(NUL bytes\)/);
    await expect(run([memFile('a.txt', good)], { input: { format: 'parquet' } })).rejects.toThrow(/input\.format is "parquet"/);
  });

  it('format auto without a known extension: by content', async () => {
    expect((await run([memFile('export', good)])).files[0].format).toBe('csv');
    expect((await run([memFile('export', '{"customer_id":"a","order_date":"2024-01-01","amount":1}\n')])).files[0].format).toBe('jsonl');
    expect(formatFromName('s3://b/x/part-0001.CSV.GZ')).toEqual({ format: 'csv', gz: true });
    expect(formatFromName('x.ndjson')).toEqual({ format: 'jsonl', gz: false });
    expect(formatFromName('x.parquet')).toEqual({ format: 'parquet', gz: false });
  });

  it('an empty file among others is a warning; no rows anywhere is an IngestError', async () => {
    const r = await run([memFile('a.csv', good), memFile('empty.csv', ''), memFile('hdr.csv', HDR), memFile('e.csv.gz', gzipSync(''))]);
    expect(r.rows.read).toBe(1);
    expect(r.warnings).toEqual(['empty.csv: empty file (no rows), skipped', 'hdr.csv: empty file (no rows), skipped', 'e.csv.gz: empty file (no rows), skipped']);
    await expect(run([memFile('empty.csv', '')])).rejects.toThrow(/^empty\.csv: no rows/);
    await expect(run([memFile('a.csv', HDR), memFile('b.csv', '\n\n')])).rejects.toThrow(/no rows in any of the 2 input files/);
    await expect(ingest([], parseConfig({}), { onRow: () => {} })).rejects.toThrow(/no input files/);
  });

  it('a file whose rows are all rejected is not empty, and reports per-file rows', async () => {
    const r = await run([memFile('a.csv', HDR + 'a,x,1\n'), memFile('b.csv', good)]);
    expect(r.warnings).toEqual([]);
    expect(r.files.map((f) => [f.name, f.rows])).toEqual([
      ['a.csv', 1],
      ['b.csv', 1],
    ]);
  });

  it('reports progress with rows and bytes', async () => {
    let body = HDR;
    for (let i = 0; i < 40000; i++) body += `c${i},2024-01-01,1\n`;
    const seen: { rows: number; bytes: number }[] = [];
    await ingest([memFile('p.csv', body, 8192)], parseConfig({}), { onRow: () => {}, onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toEqual({ file: 'p.csv', rows: 40000, bytes: Buffer.byteLength(body) });
  });

  it('errors of the byte source itself pass through unchanged', async () => {
    const boom = new Error('connection reset');
    const file = {
      name: 's3://b/a.csv.gz',
      async *open() {
        yield gzipSync(good).subarray(0, 10);
        throw boom;
      },
    };
    await expect(run([file])).rejects.toBe(boom);
  });
});

describe('numbers', () => {
  it('accepts plain decimals exactly as Number() reads them', () => {
    for (const s of ['12.50', '-3', '1234.5', '+7', '.5', '5.', '0', '-0.01', ' 42 ', '1e3', '2.5E-2', '123456789012345.6', '0.1', '9007199254740993'])
      expect(parseNumber(s), s).toBe(Number(s));
  });
  it('rejects everything else', () => {
    for (const s of ['', ' ', '-', '.', 'NaN', 'Infinity', '-Infinity', '$12', '1,234.50', '1.234,50', '0x1F', '1_000', '(12)', '1 234', '12-', '1e', '1e400', '٣'])
      expect(parseNumber(s), s).toBeNaN();
  });
});

describe('rejectsCsv', () => {
  it('escapes CSV and neutralises spreadsheet formulas', () => {
    const out = rejectsCsv([
      { file: 'a.csv', line: 3, column: 'amount', reason: 'non-numeric amount "=1+1"', raw: '=HYPERLINK("http://x"),2' },
      { file: 'b,c.csv', line: 4, column: null, reason: 'wrong field count', raw: '-3\nnext' },
      { file: '@x', line: 5, column: '+c', reason: 'r', raw: ' padded ' },
    ]);
    expect(out).toBe(
      'file,line,column,reason,raw\n' +
        'a.csv,3,amount,"non-numeric amount ""=1+1""","\'=HYPERLINK(""http://x""),2"\n' +
        '"b,c.csv",4,,wrong field count,"\'-3\nnext"\n' +
        "'@x,5,'+c,r,\" padded \"\n",
    );
    expect(csvCell('\tcmd')).toBe("'\tcmd");
  });
});
