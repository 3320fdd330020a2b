/**
 * The small storage interface the core writes through. `functions/` implements it on S3 and
 * on the local file system; lib never knows which.
 */

export interface Storage {
  /** A human-readable location of the root, e.g. "s3://bucket/prefix/" or "/home/me/out/". */
  readonly location: string;
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  /** Writes only if the key does not exist yet; false if it did (a lock / at-most-once marker). */
  putIfAbsent(key: string, body: Uint8Array | string, contentType?: string): Promise<boolean>;
  /** The object's bytes, or undefined if there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys under a prefix, in key order. */
  list(prefix: string): Promise<string[]>;
  copy(fromKey: string, toKey: string): Promise<void>;
  delete(keys: string[]): Promise<void>;
}

/** One input file of an export: a name for messages, its size and version, and its bytes as a stream. */
export interface InputFile {
  /** Where it came from, as shown to users: "s3://bucket/key" or a path. */
  name: string;
  size?: number;
  etag?: string;
  open(): AsyncIterable<Uint8Array>;
  /**
   * The file's path when it is on local disk: a Parquet file is then read in place by offset
   * instead of being copied to a temporary file first (its footer is at the end).
   */
  localPath?: string;
}
