/**
 * The byte-keyed Interner (lib/ingest/intern.ts): one dense key per distinct value, whatever its
 * length (held in the slot up to 11 bytes, in the arena beyond), through growth, from bytes or
 * from a string, with or without the strings kept.
 */
import { describe, expect, it } from 'vitest';
import { Interner, internHash } from '../lib/ingest/intern.js';

const bytesKey = (I: Interner, s: string) => {
  const b = Buffer.from(s, 'utf8');
  return I.internHashed(b, 0, b.length, internHash(b, 0, b.length));
};

describe('Interner', () => {
  // every length around the inline limit, values that differ only in their last byte or length,
  // non-ASCII, the empty string, and bytes >= 0x80 in every position of the slot's words
  const values: string[] = [''];
  for (let len = 1; len <= 16; len++) {
    values.push('x'.repeat(len), `${'x'.repeat(len - 1)}y`, `${'é'.repeat(Math.ceil(len / 2))}`);
    values.push(Array.from({ length: len }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join(''));
  }
  const distinct = [...new Set(values)];

  it('gives each distinct value one dense key, in order of first sight, through growth', () => {
    const I = new Interner(4);
    const many = Array.from({ length: 50_000 }, (_, i) => `C${String(i).padStart(i % 13, '0')}`);
    const all = [...new Set([...distinct, ...many])];
    all.forEach((v, k) => expect(bytesKey(I, v)).toBe(k));
    // again, after every rehash: the same keys
    all.forEach((v, k) => expect(bytesKey(I, v)).toBe(k));
    expect(I.count).toBe(all.length);
    expect(I.strings).toEqual(all);
  });

  it('makes each string from its own bytes only, whatever comes before and after them', () => {
    // short ASCII ids are decoded 8 codes at a time past their end (then cut): junk around them must not leak in
    const I = new Interner(16);
    const ascii = distinct.filter((v) => /^[\x00-\x7f]*$/.test(v));
    ascii.forEach((v, k) => {
      const b = Buffer.concat([Buffer.from([0xff, 0x41]), Buffer.from(v, 'latin1'), Buffer.alloc(20, k % 2 ? 0xff : 0x5a)]);
      expect(I.internBytes(b, 2, 2 + v.length)).toBe(k);
    });
    expect(I.strings).toEqual(ascii);
  });

  it('gives a string and its UTF-8 bytes the same key', () => {
    const I = new Interner(16);
    for (const v of distinct) expect(I.internString(v)).toBe(bytesKey(I, v));
    expect(I.count).toBe(distinct.length);
  });

  it('keeps keys without strings when asked (a parse worker)', () => {
    const I = new Interner(16, false);
    distinct.forEach((v, k) => expect(bytesKey(I, v)).toBe(k));
    distinct.forEach((v, k) => expect(bytesKey(I, v)).toBe(k));
    expect(I.strings).toEqual([]);
  });
});
