/**
 * Exact-duplicate detection at 10M rows without a Set of strings (which would cost ~100 bytes a
 * row). A row is reduced to a 64-bit fingerprint (two independent 32-bit hashes) kept in an
 * open-addressing table of two Uint32Arrays: 8 bytes a slot, load factor <= 0.75, so 10M rows
 * take 128 MiB at most (16M slots) and 1M rows 16 MiB.
 *
 * A false "duplicate" needs two different rows with the same 64 bits: with n rows the chance is
 * about n^2 / 2^65, 3e-6 for n = 10M.
 */

const scratch = new Float64Array(1);
// Int32, not Uint32: a word above 2^31 read as uint32 is no small integer, and passed to mix() when
// it is not inlined it is boxed as a heap number (issue 8: ~10M a run, 160 MB of garbage)
const scratchWords = new Int32Array(scratch.buffer);

/** fmix32 finaliser of MurmurHash3 (Appleby): full avalanche of a 32-bit state. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  // an int32, not `>>> 0`: a uint32 above 2^31 is no small integer, and returned from a call that
  // is not inlined it is a heap number (issue 8: ~10M of them a run; the sets take either sign)
  return h | 0;
}

/** Accumulates two 32-bit hashes over a sequence of strings and numbers. */
export class Fingerprint {
  h1 = 0x811c9dc5;
  h2 = 0x9747b28c;

  reset(): void {
    this.h1 = 0x811c9dc5;
    this.h2 = 0x9747b28c;
  }

  private mix(x: number): void {
    // h1: FNV-1a style; h2: a MurmurHash-style multiply-rotate; different constants and shapes
    this.h1 = Math.imul(this.h1 ^ x, 0x01000193);
    let k = Math.imul(x, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    let h = this.h2 ^ k;
    h = (h << 13) | (h >>> 19);
    this.h2 = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }

  /** An int32 (a day, an order id's hash, a customer or dimension key): one mix instead of num()'s two. */
  int(x: number): void {
    this.mix(x | 0);
  }

  /**
   * The number a[k]. Read from an array, not passed as an argument: a double passed to a call that
   * is not inlined is boxed as a heap number (issue 8: 16 bytes of garbage per row and number).
   */
  numAt(a: Float64Array, k: number): void {
    scratch[0] = a[k];
    this.mix(scratchWords[0]);
    this.mix(scratchWords[1]);
  }

  nullish(): void {
    this.mix(0x20000);
  }

  get hi(): number {
    return fmix32(this.h1);
  }
  get lo(): number {
    return fmix32(this.h2 ^ 0x5bd1e995);
  }
}

/** A set of 64-bit fingerprints (hi, lo). (0, 0) is the empty slot, so it is stored as (0, 1). */
export class FingerprintSet {
  /** Slot i holds hi at 2i and lo at 2i+1: one cache line per probe instead of two. */
  private t: Uint32Array;
  private mask: number;
  size = 0;

  constructor(initialCapacity = 1 << 16) {
    let cap = 1 << 4;
    while (cap < initialCapacity) cap <<= 1;
    this.t = new Uint32Array(cap * 2);
    this.mask = cap - 1;
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.t.byteLength;
  }

  /** Where (hi, lo)'s probe starts, for touchSlot (valid until the set grows). */
  first(hi: number, lo: number): number {
    hi >>>= 0;
    lo >>>= 0;
    if (hi === 0 && lo === 0) lo = 1;
    return (hi ^ Math.imul(lo, 0x9e3779b1)) & this.mask;
  }

  /** A load of slot i (a first() slot), to overlap a batch's cache misses (see RowBuilder's batch). */
  touchSlot(i: number): number {
    return this.t[2 * i];
  }

  /** Adds (hi, lo); false if it was already there. */
  add(hi: number, lo: number): boolean {
    hi >>>= 0;
    lo >>>= 0;
    if (hi === 0 && lo === 0) lo = 1;
    if ((this.size + 1) * 4 > (this.mask + 1) * 3) this.grow();
    const { t, mask } = this;
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & mask;
    for (;;) {
      const h = t[2 * i];
      const l = t[2 * i + 1];
      if (h === 0 && l === 0) {
        t[2 * i] = hi;
        t[2 * i + 1] = lo;
        this.size++;
        return true;
      }
      if (h === hi && l === lo) return false;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const old = this.t;
    const cap = old.length; // slots double: old.length / 2 * 2
    this.t = new Uint32Array(cap * 2);
    this.mask = cap - 1;
    this.size = 0;
    for (let j = 0; j < old.length; j += 2) if (old[j] !== 0 || old[j + 1] !== 0) this.add(old[j], old[j + 1]);
  }
}
