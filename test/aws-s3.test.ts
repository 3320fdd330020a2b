import { describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { listS3Inputs, makeS3Client, parseS3Uri, S3AccessError, S3Storage, InvalidS3UriError } from '../functions/aws/s3.js';
import { InputNotFoundError } from '../functions/local/fs.js';
import { inputsFor, storageFor } from '../functions/io.js';
import { useEmulators } from './helpers/emulators.js';

const emu = useEmulators();
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of it) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A throwaway HTTP server on loopback answering every request with `handler`; counts requests. */
async function fakeServer(handler: http.RequestListener) {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    env: { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' },
    requests: () => requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe('parseS3Uri', () => {
  it('splits bucket and key, and names what is wrong', () => {
    expect(parseS3Uri('s3://my-bucket/exports/2024/')).toEqual({ bucket: 'my-bucket', key: 'exports/2024/' });
    expect(parseS3Uri('s3://my-bucket')).toEqual({ bucket: 'my-bucket', key: '' });
    expect(parseS3Uri('S3://my-bucket/a.csv')).toEqual({ bucket: 'my-bucket', key: 'a.csv' });
    expect(() => parseS3Uri('/tmp/x')).toThrow(InvalidS3UriError);
    expect(() => parseS3Uri('s3://My_Bucket/x')).toThrow('invalid bucket name "My_Bucket"');
    expect(() => parseS3Uri('s3:///x')).toThrow(/invalid bucket name ""/);
  });
});

describe('S3Storage on s3rver', () => {
  it('round-trips put/get/list/copy/delete under a prefix root', async () => {
    const bucket = await emu.bucket();
    const s = new S3Storage(emu.s3(), `s3://${bucket}/out`);
    expect(s.location).toBe(`s3://${bucket}/out/`);
    await s.put('cohorts/run_date=2024-01-31/part-00000.parquet', new Uint8Array([0, 1, 2, 255]), 'application/vnd.apache.parquet');
    await s.put('runs/run_date=2024-01-31/manifest.json', '{"ok":true}', 'application/json');
    await s.put('runs/run_date=2024-01-31/b.txt', 'b');
    expect(await s.get('cohorts/run_date=2024-01-31/part-00000.parquet')).toEqual(new Uint8Array([0, 1, 2, 255]));
    expect(text(await s.get('runs/run_date=2024-01-31/manifest.json'))).toBe('{"ok":true}');
    expect(await s.get('missing')).toBeUndefined();
    expect(await s.list('runs/')).toEqual(['runs/run_date=2024-01-31/b.txt', 'runs/run_date=2024-01-31/manifest.json']);
    // Keys outside the root prefix are invisible to this storage.
    await new S3Storage(emu.s3(), `s3://${bucket}/`).put('outside.txt', 'x');
    expect(await s.list('')).toHaveLength(3);

    await s.copy('runs/run_date=2024-01-31/b.txt', 'runs/run_date=2024-01-31/copy of b+.txt');
    expect(text(await s.get('runs/run_date=2024-01-31/copy of b+.txt'))).toBe('b');
    await expect(s.copy('nope', 'x')).rejects.toThrow(S3AccessError);

    await s.delete(['runs/run_date=2024-01-31/b.txt', 'never/existed']);
    expect(await s.list('runs/')).toEqual(['runs/run_date=2024-01-31/copy of b+.txt', 'runs/run_date=2024-01-31/manifest.json']);
  });

  it('lists and deletes more than 1000 keys across pages, in key order', async () => {
    const bucket = await emu.bucket();
    const s = new S3Storage(emu.s3(), `s3://${bucket}/p/`);
    const keys = Array.from({ length: 1001 }, (_, i) => `k/${String(i).padStart(5, '0')}`);
    // All at once: the client's concurrency cap must keep queued requests from timing out.
    await Promise.all(keys.map((k) => s.put(k, k)));
    const listed = await s.list('k/');
    expect(listed).toHaveLength(1001);
    expect(listed).toEqual(keys);
    await s.delete(keys);
    expect(await s.list('')).toEqual([]);
  }, 30_000);

  it('putIfAbsent: the second write returns false and leaves the first; one winner among concurrent writers', async () => {
    const bucket = await emu.bucket();
    const s = new S3Storage(emu.s3(), `s3://${bucket}/locks/`);
    expect(await s.putIfAbsent('2024-01-31.lock', 'run-a')).toBe(true);
    expect(await s.putIfAbsent('2024-01-31.lock', 'run-b')).toBe(false);
    expect(text(await s.get('2024-01-31.lock'))).toBe('run-a');
    // Two storages (two runs in one process) racing on one key.
    const other = new S3Storage(emu.s3(), `s3://${bucket}/locks/`);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? s : other).putIfAbsent('race.lock', `w${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(text(await s.get('race.lock'))).toBe(`w${results.indexOf(true)}`);
  });

  it('a write to a missing bucket fails at once with a clear error (a 4xx is not retried)', async () => {
    const s = new S3Storage(emu.s3(), 's3://no-such-bucket-here/out/');
    const err = await s.put('a/b.txt', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3AccessError);
    expect((err as S3AccessError).message).toBe(
      'S3 PutObject s3://no-such-bucket-here/out/a/b.txt failed: NoSuchBucket: The specified bucket does not exist (HTTP 404, 1 attempt)',
    );
    expect((err as S3AccessError).attempts).toBe(1);
  });
});

describe('listS3Inputs', () => {
  it('one object, or every matching object under a prefix in key order, with size and ETag, streamed', async () => {
    const bucket = await emu.bucket();
    const client = emu.s3();
    const put = (Key: string, Body: string | Uint8Array) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    await put('exports/b.csv', 'bee');
    await put('exports/a/2.csv.gz', 'two');
    await put('exports/a/10.csv.gz', 'ten');
    await put('exports/notes.md', 'not an input');
    await put('exports-old/x.csv', 'other prefix');
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'y');
    await put('exports/big.CSV', big);

    const inputs = await listS3Inputs(client, `s3://${bucket}/exports`, ['.csv', '.csv.gz']);
    expect(inputs.map((i) => i.name)).toEqual([
      `s3://${bucket}/exports/a/10.csv.gz`,
      `s3://${bucket}/exports/a/2.csv.gz`,
      `s3://${bucket}/exports/b.csv`,
      `s3://${bucket}/exports/big.CSV`,
    ]);
    expect(inputs.map((i) => i.size)).toEqual([3, 3, 3, big.length]);
    expect(inputs[2].etag).toBe('"9dfd70fdf15a3cb1ea00d7799ac6651b"'); // MD5 of "bee"
    expect((await readAll(inputs[0].open())).toString()).toBe('ten');
    let chunks = 0;
    let bytes = 0;
    for await (const c of inputs[3].open()) {
      chunks++;
      bytes += c.byteLength;
    }
    expect(bytes).toBe(big.length);
    expect(chunks).toBeGreaterThan(1); // streamed, not one buffer

    // A URI naming one object is that object, whatever its extension.
    const one = await inputsFor(`s3://${bucket}/exports/notes.md`, emu.current.env, ['.csv']);
    expect(one.map((i) => [i.name, i.size])).toEqual([[`s3://${bucket}/exports/notes.md`, 12]]);
  });

  it('missing bucket, empty prefix and no matching files are InputNotFoundErrors naming the location', async () => {
    const bucket = await emu.bucket();
    const client = emu.s3();
    await expect(listS3Inputs(client, 's3://no-such-bucket-x/exports/', [])).rejects.toThrow(
      new InputNotFoundError('input not found: bucket "no-such-bucket-x" does not exist (s3://no-such-bucket-x/exports/)'),
    );
    await expect(listS3Inputs(client, `s3://${bucket}/nothing`, [])).rejects.toThrow(`input not found: nothing at s3://${bucket}/nothing`);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'd/readme.md', Body: 'x' }));
    await expect(listS3Inputs(client, `s3://${bucket}/d/`, ['.csv'])).rejects.toThrow(
      `no input files ending in .csv under s3://${bucket}/d/`,
    );
  });
});

describe('faults and retries', () => {
  it('5xx is retried up to maxAttempts (default 4), then fails with a clear error', async () => {
    const srv = await fakeServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/xml' });
      res.end('<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>');
    });
    try {
      const s = storageFor('s3://bucket-x/out/', srv.env); // the product's default retry config
      const err = (await s.put('k', 'v').catch((e: unknown) => e)) as S3AccessError;
      expect(err).toBeInstanceOf(S3AccessError);
      expect(srv.requests()).toBe(4);
      expect(err.message).toBe(
        'S3 PutObject s3://bucket-x/out/k failed: InternalError: We encountered an internal error. Please try again. (HTTP 500, 4 attempts)',
      );
    } finally {
      await srv.close();
    }
  });

  it('throttling (503 SlowDown) is retried, and succeeds once the server recovers', async () => {
    let n = 0;
    const srv = await fakeServer((_req, res) => {
      if (++n === 1) {
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      } else {
        res.writeHead(200, { etag: '"x"' });
        res.end();
      }
    });
    try {
      await storageFor('s3://bucket-x/out/', srv.env).put('k', 'v');
      expect(srv.requests()).toBe(2);
    } finally {
      await srv.close();
    }
  });

  it('a 4xx is not retried', async () => {
    const srv = await fakeServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
    });
    try {
      const err = (await storageFor('s3://bucket-x/out/', srv.env).put('k', 'v').catch((e: unknown) => e)) as S3AccessError;
      expect(srv.requests()).toBe(1);
      expect(err.message).toBe('S3 PutObject s3://bucket-x/out/k failed: AccessDenied: Access Denied (HTTP 403, 1 attempt)');
    } finally {
      await srv.close();
    }
  });

  it('a server that stalls mid-body fails the read after the request timeout instead of hanging', async () => {
    const srv = await fakeServer((req, res) => {
      res.writeHead(200, { 'content-length': '1000', etag: '"e"' });
      res.write(Buffer.alloc(100, 'a')); // ...and never the rest
    });
    try {
      const client = makeS3Client(srv.env, { requestTimeoutMs: 500, maxAttempts: 1 });
      const t0 = Date.now();
      const err = (await new S3Storage(client, 's3://bucket-x/').get('k').catch((e: unknown) => e)) as Error;
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(err).toBeInstanceOf(S3AccessError);
      expect(err.message).toMatch(/^S3 GetObject s3:\/\/bucket-x\/k failed after 100 of 1000 bytes: /);
    } finally {
      await srv.close();
    }
  });

  it('the S3 API going away mid-read fails the stream with a clear error, and a re-read after restart succeeds', async () => {
    const bucket = await emu.bucket();
    const client = emu.s3({ requestTimeoutMs: 2000, maxAttempts: 2 });
    const size = 48 * 1024 * 1024; // larger than the socket buffers between us and s3rver
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'big.csv', Body: Buffer.alloc(size, 'z') }));
    const [input] = await listS3Inputs(client, `s3://${bucket}/big.csv`, []);
    const t0 = Date.now();
    let read = 0;
    const err = await (async () => {
      for await (const c of input.open()) {
        read += c.byteLength;
        if (read === c.byteLength) await emu.current.stopS3();
      }
    })().catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(S3AccessError);
    expect(read).toBeLessThan(size);
    expect((err as Error).message).toMatch(new RegExp(`^S3 GetObject s3://${bucket}/big\\.csv failed(:| after \\d+ of ${size} bytes)`));

    // While it is down, a request fails (after retries) rather than hanging.
    const down = (await new S3Storage(client, `s3://${bucket}/`).get('big.csv').catch((e: unknown) => e)) as S3AccessError;
    expect(down).toBeInstanceOf(S3AccessError);
    expect(down.message).toMatch(/ECONNREFUSED/);
    expect(down.attempts).toBe(2);
    await expect(new S3Storage(client, `s3://${bucket}/`).put('new.txt', 'x')).rejects.toThrow(
      new RegExp(`^S3 PutObject s3://${bucket}/new\\.txt failed: .*ECONNREFUSED.*\\(2 attempts\\)$`),
    );

    await emu.current.startS3Again();
    expect((await readAll(input.open())).length).toBe(size);
  }, 30_000);
});
