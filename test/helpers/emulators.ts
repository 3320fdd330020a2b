/**
 * Emulators for a test file: `const emu = useEmulators();` at the top level starts s3rver and
 * aws-ses-v2-local once in beforeAll and stops them in afterAll. Read `emu.current` inside tests.
 */
import { afterAll, beforeAll } from 'vitest';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startEmulators, type Emulators } from '../../scripts/emulators.js';
import { makeS3Client, type S3ClientOptions } from '../../functions/aws/s3.js';
import { makeSesClient } from '../../functions/aws/ses.js';

export interface EmulatorHandle {
  /** The running emulators (throws if used outside a test). */
  readonly current: Emulators;
  /** An S3 client pointed at the emulator, through the same factory the product uses. */
  s3(opts?: S3ClientOptions): S3Client;
  ses(opts?: S3ClientOptions): ReturnType<typeof makeSesClient>;
  /** Creates a bucket with a fresh name (per test isolation) and returns it. */
  bucket(prefix?: string): Promise<string>;
}

export function useEmulators(): EmulatorHandle {
  let emu: Emulators | undefined;
  let n = 0;
  beforeAll(async () => {
    emu = await startEmulators();
  }, 30_000);
  afterAll(async () => {
    await emu?.stop();
  });
  const current = () => {
    if (!emu) throw new Error('emulators not started (use inside a test)');
    return emu;
  };
  const handle: EmulatorHandle = {
    get current() {
      return current();
    },
    s3: (opts) => makeS3Client(current().env, opts),
    ses: (opts) => makeSesClient(current().env, opts),
    async bucket(prefix = 'test') {
      const name = `${prefix}-${process.pid}-${++n}`.toLowerCase();
      await handle.s3().send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
  };
  return handle;
}

/** One email as aws-ses-v2-local stores it (GET /store). It parses the MIME; it keeps no raw bytes. */
export interface ReceivedEmail {
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { html?: string; text?: string };
  /** Attachment content is base64. */
  attachments: { content: string; contentType: string; filename?: string; size: number }[];
  headers?: { name: string; value: string }[];
  /** Epoch seconds. */
  at: number;
}

/** Every email the SES emulator has received (optionally since an epoch second). */
export async function receivedEmails(sesEndpoint: string, sinceEpochSeconds?: number): Promise<ReceivedEmail[]> {
  const url = new URL('/store', sesEndpoint);
  if (sinceEpochSeconds !== undefined) url.searchParams.set('since', String(Math.floor(sinceEpochSeconds)));
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} -> HTTP ${res.status}`);
  const json = (await res.json()) as { emails: ReceivedEmail[] };
  return json.emails;
}

/** Empties the SES emulator's store. */
export async function clearEmails(sesEndpoint: string): Promise<void> {
  const res = await fetch(new URL('/clear-store', sesEndpoint), { method: 'POST' });
  if (!res.ok) throw new Error(`POST /clear-store -> HTTP ${res.status}`);
}
