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
import type { AcceptedRow, SalesRow } from './ingest/index.js';

const EMPTY = -1;

/** A growable open-addressing table of (customer, day) -> net value and purchase flag. */
class CustomerDays {
  cust: Int32Array;
  day: Int32Array;
  value: Float64Array;
  purchase: Uint8Array;
  size = 0;
  private mask: number;

  constructor(capacity = 1 << 16) {
    this.cust = new Int32Array(capacity).fill(EMPTY);
    this.day = new Int32Array(capacity);
    this.value = new Float64Array(capacity);
    this.purchase = new Uint8Array(capacity);
    this.mask = capacity - 1;
  }

  private static hash(c: number, d: number): number {
    let h = Math.imul(c, 0x9e3779b1) ^ Math.imul(d + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return (h ^ (h >>> 12)) >>> 0;
  }

  add(c: number, d: number, amount: number): void {
    if ((this.size + 1) * 10 > this.cust.length * 7) this.grow();
    const mask = this.mask;
    let i = CustomerDays.hash(c, d) & mask;
    for (;;) {
      const k = this.cust[i];
      if (k === EMPTY) {
        this.cust[i] = c;
        this.day[i] = d;
        this.value[i] = amount;
        this.purchase[i] = amount >= 0 ? 1 : 0;
        this.size++;
        return;
      }
      if (k === c && this.day[i] === d) {
        this.value[i] += amount;
        if (amount >= 0) this.purchase[i] = 1;
        return;
      }
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const { cust, day, value, purchase } = this;
    const cap = cust.length * 2;
    this.cust = new Int32Array(cap).fill(EMPTY);
    this.day = new Int32Array(cap);
    this.value = new Float64Array(cap);
    this.purchase = new Uint8Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < cust.length; i++) {
      if (cust[i] === EMPTY) continue;
      this.insertFresh(cust[i], day[i], value[i], purchase[i]);
    }
  }

  private insertFresh(c: number, d: number, v: number, p: number): void {
    let i = CustomerDays.hash(c, d) & this.mask;
    while (this.cust[i] !== EMPTY) i = (i + 1) & this.mask;
    this.cust[i] = c;
    this.day[i] = d;
    this.value[i] = v;
    this.purchase[i] = p;
    this.size++;
  }
}

/** A set of (customer, 32-bit order-id hash) pairs: counts distinct orders without keeping the ids. */
class OrderSet {
  private cust: Int32Array;
  private key: Int32Array;
  private size = 0;

  constructor(capacity = 1 << 16) {
    this.cust = new Int32Array(capacity).fill(EMPTY);
    this.key = new Int32Array(capacity);
  }

  /** True when the pair is new. */
  add(c: number, k: number): boolean {
    if ((this.size + 1) * 10 > this.cust.length * 7) this.grow();
    const mask = this.cust.length - 1;
    let i = (Math.imul(c, 0x9e3779b1) ^ Math.imul(k, 0x85ebca77)) >>> 0;
    i = (i ^ (i >>> 16)) & mask;
    for (;;) {
      const x = this.cust[i];
      if (x === EMPTY) {
        this.cust[i] = c;
        this.key[i] = k;
        this.size++;
        return true;
      }
      if (x === c && this.key[i] === k) return false;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const { cust, key } = this;
    this.cust = new Int32Array(cust.length * 2).fill(EMPTY);
    this.key = new Int32Array(cust.length * 2);
    this.size = 0;
    for (let i = 0; i < cust.length; i++) if (cust[i] !== EMPTY) this.add(cust[i], key[i]);
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
  private index = new Map<string, number>();
  private cap = 1024;
  revenue: Float64Array = new Float64Array(this.cap);
  margin: Float64Array = new Float64Array(this.cap);
  orders: Int32Array = new Int32Array(this.cap);
  /** Day of the row whose dimension values the customer carries (first purchase, else first row). */
  private dimDay: Int32Array = new Int32Array(this.cap).fill(NO_DAY);
  private dimIsPurchase: Uint8Array = new Uint8Array(this.cap);
  dims: Int32Array;
  readonly dimValues: string[][];
  private dimIndex: Map<string, number>[];
  days = new CustomerDays();
  private orderSet = new OrderSet();
  hasMargin = false;
  private keyToCustomer = new Int32Array(1024).fill(-1);

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
    this.orderSet = new OrderSet(16);
  }

  get customerCount(): number {
    return this.ids.length;
  }

  private customer(id: string): number {
    let c = this.index.get(id);
    if (c !== undefined) return c;
    c = this.ids.length;
    if (c === this.cap) this.growCustomers();
    this.ids.push(id);
    this.index.set(id, c);
    return c;
  }

  private growCustomers(): void {
    const cap = this.cap * 2;
    this.revenue = growF64(this.revenue, cap);
    this.margin = growF64(this.margin, cap);
    this.orders = growI32(this.orders, cap);
    this.dimDay = growI32(this.dimDay, cap, NO_DAY);
    const dip = new Uint8Array(cap);
    dip.set(this.dimIsPurchase);
    this.dimIsPurchase = dip;
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
    const c = this.customer(row.customerId);
    this.addTo(c, row.day, row.amount, row.margin === null ? Number.NaN : row.margin, row.orderId !== null, row.orderId === null ? 0 : hashString(row.orderId), row.dims);
  }

  /**
   * add() for ingest's onAccepted rows: the customer is found by its ingest key through an
   * Int32Array instead of a Map lookup of the id string (issue 8: ~0.5 s of 1M rows went into
   * that lookup). Feed one accumulator from one ingest() call only: keys are per call.
   */
  addAccepted(row: AcceptedRow): void {
    const k = row.customerKey;
    if (k >= this.keyToCustomer.length) {
      let n = this.keyToCustomer.length * 2;
      while (n <= k) n *= 2;
      const t = new Int32Array(n).fill(-1);
      t.set(this.keyToCustomer);
      this.keyToCustomer = t;
    }
    let c = this.keyToCustomer[k];
    if (c < 0) {
      c = this.customer(row.customerId);
      this.keyToCustomer[k] = c;
    }
    this.addTo(c, row.day, row.amount, row.margin, row.hasOrder, row.orderHash, row.dims);
  }

  private addTo(c: number, day: number, amount: number, margin: number, hasOrder: boolean, orderHash: number, dims: string[]): void {
    const isPurchase = amount >= 0;
    this.revenue[c] += amount;
    if (!Number.isNaN(margin)) {
      this.margin[c] += margin;
      this.hasMargin = true;
    }
    if (isPurchase) {
      if (!hasOrder) this.orders[c]++;
      else if (this.orderSet.add(c, orderHash)) this.orders[c]++;
    }
    this.days.add(c, day, amount);
    // Dimension values: those of the first purchase; a refund-only customer keeps its first row's.
    const better = isPurchase
      ? !this.dimIsPurchase[c] || day < this.dimDay[c]
      : !this.dimIsPurchase[c] && day < this.dimDay[c];
    if (better) {
      const n = this.dimensionCount;
      if (n > 0) {
        const base = c * n;
        for (let d = 0; d < n; d++) this.dims[base + d] = this.dimValue(d, dims[d] ?? '');
      }
      this.dimDay[c] = day;
      this.dimIsPurchase[c] = isPurchase ? 1 : 0;
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
  for (let i = 0; i < t.cust.length; i++) if (t.cust[i] !== EMPTY) dayStart[t.cust[i] + 1]++;
  for (let c = 0; c < n; c++) dayStart[c + 1] += dayStart[c];
  const fill = dayStart.slice(0, n);
  const day = new Int32Array(t.size);
  const value = new Float64Array(t.size);
  const purchase = new Uint8Array(t.size);
  for (let i = 0; i < t.cust.length; i++) {
    const c = t.cust[i];
    if (c === EMPTY) continue;
    const j = fill[c]++;
    day[j] = t.day[i];
    value[j] = t.value[i];
    purchase[j] = t.purchase[i];
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
    orders: acc.orders.slice(0, n),
    purchaseDays: new Int32Array(n),
    revenue: acc.revenue.slice(0, n),
    margin: acc.hasMargin ? acc.margin.slice(0, n) : acc.revenue.slice(0, n).map((r) => r * opts.marginShare),
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
