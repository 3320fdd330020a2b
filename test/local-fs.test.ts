import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compareKeys, FsStorage, InputNotFoundError, listLocalInputs, matchesExtension } from '../functions/local/fs.js';
import { inputsFor, storageFor } from '../functions/io.js';
import { S3Storage } from '../functions/aws/s3.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tailwatch-fs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

async function readAll(it: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const c of it) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

describe('FsStorage', () => {
  it('round-trips put/get/list/copy/delete with "/" keys in key order', async () => {
    const s = new FsStorage(path.join(dir, 'out'));
    expect(s.location).toBe(path.join(dir, 'out') + path.sep);
    expect(await s.list('')).toEqual([]); // root not created yet
    await s.put('cohorts/run_date=2024-01-31/part-00000.parquet', new Uint8Array([1, 2, 3]));
    await s.put('runs/run_date=2024-01-31/manifest.json', '{"a":1}');
    await s.put('runs/run_date=2024-01-31/b.txt', 'b');
    await s.put('runs/x', 'x');
    expect(await s.get('cohorts/run_date=2024-01-31/part-00000.parquet')).toEqual(new Uint8Array([1, 2, 3]));
    expect(text(await s.get('runs/run_date=2024-01-31/manifest.json'))).toBe('{"a":1}');
    expect(await s.get('nope/never')).toBeUndefined();
    expect(await s.list('')).toEqual([
      'cohorts/run_date=2024-01-31/part-00000.parquet',
      'runs/run_date=2024-01-31/b.txt',
      'runs/run_date=2024-01-31/manifest.json',
      'runs/x',
    ]);
    // A prefix that is not a whole directory name still matches like S3's.
    expect(await s.list('runs/run_date=2024-01-3')).toEqual(['runs/run_date=2024-01-31/b.txt', 'runs/run_date=2024-01-31/manifest.json']);
    expect(await s.list('runs/run_date=2024-01-31/m')).toEqual(['runs/run_date=2024-01-31/manifest.json']);

    await s.put('runs/x', 'x2'); // overwrite
    expect(text(await s.get('runs/x'))).toBe('x2');
    await s.copy('runs/x', 'copied/deep/y');
    expect(text(await s.get('copied/deep/y'))).toBe('x2');
    await expect(s.copy('missing', 'z')).rejects.toThrow(/missing: no such key/);

    await s.delete(['copied/deep/y', 'runs/x', 'not/there']);
    expect(await s.list('')).toEqual([
      'cohorts/run_date=2024-01-31/part-00000.parquet',
      'runs/run_date=2024-01-31/b.txt',
      'runs/run_date=2024-01-31/manifest.json',
    ]);
    // Emptied directories are removed, the root is kept.
    expect(await readdir(path.join(dir, 'out'))).toEqual(['cohorts', 'runs']);
    await s.delete(await s.list(''));
    expect(await readdir(path.join(dir, 'out'))).toEqual([]);
  });

  it('leaves no temp files behind and never lists them', async () => {
    const s = new FsStorage(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.put(`k/${i % 3}`, `v${i}`)));
    expect(await s.list('')).toEqual(['k/0', 'k/1', 'k/2']);
    expect((await readdir(path.join(dir, 'k'))).sort()).toEqual(['0', '1', '2']);
  });

  it('putIfAbsent: first writer wins, later ones get false and do not change the object', async () => {
    const s = new FsStorage(dir);
    expect(await s.putIfAbsent('locks/2024-01-31', 'first')).toBe(true);
    expect(await s.putIfAbsent('locks/2024-01-31', 'second')).toBe(false);
    expect(text(await s.get('locks/2024-01-31'))).toBe('first');
    // Concurrent: exactly one of many wins.
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => s.putIfAbsent('locks/race', `w${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(text(await s.get('locks/race'))).toBe(`w${winner}`);
    expect(await s.list('locks/')).toEqual(['locks/2024-01-31', 'locks/race']);
  });

  it('refuses keys that would escape the root', async () => {
    const s = new FsStorage(path.join(dir, 'root'));
    for (const bad of ['../evil', 'a/../../evil', '/abs', 'a//b', '', 'a/./b']) {
      await expect(s.put(bad, 'x'), bad).rejects.toThrow(/invalid storage key/);
    }
  });
});

describe('listLocalInputs', () => {
  it('lists a directory recursively in key order, filtered by extension, streaming each file', async () => {
    await mkdir(path.join(dir, 'b'), { recursive: true });
    await mkdir(path.join(dir, 'a', 'z'), { recursive: true });
    await writeFile(path.join(dir, 'b', 'x.csv'), 'bx');
    await writeFile(path.join(dir, 'a', 'z', 'y.CSV.gz'), 'azy');
    await writeFile(path.join(dir, 'a', 'readme.md'), 'skip me');
    await writeFile(path.join(dir, 'a.csv'), 'a');
    await writeFile(path.join(dir, 'a', '10.csv'), 'ten');
    await writeFile(path.join(dir, 'a', '9.csv'), 'nine');
    const inputs = await listLocalInputs(dir, ['.csv', '.csv.gz']);
    // Byte order of relative keys: '.' (0x2e) < '/' (0x2f), so "a.csv" precedes "a/..."; "10" < "9".
    expect(inputs.map((i) => path.relative(dir, i.name).split(path.sep).join('/'))).toEqual([
      'a.csv',
      'a/10.csv',
      'a/9.csv',
      'a/z/y.CSV.gz',
      'b/x.csv',
    ]);
    expect(await Promise.all(inputs.map((i) => readAll(i.open())))).toEqual(['a', 'ten', 'nine', 'azy', 'bx']);
    expect(inputs.map((i) => i.size)).toEqual([1, 3, 4, 3, 2]);
  });

  it('streams a large file in several chunks without reading it whole', async () => {
    const file = path.join(dir, 'big.csv');
    await writeFile(file, Buffer.alloc(1_000_000, 'x'));
    const [input] = await listLocalInputs(file, ['.jsonl']); // a named file is taken whatever its extension
    let chunks = 0;
    let bytes = 0;
    for await (const c of input.open()) {
      chunks++;
      bytes += c.byteLength;
    }
    expect(bytes).toBe(1_000_000);
    expect(chunks).toBeGreaterThan(1);
  });

  it('etag changes when the file changes', async () => {
    const file = path.join(dir, 'f.csv');
    await writeFile(file, 'abc');
    await utimes(file, new Date('2024-01-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z'));
    const [a] = await listLocalInputs(file, []);
    expect(a.etag).toBe(`3-${Date.parse('2024-01-01T00:00:00Z')}`);
    await writeFile(file, 'abcd');
    const [b] = await listLocalInputs(file, []);
    expect(b.etag).not.toBe(a.etag);
  });

  it('missing path, or a directory with no matching file, is an InputNotFoundError naming it', async () => {
    const missing = path.join(dir, 'nope.csv');
    await expect(listLocalInputs(missing, [])).rejects.toThrow(InputNotFoundError);
    await expect(listLocalInputs(missing, [])).rejects.toThrow(`input not found: ${missing}`);
    await writeFile(path.join(dir, 'notes.txt'), 'x');
    await expect(listLocalInputs(dir, ['.csv'])).rejects.toThrow(`no input files ending in .csv under ${dir}`);
  });
});

describe('io dispatch', () => {
  it('s3:// goes to S3, anything else to the file system', async () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' };
    const s3 = storageFor('s3://my-bucket/out', env);
    expect(s3).toBeInstanceOf(S3Storage);
    expect(s3.location).toBe('s3://my-bucket/out/');
    const local = storageFor(dir, env);
    expect(local).toBeInstanceOf(FsStorage);
    await writeFile(path.join(dir, 'x.csv'), 'x');
    expect((await inputsFor(dir, env, ['.csv'])).map((i) => i.name)).toEqual([path.join(dir, 'x.csv')]);
  });

  it('helpers: key order is UTF-8 byte order; extension match is case-insensitive', () => {
    // U+FF21 (3 UTF-8 bytes) sorts before U+1F600 (4 bytes, 0xF0...) in S3; UTF-16 order says the opposite.
    expect(['\u{1F600}', '\uFF21'].sort(compareKeys)).toEqual(['\uFF21', '\u{1F600}']);
    expect(['\u{1F600}', '\uFF21'].sort()).toEqual(['\u{1F600}', '\uFF21']);
    expect(matchesExtension('X.CSV.GZ', ['.csv.gz'])).toBe(true);
    expect(matchesExtension('x.csv.bak', ['.csv'])).toBe(false);
    expect(matchesExtension('anything', [])).toBe(true);
  });
});
