/**
 * The orders seen in one ingest() call, keyed by (customer key, 32-bit order-id hash): whether a
 * purchase row of the order was accepted yet (AcceptedRow.newOrder, so the accumulator counts
 * distinct orders without a set of its own), and the 64-bit fingerprint of the order's first row
 * (de-duplication).
 *
 * Why one table (issue 8, 10M rows, 7.2M orders, 2 shared cores): de-duplication (a 64-bit
 * fingerprint set) and distinct-order counting (a (customer, order) set in the accumulator) were
 * two random probes of two ~128 MiB tables per row. A duplicate row has the same customer and
 * order id as its original, so it is found in its order's slot; only the rows after an order's
 * first (~28% on the bench export) are also looked up in a smaller set of their own fingerprints.
 * Rows without an order id use that set alone, as before.
 *
 * Slot: 4 Int32 words in one cache line: [(customer + 1) | PURCHASE, order hash, fp hi, fp lo];
 * 0 in word 0 = empty (a new table needs no fill pass). Load <= 0.7; sized from the expected rows,
 * not to a power of two (fastrange slots, as the accumulator's day table), grows by 1.5x.
 */
import { fastrange, slotsFor } from './slots.js';
import { FingerprintSet } from './fingerprint.js';

const PURCHASE = 1 << 30;
const KEY_MASK = PURCHASE - 1;

/** Outcome bits of OrderRows.addFrom. */
export const ORDER_DUPLICATE = 1;
export const ORDER_NEW_PURCHASE = 2;

export class OrderRows {
  private t: Int32Array;
  private cap: number;
  private size = 0;
  /** Fingerprints of every row that is not the first of its order (and of rows without an order). */
  readonly rest: FingerprintSet;

  /** expectedRows: a guess of the rows to come (0 = unknown), to size the table once. */
  constructor(expectedRows = 0) {
    this.cap = slotsFor(Math.max(expectedRows, 1 << 12));
    this.t = new Int32Array(this.cap * 4);
    // about 3 in 10 rows on the bench export (10M rows, 7.2M orders); it grows if there are more
    this.rest = new FingerprintSet(Math.ceil((expectedRows * 0.3 * 4) / 3));
  }

  /** Room for n more orders without growing: first() slots computed now stay valid while they are added. */
  ensure(n: number): void {
    while ((this.size + n) * 10 > this.cap * 7) this.rehash();
  }

  /** Where (c, h)'s probe starts (see ensure). */
  first(c: number, h: number): number {
    return slotOf(c, h, this.cap);
  }

  /**
   * Records an accepted-so-far row of order (c, h) with fingerprint (hi, lo) (dedupe: compare
   * fingerprints; else they are ignored), probing from i = first(c, h) computed after ensure().
   * Returns ORDER_DUPLICATE for an exact repeat (nothing recorded), else ORDER_NEW_PURCHASE when
   * it is the order's first purchase row, else 0.
   */
  addFrom(i: number, c: number, h: number, purchase: boolean, dedupe: boolean, hi: number, lo: number): number {
    const t = this.t;
    const cap = this.cap;
    const key = c + 1;
    for (;;) {
      const j = i << 2;
      const w = t[j];
      if (w === 0) {
        t[j] = purchase ? key | PURCHASE : key;
        t[j + 1] = h;
        t[j + 2] = hi;
        t[j + 3] = lo;
        this.size++;
        return purchase ? ORDER_NEW_PURCHASE : 0;
      }
      if ((w & KEY_MASK) === key && t[j + 1] === h) {
        if (dedupe) {
          if (t[j + 2] === (hi | 0) && t[j + 3] === (lo | 0)) return ORDER_DUPLICATE;
          if (!this.rest.add(hi, lo)) return ORDER_DUPLICATE;
        }
        if (purchase && (w & PURCHASE) === 0) {
          t[j] = w | PURCHASE;
          return ORDER_NEW_PURCHASE;
        }
        return 0;
      }
      if (++i === cap) i = 0;
    }
  }

  /** A load of slot i (a first() slot), to overlap a batch's cache misses (see RowBuilder's batch). */
  touch(i: number): number {
    return this.t[i << 2];
  }

  private rehash(): void {
    const old = this.t;
    const cap = Math.ceil(this.cap * 1.5);
    const t = new Int32Array(cap * 4);
    for (let j = 0; j < old.length; j += 4) {
      const w = old[j];
      if (w === 0) continue;
      let i = slotOf((w & KEY_MASK) - 1, old[j + 1], cap);
      while (t[i << 2] !== 0) if (++i === cap) i = 0;
      const k = i << 2;
      t[k] = w;
      t[k + 1] = old[j + 1];
      t[k + 2] = old[j + 2];
      t[k + 3] = old[j + 3];
    }
    this.t = t;
    this.cap = cap;
  }
}

function slotOf(c: number, h: number, cap: number): number {
  let i = Math.imul(c, 0x9e3779b1) ^ Math.imul(h, 0x85ebca77);
  i ^= i >>> 15;
  i = Math.imul(i, 0x2c1b3c6d);
  return fastrange(i ^ (i >>> 12), cap);
}
