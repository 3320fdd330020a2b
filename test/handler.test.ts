/**
 * The Lambda handler end to end against the local S3 and SES APIs, driven by the event
 * EventBridge Scheduler delivers (infra/schedule.ts: the fixed input `{ source, scheduledTime }`
 * with `<aws.scheduler.scheduled-time>` filled in).
 */
import { readFileSync } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../functions/aws/s3.js';
import { handler } from '../functions/handler.js';
import { parseManifest } from '../lib/manifest.js';
import { layout, TABLE_NAMES } from '../lib/outputs/schema.js';
import { clearEmails, receivedEmails, useEmulators } from './helpers/emulators.js';
import {
  corruptAmounts, expectedKeys, gz, LEADERSHIP, OPERATOR, RUN_DATE, SAMPLE_EXPORT, sampleConfigInput, sampleCsv, snapshot, text,
} from './helpers/runs.js';

const emu = useEmulators();

/** What Scheduler sends on the 2026-11-01 06:00 tick (the schedule's input with its context attribute resolved). */
const SCHEDULER_EVENT = { source: 'tailwatch.schedule', scheduledTime: '2026-11-01T06:00:00Z' };

let exportsBucket: string;
let outputsBucket: string;
let env: Record<string, string>;
let out: S3Storage;

beforeAll(async () => {
  exportsBucket = await emu.bucket('exports');
  outputsBucket = await emu.bucket('outputs');
  const s3 = emu.s3();
  await s3.send(new PutObjectCommand({ Bucket: exportsBucket, Key: 'sales/sample-export.csv.gz', Body: readFileSync(SAMPLE_EXPORT) }));
  // 1 row in 20 with an unreadable amount: 5% rejected, above input.maxRejectShare (1%).
  await s3.send(new PutObjectCommand({ Bucket: exportsBucket, Key: 'bad/export.csv.gz', Body: gz(corruptAmounts(sampleCsv(), 20)) }));
  env = {
    ...emu.current.env,
    EXPORT_BUCKET: exportsBucket,
    EXPORT_PREFIX: 'sales/',
    OUTPUT_BUCKET: outputsBucket,
    OUTPUT_PREFIX: 'tailwatch/',
    CONFIG_JSON: JSON.stringify(sampleConfigInput()),
  };
  out = new S3Storage(emu.s3(), `s3://${outputsBucket}/tailwatch/`);
  await clearEmails(emu.current.sesEndpoint);
}, 30_000);

const sentMarker = async () => JSON.parse(text(await out.get(layout.run(RUN_DATE, 'sent.json')))) as { runId: string; state: string; messageId: string };
const manifest = async () => parseManifest((await out.get(layout.run(RUN_DATE, 'manifest.json')))!, 'manifest');

describe('Lambda handler on a scheduled event (local S3 + SES APIs)', () => {
  let firstMessageId: string;
  let firstRunId: string;

  it('a scheduled run writes every table and sends exactly one report', async () => {
    const res = await handler(SCHEDULER_EVENT, env);
    expect(res.status).toBe('succeeded');
    expect(res.runDate).toBe(RUN_DATE); // as of the latest order date in the export
    expect(res.rows.read).toBe(res.rows.accepted + res.rows.rejected + res.rows.ignored + res.rows.duplicates);

    const keys = await out.list('');
    for (const k of expectedKeys()) expect(keys).toContain(k);
    for (const t of TABLE_NAMES) expect(keys.filter((k) => k.startsWith(`${t}/`))).toEqual([layout.table(t, RUN_DATE)]);
    expect(keys.filter((k) => k.startsWith('_staging/') || k.startsWith('failures/'))).toEqual([]);

    const emails = await receivedEmails(emu.current.sesEndpoint);
    expect(emails).toHaveLength(1);
    const [mail] = emails;
    expect(mail.destination).toEqual({ to: [LEADERSHIP], cc: [], bcc: [] });
    const m = await manifest();
    expect(mail.subject).toBe(m.email?.subject);
    expect(res.email).toBe(`sent ${mail.messageId}`);
    // The id SES gave is recorded twice: in the at-most-once marker and in the manifest.
    const marker = await sentMarker();
    expect(marker).toMatchObject({ state: 'sent', messageId: mail.messageId, runId: m.runId });
    expect(m.email).toMatchObject({ messageId: mail.messageId, to: [LEADERSHIP] });
    firstMessageId = mail.messageId;
    firstRunId = m.runId;
  }, 120_000);

  it('a retried invocation for the same date replaces the partition and sends no second email', async () => {
    const res = await handler(SCHEDULER_EVENT, env);
    expect(res.runDate).toBe(RUN_DATE);
    expect(res.email).toMatch(new RegExp(`^skipped: the report for ${RUN_DATE} was already sent \\(message ${firstMessageId}\\)`));
    expect(await receivedEmails(emu.current.sesEndpoint)).toHaveLength(1);

    const m = await manifest();
    expect(m.runId).not.toBe(firstRunId); // the partition now holds the retry's outputs ...
    for (const t of TABLE_NAMES) expect(await out.list(layout.tablePrefix(t, RUN_DATE))).toEqual([layout.table(t, RUN_DATE)]); // ... one object each
    expect(await out.list('_staging/')).toEqual([]);
    // sent.json still names the one message that went out; this run sent nothing itself.
    expect(await sentMarker()).toMatchObject({ state: 'sent', messageId: firstMessageId, runId: firstRunId });
    // The retried run's manifest records the message already sent for its date.
    expect(m.email?.messageId).toBe(firstMessageId);
  }, 120_000);

  it('a run that fails the data-quality gate notifies the operators, sends no report, keeps the partition and throws', async () => {
    const before = await snapshot(out);
    await clearEmails(emu.current.sesEndpoint);
    const err = (await handler(SCHEDULER_EVENT, { ...env, EXPORT_PREFIX: 'bad/' }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('RunFailedError');
    expect(err.message).toMatch(/^\d+ of \d+ rows rejected \(5\.\d\d%\), above input\.maxRejectShare = 1\.00%: not reporting on bad data$/);

    const emails = await receivedEmails(emu.current.sesEndpoint);
    expect(emails).toHaveLength(1);
    const [notice] = emails;
    expect(notice.destination).toEqual({ to: [OPERATOR], cc: [], bcc: [] });
    expect(notice.subject).toMatch(/run failed at data quality, no report sent - \d+ of \d+ rows rejected/);
    expect(notice.body.text).toContain('No report was sent to leadership for this run');
    expect(notice.subject).toMatch(new RegExp(`^tailwatch ${RUN_DATE}: `)); // the data's date, not the day it ran
    expect(notice.body.text).toMatch(/^- \d+ x non-numeric amount "…"$/m); // the commonest reject reasons, counted, values blanked
    expect(notice.body.text).toMatch(new RegExp(`^- failure record: s3://${outputsBucket}/tailwatch/failures/run_date=${RUN_DATE}/[^/]+/failure\\.json$`, 'm'));

    // Nothing a reader sees changed; the failure is recorded beside, with the rejected rows.
    expect(await snapshot(out)).toEqual(before);
    const failures = await out.list(`failures/run_date=${RUN_DATE}/`);
    expect(failures).toHaveLength(2);
    expect(failures.map((k) => k.split('/').at(-1)).sort()).toEqual(['failure.json', 'rejects.csv']);
    const record = JSON.parse(text(await out.get(failures.find((k) => k.endsWith('failure.json'))!)));
    expect(record).toMatchObject({ runDate: RUN_DATE, stage: 'data quality', message: err.message });
    expect(record.rows.read).toBe(record.rows.accepted + record.rows.rejected + record.rows.ignored + record.rows.duplicates);
    const rejects = text(await out.get(failures.find((k) => k.endsWith('rejects.csv'))!)).trim().split('\n');
    expect(rejects.length - 1).toBe(record.rows.rejected);
  }, 120_000);

  it('an invalid event or environment is refused before any work, naming the field', async () => {
    await expect(handler({ ...SCHEDULER_EVENT, asOf: '31/10/2026' }, env)).rejects.toThrow('asOf must be YYYY-MM-DD');
    await expect(handler(SCHEDULER_EVENT, { ...env, OUTPUT_BUCKET: '' })).rejects.toThrow(/^environment variable OUTPUT_BUCKET: /);
  });
});
