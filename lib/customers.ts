/**
 * The per-customer summary, built in one streaming pass over the sales rows.
 *
 * Memory grows with customers and with the customer-days they bought on, never with raw
 * rows: per-customer state lives in typed arrays keyed by a dense customer index, and
 * each (customer, day) pair is aggregated once in an open-addressing table. Everything
 * downstream (cohorts, CRR, models) is derived from those day lists after the pass.
 *
 * Conventions (DESIGN.md "Definitions"):
 * - a purchase is a row with amount >= 0 (a $0 item is a purchase); a negative amount is a
 *   refund: it nets revenue but neither acquires nor retains a customer;
 * - a customer's dimension values are those of their first purchase (earliest day; ties
 *   keep the row read first);
 * - frequency / recency / T / zbar follow Fader & Hardie and `lifetimes`: purchases on the
 *   same day are one transaction; frequency = purchase days after the first; recency = last
 *   minus first purchase day; T = calibration end minus first purchase day; zbar = mean value
 *   of the repeat purchase days (0 without repeats); all in the model's time unit.
 */
import type { AcceptedBatch, AcceptedRow, SalesRow } from './ingest/index.js';
import { fastrange, slotsFor } from './ingest/slots.js';

/**
 * A growable open-addressing table of (customer, day) -> net value and purchase flag.
 *
 * One entry per 16 bytes of one ArrayBuffer (Int32 words 0-1, Float64 word 1), so a probe is one
 * cache line: word 0 = (customer + 1) | purchase << 30 (0 = empty, so a new table needs no fill
 * pass), word 1 = day, f64 = net value. Issue 8, 10M rows / 7.2M customer-days: the earlier four
 * typed arrays (cust, day, value, purchase) cost four cache misses a row (~0.6 s per 1M rows) and
 * 17 bytes a slot. It grows by 1.5x (old and new table are held at once while growing).
 */
class CustomerDays {
  w: Int32Array;
  v: Float64Array;
  size = 0;
  private cap: number;

  constructor(capacity = 1 << 16) {
    this.cap = Math.max(128, capacity);
    const buf = new ArrayBuffer(this.cap * 16);
    this.w = new Int32Array(buf);
    this.v = new Float64Array(buf);
  }

  private static hash(c: number, d: number): number {
    let h = Math.imul(c, 0x9e3779b1) ^ Math.imul(d + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return (h ^ (h >>> 12)) >>> 0;
  }

  /** Grows now to hold n entries (sized up front: growing later holds the old and new table at once). */
  reserve(n: number): void {
    if (slotsFor(n) > this.cap) this.rehash(slotsFor(n));
  }

  /** Room for n more entries without growing: first() slots computed now stay valid while they are added. */
  ensure(n: number): void {
    while ((this.size + n) * 10 > this.cap * 7) this.rehash(Math.ceil(this.cap * 1.5));
  }

  /** Where (c, d)'s probe starts (see ensure). */
  first(c: number, d: number): number {
    return fastrange(CustomerDays.hash(c, d), this.cap);
  }

  add(c: number, d: number, amount: number): void {
    this.ensure(1);
    this.addFrom(this.first(c, d), c, d, amount);
  }

  /** add() with the probe's start i = first(c, d), computed after ensure(). */
  addFrom(i: number, c: number, d: number, amount: number): void {
    const { w, cap } = this;
    const key = c + 1;
    for (;;) {
      const k = w[4 * i];
      if (k === 0) {
        w[4 * i] = amount >= 0 ? key | PURCHASE : key;
        w[4 * i + 1] = d;
        this.v[2 * i + 1] = amount;
        this.size++;
        return;
      }
      if ((k & KEY_MASK) === key && w[4 * i + 1] === d) {
        this.v[2 * i + 1] += amount;
        if (amount >= 0) w[4 * i] = k | PURCHASE;
        return;
      }
      if (++i === cap) i = 0;
    }
  }

  private rehash(cap: number): void {
    const { w: ow, v: ov } = this;
    const buf = new ArrayBuffer(cap * 16);
    const w = new Int32Array(buf);
    const v = new Float64Array(buf);
    for (let j = 0; j < ow.length; j += 4) {
      const k = ow[j];
      if (k === 0) continue;
      const d = ow[j + 1];
      let i = fastrange(CustomerDays.hash((k & KEY_MASK) - 1, d), cap);
      while (w[4 * i] !== 0) if (++i === cap) i = 0;
      w[4 * i] = k;
      w[4 * i + 1] = d;
      v[2 * i + 1] = ov[j / 2 + 1];
    }
    this.w = w;
    this.v = v;
    this.cap = cap;
  }
}

const PURCHASE = 1 << 30;
const KEY_MASK = PURCHASE - 1;

/**
 * A set of (customer, 32-bit order-id hash) pairs: counts distinct orders without keeping the ids.
 * Interleaved [customer + 1, hash] per slot (0 = empty): one cache line a probe, no fill pass.
 */
class OrderSet {
  private t: Int32Array;
  private mask: number;
  private size = 0;

  constructor(capacity = 1 << 16) {
    this.t = new Int32Array(capacity * 2);
    this.mask = capacity - 1;
  }


  /** True when the pair is new. */
  add(c: number, k: number): boolean {
    if ((this.size + 1) * 10 > (this.mask + 1) * 7) this.rehash((this.mask + 1) * 2);
    const { t, mask } = this;
    const key = c + 1;
    let i = (Math.imul(c, 0x9e3779b1) ^ Math.imul(k, 0x85ebca77)) >>> 0;
    i = (i ^ (i >>> 16)) & mask;
    for (;;) {
      const x = t[2 * i];
      if (x === 0) {
        t[2 * i] = key;
        t[2 * i + 1] = k;
        this.size++;
        return true;
      }
      if (x === key && t[2 * i + 1] === k) return false;
      i = (i + 1) & mask;
    }
  }

  private rehash(cap: number): void {
    const old = this.t;
    this.t = new Int32Array(cap * 2);
    this.mask = cap - 1;
    this.size = 0;
    for (let j = 0; j < old.length; j += 2) if (old[j] !== 0) this.add(old[j] - 1, old[j + 1]);
  }
}

/** FNV-1a 32-bit hash of a string (order ids are hashed, never stored). */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

function growF64(a: Float64Array, n: number): Float64Array {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
function growI32(a: Int32Array, n: number, fill = 0): Int32Array {
  const b = new Int32Array(n);
  if (fill !== 0) b.fill(fill, a.length);
  b.set(a);
  return b;
}

const NO_DAY = 2 ** 31 - 1;

/** Accumulates sales rows into per-customer state. Feed it with `add`, then call `summarize`. */
export class CustomerAccumulator {
  readonly ids: string[] = [];
  /**
   * id -> customer, built only when add() is used: addAccepted finds customers by ingest key, and
   * at 1M customers this Map cost ~1 us a new customer and ~60 MB of heap (issue 8).
   */
  private index: Map<string, number> | null = null;
  private reservedRows = 0;
  private cap = 1024;
  /**
   * Per-customer state, 32 bytes a customer in one array: [revenue, margin, orders, dim key], the
   * dim key being 2 x the day of the row whose dimensions the customer carries + 1 if it is a
   * purchase. Issue 8: five separate arrays were five cache misses a row at 1M customers; the
   * measured gain is small (3M rows / 434k customers: 10.7-11.5 -> 10.5 s CPU, noisy shared cores).
   */
  private st: Float64Array = new Float64Array(this.cap * 4);
  /** Day of the row whose dimension values the customer carries (first purchase, else first row). */
  dims: Int32Array;
  readonly dimValues: string[][];
  private dimIndex: Map<string, number>[];
  days = new CustomerDays();
  /** Distinct orders for add(); addAccepted rows carry ingest's newOrder instead (made on first use). */
  private orderSet: OrderSet | null = null;
  hasMargin = false;
  /** Ingest key -> customer + 1 (0 = not seen yet). */
  private keyToCustomer = new Int32Array(1024);
  private batchCustomers = new Int32Array(0);
  /** True while customer c came from ingest key c for every c (addBatch then maps nothing). */
  private sameKeys = true;
  private batchSlots = new Int32Array(0);
  private touchSink = 0;

  constructor(readonly dimensionCount: number) {
    this.dims = new Int32Array(this.cap * dimensionCount);
    this.dimValues = Array.from({ length: dimensionCount }, () => []);
    this.dimIndex = Array.from({ length: dimensionCount }, () => new Map());
  }

  /**
   * Frees the per-row state (the (customer, day) table and the order-id set) once the sorted
   * day lists exist: at 10M rows it is the largest allocation, and the run's later stages
   * would otherwise carry both copies. The accumulator takes no rows after this.
   */
  releaseRowState(): void {
    this.days = new CustomerDays(16);
    this.orderSet = null;
  }

  /** Writes the identity key -> customer map sameKeys stood for, and stops relying on it. */
  private leaveSameKeys(): void {
    if (!this.sameKeys) return;
    this.sameKeys = false;
    const n = this.ids.length;
    if (this.keyToCustomer.length < n) this.keyToCustomer = new Int32Array(Math.max(1024, 2 * n));
    for (let c = 0; c < n; c++) this.keyToCustomer[c] = c + 1;
  }

  /** Field k of the per-customer state (0 revenue, 1 margin, 2 orders) as an array by customer. */
  column<T extends Float64Array | Int32Array>(k: number, Type: new (n: number) => T): T {
    const n = this.ids.length;
    const out = new Type(n);
    for (let c = 0; c < n; c++) out[c] = this.st[4 * c + k];
    return out;
  }

  get customerCount(): number {
    return this.ids.length;
  }

  private customer(id: string): number {
    if (this.index === null) {
      this.index = new Map();
      for (let c = 0; c < this.ids.length; c++) this.index.set(this.ids[c], c);
    }
    const c = this.index.get(id);
    if (c !== undefined) return c;
    return this.newCustomer(id);
  }

  private newCustomer(id: string): number {
    const c = this.ids.length;
    if (c === this.cap) this.growCustomers();
    this.st[4 * c + 3] = NO_DAY * 2;
    this.ids.push(id);
    this.index?.set(id, c);
    return c;
  }

  /**
   * Sizes the (customer, day) table for about `rows` rows before they come: growing by doubling
   * holds the old and the new table at once (at 10M rows, 134 + 268 MB). It holds at most one
   * entry a row.
   */
  reserve(rows: number): void {
    if (rows <= this.reservedRows) return;
    this.reservedRows = rows;
    this.days.reserve(rows);
  }

  private growCustomers(): void {
    const cap = this.cap * 2;
    this.st = growF64(this.st, cap * 4);
    this.dims = growI32(this.dims, cap * this.dimensionCount);
    this.cap = cap;
  }

  private dimValue(d: number, v: string): number {
    let i = this.dimIndex[d].get(v);
    if (i === undefined) {
      i = this.dimValues[d].length;
      this.dimValues[d].push(v);
      this.dimIndex[d].set(v, i);
    }
    return i;
  }

  add(row: SalesRow): void {
    this.leaveSameKeys();
    const c = this.customer(row.customerId);
    const countOrder = row.amount >= 0 && (row.orderId === null || (this.orderSet ??= new OrderSet()).add(c, hashString(row.orderId)));
    this.addTo(c, row.day, row.amount, row.margin === null ? Number.NaN : row.margin, countOrder, row.dims);
  }

  /**
   * add() for ingest's onAccepted rows: the customer is found by its ingest key through an
   * Int32Array instead of a Map lookup of the id string (issue 8: ~0.5 s of 1M rows went into
   * that lookup). Feed one accumulator from one ingest() call only: keys are per call.
   */
  addAccepted(row: AcceptedRow): void {
    this.leaveSameKeys();
    if (row.expectedRows > this.reservedRows) this.reserve(row.expectedRows);
    const k = row.customerKey;
    if (k >= this.keyToCustomer.length) {
      let n = this.keyToCustomer.length * 2;
      while (n <= k) n *= 2;
      const t = new Int32Array(n);
      t.set(this.keyToCustomer);
      this.keyToCustomer = t;
    }
    let c = this.keyToCustomer[k] - 1;
    if (c < 0) {
      // keys are dense per distinct id within one ingest() call: a new key is a new customer,
      // unless add() has seen the id (then the index knows it)
      c = this.index === null ? this.newCustomer(row.customerId) : this.customer(row.customerId);
      this.keyToCustomer[k] = c + 1;
    }
    // ingest flags an order's first purchase row (one probe shared with de-duplication, issue 8)
    this.addTo(c, row.day, row.amount, row.margin, row.amount >= 0 && (!row.hasOrder || row.newOrder), row.dims);
  }

  /**
   * addAccepted for a batch of rows (ingest's onBatch): the batch's loads of the customer and
   * (customer, day) tables are made first, together, so their cache misses overlap (issue 8; see
   * RowBuilder's batch), then the rows are added in order.
   */
  addBatch(b: AcceptedBatch): void {
    if (b.expectedRows > this.reservedRows) this.reserve(b.expectedRows);
    const n = b.n;
    const { ok, customerKey, day } = b;
    const cust = this.batchCustomers.length >= n ? this.batchCustomers : (this.batchCustomers = new Int32Array(n));
    let k2c = this.keyToCustomer;
    for (let i = 0; i < n; i++) {
      if (!ok[i]) continue;
      const k = customerKey[i];
      if (this.sameKeys) {
        // every customer so far came from its own key: the key is the customer (no lookup)
        if (k < this.ids.length) {
          cust[i] = k;
          continue;
        }
        if (k === this.ids.length) {
          cust[i] = this.newCustomer(b.customerIds[k]);
          continue;
        }
        this.leaveSameKeys();
        k2c = this.keyToCustomer;
      }
      if (k >= k2c.length) {
        let len = k2c.length * 2;
        while (len <= k) len *= 2;
        const t = new Int32Array(len);
        t.set(k2c);
        this.keyToCustomer = k2c = t;
      }
      let c = k2c[k] - 1;
      if (c < 0) {
        const id = b.customerIds[k];
        c = this.index === null ? this.newCustomer(id) : this.customer(id);
        k2c[k] = c + 1;
      }
      cust[i] = c;
    }
    const st = this.st;
    const days = this.days;
    days.ensure(n);
    const slot = this.batchSlots.length >= n ? this.batchSlots : (this.batchSlots = new Int32Array(n));
    let sink = 0;
    for (let i = 0; i < n; i++) {
      if (!ok[i]) continue;
      const j = days.first(cust[i], day[i]);
      slot[i] = j;
      sink += st[4 * cust[i]] + days.w[j << 2];
    }
    this.touchSink = sink;
    const { amount, margin, startsOrder, dims } = b;
    for (let i = 0; i < n; i++) if (ok[i]) this.addTo(cust[i], day[i], amount[i], margin[i], startsOrder[i] === 1, dims[i], slot[i]);
  }

  /** countOrder: a purchase row that starts an order (or has no order id: each such row is one). */
  /** slot: where (c, day)'s probe starts in `days` (CustomerDays.first after ensure), or -1. */
  private addTo(c: number, day: number, amount: number, margin: number, countOrder: boolean, dims: string[], slot = -1): void {
    const isPurchase = amount >= 0;
    const st = this.st;
    const b = 4 * c;
    st[b] += amount;
    if (!Number.isNaN(margin)) {
      st[b + 1] += margin;
      this.hasMargin = true;
    }
    if (countOrder) st[b + 2]++;
    const dk = st[b + 3];
    const dimDay = Math.floor(dk / 2); // floor: days before 1970 are negative
    const dimIsPurchase = dk - 2 * dimDay === 1;
    if (slot < 0) this.days.add(c, day, amount);
    else this.days.addFrom(slot, c, day, amount);
    // Dimension values: those of the first purchase; a refund-only customer keeps its first row's.
    const better = isPurchase
      ? !dimIsPurchase || day < dimDay
      : !dimIsPurchase && day < dimDay;
    if (better) {
      const n = this.dimensionCount;
      if (n > 0) {
        const base = c * n;
        for (let d = 0; d < n; d++) this.dims[base + d] = this.dimValue(d, dims[d] ?? '');
      }
      st[b + 3] = day * 2 + (isPurchase ? 1 : 0);
    }
  }
}

/** Each customer's days, sorted: `dayStart[c]..dayStart[c+1]` index into `day`, `value`, `purchase`. */
export interface DayLists {
  dayStart: Int32Array;
  day: Int32Array;
  value: Float64Array;
  purchase: Uint8Array;
}

export interface SummaryOptions {
  asOfDay: number;
  calibrationEndDay: number;
  /** Days per model time unit: 7 for weeks, 1 for days. */
  unitDays: number;
  /** Margin share when the export has no margin: margin = revenue x share. */
  marginShare: number;
}

/**
 * The per-customer summary. Arrays are indexed by customer; NaN in a day field means
 * "none" (a refund-only customer has no first purchase) and is turned into null on output.
 */
export interface CustomerSummary {
  n: number;
  ids: string[];
  firstDay: Float64Array;
  lastDay: Float64Array;
  orders: Int32Array;
  purchaseDays: Int32Array;
  revenue: Float64Array;
  margin: Float64Array;
  firstOrderValue: Float64Array;
  /** dims[c * dimensionCount + d] indexes dimValues[d]. */
  dims: Int32Array;
  dimValues: string[][];
  dimensionCount: number;
  hasMargin: boolean;
  /** Calibration period summary (model time unit). Customers acquired after calibration end have calibrated = 0. */
  calibrated: Uint8Array;
  frequency: Float64Array;
  recency: Float64Array;
  T: Float64Array;
  zbar: Float64Array;
  /** The same summary through the as-of date, used to score customers today. */
  frequencyAsOf: Float64Array;
  recencyAsOf: Float64Array;
  TAsOf: Float64Array;
  zbarAsOf: Float64Array;
  /** Repeat purchase days after calibration end up to as-of (holdout actuals). */
  holdoutPurchases: Float64Array;
  lists: DayLists;
}

/** Sorts each customer's days (counting sort by customer, then insertion sort of each short list). */
function dayLists(acc: CustomerAccumulator): DayLists {
  const n = acc.customerCount;
  const t = acc.days;
  const dayStart = new Int32Array(n + 1);
  const w = t.w;
  for (let j = 0; j < w.length; j += 4) if (w[j] !== 0) dayStart[w[j] & KEY_MASK]++; // (customer + 1) -> counts shifted by one
  for (let c = 0; c < n; c++) dayStart[c + 1] += dayStart[c];
  const fill = dayStart.slice(0, n);
  const day = new Int32Array(t.size);
  const value = new Float64Array(t.size);
  const purchase = new Uint8Array(t.size);
  for (let j = 0; j < w.length; j += 4) {
    const k = w[j];
    if (k === 0) continue;
    const i = fill[(k & KEY_MASK) - 1]++;
    day[i] = w[j + 1];
    value[i] = t.v[j / 2 + 1];
    purchase[i] = k & PURCHASE ? 1 : 0;
  }
  for (let c = 0; c < n; c++) {
    for (let i = dayStart[c] + 1; i < dayStart[c + 1]; i++) {
      const d = day[i], v = value[i], p = purchase[i];
      let j = i - 1;
      while (j >= dayStart[c] && day[j] > d) {
        day[j + 1] = day[j];
        value[j + 1] = value[j];
        purchase[j + 1] = purchase[j];
        j--;
      }
      day[j + 1] = d;
      value[j + 1] = v;
      purchase[j + 1] = p;
    }
  }
  return { dayStart, day, value, purchase };
}

/** Derives every per-customer figure from the accumulated state (no pass over rows). */
export function summarize(acc: CustomerAccumulator, opts: SummaryOptions): CustomerSummary {
  const n = acc.customerCount;
  const lists = dayLists(acc);
  acc.releaseRowState();
  const { dayStart, day, value, purchase } = lists;
  const s: CustomerSummary = {
    n,
    ids: acc.ids,
    firstDay: new Float64Array(n).fill(NaN),
    lastDay: new Float64Array(n).fill(NaN),
    orders: acc.column(2, Int32Array),
    purchaseDays: new Int32Array(n),
    revenue: acc.column(0, Float64Array),
    margin: acc.hasMargin ? acc.column(1, Float64Array) : acc.column(0, Float64Array).map((r) => r * opts.marginShare),
    firstOrderValue: new Float64Array(n),
    dims: acc.dims.slice(0, n * acc.dimensionCount),
    dimValues: acc.dimValues,
    dimensionCount: acc.dimensionCount,
    hasMargin: acc.hasMargin,
    calibrated: new Uint8Array(n),
    frequency: new Float64Array(n),
    recency: new Float64Array(n),
    T: new Float64Array(n),
    zbar: new Float64Array(n),
    frequencyAsOf: new Float64Array(n),
    recencyAsOf: new Float64Array(n),
    TAsOf: new Float64Array(n),
    zbarAsOf: new Float64Array(n),
    holdoutPurchases: new Float64Array(n),
    lists,
  };
  const u = opts.unitDays;
  const cal = opts.calibrationEndDay;
  for (let c = 0; c < n; c++) {
    let first = NaN, last = NaN, days = 0;
    let calDays = 0, calLast = NaN, calRepeatValue = 0, holdout = 0, repeatValue = 0;
    for (let i = dayStart[c]; i < dayStart[c + 1]; i++) {
      if (!purchase[i]) continue;
      const d = day[i];
      if (days === 0) {
        first = d;
        s.firstOrderValue[c] = value[i];
      } else {
        repeatValue += value[i];
        if (d <= cal) calRepeatValue += value[i];
        else holdout++;
      }
      if (d <= cal) {
        calDays++;
        calLast = d;
      }
      last = d;
      days++;
    }
    s.firstDay[c] = first;
    s.lastDay[c] = last;
    s.purchaseDays[c] = days;
    if (days > 0) {
      s.frequencyAsOf[c] = days - 1;
      s.recencyAsOf[c] = (last - first) / u;
      s.TAsOf[c] = (opts.asOfDay - first) / u;
      s.zbarAsOf[c] = days > 1 ? repeatValue / (days - 1) : 0;
    }
    if (days > 0 && first <= cal) {
      s.calibrated[c] = 1;
      s.frequency[c] = calDays - 1;
      s.recency[c] = (calLast - first) / u;
      s.T[c] = (cal - first) / u;
      s.zbar[c] = calDays > 1 ? calRepeatValue / (calDays - 1) : 0;
      s.holdoutPurchases[c] = holdout;
    }
  }
  return s;
}
