import { describe, expect, it } from 'vitest';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { EmailRejectedError, makeSesClient, SES_MAX_MESSAGE_BYTES, sendRawEmail, SesSendError } from '../functions/aws/ses.js';
import { freePort } from '../scripts/emulators.js';
import { clearEmails, receivedEmails, useEmulators } from './helpers/emulators.js';

const emu = useEmulators();

async function mime(opts: ConstructorParameters<typeof MailComposer>[0]): Promise<Uint8Array> {
  return new Uint8Array(await new MailComposer(opts).compile().build());
}

describe('sendRawEmail through the SES v2 API (aws-ses-v2-local)', () => {
  it('a raw MIME report with HTML, text and a CSV attachment arrives whole', async () => {
    await clearEmails(emu.current.sesEndpoint);
    const raw = await mime({
      from: 'tailwatch <reports@example.com>',
      to: ['ceo@example.com', 'cfo@example.com'],
      subject: 'Small customers: 12-month retention fell 4.1 points',
      text: 'Retention of the small tier fell from 31.0% to 26.9%.',
      html: '<p>Retention of the <b>small</b> tier fell from 31.0% to 26.9%.</p>',
      attachments: [{ filename: 'alerts.csv', content: 'segment,metric\nsmall,retention\n', contentType: 'text/csv' }],
    });
    const { messageId } = await sendRawEmail(emu.ses(), { from: 'reports@example.com', to: ['ceo@example.com', 'cfo@example.com'], raw });
    expect(messageId).toMatch(/\S/);

    const emails = await receivedEmails(emu.current.sesEndpoint);
    expect(emails).toHaveLength(1);
    const [got] = emails;
    expect(got.messageId).toBe(messageId);
    expect(got.from).toBe('"tailwatch" <reports@example.com>');
    expect(got.destination.to).toEqual(['ceo@example.com, cfo@example.com']); // the emulator joins the To header's addresses
    expect(got.subject).toBe('Small customers: 12-month retention fell 4.1 points');
    expect(got.body.text?.trim()).toBe('Retention of the small tier fell from 31.0% to 26.9%.');
    expect(got.body.html).toContain('<b>small</b>');
    expect(got.attachments).toHaveLength(1);
    expect(got.attachments[0].filename).toBe('alerts.csv');
    expect(Buffer.from(got.attachments[0].content, 'base64').toString()).toBe('segment,metric\nsmall,retention\n');
  });

  it('refuses a message over the SES size limit, or without recipients, before calling SES', async () => {
    await clearEmails(emu.current.sesEndpoint);
    const client = emu.ses();
    const big = new Uint8Array(SES_MAX_MESSAGE_BYTES + 1);
    await expect(sendRawEmail(client, { from: 'a@example.com', to: ['b@example.com'], raw: big })).rejects.toThrow(
      new EmailRejectedError('the report email is 40.0 MB, over the SES limit of 40.0 MB: attach fewer or smaller files'),
    );
    const ok = await mime({ from: 'a@example.com', to: 'b@example.com', subject: 's', text: 't' });
    await expect(sendRawEmail(client, { from: 'a@example.com', to: [], raw: ok })).rejects.toThrow(EmailRejectedError);
    await expect(
      sendRawEmail(client, { from: 'a@example.com', to: Array.from({ length: 51 }, (_, i) => `r${i}@example.com`), raw: ok }),
    ).rejects.toThrow('SES allows at most 50');
    expect(await receivedEmails(emu.current.sesEndpoint)).toEqual([]);
  });

  it('SES refusing the message is a clear error, not retried (4xx)', async () => {
    // No From header: the emulator answers 400 as SES does for a malformed message.
    const raw = new TextEncoder().encode('To: b@example.com\r\nSubject: x\r\n\r\nbody\r\n');
    const err = (await sendRawEmail(emu.ses(), { from: 'a@example.com', to: ['b@example.com'], raw }).catch((e: unknown) => e)) as SesSendError;
    expect(err).toBeInstanceOf(SesSendError);
    expect(err.statusCode).toBe(400);
    expect(err.attempts).toBe(1);
    expect(err.message).toMatch(/^SES SendEmail failed: .*\(HTTP 400, 1 attempt\)$/);
  });

  it('SES unreachable: retried, then a clear error (no hang)', async () => {
    const port = await freePort(); // nothing listens there
    const client = makeSesClient({ AWS_ENDPOINT_URL_SES: `http://127.0.0.1:${port}`, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' }, { maxAttempts: 2 });
    const raw = await mime({ from: 'a@example.com', to: 'b@example.com', subject: 's', text: 't' });
    const err = (await sendRawEmail(client, { from: 'a@example.com', to: ['b@example.com'], raw }).catch((e: unknown) => e)) as SesSendError;
    expect(err).toBeInstanceOf(SesSendError);
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.attempts).toBe(2);
  });
});
