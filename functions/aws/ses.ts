/**
 * Sending the report: one raw MIME message (built by the report stage) through SES v2
 * SendEmail with Content.Raw, which both SES and aws-ses-v2-local accept.
 */
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { baseClientConfig, type S3ClientOptions } from './s3.js';

/** SES v2 maximum message size, attachments included (AWS SES quotas, "Message size"). */
export const SES_MAX_MESSAGE_BYTES = 40 * 1024 * 1024;
/** SES maximum recipients per message (To + Cc + Bcc). */
export const SES_MAX_RECIPIENTS = 50;

/** The message cannot be sent as given (too big, no recipients); not worth retrying. */
export class EmailRejectedError extends Error {
  override name = 'EmailRejectedError';
}

/** SES refused or could not be reached (after the SDK's retries). */
export class SesSendError extends Error {
  override name = 'SesSendError';
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    readonly attempts: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

type Env = Record<string, string | undefined>;

/** An SES v2 client from the standard AWS env vars (AWS_ENDPOINT_URL_SES or AWS_ENDPOINT_URL, AWS_REGION). */
export function makeSesClient(env: Env = process.env, opts: S3ClientOptions = {}): SESv2Client {
  const endpoint = env.AWS_ENDPOINT_URL_SES || env.AWS_ENDPOINT_URL || undefined;
  return new SESv2Client(baseClientConfig(env, endpoint, opts));
}

export interface RawEmail {
  from: string;
  to: string[];
  /** The whole MIME message (headers and body), as built e.g. by nodemailer's MailComposer. */
  raw: Uint8Array;
  /** SES configuration set (the stack's: sending events, reputation metrics). */
  configurationSet?: string;
}

export async function sendRawEmail(client: SESv2Client, email: RawEmail): Promise<{ messageId: string }> {
  const { from, to, raw } = email;
  if (to.length === 0) throw new EmailRejectedError('cannot send the report: no recipients (config report.to is empty)');
  if (to.length > SES_MAX_RECIPIENTS) {
    throw new EmailRejectedError(`cannot send the report to ${to.length} recipients: SES allows at most ${SES_MAX_RECIPIENTS} per message`);
  }
  if (raw.byteLength > SES_MAX_MESSAGE_BYTES) {
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    throw new EmailRejectedError(
      `the report email is ${mb(raw.byteLength)} MB, over the SES limit of ${mb(SES_MAX_MESSAGE_BYTES)} MB: attach fewer or smaller files`,
    );
  }
  try {
    const res = await client.send(
      new SendEmailCommand({
        FromEmailAddress: from,
        Destination: { ToAddresses: to },
        Content: { Raw: { Data: raw } },
        ConfigurationSetName: email.configurationSet,
      }),
    );
    if (!res.MessageId) throw new Error('SES answered without a MessageId');
    return { messageId: res.MessageId };
  } catch (err) {
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
    const status = e?.$metadata?.httpStatusCode;
    const attempts = e?.$metadata?.attempts;
    const extra = [status ? `HTTP ${status}` : undefined, attempts ? `${attempts} attempt${attempts === 1 ? '' : 's'}` : undefined].filter(Boolean);
    throw new SesSendError(
      `SES SendEmail failed: ${[e?.name && e.name !== 'Error' ? e.name : undefined, e?.message].filter(Boolean).join(': ') || String(err)}${extra.length ? ` (${extra.join(', ')})` : ''}`,
      status,
      attempts,
      { cause: err },
    );
  }
}
