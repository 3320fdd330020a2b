/**
 * The MIME message, built by nodemailer's MailComposer (never by hand):
 * multipart/mixed [ multipart/alternative [ text/plain, multipart/related [ text/html, PNGs by Content-ID ] ], CSVs ].
 * The result is the raw RFC 5322 bytes that functions/ hand to SES SendEmail (Content.Raw).
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import { escapeHtml, headerSafe } from './format.js';
import { HTML_NOTE_MARKER } from './html.js';
import type { RenderedReport } from './types.js';

/** SES v2 SendEmail: the whole raw message, after encoding, at most 40 MB. */
export const SES_MAX_MESSAGE_BYTES = 40 * 1000 * 1000;

export class EmailTooLargeError extends Error {
  override name = 'EmailTooLargeError';
}

export interface EmailOptions {
  from: string;
  to: string[];
  date?: Date;
  /** Size limit of the encoded message; default SES_MAX_MESSAGE_BYTES (tests lower it). */
  maxBytes?: number;
}

type ComposerOptions = ConstructorParameters<typeof MailComposer>[0];

async function compose(opts: ComposerOptions): Promise<Uint8Array> {
  const buf = await new Promise<Buffer>((resolve, reject) => {
    new MailComposer(opts).compile().build((err, message) => (err ? reject(err) : resolve(message)));
  });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/**
 * The report as one MIME message. If it would exceed the limit, CSV attachments are left out,
 * largest first, and a note saying so is added to both the HTML and the text (the same data
 * is in the tables on S3). The charts are small and never dropped; if the message is still
 * too large without any attachment, this throws EmailTooLargeError.
 */
export async function buildReportEmail(rendered: RenderedReport, opts: EmailOptions): Promise<Uint8Array> {
  if (opts.to.length === 0) throw new Error('report email: no recipients (config report.recipients is empty)');
  const limit = opts.maxBytes ?? SES_MAX_MESSAGE_BYTES;
  let attachments = [...rendered.attachments];
  const notes: string[] = [];
  for (;;) {
    const html = rendered.html.replace(
      HTML_NOTE_MARKER,
      notes.map((n) => `<p style="font-family:Arial,Helvetica,sans-serif;font-size:13px;color:#9a3412;margin:0 16px 12px;">${escapeHtml(n)}</p>`).join('') +
        HTML_NOTE_MARKER,
    );
    const text = notes.length ? `${rendered.text}\n${notes.map((n) => `Note: ${n}`).join('\n')}\n` : rendered.text;
    const eml = await compose({
      from: opts.from,
      to: opts.to,
      subject: headerSafe(rendered.subject, 200),
      date: opts.date ?? new Date(),
      text,
      html,
      textEncoding: 'quoted-printable',
      attachments: [
        ...rendered.images.map((img) => ({
          filename: img.filename,
          content: Buffer.from(img.png),
          contentType: 'image/png',
          cid: img.cid,
          contentDisposition: 'inline' as const,
        })),
        ...attachments.map((a) => ({ filename: a.filename, content: Buffer.from(a.content, 'utf8'), contentType: 'text/csv; charset=utf-8' })),
      ],
    });
    if (eml.byteLength <= limit) return eml;
    if (attachments.length === 0) {
      throw new EmailTooLargeError(`report email is ${mb(eml.byteLength)} without attachments, over the ${mb(limit)} limit of SES`);
    }
    // drop the largest attachment and say so
    const largest = attachments.reduce((a, b) => (Buffer.byteLength(b.content) > Buffer.byteLength(a.content) ? b : a));
    attachments = attachments.filter((a) => a !== largest);
    notes.push(
      `${largest.filename} (${mb(Buffer.byteLength(largest.content))}) was left out: with it the email would exceed the ${mb(limit)} limit of the mail service. ` +
        `The same rows are in the tables (see "Get the data").`,
    );
  }
}

export interface FailureNoticeOptions {
  runDate: string;
  reason: string;
  stage: string;
  from: string;
  to: string[];
  details?: string[];
  date?: Date;
}

/**
 * The short notice operators get instead of a report when the run or its data failed: a
 * misleading report is worse than none. Text only; no data, no customer identifiers.
 */
export async function buildFailureNotice(opts: FailureNoticeOptions): Promise<{ subject: string; text: string; eml: Uint8Array }> {
  if (opts.to.length === 0) throw new Error('failure notice: no recipients (config operators list is empty)');
  const firstLine = opts.reason.split(/\r?\n/)[0] ?? '';
  const subject = headerSafe(`tailwatch ${opts.runDate}: run failed at ${opts.stage}, no report sent - ${firstLine}`, 200);
  const lines = [
    `The tailwatch run for ${opts.runDate} failed at stage "${opts.stage}". No report was sent to leadership for this run, so that nobody acts on incomplete or bad data.`,
    '',
    `Reason: ${opts.reason}`,
  ];
  if (opts.details && opts.details.length > 0) {
    lines.push('', 'Details:', ...opts.details.map((d) => `- ${d}`));
  }
  lines.push(
    '',
    `What to do: read the run's log and its failure record (failures/run_date=${opts.runDate}/<run id>/failure.json and rejects.csv, under the output location; the path is in the details above when known), fix the cause, ` +
      `then re-run for ${opts.runDate}; a re-run replaces that date's outputs whole.`,
  );
  const text = lines.join('\n') + '\n';
  const eml = await compose({
    from: opts.from,
    to: opts.to,
    subject,
    date: opts.date ?? new Date(),
    text,
    textEncoding: 'quoted-printable',
    headers: { 'X-Priority': '1' },
  });
  return { subject, text, eml };
}
