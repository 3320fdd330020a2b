/**
 * Parse workers (lib/ingest/parallel.ts, issue 8): a CSV file cut into blocks and parsed on
 * worker threads must give exactly what the one-thread reader gives: the same rows in the same
 * order, the same customer keys, duplicates, rejects (with the file's line numbers), counts and
 * errors, including when a quote appears mid-file (the rest is read on the main thread).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultParseWorkers, ParsePool, takeWarmParseWorker, warmParseWorker } from '../lib/ingest/parallel.js';
import { parseConfig } from '../lib/config.js';
import { ingest, type IngestOptions, type Reject, type SalesRow } from '../lib/ingest/index.js';
import { memFile } from './fixtures/ingest/helpers.js';
import { listLocalInputs } from '../functions/local/fs.js';

const config = parseConfig({
  input: { columns: { orderId: 'order_id', margin: 'margin', currency: 'currency', dimensions: ['region', 'channel'] } },
  currency: 'USD',
});

/** A messy export: duplicates, bad values, wrong field counts, blank lines, CRLF, non-ASCII ids. */
function exportText(rows: number, seed: number, opts: { quoteAt?: number } = {}): string {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const lines = ['order_id,customer_id,order_date,amount,margin,region,channel,currency'];
  const regions = ['EU', 'APAC', ' US', 'Ünïon'];
  for (let i = 0; i < rows; i++) {
    const c = `C${Math.floor(rnd() * rows * 0.3)}${rnd() < 0.01 ? 'é' : ''}`;
    const day = 1 + Math.floor(rnd() * 28);
    const amount = (rnd() * 100 - (rnd() < 0.05 ? 120 : 0)).toFixed(2);
    let line = `O${Math.floor(i / 2)},${c},2024-02-${String(day).padStart(2, '0')},${amount},${(rnd() * 10).toFixed(2)},${regions[Math.floor(rnd() * 4)]},${rnd() < 0.5 ? 'web' : 'store'},USD`;
    const r = rnd();
    if (r < 0.01) line = line.replace(/2024-02-\d\d/, '2024-02-31');
    else if (r < 0.02) line += ',extra';
    else if (r < 0.03) line = line.replace(',USD', ',EUR');
    else if (r < 0.035) line = '';
    if (opts.quoteAt === i) line = line.replace(/,web,|,store,/, ',"web, online",');
    lines.push(line);
    if (rnd() < 0.03) lines.push(line); // an exact duplicate
  }
  return lines.join(seed % 2 ? '\r\n' : '\n') + '\n';
}

async function read(file: ReturnType<typeof memFile>, workers: number, extra: Partial<IngestOptions> = {}) {
  const rows: (SalesRow & { key: number })[] = [];
  const rejects: Reject[] = [];
  const keys: number[] = [];
  const result = await ingest([file], config, {
    parseWorkers: workers,
    parseWorkersMinRows: 0,
    parseBlockBytes: 4096,
    parseWhileWorkersStart: false, // else these small files would be read before the workers start
    onRow: (r) => rows.push({ ...r, key: -1 }),
    onAccepted: (a) => keys.push(a.customerKey),
    onReject: (r) => rejects.push(r),
    ...extra,
  });
  rows.forEach((r, i) => (r.key = keys[i]));
  return { rows, rejects, result };
}

describe('parse workers', () => {
  it('give the one-thread reader\'s rows, keys, rejects, lines and counts', async () => {
    for (const seed of [1, 2]) {
      const text = exportText(6000, seed);
      const one = await read(memFile('x.csv', text, 1000), 0);
      const two = await read(memFile('x.csv', text, 1000), 2);
      expect(two.result.rows.read).toBeGreaterThan(6000);
      expect(two.result.rows.duplicates).toBeGreaterThan(50);
      expect(two.result.rows.rejected).toBeGreaterThan(50);
      expect(two.rows).toEqual(one.rows);
      expect(two.rejects).toEqual(one.rejects);
      expect(two.result).toEqual(one.result);
      // one worker, the main thread parsing every third block itself
      vi.stubEnv('TAILWATCH_MAIN_SHARE', '3');
      const shared = await read(memFile('x.csv', text, 1000), 1);
      vi.unstubAllEnvs();
      expect(shared).toEqual(one);
      // the main thread reading while the worker starts, then handing over
      const eager = await read(memFile('x.csv', text, 1000), 1, { parseWhileWorkersStart: true, parseBlockBytes: 256 });
      expect(eager).toEqual(one);
    }
  });

  it('hand over from the main thread to the worker once it has started, with the same rows', async () => {
    const text = exportText(6000, 3);
    const one = await read(memFile('x.csv', text, 1000), 0);
    // a file whose first third comes at once and the rest only once the worker has started
    const bytes = Buffer.from(text);
    const opened = vi.spyOn(ParsePool, 'open');
    const slow = {
      ...memFile('x.csv', text),
      async *open() {
        const third = Math.floor(bytes.length / 3);
        for (let i = 0; i < third; i += 512) yield bytes.subarray(i, Math.min(i + 512, third));
        const pool = opened.mock.results[0]?.value as ParsePool | null | undefined;
        for (let waited = 0; pool && !pool.started && waited < 30_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
        for (let i = third; i < bytes.length; i += 512) yield bytes.subarray(i, i + 512);
      },
    };
    vi.stubEnv('TAILWATCH_MAIN_SHARE', '0'); // every block the main thread parses is one read before the worker started
    const onMain = vi.spyOn(ParsePool.prototype, 'recycle');
    const onWorker = vi.spyOn(ParsePool.prototype, 'absorb');
    try {
      const eager = await read(slow, 1, { parseWhileWorkersStart: true, parseBlockBytes: 256 });
      expect(onMain.mock.calls.length).toBeGreaterThan(0);
      expect(onWorker.mock.calls.length).toBeGreaterThan(0);
      expect(eager).toEqual(one);
    } finally {
      opened.mockRestore();
      onMain.mockRestore();
      onWorker.mockRestore();
      vi.unstubAllEnvs();
    }
  });

  it('take a worker warmed ahead (the tailwatch command\'s), which has loaded by then: no block waits for it', async () => {
    vi.stubEnv('TAILWATCH_PARSE_WORKERS', '1');
    vi.stubEnv('TAILWATCH_MAIN_SHARE', '0'); // the main thread parses a block only while no worker has loaded
    const onMain = vi.spyOn(ParsePool.prototype, 'recycle');
    try {
      const text = exportText(6000, 4);
      const one = await read(memFile('x.csv', text, 1000), 0);
      const w = warmParseWorker()!;
      expect(w).not.toBeNull();
      expect(warmParseWorker()).toBeNull(); // one waits at a time
      await new Promise((resolve) => w.once('message', resolve)); // its "ready"
      const warmed = await read(memFile('x.csv', text, 1000), 1, { parseWhileWorkersStart: true });
      expect(warmed).toEqual(one);
      expect(onMain.mock.calls.length).toBe(0);
      expect(takeWarmParseWorker()).toBeNull(); // the pool took it
    } finally {
      onMain.mockRestore();
      vi.unstubAllEnvs();
    }
  });

  it('stop a warmed worker no one takes, and warm none on one CPU', async () => {
    vi.stubEnv('TAILWATCH_PARSE_WORKERS', '1');
    try {
      const w = warmParseWorker(200)!;
      await new Promise((resolve) => w.once('exit', resolve));
      expect(takeWarmParseWorker()).toBeNull();
      vi.stubEnv('TAILWATCH_PARSE_WORKERS', '0');
      expect(warmParseWorker()).toBeNull();
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('reuse the workers across files, with dimension values new in the second file', async () => {
    const a = exportText(3000, 6);
    const b = exportText(3000, 7).replace(/,APAC,/g, ',LATAM,').replace(/,store,/g, ',phone,');
    const run = async (workers: number) => {
      const rows: SalesRow[] = [];
      const rejects: Reject[] = [];
      const result = await ingest([memFile('a.csv', a, 900), memFile('b.csv', b, 900)], config, {
        parseWorkers: workers,
        parseWorkersMinRows: 0,
        parseBlockBytes: 4096,
        parseWhileWorkersStart: false,
        onRow: (r) => rows.push(r),
        onReject: (r) => rejects.push(r),
      });
      return { rows, rejects, result };
    };
    const one = await run(0);
    const two = await run(2);
    expect(two.rows.some((r) => r.dims[0] === 'LATAM' && r.dims[1] === 'phone')).toBe(true);
    expect(two.rejects.some((r) => r.file === 'b.csv')).toBe(true);
    expect(two).toEqual(one);
  });

  it('read gzip, and an as-of cut, the same way', async () => {
    const text = exportText(4000, 3);
    const gz = gzipSync(Buffer.from(text));
    const opts = { asOfDay: 19770 }; // 2024-02-16: later rows are ignored
    const one = await read(memFile('x.csv.gz', gz, 777), 0, opts);
    const two = await read(memFile('x.csv.gz', gz, 777), 1, opts);
    expect(two.result.rows.ignored).toBeGreaterThan(100);
    expect(two).toEqual(one);
  });

  it('read a gzip file inflated on its own thread the same way, a quote late in it included', async () => {
    // ~11 MB: the gunzip worker's ring of 8 slots of 1 MiB wraps; from the quote on, the main
    // thread keeps the chunks it reads (copies: the ring's slots are reused)
    const text = exportText(150_000, 6, { quoteAt: 120_000 });
    const gz = gzipSync(Buffer.from(text));
    const opts = { parseBlockBytes: 256 * 1024 };
    const one = await read(memFile('x.csv.gz', gz, gz.length), 1, { ...opts, gunzipThread: false });
    const two = await read(memFile('x.csv.gz', gz, gz.length), 1, opts);
    // a ring of two small slots: a slot handed back is refilled at once, so a chunk kept past the next read goes wrong
    const three = await read(memFile('x.csv.gz', gz, gz.length), 1, { ...opts, gunzipThread: { slots: 2, slotBytes: 16 * 1024 } });
    expect(three).toEqual(one);
    expect(two.rows.some((r) => r.dims[1] === 'web, online')).toBe(true);
    expect(two.rows.length).toBeGreaterThan(140_000);
    expect(two).toEqual(one);
  });

  it('hand the rest of the file to the main thread from the first quote on', async () => {
    const text = exportText(5000, 4, { quoteAt: 3000 });
    const one = await read(memFile('x.csv', text, 1500), 0);
    const two = await read(memFile('x.csv', text, 1500), 2);
    expect(two.rows.some((r) => r.dims[1] === 'web, online')).toBe(true);
    expect(two).toEqual(one);
  });

  it('name the same file, line and byte offsets in errors', async () => {
    const good = Buffer.from(exportText(3000, 5));
    const bad = Buffer.concat([good, Buffer.from('O1,C1,2024-02-03,1,1,EU,web,USD\nO2,C\xff2,2024-02-03,1,1,EU,web,USD\n', 'latin1')]);
    const e1 = await read(memFile('bad.csv', bad, 999), 0).catch((e: Error) => e.message);
    const e2 = await read(memFile('bad.csv', bad, 999), 2).catch((e: Error) => e.message);
    for (const share of ['2', '3']) {
      // the bad line in a block the main thread parses itself, or in one the worker parses
      vi.stubEnv('TAILWATCH_MAIN_SHARE', share);
      expect(await read(memFile('bad.csv', bad, 999), 1).catch((e: Error) => e.message)).toBe(e1);
      vi.unstubAllEnvs();
    }
    expect(e1).toBe(`bad.csv: not UTF-8 text (invalid byte sequence at byte ${good.length + 36} of the uncompressed data, line ${String(good).split('\n').length + 1}); re-export as UTF-8`);
    expect(e2).toBe(e1);
  });
});

describe('parse workers on Parquet', () => {
  it('decode row groups to the one-thread reader\'s rows, keys, rejects and counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-pq-'));
    try {
      const db = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
      const file = join(dir, 'x.parquet');
      await db.run(`COPY (
        WITH t AS (SELECT i FROM range(30000) r(i) UNION ALL SELECT i FROM range(400) r(i))
        SELECT 'O' || (i // 2) AS order_id,
          CASE WHEN i % 101 = 0 THEN '' ELSE 'C' || ((i * 7919) % 3000) || CASE WHEN i % 37 = 0 THEN 'é' ELSE '' END END AS customer_id,
          (DATE '2024-01-01' + (i % 90)::INTEGER) AS order_date,
          CASE WHEN i % 89 = 0 THEN 'NaN'::DOUBLE ELSE round((i % 1000) / 7.0 - 10, 2) END AS amount,
          CASE WHEN i % 5 = 0 THEN NULL ELSE round((i % 50) / 3.0, 2) END AS margin,
          ['EU', 'APAC', 'US', 'LATAM'][1 + i % 4] AS region,
          CASE WHEN i % 2 = 0 THEN 'web' ELSE 'store' END AS channel,
          CASE WHEN i % 113 = 0 THEN 'EUR' ELSE 'USD' END AS currency
        FROM t) TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
      const bytes = readFileSync(file);
      const one = await read(memFile('x.parquet', bytes), 0, { parseBlockBytes: undefined });
      const two = await read(memFile('x.parquet', bytes), 2, { parseBlockBytes: undefined });
      expect(two.result.rows).toMatchObject({ read: 30400 });
      expect(two.result.rows.duplicates).toBeGreaterThan(300);
      expect(two.result.rows.rejected).toBeGreaterThan(500);
      expect(two.rejects.some((r) => r.line > 20000 && r.column === 'currency')).toBe(true);
      expect(two).toEqual(one);
      vi.stubEnv('TAILWATCH_MAIN_SHARE', '3');
      const shared = await read(memFile('x.parquet', bytes), 1, { parseBlockBytes: undefined });
      vi.unstubAllEnvs();
      expect(shared).toEqual(one);
      // a file on local disk is read in place: the same rows, and no spooled copy (a streamed
      // file over parquetMemoryLimit is copied into tmpDir, here a directory that does not exist)
      const [local] = await listLocalInputs(file, []);
      expect(local.localPath).toBe(file);
      const noSpool = { parseBlockBytes: undefined, parquetMemoryLimit: 0, tmpDir: join(dir, 'missing') };
      const inPlace = await read({ ...local, name: 'x.parquet', etag: undefined }, 1, noSpool);
      expect(inPlace).toEqual(one);
      await expect(read({ ...local, name: 'x.parquet', etag: undefined, localPath: undefined }, 1, noSpool)).rejects.toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('defaultParseWorkers', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('takes TAILWATCH_PARSE_WORKERS, else 1 with 2 CPUs to spare, and a Lambda its vCPU share of memory', () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '');
    vi.stubEnv('TAILWATCH_PARSE_WORKERS', '0');
    expect(defaultParseWorkers()).toBe(0);
    vi.stubEnv('TAILWATCH_PARSE_WORKERS', '3');
    expect(defaultParseWorkers()).toBe(3);
    vi.stubEnv('TAILWATCH_PARSE_WORKERS', '');
    const twoCpus = availableParallelism() >= 2;
    expect(defaultParseWorkers()).toBe(twoCpus ? 1 : 0);
    vi.stubEnv('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '2048'); // 1.16 vCPU
    expect(defaultParseWorkers()).toBe(0);
    vi.stubEnv('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '4096'); // 2.3 vCPU
    expect(defaultParseWorkers()).toBe(twoCpus ? 1 : 0);
  });
});
