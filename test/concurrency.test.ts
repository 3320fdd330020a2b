/**
 * Two runs for the same date at once send one report: the claim on runs/run_date=D/sent.json
 * is a create-only write (Storage.putIfAbsent), and only its winner sends.
 *
 * s3rver 3.7.1 ignores If-None-Match on PUT, so S3Storage.putIfAbsent also HEADs first and
 * serialises claims for one key within the process: against the emulator the guarantee is
 * tested within one process. What real S3 does for two processes (the loser's conditional PUT
 * gets 412) is played by a proxy answering 412, and the PUT is checked to carry If-None-Match.
 * FsStorage claims with link(2), atomic across processes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../functions/aws/s3.js';
import { FsStorage } from '../functions/local/fs.js';
import { runAndDeliver, type RunRequest } from '../functions/run.js';
import { layout } from '../lib/outputs/schema.js';
import type { Storage } from '../lib/storage.js';
import { clearEmails, receivedEmails, useEmulators } from './helpers/emulators.js';
import { s3Error, startProxy } from './helpers/proxy.js';
import { LEADERSHIP, RUN_DATE, sampleConfig, smallCsv, text } from './helpers/runs.js';

const emu = useEmulators();
const config = sampleConfig();
const csv = smallCsv(11);
let exportsBucket: string;
let dir: string;

beforeAll(async () => {
  exportsBucket = await emu.bucket('exports');
  await emu.s3().send(new PutObjectCommand({ Bucket: exportsBucket, Key: 'sales/export.csv', Body: csv }));
  dir = mkdtempSync(path.join(tmpdir(), 'tailwatch-concurrency-'));
  writeFileSync(path.join(dir, 'export.csv'), csv);
}, 30_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function twoAtOnce(req: Omit<RunRequest, 'config' | 'send'>, out: Storage): Promise<void> {
  await clearEmails(emu.current.sesEndpoint);
  const both = await Promise.all([runAndDeliver({ ...req, config, send: true }), runAndDeliver({ ...req, config, send: true })]);
  expect(both.map((r) => r.result.runDate)).toEqual([RUN_DATE, RUN_DATE]);
  const statuses = both.map((r) => r.delivery.status).sort();
  expect(statuses).toEqual(['sent', 'skipped']);

  const emails = await receivedEmails(emu.current.sesEndpoint);
  expect(emails).toHaveLength(1);
  expect(emails[0].destination.to).toEqual([LEADERSHIP]);
  const winner = both.find((r) => r.delivery.status === 'sent')!;
  const marker = JSON.parse(text(await out.get(layout.run(RUN_DATE, 'sent.json'))));
  expect(marker).toMatchObject({ state: 'sent', messageId: emails[0].messageId, runId: winner.result.manifest.runId });
}

describe('two runs for the same date at once send exactly one email', () => {
  it('on S3 (one process; s3rver ignores If-None-Match, the in-process guard decides)', async () => {
    const outputs = await emu.bucket('outputs');
    await twoAtOnce(
      { input: `s3://${exportsBucket}/sales/`, out: `s3://${outputs}/tailwatch/`, env: emu.current.env },
      new S3Storage(emu.s3(), `s3://${outputs}/tailwatch/`),
    );
  }, 120_000);

  it('on the local file system (the claim is a hard link: atomic across processes too)', async () => {
    const out = path.join(dir, 'out');
    await twoAtOnce({ input: path.join(dir, 'export.csv'), out, env: emu.current.env }, new FsStorage(out));
  }, 120_000);

  it('on real S3 the claim is a conditional PUT: a 412 for it means another run has it, and nothing is sent', async () => {
    const outputs = await emu.bucket('outputs');
    const proxy = await startProxy(emu.current.s3Endpoint);
    try {
      proxy.onRequest = (r) =>
        r.method === 'PUT' && r.path.endsWith('/sent.json') ? s3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold') : 'forward';
      await clearEmails(emu.current.sesEndpoint);
      const { delivery } = await runAndDeliver({
        input: `s3://${exportsBucket}/sales/`,
        out: `s3://${outputs}/tailwatch/`,
        config,
        send: true,
        env: { ...emu.current.env, AWS_ENDPOINT_URL_S3: proxy.endpoint },
      });
      expect(delivery).toEqual({ status: 'skipped', messageId: null, reason: `another run is sending the report for ${RUN_DATE}` });
      expect(await receivedEmails(emu.current.sesEndpoint)).toEqual([]);
      const claim = proxy.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/sent.json'));
      expect(claim).toHaveLength(1);
      expect(claim[0].headers['if-none-match']).toBe('*');
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
