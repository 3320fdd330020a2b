/**
 * The scheduled pipeline Lambda: validates its event and environment with zod, runs the
 * shared core on the export prefix, writes the tables, sends the report at most once per run
 * date (or a failure notice to operators), logs structured JSON without customer data, and
 * rethrows failures so that the invocation fails into the stack's failure destination.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { parseConfig } from '../lib/config.js';
import { isUserError, RunFailedError } from '../lib/errors.js';
import { runAndDeliver } from './run.js';

const envSchema = z.object({
  EXPORT_BUCKET: z.string().min(3),
  EXPORT_PREFIX: z.string().default(''),
  OUTPUT_BUCKET: z.string().min(3),
  OUTPUT_PREFIX: z.string().default(''),
  CONFIG_JSON: z.string().default('{}'),
  SES_CONFIGURATION_SET: z.string().optional(),
  /** "false" computes and stores the report without emailing it. */
  SEND_EMAIL: z.enum(['true', 'false']).default('true'),
});

/**
 * EventBridge Scheduler passes `{ source: "tailwatch.schedule", scheduledTime }`; an operator
 * re-running or backfilling a date passes `{ asOf: "YYYY-MM-DD" }` (and may add `forceSend`).
 * Without asOf the run reports as of the latest order date in the export.
 */
export const eventSchema = z
  .object({
    source: z.string().optional(),
    scheduledTime: z.string().optional(),
    asOf: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'asOf must be YYYY-MM-DD')
      .optional(),
    forceSend: z.boolean().optional(),
  })
  .passthrough();

export interface HandlerResult {
  status: 'succeeded';
  runDate: string;
  customers: number;
  alerts: number;
  rows: { read: number; accepted: number; rejected: number; ignored: number; duplicates: number };
  email: string;
}

const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'tailwatch' });

function s3Uri(bucket: string, prefix: string): string {
  return `s3://${bucket}/${prefix.replace(/^\/+/, '')}`;
}

export async function handler(rawEvent: unknown, env: Record<string, string | undefined> = process.env): Promise<HandlerResult> {
  const envParsed = envSchema.safeParse(env);
  if (!envParsed.success) {
    const i = envParsed.error.issues[0];
    const msg = `environment variable ${i.path.join('.')}: ${i.message}`;
    logger.error('invalid configuration', { error: msg });
    throw new RunFailedError(msg, 'input');
  }
  const e = envParsed.data;
  const event = eventSchema.parse(rawEvent ?? {});
  const config = parseConfig(JSON.parse(e.CONFIG_JSON), 'CONFIG_JSON');
  logger.info('run started', { source: event.source ?? 'manual', scheduledTime: event.scheduledTime, asOf: event.asOf ?? 'latest order' });
  try {
    const { result, delivery } = await runAndDeliver({
      input: s3Uri(e.EXPORT_BUCKET, e.EXPORT_PREFIX),
      out: s3Uri(e.OUTPUT_BUCKET, e.OUTPUT_PREFIX),
      config,
      asOf: event.asOf,
      send: e.SEND_EMAIL === 'true',
      forceSend: event.forceSend,
      configurationSet: e.SES_CONFIGURATION_SET,
      env,
      onProgress: (p) => logger.debug('progress', { stage: p.stage, rows: p.rows, bytes: p.bytes }),
    });
    const m = result.manifest;
    const email = delivery.status === 'sent' ? `sent ${delivery.messageId}` : delivery.status === 'skipped' ? `skipped: ${delivery.reason}` : 'not requested';
    logger.info('run succeeded', { runDate: m.runDate, rows: m.rows, customers: m.customers, alerts: m.alerts, timingsMs: m.timingsMs, email });
    return { status: 'succeeded', runDate: m.runDate, customers: m.customers, alerts: m.alerts, rows: m.rows, email };
  } catch (err) {
    const error = err as Error;
    if (isUserError(err)) logger.error('run failed', { errorName: error.name, error: error.message, stage: (err as RunFailedError).stage });
    else logger.error('run failed with an internal error', error);
    throw err;
  }
}
