/**
 * Faults during a run (runAndDeliver, the path the CLI and the Lambda share) against the local
 * S3 and SES APIs, with a fault-injecting proxy in front of each: S3 going away mid-read, mid-write
 * and mid-publish, SES refusing the report, the outputs bucket not writable or missing.
 * Each case checks the clear error, what a reader of the date's partition sees (byte for byte),
 * what was emailed, and that a re-run afterwards succeeds.
 * (Retries with backoff for 5xx/throttling and none for 4xx: test/aws-s3.test.ts.)
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3AccessError, S3Storage } from '../functions/aws/s3.js';
import { runAndDeliver, type RunRequest } from '../functions/run.js';
import { decodeParquet } from '../lib/outputs/parquet.js';
import { parseManifest } from '../lib/manifest.js';
import { layout, TABLE_NAMES } from '../lib/outputs/schema.js';
import { clearEmails, receivedEmails, useEmulators } from './helpers/emulators.js';
import { s3Error, startProxy, type Proxy } from './helpers/proxy.js';
import { LEADERSHIP, OPERATOR, RUN_DATE, sampleConfig, smallCsv, snapshot, text } from './helpers/runs.js';

const emu = useEmulators();
const config = sampleConfig();

let s3Proxy: Proxy;
let sesProxy: Proxy;
let exportsBucket: string;
let outputsBucket: string;
let out: S3Storage;
let exportBytes: number;

const request = (over: Partial<RunRequest> = {}): RunRequest => ({
  input: `s3://${exportsBucket}/sales/`,
  out: `s3://${outputsBucket}/tailwatch/`,
  config,
  send: true,
  // Two attempts per request keep the failing cases short; the retry policy itself is tested in aws-s3.test.ts.
  env: { ...emu.current.env, AWS_ENDPOINT_URL_S3: s3Proxy.endpoint, AWS_ENDPOINT_URL_SES: sesProxy.endpoint, AWS_MAX_ATTEMPTS: '2' },
  ...over,
});

const emails = async () => {
  const all = await receivedEmails(emu.current.sesEndpoint);
  return { reports: all.filter((m) => m.destination.to.includes(LEADERSHIP)), notices: all.filter((m) => m.destination.to.includes(OPERATOR)), all };
};

/** Runs, expecting failure; returns the error and what stderr got (a failed notice is reported there). */
async function failingRun(req: RunRequest): Promise<Error> {
  const err = await runAndDeliver(req).then(
    () => new Error('the run succeeded but should have failed'),
    (e: unknown) => e as Error,
  );
  expect(err.message).not.toBe('the run succeeded but should have failed');
  return err;
}

/** A re-run with nothing broken: succeeds, publishes, and the report goes out once. */
async function rerunSucceeds(before: Record<string, string>): Promise<void> {
  s3Proxy.onRequest = undefined;
  sesProxy.onRequest = undefined;
  await clearEmails(emu.current.sesEndpoint);
  const { result, delivery } = await runAndDeliver(request({ forceSend: true }));
  expect(delivery.status).toBe('sent');
  expect(await out.list(`_staging/${result.manifest.runId}/`)).toEqual([]);
  const m = parseManifest((await out.get(layout.run(RUN_DATE, 'manifest.json')))!, 'manifest');
  expect(m.runId).toBe(result.manifest.runId);
  expect(await snapshot(out)).not.toEqual(before); // the new run is in place
  const { reports, notices } = await emails();
  expect([reports.length, notices.length]).toEqual([1, 0]);
}

/** Every table partition of the date holds one whole object that a Parquet reader opens. */
async function tablesReadable(): Promise<void> {
  for (const t of TABLE_NAMES) {
    expect(await out.list(layout.tablePrefix(t, RUN_DATE))).toEqual([layout.table(t, RUN_DATE)]);
    await decodeParquet((await out.get(layout.table(t, RUN_DATE)))!);
  }
}

beforeAll(async () => {
  s3Proxy = await startProxy(emu.current.s3Endpoint);
  sesProxy = await startProxy(emu.current.sesEndpoint);
  exportsBucket = await emu.bucket('exports');
  outputsBucket = await emu.bucket('outputs');
  // Uncompressed, so that the read is long enough to cut in the middle.
  const csv = Buffer.from(smallCsv(), 'utf8');
  exportBytes = csv.byteLength;
  await emu.s3().send(new PutObjectCommand({ Bucket: exportsBucket, Key: 'sales/export.csv', Body: csv }));
  out = new S3Storage(emu.s3(), `s3://${outputsBucket}/tailwatch/`);
  // The earlier successful run of the date whose partition every fault must leave alone.
  const { delivery } = await runAndDeliver(request());
  expect(delivery.status).toBe('sent');
}, 120_000);

// A case that failed half-way must not take the next one down with it.
afterEach(async () => {
  s3Proxy.onRequest = undefined;
  sesProxy.onRequest = undefined;
  await emu.current.startS3Again();
});

afterAll(async () => {
  await s3Proxy?.close();
  await sesProxy?.close();
});

describe('faults: the run fails clearly, the previous partition is intact, a re-run succeeds', () => {
  it('S3 goes away mid-read of the export', async () => {
    const before = await snapshot(out);
    await clearEmails(emu.current.sesEndpoint);
    s3Proxy.onRequest = (r) =>
      r.method === 'GET' && r.path === `/${exportsBucket}/sales/export.csv` ? { cutAfterBytes: 64 * 1024, after: () => emu.current.stopS3() } : 'forward';
    const err = await failingRun(request());
    expect(err).toBeInstanceOf(S3AccessError);
    expect(err.message).toMatch(
      new RegExp(`^S3 GetObject s3://${exportsBucket}/sales/export\\.csv failed after \\d+ of ${exportBytes} bytes: `),
    );
    const { reports, notices } = await emails();
    expect(reports).toEqual([]);
    expect(notices).toHaveLength(1);
    expect(notices[0].subject).toMatch(/run failed at input, no report sent - S3 GetObject .* failed after/);

    await emu.current.startS3Again();
    expect(await snapshot(out)).toEqual(before);
    expect(await out.list('_staging/')).toEqual([]);
    await rerunSucceeds(before);
  }, 90_000);

  it('S3 goes away mid-write of the outputs (after 3 staged objects)', async () => {
    const before = await snapshot(out);
    await clearEmails(emu.current.sesEndpoint);
    let staged = 0;
    s3Proxy.onRequest = async (r) => {
      if (r.method === 'PUT' && r.path.includes('/_staging/') && ++staged === 4) await emu.current.stopS3();
      return 'forward' as const;
    };
    const err = await failingRun(request());
    expect(err.name).toBe('RunFailedError');
    expect(err.message).toMatch(
      new RegExp(`^could not write outputs to s3://${outputsBucket}/tailwatch/: S3 PutObject s3://${outputsBucket}/tailwatch/_staging/[^ ]+ failed: `),
    );
    const { reports, notices } = await emails();
    expect(reports).toEqual([]);
    expect(notices.map((n) => n.subject)).toEqual([expect.stringMatching(/^tailwatch 2026-10-31: run failed at outputs, no report sent/)]);

    await emu.current.startS3Again();
    expect(await snapshot(out)).toEqual(before);
    // The three staged objects could not be cleaned up while S3 was down; they sit under
    // _staging/ (outside every table location, expired by the bucket's lifecycle rule).
    const left = await out.list('_staging/');
    expect(left).toHaveLength(3);
    await rerunSucceeds(before);
    await out.delete(left);
  }, 90_000);

  it('S3 goes away mid-publish: each table object is whole (old or new), the manifest still names the old run', async () => {
    const before = await snapshot(out);
    const oldManifest = parseManifest((await out.get(layout.run(RUN_DATE, 'manifest.json')))!, 'manifest');
    await clearEmails(emu.current.sesEndpoint);
    let copies = 0;
    s3Proxy.onRequest = async (r) => {
      if (r.method === 'PUT' && r.headers['x-amz-copy-source'] && ++copies === 3) await emu.current.stopS3();
      return 'forward' as const;
    };
    const err = await failingRun(request());
    expect(err.message).toMatch(new RegExp(`^could not publish outputs to s3://${outputsBucket}/tailwatch/: S3 CopyObject `));
    expect((await emails()).reports).toEqual([]);

    await emu.current.startS3Again();
    // No object is half written and the manifest (the commit record) is the old run's; but the two
    // tables copied before the failure hold the new run's objects until a re-run (documented limit).
    await tablesReadable();
    expect((await out.list('_staging/')).length).toBeGreaterThan(0); // staged whole, left for the lifecycle rule
    const after = await snapshot(out);
    expect(after[layout.run(RUN_DATE, 'manifest.json')]).toBe(before[layout.run(RUN_DATE, 'manifest.json')]);
    expect(parseManifest((await out.get(layout.run(RUN_DATE, 'manifest.json')))!, 'm').runId).toBe(oldManifest.runId);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    await rerunSucceeds(before);
    await out.delete(await out.list('_staging/'));
  }, 90_000);

  it('a copy into place is refused mid-publish: the tables already replaced are rolled back, the date keeps the previous run byte for byte', async () => {
    const before = await snapshot(out);
    await clearEmails(emu.current.sesEndpoint);
    let intoPlace = 0;
    s3Proxy.onRequest = (r) => {
      const source = decodeURIComponent(String(r.headers['x-amz-copy-source'] ?? ''));
      // The third copy from staging into a table partition is denied; the roll-back's copies pass.
      if (r.method === 'PUT' && source.includes('/_staging/') && !source.includes('/previous/') && ++intoPlace === 3)
        return s3Error(403, 'AccessDenied', 'Access Denied');
      return 'forward';
    };
    const err = await failingRun(request());
    expect(err.message).toMatch(/^could not publish outputs to .*AccessDenied/);
    expect((await emails()).reports).toEqual([]);
    s3Proxy.onRequest = undefined;
    const after = await snapshot(out);
    expect(after).toEqual(before);
    await rerunSucceeds(before);
    await out.delete(await out.list('_staging/'));
  }, 90_000);

  it('SES refuses the report: the error says so, the operators are told, the claim is released, a re-run sends', async () => {
    const before = await snapshot(out);
    await clearEmails(emu.current.sesEndpoint);
    // As SES in its sandbox does for a recipient that is not verified.
    sesProxy.onRequest = (r) =>
      r.body.toString('utf8').includes(LEADERSHIP)
        ? {
            status: 400,
            headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'MessageRejected' },
            body: JSON.stringify({ message: `Email address is not verified. The following identities failed the check in region US-EAST-1: ${LEADERSHIP}` }),
          }
        : 'forward';
    const err = await failingRun(request({ forceSend: true }));
    expect(err.name).toBe('RunFailedError');
    expect(err.message).toBe(
      `the report was computed and saved, but could not be sent: SES SendEmail failed: MessageRejected: Email address is not verified. ` +
        `The following identities failed the check in region US-EAST-1: ${LEADERSHIP} (HTTP 400, 1 attempt)`,
    );
    const { reports, notices } = await emails();
    expect(reports).toEqual([]);
    expect(notices).toHaveLength(1);
    expect(notices[0].subject).toMatch(/run failed at delivery, no report sent/);
    // The outputs were computed and published whole (the data is right; only the email failed),
    // and no marker claims the report went out.
    await tablesReadable();
    expect(await out.get(layout.run(RUN_DATE, 'sent.json'))).toBeUndefined();
    const m = parseManifest((await out.get(layout.run(RUN_DATE, 'manifest.json')))!, 'manifest');
    expect(m.email).toMatchObject({ messageId: null, sentAt: null });
    await rerunSucceeds(before);
  }, 90_000);

  it('outputs bucket not writable (a bucket policy denies writes): fails on the first write, not retried', async () => {
    const before = await snapshot(out);
    await clearEmails(emu.current.sesEndpoint);
    s3Proxy.onRequest = (r) =>
      r.path.startsWith(`/${outputsBucket}/`) && (r.method === 'PUT' || r.method === 'POST' || r.method === 'DELETE')
        ? s3Error(403, 'AccessDenied', 'Access Denied')
        : 'forward';
    const err = await failingRun(request());
    expect(err.message).toMatch(
      new RegExp(`^could not write outputs to s3://${outputsBucket}/tailwatch/: S3 PutObject s3://${outputsBucket}/tailwatch/_staging/\\S+ failed: AccessDenied: Access Denied \\(HTTP 403, 1 attempt\\)$`),
    );
    const puts = s3Proxy.requests.filter((r) => r.method === 'PUT' && r.path.startsWith(`/${outputsBucket}/tailwatch/_staging/`));
    expect(puts.length).toBeGreaterThan(0);
    expect((await emails()).reports).toEqual([]);
    expect((await emails()).notices).toHaveLength(1);
    expect(await snapshot(out)).toEqual(before);
    expect(await out.list('_staging/')).toEqual([]);
    await rerunSucceeds(before);
  }, 90_000);

  it('outputs bucket missing: a clear error naming it, before any work is written', async () => {
    await clearEmails(emu.current.sesEndpoint);
    const err = await failingRun(request({ out: 's3://tailwatch-no-such-bucket/tailwatch/' }));
    expect(err.message).toMatch(/^S3 ListObjectsV2 s3:\/\/tailwatch-no-such-bucket\/tailwatch\/segments\/ failed: NoSuchBucket: /);
    expect((await emails()).reports).toEqual([]);
    expect((await emails()).notices).toHaveLength(1);
  }, 60_000);
});

describe('the failure record', () => {
  it('a run whose input fails the quality gate writes failure.json and rejects.csv, and nothing a reader sees', async () => {
    const before = await snapshot(out);
    await emu.s3().send(new PutObjectCommand({ Bucket: exportsBucket, Key: 'empty/export.csv', Body: 'order_id,customer_id,order_date,amount,margin,region,channel,currency\nO1,C1,2026-10-31,12.50,,NA,web,USD\nO2,C2,2026-10-30,=1+1,,NA,web,USD\n' }));
    const err = await failingRun(request({ input: `s3://${exportsBucket}/empty/`, send: false }));
    expect(err.message).toBe('1 of 2 rows rejected (50.00%), above input.maxRejectShare = 1.00%: not reporting on bad data');
    expect(await snapshot(out)).toEqual(before);
    const keys = await out.list(`failures/run_date=${RUN_DATE}/`);
    expect(keys.map((k) => k.split('/').at(-1)).sort()).toEqual(['failure.json', 'rejects.csv']);
    expect(JSON.parse(text(await out.get(keys.find((k) => k.endsWith('.json'))!)))).toMatchObject({ stage: 'data quality', runDate: RUN_DATE });
  }, 30_000);
});
