/**
 * Where bytes live, chosen by the shape of a location: "s3://bucket/prefix" goes to S3 (endpoint,
 * region and credentials from the standard AWS env vars), anything else is a local path.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { InputFile, Storage } from '../lib/storage.js';
import { isS3Uri, listS3Inputs, makeS3Client, S3Storage } from './aws/s3.js';
import { FsStorage, listLocalInputs } from './local/fs.js';

export { InputNotFoundError } from './local/fs.js';
export { InvalidS3UriError, S3AccessError, isS3Uri } from './aws/s3.js';

type Env = Record<string, string | undefined>;

/** Storage rooted at an output location (s3://bucket/prefix or a directory, created on first write). */
export function storageFor(uri: string, env: Env = process.env, s3Client?: S3Client): Storage {
  return isS3Uri(uri) ? new S3Storage(s3Client ?? makeS3Client(env), uri) : new FsStorage(uri);
}

/** The input files at a location: one file/object, or every matching one under a dir/prefix, in key order. */
export function inputsFor(uri: string, env: Env = process.env, extensions: readonly string[] = [], s3Client?: S3Client): Promise<InputFile[]> {
  return isS3Uri(uri) ? listS3Inputs(s3Client ?? makeS3Client(env), uri, extensions) : listLocalInputs(uri, extensions);
}
