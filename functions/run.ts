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
    const inputs = await inputsFor(req.input, env, config.input.extensions);
    const result = await runPipeline({ inputs, out, config, asOf: req.asOf, onProgress: req.onProgress });
    if (!req.send) return { result, delivery: { status: 'not requested' } };
    const ses = makeSesClient(env);
    const delivery = await sendOnce(out, result.runDate, result.manifest.runId, () =>
      sendRawEmail(ses, { from: result.email.from, to: result.email.to, raw: result.email.eml }),
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

/** Failure notice to config.report.operators; a failure to notify never hides the original error. */
async function notifyOperators(e: unknown, req: RunRequest, env: Env): Promise<void> {
  const operators = req.config.report.operators;
  if (operators.length === 0) return;
  const err = e as Error;
  const stage = e instanceof RunFailedError ? e.stage : isUserError(e) ? 'input' : 'compute';
  try {
    const notice = await buildFailureNotice({
      // A run that got as far as reading its data knows its date (lib/pipeline.ts attaches it).
      runDate: req.asOf ?? (e as { runDate?: string }).runDate ?? new Date().toISOString().slice(0, 10),
      reason: err.message,
      stage,
      details: [
        ...(e instanceof RunFailedError ? e.details : []),
        ...((e as { record?: string }).record ? [`failure record: ${req.out.replace(/\/?$/, '/')}${(e as { record?: string }).record}`] : []),
      ],
      from: req.config.report.from,
      to: operators,
    });
    await sendRawEmail(makeSesClient(env), { from: req.config.report.from, to: operators, raw: notice.eml });
  } catch (notifyError) {
    process.stderr.write(`tailwatch: could not send the failure notice: ${(notifyError as Error).message}\n`);
  }
}
