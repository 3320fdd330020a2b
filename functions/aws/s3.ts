/**
 * S3 side of the storage interface and of input listing. Every SDK failure is rethrown as an
 * S3AccessError naming the operation, the s3:// location and the SDK's reason, so the CLI and the
 * Lambda print one clear line instead of an SDK stack.
 */
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { InputFile, Storage } from '../../lib/storage.js';
import { compareKeys, describeExtensions, InputNotFoundError, matchesExtension } from '../local/fs.js';

export interface S3Uri {
  bucket: string;
  /** Key prefix (or a single key), without a leading '/'. May be empty. */
  key: string;
}

/** A user error: a string that is not a usable s3:// URI. */
export class InvalidS3UriError extends Error {
  override name = 'InvalidS3UriError';
}

/** An S3 request failed (after the SDK's retries): which operation, where, and why. */
export class S3AccessError extends Error {
  override name = 'S3AccessError';
  constructor(
    message: string,
    readonly operation: string,
    readonly location: string,
    /** HTTP status from S3, when there was a response. */
    readonly statusCode: number | undefined,
    /** Attempts made, including the first. */
    readonly attempts: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isS3Uri = (s: string): boolean => /^s3:\/\//i.test(s);

// Bucket naming rules (general purpose buckets): 3-63 chars, lower case, digits, '.', '-'.
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Uri(uri: string): S3Uri {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(uri);
  if (!m) throw new InvalidS3UriError(`not an s3:// URI: "${uri}" (expected s3://bucket/prefix)`);
  const [, bucket, key] = m;
  if (!BUCKET_RE.test(bucket)) {
    throw new InvalidS3UriError(`invalid bucket name "${bucket}" in "${uri}" (3-63 characters: a-z, 0-9, '.', '-')`);
  }
  return { bucket, key };
}

export const formatS3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

export interface S3ClientOptions {
  /** Total attempts per request including the first (standard retry mode). Default 4. */
  maxAttempts?: number;
  /** Socket idle timeout per request, ms; a stalled connection fails instead of hanging. Default 30 s. */
  requestTimeoutMs?: number;
  /** TCP connect timeout, ms. Default 5 s. */
  connectionTimeoutMs?: number;
  /** Requests in flight at once per client (S3 clients only). Default 32. */
  maxConcurrency?: number;
}

/** The same options for the SES client (maxConcurrency applies to S3 only). */
export type ClientOptions = S3ClientOptions;

type Env = Record<string, string | undefined>;

/** Idle timeout for reading bodies, per client made by makeS3Client (the SDK's requestTimeout stops at the headers). */
const bodyIdleTimeouts = new WeakMap<S3Client, number>();
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Credentials from the given env when both keys are there (so a test or the CLI can pass its own
 * env); otherwise the SDK's default chain (Lambda role, profile, ...).
 */
function credentialsFrom(env: Env) {
  return env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined }
    : undefined;
}

/** Config shared by the S3 and SES clients: region, endpoint, credentials, retries, timeouts. */
export function baseClientConfig(env: Env, endpoint: string | undefined, opts: S3ClientOptions = {}) {
  const envAttempts = Number(env.AWS_MAX_ATTEMPTS);
  return {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : undefined),
    endpoint,
    credentials: credentialsFrom(env),
    // Standard mode retries throttling, 5xx and network errors with jittered exponential
    // backoff, never other 4xx (a missing key or a denied write will not get better).
    retryMode: 'standard',
    maxAttempts: opts.maxAttempts ?? (Number.isInteger(envAttempts) && envAttempts > 0 ? envAttempts : 4),
    requestHandler: {
      requestTimeout: opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS,
      connectionTimeout: opts.connectionTimeoutMs ?? 5_000,
      // Without this the SDK only logs a warning when a server accepts the connection and never answers.
      throwOnRequestTimeout: true,
    },
  } satisfies Partial<S3ClientConfig>;
}

/**
 * An S3 client from the standard AWS env vars: AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) for a
 * local or alternative endpoint, then path-style addressing (emulators have no per-bucket DNS),
 * AWS_REGION, AWS_MAX_ATTEMPTS.
 */
export function makeS3Client(env: Env = process.env, opts: S3ClientOptions = {}): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const client = new S3Client({ ...baseClientConfig(env, endpoint, opts), forcePathStyle: endpoint !== undefined });
  bodyIdleTimeouts.set(client, opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  limitConcurrency(client, opts.maxConcurrency ?? 32);
  return client;
}

/**
 * Caps requests in flight per client. The SDK's agent opens at most 50 sockets and a request
 * queued for one counts against connectionTimeout, so a caller's Promise.all over 1000 puts
 * would otherwise fail with connection timeouts (measured: 610 concurrent puts on s3rver).
 * The slot is held through retries and released once response headers arrive.
 */
function limitConcurrency(client: S3Client, max: number): void {
  let active = 0;
  const waiting: (() => void)[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
      else active++;
      try {
        return await next(args);
      } finally {
        const wake = waiting.shift();
        if (wake) wake(); // hand the slot over directly
        else active--;
      }
    },
    { step: 'initialize', name: 'tailwatchConcurrencyLimit' },
  );
}

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

const statusOf = (err: unknown) => (err as SdkError)?.$metadata?.httpStatusCode;
const nameOf = (err: unknown) => (err as SdkError)?.name ?? (err as SdkError)?.Code ?? 'Error';

function wrapError(err: unknown, operation: string, location: string, detail = ''): S3AccessError {
  if (err instanceof S3AccessError) return err;
  const e = err as SdkError;
  const status = statusOf(err);
  const attempts = e?.$metadata?.attempts;
  const reason = [e?.name && e.name !== 'Error' ? e.name : e?.code, e?.message].filter(Boolean).join(': ') || String(err);
  const parts = [status ? `HTTP ${status}` : undefined, attempts ? `${attempts} attempt${attempts === 1 ? '' : 's'}` : undefined].filter(Boolean);
  return new S3AccessError(
    `S3 ${operation} ${location} failed${detail}: ${reason}${parts.length ? ` (${parts.join(', ')})` : ''}`,
    operation,
    location,
    status,
    attempts,
    { cause: err },
  );
}

async function call<T>(operation: string, location: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw wrapError(err, operation, location);
  }
}

const isNotFound = (err: unknown) => statusOf(err) === 404 && nameOf(err) !== 'NoSuchBucket';
// 412 from S3's conditional write; 409 when a concurrent conditional write to the key is in flight.
const isPreconditionFailed = (err: unknown) => statusOf(err) === 412 || statusOf(err) === 409 || nameOf(err) === 'PreconditionFailed';

/**
 * Reads a GetObject body to the end, failing loudly if the connection breaks, stalls for longer
 * than the idle timeout while we wait for the next chunk, or ends short of Content-Length.
 */
async function* streamBody(body: unknown, expected: number | undefined, location: string, idleMs: number): AsyncGenerator<Uint8Array> {
  if (!body || typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== 'function') {
    throw new S3AccessError(`S3 GetObject ${location} returned no readable body`, 'GetObject', location, undefined, undefined);
  }
  const stream = body as AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => void };
  const it = stream[Symbol.asyncIterator]();
  let read = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      // Armed only while waiting for data, so a slow consumer is never mistaken for a stalled server.
      timer = setTimeout(() => stream.destroy?.(new Error(`no data received for ${idleMs} ms`)), idleMs);
      const next = await it.next();
      clearTimeout(timer);
      if (next.done) break;
      read += next.value.byteLength;
      yield next.value;
    }
  } catch (err) {
    throw wrapError(err, 'GetObject', location, ` after ${read} of ${expected ?? '?'} bytes`);
  } finally {
    clearTimeout(timer);
    await it.return?.(); // consumer stopped early: release the connection
  }
  if (expected !== undefined && read !== expected) {
    throw new S3AccessError(
      `S3 GetObject ${location} failed: connection ended after ${read} of ${expected} bytes`,
      'GetObject',
      location,
      undefined,
      undefined,
    );
  }
}

const idleTimeout = (client: S3Client) => bodyIdleTimeouts.get(client) ?? DEFAULT_TIMEOUT_MS;

// Per-process lock for putIfAbsent on servers that ignore If-None-Match (see there).
const inFlight = new Map<string, Promise<unknown>>();
async function serialised<T>(lockKey: string, fn: () => Promise<T>): Promise<T> {
  const prev = inFlight.get(lockKey) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => {});
  inFlight.set(lockKey, tail);
  try {
    return await run;
  } finally {
    if (inFlight.get(lockKey) === tail) inFlight.delete(lockKey);
  }
}

/**
 * x-amz-copy-source must be URL-encoded. Percent-encode each segment, but keep the sub-delimiters
 * that are literal-safe in a path ('=' of Hive partitions, ',', ':', '@', '$', '&', ';') as they are:
 * s3rver decodes this header with decodeURI, which leaves "%3D" undecoded, while S3 reads both
 * forms alike. '+', '#', '?' stay encoded (S3 would read a literal '+' as a space), so keys with
 * those characters copy on S3 but not on s3rver; the product's keys (lib/outputs layout) have none.
 */
export function encodeCopySource(bucket: string, key: string): string {
  return `${bucket}/${key}`
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/%(3D|2C|3A|40|24|26|3B)/gi, (m) => decodeURIComponent(m)))
    .join('/');
}

const MAX_DELETE_BATCH = 1000; // DeleteObjects limit per request

export class S3Storage implements Storage {
  readonly bucket: string;
  /** Key prefix of the root: '' or ending in '/'. */
  readonly prefix: string;
  readonly location: string;

  constructor(
    readonly client: S3Client,
    root: string | S3Uri,
  ) {
    const { bucket, key } = typeof root === 'string' ? parseS3Uri(root) : root;
    this.bucket = bucket;
    this.prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
    this.location = formatS3Uri(bucket, this.prefix);
  }

  private full(key: string): string {
    if (key === '' || key.startsWith('/')) throw new Error(`invalid storage key "${key}"`);
    return this.prefix + key;
  }

  private where(key: string): string {
    return formatS3Uri(this.bucket, this.full(key));
  }

  async put(key: string, body: Uint8Array | string, contentType?: string): Promise<void> {
    await call('PutObject', this.where(key), () =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.full(key), Body: body, ContentType: contentType })),
    );
  }

  /**
   * PutObject with If-None-Match: '*' is S3's atomic create-only write: of concurrent writers
   * exactly one gets 200, the others 412 (or 409 while one is in flight).
   * s3rver 3.7.1 ignores If-None-Match on PUT, so this also HEADs first and serialises calls for
   * the same key within this process. On real S3 the conditional PUT alone decides; against
   * s3rver the guarantee holds only within one process (two processes racing could both win).
   */
  async putIfAbsent(key: string, body: Uint8Array | string, contentType?: string): Promise<boolean> {
    const where = this.where(key);
    return serialised(`${this.bucket}\0${this.full(key)}`, async () => {
      try {
        await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
        return false;
      } catch (err) {
        if (!isNotFound(err)) throw wrapError(err, 'HeadObject', where);
      }
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.full(key), Body: body, ContentType: contentType, IfNoneMatch: '*' }),
        );
        return true;
      } catch (err) {
        if (isPreconditionFailed(err)) return false;
        throw wrapError(err, 'PutObject', where);
      }
    });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const where = this.where(key);
    let res;
    try {
      res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw wrapError(err, 'GetObject', where);
    }
    const chunks: Uint8Array[] = [];
    for await (const c of streamBody(res.Body, res.ContentLength, where, idleTimeout(this.client))) chunks.push(c);
    return new Uint8Array(Buffer.concat(chunks));
  }

  async list(prefix: string): Promise<string[]> {
    const objects = await listObjects(this.client, this.bucket, this.prefix + prefix);
    return objects.map((o) => o.key.slice(this.prefix.length)).sort(compareKeys);
  }

  /** Server-side copy (objects up to 5 GB, far above any output here). */
  async copy(fromKey: string, toKey: string): Promise<void> {
    const source = encodeCopySource(this.bucket, this.full(fromKey));
    await call('CopyObject', `${this.where(fromKey)} -> ${this.where(toKey)}`, () =>
      this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.full(toKey), CopySource: source })),
    );
  }

  /** Deletes in batches of 1000; a key that does not exist is not an error (as in S3). */
  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += MAX_DELETE_BATCH) {
      const batch = keys.slice(i, i + MAX_DELETE_BATCH);
      const where = `${this.location} (${batch.length} keys)`;
      const res = await call('DeleteObjects', where, () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((k) => ({ Key: this.full(k) })), Quiet: true },
          }),
        ),
      );
      const failed = res.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new S3AccessError(
          `S3 DeleteObjects failed for ${failed.length} key(s), e.g. ${formatS3Uri(this.bucket, first.Key ?? '?')}: ${first.Code}: ${first.Message}`,
          'DeleteObjects',
          where,
          undefined,
          undefined,
        );
      }
    }
  }
}

interface Listed {
  key: string;
  size?: number;
  etag?: string;
}

/** Every object under the prefix, following continuation tokens (1000 keys per page). */
async function listObjects(client: S3Client, bucket: string, prefix: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  const where = formatS3Uri(bucket, prefix);
  do {
    const page = await call('ListObjectsV2', where, () =>
      client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token })),
    );
    for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push({ key: o.Key, size: o.Size, etag: o.ETag });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

function s3Input(client: S3Client, bucket: string, o: Listed): InputFile {
  const where = formatS3Uri(bucket, o.key);
  return {
    name: where,
    size: o.size,
    etag: o.etag,
    async *open() {
      // If-Match pins the read to the version that was listed (and recorded in the manifest):
      // an object replaced mid-run fails with 412 instead of being read as something else.
      const res = await call('GetObject', where, () =>
        client.send(new GetObjectCommand({ Bucket: bucket, Key: o.key, IfMatch: o.etag })),
      );
      if (o.etag && res.ETag && res.ETag !== o.etag) {
        throw new S3AccessError(`S3 GetObject ${where} failed: the object changed since it was listed (ETag ${o.etag} -> ${res.ETag})`, 'GetObject', where, undefined, undefined);
      }
      yield* streamBody(res.Body, res.ContentLength, where, idleTimeout(client));
    },
  };
}

/**
 * The input files at an s3:// URI: the object itself if the URI names one, else every object
 * under it as a prefix ("s3://b/exports" lists "exports/...") whose key ends in one of the
 * extensions, in key order.
 */
export async function listS3Inputs(client: S3Client, uri: string, extensions: readonly string[]): Promise<InputFile[]> {
  const { bucket, key } = parseS3Uri(uri);
  const missingBucket = (err: unknown) =>
    nameOf(err) === 'NoSuchBucket' ? new InputNotFoundError(`input not found: bucket "${bucket}" does not exist (${uri})`) : undefined;

  if (key !== '' && !key.endsWith('/')) {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return [s3Input(client, bucket, { key, size: head.ContentLength, etag: head.ETag })];
    } catch (err) {
      if (!isNotFound(err)) throw missingBucket(err) ?? wrapError(err, 'HeadObject', uri);
    }
  }
  const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
  let objects: Listed[];
  try {
    objects = await listObjects(client, bucket, prefix);
  } catch (err) {
    // HEAD has no body, so a missing bucket surfaces only here, by name.
    throw missingBucket((err as { cause?: unknown }).cause) ?? err;
  }
  const inputs = objects
    .filter((o) => !o.key.endsWith('/') && matchesExtension(o.key, extensions))
    .sort((a, b) => compareKeys(a.key, b.key));
  if (inputs.length === 0) {
    throw new InputNotFoundError(
      objects.length === 0 ? `input not found: nothing at ${uri}` : `no input ${describeExtensions(extensions)} under ${formatS3Uri(bucket, prefix)}`,
    );
  }
  return inputs.map((o) => s3Input(client, bucket, o));
}
