/**
 * One run with delivery, shared by the CLI and the Lambda handler: resolve where the bytes
 * live, run the core, then send the report at most once per run date, or, when the run
 * failed, a short failure notice to the operators (never a misleading report).
 */
import type { Config } from '../lib/config.js';
import { sendOnce, type SendOutcome } from '../lib/delivery.js';
import { isUserError, RunFailedError } from '../lib/errors.js';
import { runPipeline, type ProgressEvent, type RunResult } from '../lib/pipeline.js';
import { buildFailureNotice } from '../lib/report/index.js';
import { AthenaClient } from '@aws-sdk/client-athena';
import { z } from 'zod';
import type { RowAccounting } from '../lib/athena/index.js';
import { isoToDay } from '../lib/dates.js';
import type { InputFile } from '../lib/storage.js';
import { runAthenaReduction, type AthenaLike } from './aws/athena.js';
import { baseClientConfig, isS3Uri } from './aws/s3.js';
import { makeSesClient, sendRawEmail } from './aws/ses.js';
import { inputsFor, storageFor } from './io.js';

type Env = Record<string, string | undefined>;

export interface RunRequest {
  input: string;
  out: string;
  config: Config;
  asOf?: string;
  send: boolean;
  forceSend?: boolean;
  /** SES configuration set for sending (Lambda). */
  configurationSet?: string;
  env?: Env;
  /** Engine "athena": the Athena client (default: an AthenaClient from the environment). */
  athenaClient?: AthenaLike;
  onProgress?: (e: ProgressEvent) => void;
}

export interface RunResponse {
  result: RunResult;
  delivery: SendOutcome | { status: 'not requested' };
}

export async function runAndDeliver(req: RunRequest): Promise<RunResponse> {
  const env = req.env ?? process.env;
  const { config } = req;
  try {
    const out = storageFor(req.out, env);
    const { inputs, reduced } =
      config.engine === 'athena'
        ? await athenaInputs(req, env)
        : { inputs: await inputsFor(req.input, env, config.input.extensions), reduced: undefined };
    const result = await runPipeline({ inputs, out, config, asOf: req.asOf, onProgress: req.onProgress, reduced });
    if (!req.send) return { result, delivery: { status: 'not requested' } };
    const ses = makeSesClient(env);
    const delivery = await sendOnce(out, result.runDate, result.manifest.runId, () =>
      sendRawEmail(ses, { from: result.email.from, to: result.email.to, raw: result.email.eml, configurationSet: req.configurationSet }),
      { force: req.forceSend },
    ).catch((e: Error) => {
      throw new RunFailedError(`the report was computed and saved, but could not be sent: ${e.message}`, 'delivery');
    });
    return { result, delivery };
  } catch (e) {
    if (req.send) await notifyOperators(e, req, env);
    throw e;
  }
}

const athenaClientConfig = (env: Env) => baseClientConfig(env, env.AWS_ENDPOINT_URL_ATHENA || env.AWS_ENDPOINT_URL || undefined);

const athenaEnv = z.object({
  ATHENA_WORKGROUP: z.string().min(1),
  GLUE_DATABASE: z.string().min(1),
  EXPORT_TABLE: z.string().min(1),
  EXPORT_COLUMN_NAMES: z.string().default('{}'),
});

/**
 * Engine "athena": the only pass over all rows runs as SQL on Athena over the export's Glue
 * table (UNLOADed as Parquet under the output's _staging/ prefix); the pipeline reads that
 * reduction with the same core. Needs the stack's environment (workgroup, database, table).
 */
async function athenaInputs(req: RunRequest, env: Env): Promise<{ inputs: InputFile[]; reduced: { accounting: RowAccounting } }> {
  const parsed = athenaEnv.safeParse(env);
  if (!parsed.success)
    throw new RunFailedError(
      `config engine "athena" needs ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')} in the environment (the CDK stack sets them); use engine "lambda" to read the files directly`,
      'input',
    );
  if (!isS3Uri(req.out)) throw new RunFailedError('config engine "athena" writes its reduction to S3: --out must be an s3:// location', 'input');
  const e = parsed.data;
  const asOfDay = req.asOf ? isoToDay(req.asOf) ?? undefined : undefined;
  const { reducedPrefix, accounting } = await runAthenaReduction(req.athenaClient ?? new AthenaClient(athenaClientConfig(env)), {
    workgroup: e.ATHENA_WORKGROUP,
    database: e.GLUE_DATABASE,
    table: e.EXPORT_TABLE,
    outputS3Uri: `${req.out.replace(/\/+$/, '')}/_staging/athena/`,
    config: req.config,
    asOfDay,
    columnNames: JSON.parse(e.EXPORT_COLUMN_NAMES) as Record<string, string>,
  });
  req.onProgress?.({ stage: 'athena', message: `export reduced by Athena: ${accounting.rows.read} rows read` });
  return { inputs: await inputsFor(reducedPrefix, env, []), reduced: { accounting } };
}

/** Failure notice to config.report.operators; a failure to notify never hides the original error. */
async function notifyOperators(e: unknown, req: RunRequest, env: Env): Promise<void> {
  const operators = req.config.report.operators;
  if (operators.length === 0) return;
  const err = e as Error;
  const stage = e instanceof RunFailedError ? e.stage : isUserError(e) ? 'input' : 'compute';
  try {
    const notice = await buildFailureNotice({
      // A run that got as far as reading its data knows its date (lib/pipeline.ts attaches it).
      runDate: req.asOf ?? (e instanceof RunFailedError ? e.runDate : undefined) ?? new Date().toISOString().slice(0, 10),
      reason: err.message,
      stage,
      details: [
        ...(e instanceof RunFailedError ? e.details : []),
        ...(e instanceof RunFailedError && e.record ? [`failure record: ${req.out.replace(/\/?$/, '/')}${e.record}`] : []),
      ],
      from: req.config.report.from,
      to: operators,
    });
    await sendRawEmail(makeSesClient(env), { from: req.config.report.from, to: operators, raw: notice.eml, configurationSet: req.configurationSet });
  } catch (notifyError) {
    process.stderr.write(`tailwatch: could not send the failure notice: ${(notifyError as Error).message}\n`);
  }
}
