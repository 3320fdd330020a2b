/**
 * At most one email per run date, whatever retries or concurrent runs do.
 *
 * Before sending, the run claims `runs/run_date=D/sent.json` with a conditional write
 * (create only if absent). Only the claimant sends; it then records the message id there
 * and in the manifest. A second run for the same date finds the marker and sends nothing.
 * If the send fails the claim is released, so a later re-run can send.
 */
import { z } from 'zod';
import { layout } from './outputs/schema.js';
import { parseManifest } from './manifest.js';
import type { Storage } from './storage.js';

const sentSchema = z.object({
  runId: z.string(),
  state: z.enum(['sending', 'sent']),
  messageId: z.string().nullable(),
  at: z.string(),
});
export type SentMarker = z.infer<typeof sentSchema>;

export type SendOutcome =
  | { status: 'sent'; messageId: string }
  | { status: 'skipped'; reason: string; messageId: string | null };

export async function sendOnce(
  out: Storage,
  runDate: string,
  runId: string,
  send: () => Promise<{ messageId: string }>,
  opts: { force?: boolean; now?: () => Date } = {},
): Promise<SendOutcome> {
  const now = opts.now ?? (() => new Date());
  const key = layout.run(runDate, 'sent.json');
  const claim = JSON.stringify({ runId, state: 'sending', messageId: null, at: now().toISOString() } satisfies SentMarker);
  if (opts.force) await out.delete([key]);
  if (!(await out.putIfAbsent(key, claim, 'application/json'))) {
    const bytes = await out.get(key);
    const marker = bytes ? sentSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes))) : null;
    const m = marker?.success ? marker.data : null;
    // A retried run re-published the manifest: it records the message already sent for its date.
    if (m?.state === 'sent' && m.messageId) await recordInManifest(out, runDate, runId, m.messageId, m.at);
    return {
      status: 'skipped',
      messageId: m?.messageId ?? null,
      reason: m?.state === 'sent'
        ? `the report for ${runDate} was already sent (message ${m.messageId}); use --force-send to send it again`
        : `another run is sending the report for ${runDate}`,
    };
  }
  let messageId: string;
  try {
    ({ messageId } = await send());
  } catch (e) {
    await out.delete([key]).catch(() => {});
    throw e;
  }
  const sentAt = now().toISOString();
  await out.put(key, JSON.stringify({ runId, state: 'sent', messageId, at: sentAt } satisfies SentMarker), 'application/json');
  await recordInManifest(out, runDate, runId, messageId, sentAt);
  return { status: 'sent', messageId };
}

/** Writes the sent message's id into this run's manifest (if the manifest is still this run's). */
async function recordInManifest(out: Storage, runDate: string, runId: string, messageId: string, sentAt: string): Promise<void> {
  const mkey = layout.run(runDate, 'manifest.json');
  const mbytes = await out.get(mkey);
  if (!mbytes) return;
  const manifest = parseManifest(mbytes, mkey);
  if (manifest.runId !== runId || !manifest.email) return;
  manifest.email.messageId = messageId;
  manifest.email.sentAt = sentAt;
  await out.put(mkey, JSON.stringify(manifest, null, 2), 'application/json');
}
