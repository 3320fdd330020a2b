/**
 * Storage and inputs on the local file system, for the CLI and the tests. Keys are '/'-separated
 * paths under a root directory; writes are atomic (temp file + rename) so a reader never sees half
 * a file, mirroring S3 where an object appears whole or not at all.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { InputFile, Storage } from '../../lib/storage.js';

/** A user error: the input path / URI names nothing readable. */
export class InputNotFoundError extends Error {
  override name = 'InputNotFoundError';
}

/**
 * Key order as S3 lists it: by UTF-8 bytes (= by code point). JS's `<` compares UTF-16 code
 * units, which disagrees for characters above U+FFFF versus U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** True if the name ends with one of the extensions (case-insensitive); an empty list accepts all. */
export function matchesExtension(name: string, extensions: readonly string[]): boolean {
  if (extensions.length === 0) return true;
  const lower = name.toLowerCase();
  return extensions.some((ext) => lower.endsWith(ext.toLowerCase()));
}

export function describeExtensions(extensions: readonly string[]): string {
  return extensions.length === 0 ? 'files' : `files ending in ${extensions.join(', ')}`;
}

// Temp files of in-flight writes; never listed as keys.
const TEMP_MARK = '.tailwatch-tmp-';
const tempName = (file: string) => `${file}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}`;
const isTemp = (name: string) => name.includes(TEMP_MARK);

const toBytes = (body: Uint8Array | string) => (typeof body === 'string' ? Buffer.from(body, 'utf8') : body);

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** Every regular file under dir (following symlinks), as '/'-joined paths relative to `base`. */
async function walk(dir: string, base: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return;
    throw err;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      const s = await stat(full).catch(() => undefined);
      isDir = s?.isDirectory() ?? false;
      isFile = s?.isFile() ?? false;
    }
    if (isDir) await walk(full, base, out);
    else if (isFile) out.push(path.relative(base, full).split(path.sep).join('/'));
  }
}

export class FsStorage implements Storage {
  readonly root: string;
  readonly location: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.location = this.root.endsWith(path.sep) ? this.root : this.root + path.sep;
  }

  /** The file of a key; refuses keys that would escape the root. */
  pathOf(key: string): string {
    const parts = key.split('/');
    if (key === '' || key.startsWith('/') || parts.some((p) => p === '..' || p === '.' || p === '') || key.includes('\\') || key.includes('\0')) {
      throw new Error(`invalid storage key "${key}" (must be a relative '/'-separated path without empty, '.' or '..' segments)`);
    }
    return path.join(this.root, ...parts);
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const file = this.pathOf(key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = tempName(file);
    try {
      await writeFile(tmp, toBytes(body));
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Written whole to a temp file, then hard-linked into place: link() fails with EEXIST if the
   * key exists, atomically, so exactly one of several concurrent writers wins and nobody ever
   * reads a partial marker (the 'wx' flag alone would expose the file before its bytes).
   * Falls back to 'wx' on file systems without hard links.
   */
  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const file = this.pathOf(key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = tempName(file);
    await writeFile(tmp, toBytes(body));
    try {
      await link(tmp, file);
      return true;
    } catch (err) {
      if (errCode(err) === 'EEXIST') return false;
      if (errCode(err) === 'EPERM' || errCode(err) === 'ENOTSUP' || errCode(err) === 'EOPNOTSUPP') {
        try {
          await writeFile(file, toBytes(body), { flag: 'wx' });
          return true;
        } catch (err2) {
          if (errCode(err2) === 'EEXIST') return false;
          throw err2;
        }
      }
      throw err;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.pathOf(key)));
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'EISDIR' || errCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    // Walk only the deepest directory the prefix names, not the whole tree.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = dirPart ? this.pathOf(dirPart) : this.root;
    const found: string[] = [];
    await walk(start, this.root, found);
    return found.filter((k) => k.startsWith(prefix) && !isTemp(k)).sort(compareKeys);
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const from = this.pathOf(fromKey);
    const to = this.pathOf(toKey);
    await mkdir(path.dirname(to), { recursive: true });
    const tmp = tempName(to);
    try {
      await copyFile(from, tmp);
      await rename(tmp, to);
    } catch (err) {
      await rm(tmp, { force: true });
      if (errCode(err) === 'ENOENT') throw new Error(`cannot copy ${this.location}${fromKey}: no such key`);
      throw err;
    }
  }

  /** Deletes the keys (missing ones are fine, as on S3) and then any directories left empty. */
  async delete(keys: string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const file = this.pathOf(key);
      await rm(file, { force: true });
      dirs.add(path.dirname(file));
    }
    // Deepest first, so a parent is tried after its children.
    for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
      let d = dir;
      while (d.startsWith(this.location)) {
        try {
          await rmdir(d);
        } catch {
          break; // not empty (or gone): stop climbing
        }
        d = path.dirname(d);
      }
    }
  }
}

function localInput(name: string, file: string, s: Stats): InputFile {
  return {
    name,
    size: s.size,
    // Cheap version stamp: a changed file almost always changes size or mtime.
    etag: `${s.size}-${Math.trunc(s.mtimeMs)}`,
    open: () => createReadStream(file) as AsyncIterable<Uint8Array>,
    localPath: file,
  };
}

/**
 * The input files at a path: the file itself, or every file under the directory (recursively)
 * whose name ends in one of the extensions, in key order of their relative paths.
 */
export async function listLocalInputs(p: string, extensions: readonly string[]): Promise<InputFile[]> {
  let s: Stats;
  try {
    s = await stat(p);
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') throw new InputNotFoundError(`input not found: ${p}`);
    if (errCode(err) === 'EACCES') throw new InputNotFoundError(`input not readable (permission denied): ${p}`);
    throw err;
  }
  if (s.isFile()) return [localInput(p, p, s)];
  if (!s.isDirectory()) throw new InputNotFoundError(`input is neither a file nor a directory: ${p}`);
  const rel: string[] = [];
  await walk(p, p, rel);
  const keys = rel.filter((k) => matchesExtension(k, extensions) && !isTemp(k)).sort(compareKeys);
  if (keys.length === 0) throw new InputNotFoundError(`no input ${describeExtensions(extensions)} under ${p}`);
  return Promise.all(
    keys.map(async (k) => {
      const file = path.join(p, ...k.split('/'));
      return localInput(file, file, await stat(file));
    }),
  );
}
