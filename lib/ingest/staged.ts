/**
 * Rows parsed and validated but not yet looked up: the columns RowBuilder stages (see its batch
 * fields) and, with parse workers (parallel.ts), what a worker sends back for a block of the file.
 * Customer ids are kept as UTF-8 bytes in one arena with their Interner hash, so the thread that
 * owns the customer table interns them without re-reading the text; the fingerprint (hi, lo)
 * covers every field but the dimensions, whose keys are per thread (RowBuilder adds the global
 * dimension keys when it resolves the row).
 */

export class StagedRows {
  n = 0;
  cap: number;
  hash: Int32Array;
  off: Int32Array;
  len: Int32Array;
  /**
   * The customer key when the id was interned at staging (an id with no UTF-8 bytes of its own),
   * else -1; from a parse worker, the worker's own key (ParsePool maps it to the main thread's).
   */
  pre: Int32Array;
  arena: Uint8Array;
  arenaLen = 0;
  /**
   * 1 = the id's bytes are at off/len in the block being parsed, not in the arena: a parse worker
   * stages a CSV block's ids where they are and copies into the arena only the ids new to it, when
   * it interns them (RowBuilder.internStaged; the main thread reads the bytes of no other id).
   */
  ext: Uint8Array;
  day: Int32Array;
  amount: Float64Array;
  /** NaN = no margin. */
  margin: Float64Array;
  hasOrder: Uint8Array;
  orderHash: Int32Array;
  hi: Int32Array;
  lo: Int32Array;
  /** nDims keys a row, from the staging thread's dimension interners. */
  dimKeys: Int32Array;
  /** Order id strings, kept only for an onRow consumer. */
  orderIds: (string | null)[] | null;

  constructor(
    cap: number,
    readonly nDims: number,
    keepOrderIds: boolean,
  ) {
    this.cap = cap;
    this.hash = new Int32Array(cap);
    this.off = new Int32Array(cap);
    this.len = new Int32Array(cap);
    this.pre = new Int32Array(cap);
    this.ext = new Uint8Array(cap);
    this.arena = new Uint8Array(cap * 16);
    this.day = new Int32Array(cap);
    this.amount = new Float64Array(cap);
    this.margin = new Float64Array(cap);
    this.hasOrder = new Uint8Array(cap);
    this.orderHash = new Int32Array(cap);
    this.hi = new Int32Array(cap);
    this.lo = new Int32Array(cap);
    this.dimKeys = new Int32Array(cap * nDims);
    this.orderIds = keepOrderIds ? [] : null;
  }

  /** Room for one more row (doubles the columns when full). */
  ensureRow(): void {
    if (this.n < this.cap) return;
    const cap = this.cap * 2;
    const grow = <T extends Int32Array | Float64Array | Uint8Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.hash = grow(this.hash, cap);
    this.off = grow(this.off, cap);
    this.len = grow(this.len, cap);
    this.pre = grow(this.pre, cap);
    this.ext = grow(this.ext, cap);
    this.day = grow(this.day, cap);
    this.amount = grow(this.amount, cap);
    this.margin = grow(this.margin, cap);
    this.hasOrder = grow(this.hasOrder, cap);
    this.orderHash = grow(this.orderHash, cap);
    this.hi = grow(this.hi, cap);
    this.lo = grow(this.lo, cap);
    this.dimKeys = grow(this.dimKeys, cap * this.nDims);
    this.cap = cap;
  }

  /** The arena with room for k more bytes. */
  arenaFor(k: number): Uint8Array {
    if (this.arenaLen + k > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaLen + k));
      a.set(this.arena.subarray(0, this.arenaLen));
      this.arena = a;
    }
    return this.arena;
  }

  /** Copies b[s, e) to the end of the arena; returns where it starts there. */
  appendBytes(b: Uint8Array, s: number, e: number): number {
    const a = this.arenaFor(e - s);
    const o = this.arenaLen;
    for (let k = s; k < e; k++) a[o + k - s] = b[k];
    this.arenaLen = o + e - s;
    return o;
  }

  clear(): void {
    this.n = 0;
    this.arenaLen = 0;
    if (this.orderIds) this.orderIds.length = 0;
  }

  /** The columns as a structured-clone message and the buffers to transfer with it (the rows move). */
  toMessage(): { message: StagedMessage; transfer: ArrayBuffer[] } {
    const message: StagedMessage = {
      n: this.n,
      nDims: this.nDims,
      arenaLen: this.arenaLen,
      hash: this.hash,
      off: this.off,
      len: this.len,
      pre: this.pre,
      ext: this.ext,
      arena: this.arena,
      day: this.day,
      amount: this.amount,
      margin: this.margin,
      hasOrder: this.hasOrder,
      orderHash: this.orderHash,
      hi: this.hi,
      lo: this.lo,
      dimKeys: this.dimKeys,
      orderIds: this.orderIds,
    };
    const transfer = [this.hash, this.off, this.len, this.pre, this.ext, this.arena, this.day, this.amount, this.margin, this.hasOrder, this.orderHash, this.hi, this.lo, this.dimKeys].map(
      (a) => a.buffer as ArrayBuffer,
    );
    return { message, transfer };
  }

  static fromMessage(m: StagedMessage): StagedRows {
    const s = Object.create(StagedRows.prototype) as StagedRows;
    Object.assign(s, { ...m, cap: m.hash.length });
    return s;
  }
}

/** The columns of StagedRows as plain data (what crosses between threads). */
export type StagedMessage = Pick<
  StagedRows,
  'n' | 'nDims' | 'arenaLen' | 'hash' | 'off' | 'len' | 'pre' | 'ext' | 'arena' | 'day' | 'amount' | 'margin' | 'hasOrder' | 'orderHash' | 'hi' | 'lo' | 'dimKeys' | 'orderIds'
>;
