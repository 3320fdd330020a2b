/**
 * The orders seen in one ingest() call, keyed by (customer key, 32-bit order-id hash): whether a
 * purchase row of the order was accepted yet (AcceptedRow.newOrder, so the accumulator counts
 * distinct orders without a set of its own), and, when de-duplicating, the 64-bit fingerprint of
 * every accepted row of the order.
 *
 * Why one table (issue 8, 10M rows, 7.2M orders, 2 shared cores): de-duplication (a 64-bit
 * fingerprint set) and distinct-order counting (a (customer, order) set in the accumulator) were
 * two random probes of two ~128 MiB tables per row. A duplicate row has the same customer and
 * order id as its original, so it is found among its order's slots: when de-duplicating, every
 * accepted row has a slot of its own, and the rows of one order, placed from the same first slot
 * by linear probing, sit side by side (one cache line, two at most). Before, an order's first row
 * had the slot and its later lines (~26% of rows on the bench export) went to a fingerprint set
 * of their own: one more random miss each, and 32 MB; the single table measured 1.9 s against
 * 2.45 s for the bench export's 10M rows replayed alone.
 *
 * Slot: 4 Int32 words in one cache line: [(customer + 1) | PURCHASE, order hash, fp hi, fp lo];
 * 0 in word 0 = empty (a new table needs no fill pass). Load <= 0.7; sized from the expected rows
 * (a slot a row; see the constructor), not to a power of two (fastrange slots, as the accumulator's
 * day table), grows by 1.5x. Without de-duplication an order has one slot, whose PURCHASE bit is
 * set by its first purchase row.
 */
import { fastrange, slotsFor } from './slots.js';

const PURCHASE = 1 << 30;
const KEY_MASK = PURCHASE - 1;

/** Outcome bits of OrderRows.addFrom. */
export const ORDER_DUPLICATE = 1;
export const ORDER_NEW_PURCHASE = 2;

export class OrderRows {
  private t: Int32Array;
  private cap: number;
  private size = 0;

  /**
   * expectedRows: a guess of the rows to come (0 = unknown; ingest's guess from the file size), to
   * size the table once: with a quarter more room, as growing holds the old table and one 1.5x its
   * size at once (the bench export's 10M rows were guessed at 8.4M: sized for 8.4M, the table grew
   * and the run's peak memory rose by ~250 MB).
   */
  constructor(expectedRows = 0) {
    this.cap = slotsFor(Math.max(Math.ceil(expectedRows * 1.25), 1 << 12));
    this.t = new Int32Array(this.cap * 4);
  }

  /** Room for n more rows without growing: first() slots computed now stay valid while they are added. */
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
    let bought = false; // a purchase row of the order is in the table already
    for (;;) {
      const j = i << 2;
      const w = t[j];
      if (w === 0) {
        t[j] = purchase ? key | PURCHASE : key;
        t[j + 1] = h;
        t[j + 2] = hi;
        t[j + 3] = lo;
        this.size++;
        return purchase && !bought ? ORDER_NEW_PURCHASE : 0;
      }
      if ((w & KEY_MASK) === key && t[j + 1] === h) {
        if (dedupe) {
          // every row of the order has a slot: a repeat is one of them; else go on to the free slot
          if (t[j + 2] === (hi | 0) && t[j + 3] === (lo | 0)) return ORDER_DUPLICATE;
          if ((w & PURCHASE) !== 0) bought = true;
        } else {
          // one slot an order
          if (purchase && (w & PURCHASE) === 0) {
            t[j] = w | PURCHASE;
            return ORDER_NEW_PURCHASE;
          }
          return 0;
        }
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
