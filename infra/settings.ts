/**
 * The deployment settings: CDK context (cdk.json "context" or `-c key=value`) validated with zod.
 * `-c` values always arrive as strings, cdk.json values as JSON, so every list and number
 * accepts both forms. The tailwatch config is the same schema as the CLI's (lib/config.ts),
 * validated here so that a bad mapping fails `cdk synth` instead of the first scheduled run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, isTimeZone, parseConfig, type Config, type ConfigInput } from '../lib/config.js';
import { SettingsError } from './errors.js';
import { exportTableSpec } from './export-table.js';

export { SettingsError };

/** A column of the export as the Athena engine sees it (ordered: OpenCSVSerde maps by position). */
export interface ExportColumn {
  name: string;
  /** Glue/Hive type name: string, bigint, double, date, timestamp, ... */
  type: string;
}

export interface Settings {
  /** Existing bucket holding the exports; absent: the stack creates one. */
  exportBucketName?: string;
  /** KMS key the existing export bucket encrypts with (SSE-KMS); the pipeline may decrypt with it. */
  exportKmsKeyArn?: string;
  /** Key prefix of the export files: '' or ending in '/'. */
  exportPrefix: string;
  /** Key prefix of the output tables inside the outputs bucket: '' or ending in '/'. */
  outputPrefix: string;
  /** The validated run configuration (defaults filled). */
  config: Config;
  /** The configuration as given, with the report addresses from context merged in: what CONFIG_JSON carries. */
  configInput: ConfigInput;
  /** EventBridge Scheduler expression, e.g. "cron(0 7 ? * MON *)". */
  schedule: string;
  /** IANA time zone the schedule expression is read in. */
  scheduleTimeZone: string;
  senderEmail: string;
  recipients: string[];
  operatorEmails: string[];
  /** Days before output objects expire; 0 keeps them forever. */
  outputRetentionDays: number;
  logRetentionDays: number;
  glueDatabaseName: string;
  /** Full ordered column list of the export (Athena engine only; required for CSV with named columns). */
  exportColumns?: ExportColumn[];
}

/** Context keys read by the app; anything else in the context is CDK's own (feature flags). */
export const CONTEXT_KEYS = [
  'exportBucketName',
  'exportKmsKeyArn',
  'exportPrefix',
  'outputPrefix',
  'config',
  'schedule',
  'scheduleTimeZone',
  'senderEmail',
  'recipients',
  'operatorEmails',
  'outputRetentionDays',
  'logRetentionDays',
  'glueDatabaseName',
  'exportColumns',
] as const;

/** Retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** "a@x.com, b@y.com" (from -c) or ["a@x.com"] (from cdk.json). */
const emailList = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : v,
  z.array(z.string().email('not an email address')),
);

const intFromContext = (min: number) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().int().min(min));

/** A key prefix: no leading slash, '' or ending in '/'. */
const keyPrefix = z
  .string()
  .refine((p) => !p.startsWith('/'), { message: 'a key prefix must not start with "/"' })
  .refine((p) => !/[*?]/.test(p), { message: 'a key prefix must not contain wildcards' })
  .transform((p) => (p === '' || p.endsWith('/') ? p : `${p}/`));

// EventBridge Scheduler: cron has six fields (minutes hours day-of-month month day-of-week year).
const scheduleExpression = z
  .string()
  .regex(/^(cron\((\S+\s+){5}\S+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/, {
    message: 'expected "cron(m h dom mon dow year)" with six fields, or "rate(n unit)"',
  });

const exportColumns = z.preprocess(
  (v) => (typeof v === 'string' ? JSON.parse(v) : v),
  z.array(
    z.union([
      z.string().min(1).transform((name) => ({ name, type: 'string' })),
      z.object({ name: z.string().min(1), type: z.string().regex(/^[a-z][a-z0-9_(),]*$/, 'a Hive type name such as string, bigint, double, date') }).strict(),
    ]),
  ),
);

const contextSchema = z
  .object({
    exportBucketName: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'not an S3 bucket name')
      .optional(),
    exportKmsKeyArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]+$/, 'expected a KMS key ARN (arn:aws:kms:region:account:key/id)')
      .optional(),
    exportPrefix: keyPrefix.default('exports/'),
    outputPrefix: keyPrefix.default('tailwatch/'),
    config: z.unknown().optional(),
    schedule: scheduleExpression.default('cron(0 7 ? * MON *)'),
    scheduleTimeZone: z.string().refine(isTimeZone, { message: 'not an IANA time zone name (e.g. "Europe/Berlin")' }).default('UTC'),
    senderEmail: z.string().email('not an email address').optional(),
    recipients: emailList.optional(),
    operatorEmails: emailList.optional(),
    outputRetentionDays: intFromContext(0).default(730),
    logRetentionDays: intFromContext(1)
      .refine((d) => LOG_RETENTION_DAYS.includes(d), { message: `CloudWatch Logs keeps logs for one of ${LOG_RETENTION_DAYS.join(', ')} days` })
      .default(90),
    glueDatabaseName: z
      .string()
      .regex(/^[a-z0-9_]{1,255}$/, 'lower case letters, digits and underscores only')
      .default('tailwatch'),
    exportColumns: exportColumns.optional(),
  })
  .passthrough();

/**
 * The config context value: a JSON object, a JSON string, or a path to a JSON file
 * (relative to the working directory, which for the CDK CLI is the directory of cdk.json).
 */
function loadConfigInput(raw: unknown, cwd: string): { value: ConfigInput; source: string } {
  if (raw === undefined || raw === null) return { value: {}, source: 'context "config"' };
  if (typeof raw === 'object') return { value: raw as ConfigInput, source: 'context "config"' };
  if (typeof raw !== 'string') throw new SettingsError('context "config": expected a JSON object, or the path of a JSON file');
  const text = raw.trim();
  if (text.startsWith('{')) {
    try {
      return { value: JSON.parse(text) as ConfigInput, source: 'context "config"' };
    } catch (e) {
      throw new SettingsError(`context "config": not valid JSON (${(e as Error).message})`);
    }
  }
  const path = isAbsolute(text) ? text : resolve(cwd, text);
  if (!existsSync(path)) throw new SettingsError(`context "config": no such file ${path}`);
  try {
    return { value: JSON.parse(readFileSync(path, 'utf8')) as ConfigInput, source: path };
  } catch (e) {
    throw new SettingsError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Reads and validates the deployment settings from a context lookup (`app.node.tryGetContext`).
 * Throws SettingsError naming the key on the first problem.
 */
export function readSettings(get: (key: string) => unknown, cwd = process.cwd()): Settings {
  const raw: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const v = get(key);
    if (v !== undefined) raw[key] = v;
  }
  let ctx: z.infer<typeof contextSchema>;
  try {
    const res = contextSchema.safeParse(raw);
    if (!res.success) {
      const first = res.error.issues[0];
      throw new SettingsError(`context "${first.path.join('.') || '(root)'}": ${first.message}`);
    }
    ctx = res.data;
  } catch (e) {
    if (e instanceof SettingsError) throw e;
    throw new SettingsError(`context: ${(e as Error).message}`);
  }

  const { value: userConfig, source } = loadConfigInput(ctx.config, cwd);
  if (typeof userConfig !== 'object' || Array.isArray(userConfig))
    throw new SettingsError(`${source}: expected a JSON object`);
  // Validate the config as given first, so an error names the user's own key.
  let given: Config;
  try {
    given = parseConfig(userConfig, source);
  } catch (e) {
    if (e instanceof ConfigError) throw new SettingsError(e.message);
    throw e;
  }

  // Context addresses win over the config's report block; either place works.
  const senderEmail = ctx.senderEmail ?? given.report.from;
  const recipients = ctx.recipients ?? given.report.to;
  const operatorEmails = ctx.operatorEmails ?? given.report.operators;
  if (recipients.length === 0) throw new SettingsError('context "recipients": at least one recipient is needed');
  const configInput: ConfigInput = {
    ...userConfig,
    report: { ...(userConfig.report ?? {}), from: senderEmail, to: recipients, operators: operatorEmails },
  };
  const config = parseConfig(configInput, source);
  // Engine "athena": the export must be describable to Glue; say so now, not halfway through building.
  if (config.engine === 'athena') exportTableSpec(config, ctx.exportColumns);
  if (ctx.exportKmsKeyArn && !ctx.exportBucketName)
    throw new SettingsError('context "exportKmsKeyArn": only for an existing export bucket ("exportBucketName"); a created one uses S3-managed keys');

  return {
    exportBucketName: ctx.exportBucketName,
    exportKmsKeyArn: ctx.exportKmsKeyArn,
    exportPrefix: ctx.exportPrefix,
    outputPrefix: ctx.outputPrefix,
    config,
    configInput,
    schedule: ctx.schedule,
    scheduleTimeZone: ctx.scheduleTimeZone,
    senderEmail,
    recipients,
    operatorEmails,
    outputRetentionDays: ctx.outputRetentionDays,
    logRetentionDays: ctx.logRetentionDays,
    glueDatabaseName: ctx.glueDatabaseName,
    exportColumns: ctx.exportColumns,
  };
}
