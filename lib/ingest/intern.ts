/**
 * A byte-keyed intern table: the UTF-8 bytes of a value (a customer id, a dimension value) ->
 * a dense key 0, 1, 2... and its string, made once per distinct value.
 *
 * Why hand-written (issue 8): on 1M rows / 100k customers, taking a substring per row and
 * looking it up in a Map<string, number> cost ~0.55 s, about as much as splitting the CSV.
 * Here the CSV reader hashes the field's bytes in place and compares them with the stored
 * bytes, so a row allocates nothing for its customer id. Strings from the other readers
 * (JSON Lines, Parquet, quoted CSV fields) go through internString, which hashes the same
 * bytes, so one value always gets one key whichever path saw it.
 *
 * Layout: open addressing, load <= 0.5, 16 bytes a slot (see `slots`); values longer than 11
 * bytes also live in one growing arena. 1M distinct ids take 32 MiB of slots plus their strings.
 */

import { le32 } from './bytes.js';

/** Values up to this many bytes live in their slot (see `slots`). */
const INLINE = 11;

export class Interner {
  /** The string of each key. */
  readonly strings: string[] = [];
  /**
   * 4 Int32 per slot, one cache line per probe, word 1 = key + 1 (0 = empty). A value of at most
   * 11 bytes is held in the slot itself: [bytes 0-3, key + 1, bytes 4-7, bytes 8-10 | length << 24]
   * (word 3 >= 0); a longer one is [hash, key + 1, offset in `arena`, -(length) - 1]. Issue 8: a
   * layout with the hash, offsets and bytes in separate arrays cost ~4 cache misses a lookup
   * (~200 ns); ids of 8-11 bytes (C0000038, most numeric ids) in the arena cost one more miss each
   * and 8-16 MB per million ids.
   */
  private slots: Int32Array;
  private mask: number;
  private arena = new Uint8Array(16 * 1024);
  private arenaLen = 0;
  private size = 0;
  /** Strings that are not well-formed UTF-16 (lone surrogates) have no UTF-8 bytes of their own. */
  private odd: Map<string, number> | null = null;
  private scratch = Buffer.alloc(256);
  private readonly rehashBytes = new Uint8Array(INLINE);

  /**
   * keepStrings = false: keys and bytes only, `strings` stays empty (a parse worker interns ids to
   * spare the main thread the lookups, and never needs their strings).
   */
  constructor(
    capacity = 1024,
    private readonly keepStrings = true,
  ) {
    let cap = 16;
    while (cap < capacity * 2) cap <<= 1;
    this.slots = new Int32Array(cap * 4);
    this.mask = cap - 1;
  }

  get count(): number {
    return this.size;
  }

  /** Key of bytes b[start, end) (valid UTF-8). */
  internBytes(b: Uint8Array, start: number, end: number): number {
    return this.internHashed(b, start, end, internHash(b, start, end));
  }

  /**
   * A load of the slot where h's probe starts, and of the arena bytes it points to, for a batch
   * that looks up many keys: the loads of a batch are independent, so their cache misses overlap
   * instead of costing one memory latency each (issue 8; the result is meaningless, only the
   * load counts).
   */
  touch(h: number): number {
    const j = (h & this.mask) << 2;
    return this.slots[j + 1];
  }

  /** touch(h)'s second step: the arena bytes of the value in h's first slot (slots now cached). */
  touchArena(h: number): number {
    const j = (h & this.mask) << 2;
    return this.slots[j + 3] < 0 ? this.arena[this.slots[j + 2]] : 0;
  }

  /** internBytes with h = internHash(b, start, end) already computed. */
  internHashed(b: Uint8Array, start: number, end: number, h: number): number {
    const len = end - start;
    const inline = len <= INLINE;
    // the slot's words 0, 2 and 3 for an inline value; for a longer one word 0 is h, word 3 -len - 1
    let w0 = h;
    let w2 = 0;
    let w3 = -len - 1;
    if (inline) {
      w0 = 0;
      w3 = len << 24;
      // whole words where they fit, no test a byte (ids such as "C0000038" are two loads of four)
      if (len >= 4) {
        w0 = le32(b, start);
        if (len >= 8) {
          w2 = le32(b, start + 4);
          for (let i = 8; i < len; i++) w3 |= b[start + i] << (8 * (i - 8));
        } else for (let i = 4; i < len; i++) w2 |= b[start + i] << (8 * (i - 4));
      } else for (let i = 0; i < len; i++) w0 |= b[start + i] << (8 * i);
    }
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const j = i << 2;
      const k1 = slots[j + 1];
      if (k1 === 0) break;
      if (slots[j] === w0 && slots[j + 3] === w3) {
        if (inline) {
          if (slots[j + 2] === w2) return k1 - 1;
        } else {
          const o = slots[j + 2];
          const arena = this.arena;
          let q = 0;
          while (q < len && arena[o + q] === b[start + q]) q++;
          if (q === len) return k1 - 1;
        }
      }
      i = (i + 1) & mask;
    }
    // new value
    const k = this.size++;
    if (!inline) {
      if (this.arenaLen + len > this.arena.length) {
        const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaLen + len));
        a.set(this.arena.subarray(0, this.arenaLen));
        this.arena = a;
      }
      this.arena.set(b.subarray(start, end), this.arenaLen);
      w2 = this.arenaLen;
      this.arenaLen += len;
    }
    const j = i << 2;
    slots[j] = w0;
    slots[j + 1] = k + 1;
    slots[j + 2] = w2;
    slots[j + 3] = w3;
    if (this.keepStrings) this.strings.push(decode(b, start, end));
    if (this.size * 2 > mask + 1) this.rehash();
    return k;
  }

  /** Key of a string (any well-formed or not). */
  internString(s: string): number {
    const n = s.length;
    let ascii = true;
    for (let i = 0; i < n; i++)
      if (s.charCodeAt(i) > 127) {
        ascii = false;
        break;
      }
    if (ascii) {
      if (n > this.scratch.length) this.scratch = Buffer.alloc(n * 2);
      const sc = this.scratch;
      for (let i = 0; i < n; i++) sc[i] = s.charCodeAt(i);
      return this.internBytesWith(sc, n, s);
    }
    if (!wellFormed(s)) {
      this.odd ??= new Map();
      let k = this.odd.get(s);
      if (k === undefined) {
        k = this.size++;
        this.strings.push(s);
        this.odd.set(s, k);
      }
      return k;
    }
    const bytes = Buffer.from(s, 'utf8');
    return this.internBytesWith(bytes, bytes.length, s);
  }

  private internBytesWith(b: Uint8Array, len: number, s: string): number {
    const before = this.size;
    const k = this.internBytes(b, 0, len);
    if (this.size > before) this.strings[k] = s; // keep the caller's (equal) string
    return k;
  }

  private rehash(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    const slots = new Int32Array(cap * 4);
    const mask = cap - 1;
    const tmp = this.rehashBytes;
    for (let j = 0; j < old.length; j += 4) {
      if (old[j + 1] === 0) continue;
      const w3 = old[j + 3];
      let h = old[j];
      if (w3 >= 0) {
        // an inline value: its hash from its bytes
        const len = w3 >>> 24;
        for (let q = 0; q < len; q++) tmp[q] = q < 4 ? old[j] >>> (8 * q) : q < 8 ? old[j + 2] >>> (8 * (q - 4)) : w3 >>> (8 * (q - 8));
        h = internHash(tmp, 0, len);
      }
      let i = h & mask;
      while (slots[(i << 2) + 1] !== 0) i = (i + 1) & mask;
      // four stores, not set(subarray): a view object per entry made growing to 1M ids cost ~0.3 s
      const k = i << 2;
      slots[k] = old[j];
      slots[k + 1] = old[j + 1];
      slots[k + 2] = old[j + 2];
      slots[k + 3] = w3;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** The Interner's hash of bytes b[start, end): FNV-1a with the length, then a finaliser. */
export function internHash(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}

const dec = new TextDecoder();

function decode(b: Uint8Array, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++)
    if (b[i] > 127) {
      ascii = false;
      break;
    }
  if (ascii) {
    if (end - start <= 16) return shortAscii(b, start, end - start);
    return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
  }
  return dec.decode(b.subarray(start, end));
}

/**
 * The ASCII text b[s, s + n), n <= 16, as one or two strings of 8 codes each (the codes past the
 * end, whatever they are or undefined past the buffer, are sliced off). Issue 8: a string built a
 * character at a time made one string per character, ~200 bytes of garbage per id at 1M ids;
 * this took 1M ids of 8 bytes from ~330 to ~130 ms in a micro-benchmark.
 */
function shortAscii(b: Uint8Array, s: number, n: number): string {
  const t = String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7]);
  if (n <= 8) return n === 8 ? t : t.slice(0, n);
  const u = String.fromCharCode(b[s + 8], b[s + 9], b[s + 10], b[s + 11], b[s + 12], b[s + 13], b[s + 14], b[s + 15]);
  return t + (n === 16 ? u : u.slice(0, n - 8));
}

/** String.prototype.isWellFormed (ES2024): no lone surrogate. */
export function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff) return false;
    const d = s.charCodeAt(i + 1);
    if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
    i++;
  }
  return true;
}
