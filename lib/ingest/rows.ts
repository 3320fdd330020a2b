/**
 * Turning the mapped values of one record into a SalesRow, or a reject with its reason: the one
 * place where the row rules live, shared by the CSV, JSON Lines and Parquet readers. Also the
 * row accounting (read = accepted + rejected + ignored + duplicates) and de-duplication.
 *
 * Speed (issue 8; 1M rows, 8 columns, CSV.gz, 2 shared cores): the CSV reader hands over byte
 * ranges and processBytes validates them in place (numbers, plain dates, currency, trimming)
 * with no string per field; customer ids and dimension values become dense keys through the
 * byte-keyed Interner, dims arrays are shared per distinct tuple, and the accumulator takes one
 * reused AcceptedRow (onAccepted) instead of a SalesRow object. Anything unusual falls back to
 * the string path (build), so rules and messages live once. Ingest with a no-op consumer went
 * from ~2.6 s to ~1.4-2.0 s CPU. Round 2 (10M rows / 7.2M orders): de-duplication and the
 * accumulator's distinct-order set were two random probes of two ~128 MiB tables a row; they are
 * one probe of OrderRows now (the order's slot holds its first row's fingerprint; AcceptedRow.newOrder
 * tells the accumulator), and the tables are sized from the files' sizes (expectedRows) instead of
 * doubling. CSV.gz ingest + accumulate at 10M rows: 37.1 s / 982 MB -> ~31 s / 693 MB peak RSS.
 */
import type { ColumnRef, Config } from '../config.js';
import { dateRejectReason, parseDateToDay, plainDateBytesToDay, utcMsToDay, type DateFormat } from '../dates.js';
import type { RowCounts } from '../types.js';
import { Fingerprint, FingerprintSet } from './fingerprint.js';
import { le32 } from './bytes.js';
import { Interner, internHash, wellFormed } from './intern.js';
import { KIND_NUM, KIND_TEXT, type FlatColumn } from './parquet-pages.js';
import { ORDER_DUPLICATE, ORDER_NEW_PURCHASE, OrderRows } from './orders.js';
import { numberRejectReason, parseNumber, parseSimpleNumberBytes, simpleNumberBytesInto } from './numbers.js';
import { StagedRows } from './staged.js';
import type { AcceptedBatch, AcceptedRow, Reject, SalesRow } from './types.js';

/** Positions of the mapped fields in a record's value vector; dimensions follow from DIMS on. */
export const SLOT = {
  customerId: 0,
  orderDate: 1,
  amount: 2,
  orderId: 3,
  margin: 4,
  cost: 5,
  currency: 6,
  quantity: 7,
  unitPrice: 8,
} as const;
export const DIMS = 9;
export type SlotName = keyof typeof SLOT;
const SLOT_NAMES = Object.keys(SLOT) as SlotName[];

/** The config's column references, one per slot (null = not mapped). */
export function slotRefs(config: Config): (ColumnRef | null)[] {
  const c = config.input.columns;
  const refs: (ColumnRef | null)[] = SLOT_NAMES.map((k) => (c[k] as ColumnRef | null | undefined) ?? null);
  for (const d of c.dimensions) refs.push(d);
  return refs;
}

/** The config key that maps a slot, for messages: "input.columns.orderDate". */
export function slotKey(slot: number): string {
  return slot < DIMS ? `input.columns.${SLOT_NAMES[slot]}` : `input.columns.dimensions[${slot - DIMS}]`;
}

/** How a non-string date value (Parquet DATE / TIMESTAMP) is to be read. */
export type DateKind = 'text' | 'days' | 'instantMs' | 'localMs';

const EMPTY_DIMS: string[] = [];
Object.freeze(EMPTY_DIMS);

/** Byte ranges remembered per dimension (see build()). */
const DIM_MEMO = 64;

/** Rows staged before their lookups run together (see RowBuilder's batch fields). */
const BATCH = 512;
/** Where RowBuilder.rNum holds the row's numbers. */
const R_AMOUNT = 0;
const R_QUANTITY = 1;
const R_UNIT_PRICE = 2;
const R_MARGIN = 3;
const EMPTY_BYTES = new Uint8Array(0);

export const ROW_OK = 0;
export const ROW_IGNORED = 1;
export const ROW_REJECTED = 3;

/** FNV-1a 32-bit over UTF-16 code units: the order-id hash AcceptedRow.orderHash carries. */
export function orderHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * orderHash() of the ASCII text in b[start, end) (the same value as of that string), or NaN when a
 * byte is not ASCII: one pass for both the check and the hash.
 */
function asciiOrderHash(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  let any = 0;
  for (let i = start; i < end; i++) {
    const c = b[i];
    any |= c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return any > 127 ? Number.NaN : h | 0;
}

/** Mixed into a row's fingerprint after its order id's hash (see stage()). */
const ORDER_SEPARATOR = 0x7fff0001;

function isWs(c: number): boolean {
  // what String.prototype.trim removes, within ASCII: TAB LF VT FF CR SPACE
  return c === 32 || (c >= 9 && c <= 13);
}

export interface BuilderOptions {
  asOfDay?: number;
  onRow?: (row: SalesRow) => void;
  onAccepted?: (row: AcceptedRow) => void;
  /** Accepted rows a batch at a time (see AcceptedBatch); the fastest consumer. */
  onBatch?: (batch: AcceptedBatch) => void;
  onReject?: (r: Reject) => void;
  dedupe: boolean;
  /** Stage rows without looking them up (a parse worker: takeStaged() hands them over). */
  parseOnly?: boolean;
  /** Rows expected (a guess from file sizes; 0 = unknown): sizes the de-duplication set once. */
  expectedRows?: number;
  /** Read Parquet rows straight from their columns when it can (processColumns; default true; tests compare both paths). */
  columnPath?: boolean;
}

export class RowBuilder {
  readonly counts: RowCounts = { read: 0, accepted: 0, rejected: 0, ignored: 0, duplicates: 0 };
  minDay: number | null = null;
  maxDay: number | null = null;
  /** Rows read in the current file. */
  fileRows = 0;
  /** The mapped values of the current record, by slot; readers fill it in place. */
  readonly vals: unknown[];
  /** Column label per slot in the current file (header name, or the index). */
  labels: (string | null)[];
  dateKind: DateKind = 'text';
  file = '';
  /**
   * Customer ids -> dense keys (AcceptedRow.customerKey). In a parse worker (parseOnly), keys of
   * its own: staged rows carry them in StagedRows.pre, and the main thread maps them to its keys.
   */
  readonly ids: Interner;

  private readonly nSlots: number;
  private readonly nDims: number;
  private readonly mapped: boolean[];
  private readonly format: DateFormat;
  private readonly tz: string;
  private readonly currency: string;
  private readonly currencyCodes: number[];
  private readonly asOf: number;
  private readonly fp = new Fingerprint();
  /** Rows without an order id, when de-duplicating (made on first use). */
  private seen: FingerprintSet | null = null;
  /** Orders seen: first purchase rows (AcceptedRow.newOrder) and, when de-duplicating, fingerprints. */
  private readonly orders: OrderRows | null;
  private readonly dedupe: boolean;
  private reason = '';
  private rejectSlot = -1;
  private readonly dimIds: Interner[];
  private readonly dimKeys: Int32Array;
  /** Shared dims arrays by tuple of dimension keys (at most 3 dimensions of < 1024 values each). */
  private readonly tuples = new Map<number, string[]>();
  /** The same, by a dense index while every key is below 16 (up to 3 dimensions): an array load, not a Map lookup a row. */
  private readonly smallTuples: (string[] | undefined)[] = new Array(1 << 12).fill(undefined);
  private lastTupleKey = -1;
  private lastTuple: string[] = EMPTY_DIMS;
  private readonly view: AcceptedRow = {
    customerKey: 0,
    customerId: '',
    day: 0,
    amount: 0,
    margin: Number.NaN,
    hasOrder: false,
    orderHash: 0,
    newOrder: false,
    dims: EMPTY_DIMS,
    expectedRows: 0,
  };

  /**
   * Rows parsed but not yet looked up (issue 8). Per accepted row the pass makes ~5 random probes
   * of tables far larger than the caches (customer ids, orders, and the accumulator's customer and
   * (customer, day) tables). One at a time, each costs a full memory latency (~300 ns measured on
   * the bench machine, TLB walk included). So rows are staged BATCH at a time and each table is
   * probed for the whole batch in a loop of independent loads first (Interner.touch and friends),
   * which the CPU overlaps (~75 ns a probe), before the real, in-order lookups.
   */
  private st: StagedRows;
  /** Per row of the batch being resolved: the fingerprint with the dimensions, and OrderRows' verdict. */
  private readonly bHi = new Int32Array(BATCH);
  private readonly bLo = new Int32Array(BATCH);
  private readonly bNewOrder = new Uint8Array(BATCH);
  /** Where each row's order probe starts (OrderRows.first). */
  private readonly bSlot = new Int32Array(BATCH);
  private readonly batch: AcceptedBatch;
  private touchSink = 0;
  /** A parse worker stages CSV ids where they are, in stSrc (see StagedRows.ext). */
  private readonly idsInPlace: boolean;
  private stSrc: Uint8Array | null = null;
  /** Text of slots given as bytes for the current record (setTextBytes). */
  private readonly tBuf: (Uint8Array | null)[];
  private readonly tStart: Int32Array;
  private readonly tEnd: Int32Array;
  private tCount = 0;
  /** Per dimension: byte range [start, end) of `dimMemoBuf` -> key, DIM_MEMO entries of 3 words. */
  private readonly dimMemo: Int32Array[];
  private readonly dimMemoBuf: (Uint8Array | null)[];
  /** The slots setTextBytes / setNumber set for the current record. */
  private readonly tSlots: Int32Array;
  private readonly numSlots: Int32Array;
  /** Numbers of slots given by setNumber for the current record. */
  private readonly nums: Float64Array;
  private readonly numSet: Uint8Array;
  private numCount = 0;
  /** The range trimRange found. */
  private bs = 0;
  private be = 0;

  // the row under construction, set by build() or parseBytes(), read by stage()
  private rCust: Uint8Array = EMPTY_BYTES;
  private rCustStart = 0;
  private rCustEnd = 0;
  private rDay = 0;
  /**
   * The row's numbers (R_AMOUNT, R_QUANTITY, R_UNIT_PRICE, R_MARGIN; margin NaN = none: a margin
   * that is NaN is rejected). An array, not number fields and arguments: a double that crosses a
   * call that is not inlined is boxed as a heap number, and at 10M rows those were ~500 MB of
   * garbage on the parse worker (issue 8; a V8 sampling heap profile showed them).
   */
  private readonly rNum = new Float64Array(4);
  /** Order id: a string (string path), bytes b[rOrderStart, rOrderEnd) (byte path), or none. */
  private rOrder: string | null = null;
  private rOrderBytes: Uint8Array | null = null;
  private rOrderStart = 0;
  /** orderHash() of the order id's bytes, made with the check that they are ASCII (asciiOrderHash). */
  private rOrderHash = 0;
  private rOrderEnd = 0;
  /**
   * The last date text the CSV byte path parsed, and its day: an export in date order repeats a
   * date row after row, and comparing ~10 bytes costs less than parsing them (~80 ns a row).
   */
  private readonly dateMemo = new Uint8Array(16);
  /** dateMemo's bytes 0-3, 4-7 and 8-9 as little-endian words (sameDateBytes of a 10-byte date). */
  private readonly dateMemoWords = new Int32Array(3);
  private dateMemoLen = -1;
  private dateMemoDay = Number.NaN;
  /** The row group's columns by slot (bindColumns), for processColumns. */
  private cols: (FlatColumn | null)[] = [];

  constructor(
    config: Config,
    private readonly opts: BuilderOptions,
  ) {
    const refs = slotRefs(config);
    this.nSlots = refs.length;
    this.nDims = this.nSlots - DIMS;
    this.mapped = refs.map((r) => r !== null);
    this.vals = new Array(this.nSlots).fill(undefined);
    this.labels = refs.map((r) => (r === null ? null : String(r)));
    this.format = config.input.dateFormat;
    this.tz = config.timezone;
    this.currency = config.currency.toUpperCase();
    this.currencyCodes = [...this.currency].map((c) => c.charCodeAt(0));
    this.asOf = opts.asOfDay ?? Number.POSITIVE_INFINITY;
    // sized for a guess of 1 customer in 10 rows (the bench export's; CDNOW has 1 in 3): growing
    // to 1M ids rehashed ~2M entries, ~0.4 s on each thread that interns (issue 8)
    this.ids = new Interner(Math.max(1 << 14, Math.floor((opts.expectedRows ?? 0) / 10)), !opts.parseOnly);
    this.idsInPlace = opts.parseOnly === true;
    this.dedupe = opts.dedupe;
    // sized up front: growing holds both tables (at 10M rows 134 + 268 MB) and rehashes every entry
    this.orders = this.mapped[SLOT.orderId] && !opts.parseOnly ? new OrderRows(opts.expectedRows ?? 0) : null;
    this.view.expectedRows = opts.expectedRows ?? 0;
    this.dimIds = Array.from({ length: this.nDims }, () => new Interner(64));
    this.dimKeys = new Int32Array(this.nDims);
    this.batch = {
      n: 0,
      ok: new Uint8Array(BATCH),
      customerKey: new Int32Array(BATCH),
      customerIds: this.ids.strings,
      day: new Int32Array(BATCH),
      amount: new Float64Array(BATCH),
      margin: new Float64Array(BATCH),
      startsOrder: new Uint8Array(BATCH),
      dims: new Array<string[]>(BATCH).fill(EMPTY_DIMS),
      expectedRows: opts.expectedRows ?? 0,
    };
    this.st = new StagedRows(BATCH, this.nDims, opts.onRow !== undefined);
    this.tBuf = new Array<Uint8Array | null>(this.nSlots).fill(null);
    this.nums = new Float64Array(this.nSlots);
    this.numSet = new Uint8Array(this.nSlots);
    this.tStart = new Int32Array(this.nSlots);
    this.tEnd = new Int32Array(this.nSlots);
    this.tSlots = new Int32Array(this.nSlots);
    this.dimMemo = Array.from({ length: this.nDims }, () => new Int32Array(DIM_MEMO * 3).fill(-1));
    this.dimMemoBuf = new Array<Uint8Array | null>(this.nDims).fill(null);
    this.numSlots = new Int32Array(this.nSlots);
  }

  startFile(file: string, labels: (string | null)[], dateKind: DateKind = 'text'): void {
    this.file = file;
    this.labels = labels;
    this.dateKind = dateKind;
    this.fileRows = 0;
  }

  private fail(slot: number, reason: string): number {
    this.rejectSlot = slot;
    this.reason = reason;
    return ROW_REJECTED;
  }

  /**
   * Validates `vals` and stages the row (duplicates are found when the batch is resolved).
   * Returns ROW_OK / ROW_IGNORED, or ROW_REJECTED, after which the caller must call
   * emitReject(line, raw) (it alone knows the raw text).
   */
  process(): number {
    this.counts.read++;
    this.fileRows++;
    const r = this.tCount > 0 ? this.buildWithBytes() : this.build();
    for (let k = 0; k < this.numCount; k++) this.numSet[this.numSlots[k]] = 0;
    this.numCount = 0;
    if (r === ROW_REJECTED) this.counts.rejected++;
    return r;
  }

  /**
   * build() for a record with some slots given as bytes (setTextBytes): the customer id, order
   * id, currency and dimensions are read from the bytes in place (trimRange); other slots become
   * their strings in vals, as if the reader had put them there.
   */
  private buildWithBytes(): number {
    // only the slots set for this record (a loop over every slot twice a row was ~0.4 s at 10M rows)
    const tb = this.tBuf;
    const set = this.tSlots;
    const n = this.tCount;
    for (let k = 0; k < n; k++) {
      const slot = set[k];
      const b = tb[slot];
      if (b === null || slot === SLOT.customerId || slot === SLOT.orderId || slot === SLOT.currency || slot >= DIMS) continue;
      this.vals[slot] = utf8(b, this.tStart[slot], this.tEnd[slot]);
      tb[slot] = null;
    }
    const r = this.build();
    for (let k = 0; k < n; k++) tb[set[k]] = null;
    this.tCount = 0;
    return r;
  }

  /**
   * The trimmed bytes of a slot given by setTextBytes, in [this.bs, this.be); null when the slot
   * has no bytes, or when its edges are not ASCII (a non-ASCII edge may be a Unicode blank that
   * String.prototype.trim removes): then vals[slot] holds its string and the string path decides.
   */
  private trimRange(slot: number): Uint8Array | null {
    const b = this.tBuf[slot];
    if (b === null) return null;
    let s = this.tStart[slot];
    let e = this.tEnd[slot];
    while (s < e && isWs(b[s])) s++;
    while (e > s && isWs(b[e - 1])) e--;
    if (s < e && (b[s] > 127 || b[e - 1] > 127)) {
      this.vals[slot] = utf8(b, this.tStart[slot], this.tEnd[slot]);
      this.tBuf[slot] = null;
      return null;
    }
    this.bs = s;
    this.be = e;
    return b;
  }

  /**
   * Binds a decoded Parquet row group's columns by slot (null: unmapped) for processColumns; false
   * when some mapped slot is of a kind it does not read (then every row takes the row path).
   */
  bindColumns(cols: (FlatColumn | null)[]): boolean {
    this.cols = cols;
    if (this.opts.columnPath === false) return false;
    const m = this.mapped;
    const kind = (slot: number) => cols[slot]?.kind ?? -1;
    const textOrNum = (slot: number) => kind(slot) === KIND_TEXT || kind(slot) === KIND_NUM;
    if (kind(SLOT.customerId) !== KIND_TEXT || !m[SLOT.amount] || !textOrNum(SLOT.amount)) return false;
    if (!(kind(SLOT.orderDate) === KIND_TEXT || (kind(SLOT.orderDate) === KIND_NUM && this.dateKind !== 'text'))) return false;
    if (m[SLOT.currency] && kind(SLOT.currency) !== KIND_TEXT) return false;
    if (m[SLOT.orderId] && kind(SLOT.orderId) !== KIND_TEXT) return false;
    if (m[SLOT.margin] ? !textOrNum(SLOT.margin) : m[SLOT.cost]) return false;
    for (let d = 0; d < this.nDims; d++) if (kind(DIMS + d) !== KIND_TEXT) return false;
    return true;
  }

  /**
   * process() for row i of the bound columns (bindColumns), read in place: the Parquet twin of
   * processBytes. Issue 8: setting every value into the builder first (setTextBytes, setNumber)
   * and reading it back was about a third of a parse worker's time. A row it cannot settle alone
   * (a null, a non-ASCII edge, a value to reject) gives -1: the caller takes the row path, which
   * decides it exactly as before, so both give the same rows, keys, fingerprints and reasons.
   */
  processColumns(i: number): number {
    const cols = this.cols;
    const m = this.mapped;
    let c = cols[SLOT.customerId]!;
    let s = c.st[i];
    let e = c.en[i];
    if (s < 0) return -1;
    const cb = c.data;
    while (s < e && isWs(cb[s])) s++;
    while (e > s && isWs(cb[e - 1])) e--;
    if (s === e || cb[s] > 127 || cb[e - 1] > 127) return -1;
    const cs = s;
    const ce = e;

    c = cols[SLOT.orderDate]!;
    let day: number;
    if (c.kind === KIND_NUM) {
      const v = c.num[i];
      if (c.nul[i] !== 0 || !Number.isFinite(v)) return -1;
      const kind = this.dateKind;
      if (kind === 'days') {
        if (!Number.isInteger(v)) return -1;
        day = v;
      } else if (kind === 'localMs') day = Math.floor(v / 86_400_000);
      else day = utcMsToDay(v, this.tz);
    } else {
      if (c.st[i] < 0) return -1;
      day = plainDateBytesToDay(c.data, c.st[i], c.en[i], this.format);
      if (Number.isNaN(day)) return -1;
    }

    c = cols[SLOT.amount]!;
    let amount: number;
    if (c.kind === KIND_NUM) {
      amount = c.num[i];
      if (c.nul[i] !== 0 || !Number.isFinite(amount)) return -1;
    } else {
      if (c.st[i] < 0) return -1;
      amount = parseSimpleNumberBytes(c.data, c.st[i], c.en[i]);
      if (Number.isNaN(amount)) return -1;
    }

    if (m[SLOT.currency]) {
      c = cols[SLOT.currency]!;
      s = c.st[i];
      e = c.en[i];
      if (s < 0) return -1;
      while (s < e && isWs(c.data[s])) s++;
      while (e > s && isWs(c.data[e - 1])) e--;
      if (!this.sameCurrency(c.data, s, e)) return -1;
    }

    this.rOrder = null;
    this.rOrderBytes = null;
    if (m[SLOT.orderId]) {
      c = cols[SLOT.orderId]!;
      s = c.st[i];
      e = c.en[i];
      if (s >= 0 && !this.orderIdBytes(c.data, s, e)) return -1;
    }

    let margin = Number.NaN; // none
    if (m[SLOT.margin]) {
      c = cols[SLOT.margin]!;
      if (c.kind === KIND_NUM) {
        if (c.nul[i] === 0) {
          margin = c.num[i];
          if (!Number.isFinite(margin)) return -1;
        }
      } else if (c.st[i] >= 0 && !blankB(c.data, c.st[i], c.en[i])) {
        margin = parseSimpleNumberBytes(c.data, c.st[i], c.en[i]);
        if (Number.isNaN(margin)) return -1;
      }
    }

    for (let d = 0; d < this.nDims; d++) {
      c = cols[DIMS + d]!;
      const st0 = c.st[i];
      if (st0 < 0) return -1;
      const raw = c.data;
      const known = this.dimKeyByRange(d, raw, st0, c.en[i]);
      if (known >= 0) {
        this.dimKeys[d] = known;
        continue;
      }
      s = st0;
      e = c.en[i];
      while (s < e && isWs(raw[s])) s++;
      while (e > s && isWs(raw[e - 1])) e--;
      if (s < e && (raw[s] > 127 || raw[e - 1] > 127)) return -1;
      const k = this.dimIds[d].internBytes(raw, s, e);
      this.dimKeys[d] = k;
      this.rememberDimKey(d, st0, c.en[i], k);
    }

    this.counts.read++;
    this.fileRows++;
    this.rDay = day;
    const r = this.rNum;
    r[R_AMOUNT] = amount;
    r[R_QUANTITY] = 0;
    r[R_UNIT_PRICE] = 0;
    r[R_MARGIN] = margin;
    return this.stage(cb, cs, ce, null);
  }

  /**
   * Dimension d's key remembered for the byte range [start, end) of buffer raw, or -1. A
   * dictionary-encoded Parquet column gives every row of one value the same range, so its key is
   * remembered by range (rememberDimKey) instead of hashed every row; a new buffer (see
   * forgetTextBuffers) starts the memo afresh.
   */
  private dimKeyByRange(d: number, raw: Uint8Array, start: number, end: number): number {
    const m = this.dimMemo[d];
    if (this.dimMemoBuf[d] !== raw) {
      this.dimMemoBuf[d] = raw;
      m.fill(-1);
    }
    const memo = (start & (DIM_MEMO - 1)) * 3;
    return m[memo] === start && m[memo + 1] === end ? m[memo + 2] : -1;
  }

  /** Remembers key k for [start, end) of the buffer dimKeyByRange last saw for dimension d. */
  private rememberDimKey(d: number, start: number, end: number, k: number): void {
    const m = this.dimMemo[d];
    const memo = (start & (DIM_MEMO - 1)) * 3;
    m[memo] = start;
    m[memo + 1] = end;
    m[memo + 2] = k;
  }

  /** Whether b[s, e) is the date text parsed last (rememberDate). */
  private sameDateBytes(b: Uint8Array, s: number, e: number): boolean {
    if (e - s !== this.dateMemoLen) return false;
    if (e - s === 10) {
      // "YYYY-MM-DD", nearly every date: three words compared, not ten bytes (issue 8: ~0.35 s of a
      // parse worker's CPU at 10M rows went into the byte loop)
      const w = this.dateMemoWords;
      return (
        le32(b, s) === w[0] &&
        le32(b, s + 4) === w[1] &&
        (b[s + 8] | (b[s + 9] << 8)) === w[2]
      );
    }
    const m = this.dateMemo;
    for (let k = 0; k < e - s; k++) if (b[s + k] !== m[k]) return false;
    return true;
  }

  private rememberDate(b: Uint8Array, s: number, e: number, day: number): void {
    if (e - s > this.dateMemo.length) return;
    for (let k = 0; k < e - s; k++) this.dateMemo[k] = b[s + k];
    this.dateMemoLen = e - s;
    this.dateMemoDay = day;
    if (e - s === 10) {
      const w = this.dateMemoWords;
      w[0] = le32(b, s);
      w[1] = le32(b, s + 4);
      w[2] = b[s + 8] | (b[s + 9] << 8);
    }
  }

  /**
   * The order id given as bytes b[s, e), trimmed: kept with its hash (rOrderBytes.., rOrderHash)
   * unless empty. False when a byte is not ASCII (it is hashed as UTF-16 units: the string path decides).
   */
  private orderIdBytes(b: Uint8Array, s: number, e: number): boolean {
    while (s < e && isWs(b[s])) s++;
    while (e > s && isWs(b[e - 1])) e--;
    if (s === e) return true;
    const oh = asciiOrderHash(b, s, e);
    if (oh !== oh) return false;
    this.rOrderBytes = b;
    this.rOrderStart = s;
    this.rOrderEnd = e;
    this.rOrderHash = oh;
    return true;
  }

  /**
   * process() for a CSV record whose fields are byte ranges b[st[i], en[i]) (col: field of each
   * slot, -1 when unmapped). Handles the common record without making strings; anything unusual
   * (a non-ASCII edge, an exponent, a value to reject) is decoded into `vals` and goes through
   * process(), so both paths give the same rows, keys, fingerprints and reasons.
   */
  processBytes(b: Uint8Array, st: Int32Array, en: Int32Array, col: ArrayLike<number>): number {
    if (this.parseBytes(b, st, en, col)) {
      this.counts.read++;
      this.fileRows++;
      // a parse worker's block stays whole until its rows are handed over: ids are not copied
      return this.stage(this.rCust, this.rCustStart, this.rCustEnd, null, this.idsInPlace);
    }
    const vals = this.vals;
    for (let s = 0; s < this.nSlots; s++) {
      const c = col[s];
      vals[s] = c < 0 ? undefined : utf8(b, st[c], en[c]);
    }
    return this.process();
  }

  /**
   * For the next process() call only: slot's value is the UTF-8 text b[start, end), exactly as if
   * vals[slot] held that string (trimmed, validated and reported the same way). Lets a reader with
   * text in byte buffers (Parquet BYTE_ARRAY pages) skip making a string per value.
   */
  /**
   * For the next process() call only: slot's value is the number x, exactly as if vals[slot]
   * held it, without boxing a heap number per value (Parquet DOUBLE columns; issue 8: ~1.5 s of
   * 10M rows went into allocating them).
   */
  setNumber(slot: number, x: number): void {
    this.nums[slot] = x;
    if (this.numSet[slot] === 0) this.numSlots[this.numCount++] = slot;
    this.numSet[slot] = 1;
  }

  /** vals[slot], or the number setNumber gave it. */
  private val(slot: number): unknown {
    return this.numSet[slot] === 1 ? this.nums[slot] : this.vals[slot];
  }

  /** The buffers given to setTextBytes so far may be refilled: forget what was read from them. */
  forgetTextBuffers(): void {
    this.dimMemoBuf.fill(null);
  }

  setTextBytes(slot: number, b: Uint8Array, start: number, end: number): void {
    if (this.tBuf[slot] === null) this.tSlots[this.tCount++] = slot;
    this.tBuf[slot] = b;
    this.tStart[slot] = start;
    this.tEnd[slot] = end;
  }

  /** A record rejected before its values were read (wrong field count, bad JSON, bad quoting). */
  rejectRecord(line: number, column: string | null, reason: string, raw: string): void {
    this.counts.read++;
    this.fileRows++;
    this.counts.rejected++;
    this.opts.onReject?.({ file: this.file, line, column, reason, raw: clip(raw) });
  }

  emitReject(line: number, raw: string): void {
    const column = this.rejectSlot >= 0 ? this.labels[this.rejectSlot] : null;
    this.opts.onReject?.({ file: this.file, line, column, reason: this.reason, raw: clip(raw) });
  }

  private text(slot: number): string | null {
    const v = this.val(slot);
    if (typeof v === 'string') return v.trim();
    if (v === null || v === undefined) return '';
    if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
    return null; // object, array: not a scalar
  }

  private number(slot: number): number {
    const v = this.val(slot);
    if (typeof v === 'string') return parseNumber(v);
    if (typeof v === 'number') return Number.isFinite(v) ? v : Number.NaN;
    if (typeof v === 'bigint') return Number(v);
    return Number.NaN;
  }

  private numberReason(slot: number, what: string): string {
    const v = this.val(slot);
    if (v === null || v === undefined) return `missing ${what}`;
    if (typeof v === 'string') return numberRejectReason(v, what);
    if (typeof v === 'number') return `non-numeric ${what}: ${v} is not a finite number`;
    return `non-numeric ${what}: expected a number, found ${Array.isArray(v) ? 'an array' : typeof v}`;
  }

  private day(): number | null {
    const v = this.val(SLOT.orderDate);
    if (typeof v === 'string') return parseDateToDay(v, this.format, this.tz);
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return null;
      switch (this.dateKind) {
        case 'days':
          return Number.isInteger(v) ? v : null;
        case 'instantMs':
          return utcMsToDay(v, this.tz);
        case 'localMs':
          return Math.floor(v / 86_400_000);
        default:
          return Number.isInteger(v) ? parseDateToDay(String(v), this.format, this.tz) : null;
      }
    }
    if (typeof v === 'bigint') return parseDateToDay(String(v), this.format, this.tz);
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : utcMsToDay(v.getTime(), this.tz);
    return null;
  }

  /** The shared dims array of the current dimKeys (a small-integer Map key while it fits). */
  private dimsOf(): string[] {
    const n = this.nDims;
    if (n === 0) return EMPTY_DIMS;
    const k = this.dimKeys;
    if (n <= 3) {
      let small = 0;
      let d = 0;
      for (; d < n && k[d] < 16; d++) small |= k[d] << (4 * d);
      if (d === n) {
        let dims = this.smallTuples[small];
        if (dims === undefined) {
          dims = new Array<string>(n);
          for (let q = 0; q < n; q++) dims[q] = this.dimIds[q].strings[k[q]];
          this.smallTuples[small] = dims;
        }
        return dims;
      }
    }
    let key = 0;
    let fits = n <= 3;
    for (let d = 0; d < n && fits; d++) {
      if (k[d] >= 1 << 10) fits = false;
      else key |= k[d] << (10 * d);
    }
    if (fits && key === this.lastTupleKey) return this.lastTuple;
    let dims = fits ? this.tuples.get(key) : undefined;
    if (dims === undefined) {
      dims = new Array<string>(n);
      for (let d = 0; d < n; d++) dims[d] = this.dimIds[d].strings[k[d]];
      if (fits) this.tuples.set(key, dims);
    }
    if (fits) {
      this.lastTupleKey = key;
      this.lastTuple = dims;
    }
    return dims;
  }

  private build(): number {
    const mapped = this.mapped;
    const cb = this.trimRange(SLOT.customerId);
    const cs = this.bs;
    const ce = this.be;
    let customerId = '';
    if (cb === null) {
      const t = this.text(SLOT.customerId);
      if (t === null) return this.fail(SLOT.customerId, 'customer id is not a scalar value');
      customerId = t;
    }
    if (cb === null ? customerId === '' : cs === ce) return this.fail(SLOT.customerId, 'missing customer id');

    const day = this.day();
    if (day === null) {
      const v = this.val(SLOT.orderDate);
      if (v === null || v === undefined || (typeof v === 'string' && v.trim() === ''))
        return this.fail(SLOT.orderDate, 'missing order date');
      return this.fail(
        SLOT.orderDate,
        typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint'
          ? dateRejectReason(String(v), this.format)
          : 'order date is not a date or text',
      );
    }

    let amount: number;
    let quantity = 0;
    let unitPrice = 0;
    if (mapped[SLOT.amount]) {
      amount = this.number(SLOT.amount);
      if (Number.isNaN(amount)) return this.fail(SLOT.amount, this.numberReason(SLOT.amount, 'amount'));
    } else {
      quantity = this.number(SLOT.quantity);
      if (Number.isNaN(quantity)) return this.fail(SLOT.quantity, this.numberReason(SLOT.quantity, 'quantity'));
      unitPrice = this.number(SLOT.unitPrice);
      if (Number.isNaN(unitPrice)) return this.fail(SLOT.unitPrice, this.numberReason(SLOT.unitPrice, 'unit price'));
      amount = quantity * unitPrice;
      if (!Number.isFinite(amount)) return this.fail(SLOT.amount, 'quantity x unit price overflows');
    }

    if (mapped[SLOT.currency] && !this.currencyBytesOk()) {
      const cur = this.text(SLOT.currency);
      if (cur === null || cur === '') return this.fail(SLOT.currency, `missing currency (the run's currency is ${this.currency})`);
      if (cur.toUpperCase() !== this.currency)
        return this.fail(SLOT.currency, `currency ${clip(cur, 12)} differs from the run's currency ${this.currency}`);
    }

    let orderId: string | null = null;
    this.rOrderBytes = null;
    if (mapped[SLOT.orderId]) {
      const ob = this.trimRange(SLOT.orderId);
      const oh = ob !== null ? asciiOrderHash(ob, this.bs, this.be) : Number.NaN;
      if (oh === oh) {
        if (this.bs < this.be) {
          this.rOrderBytes = ob;
          this.rOrderStart = this.bs;
          this.rOrderEnd = this.be;
          this.rOrderHash = oh;
        }
      } else {
        if (ob !== null) this.vals[SLOT.orderId] = utf8(ob, this.tStart[SLOT.orderId], this.tEnd[SLOT.orderId]);
        const o = this.text(SLOT.orderId);
        if (o === null) return this.fail(SLOT.orderId, 'order id is not a scalar value');
        orderId = o === '' ? null : o; // an order id missing on one row: the row still counts, its order is unknown
      }
    }

    let margin: number | null = null;
    if (mapped[SLOT.margin]) {
      if (!this.isEmpty(SLOT.margin)) {
        margin = this.number(SLOT.margin);
        if (Number.isNaN(margin)) return this.fail(SLOT.margin, this.numberReason(SLOT.margin, 'margin'));
      }
    } else if (mapped[SLOT.cost]) {
      if (!this.isEmpty(SLOT.cost)) {
        const cost = this.number(SLOT.cost);
        if (Number.isNaN(cost)) return this.fail(SLOT.cost, this.numberReason(SLOT.cost, 'cost'));
        margin = amount - cost;
      }
    }

    for (let s = DIMS; s < this.nSlots; s++) {
      // a dictionary-encoded Parquet column gives every row of one value the same byte range:
      // its key is remembered by range (see forgetTextBuffers), instead of hashed every row
      const d = s - DIMS;
      const raw = this.tBuf[s];
      if (raw !== null) {
        const known = this.dimKeyByRange(d, raw, this.tStart[s], this.tEnd[s]);
        if (known >= 0) {
          this.dimKeys[d] = known;
          continue;
        }
      }
      const db = this.trimRange(s);
      if (db !== null) {
        const k = this.dimIds[d].internBytes(db, this.bs, this.be);
        this.dimKeys[d] = k;
        this.rememberDimKey(d, this.tStart[s], this.tEnd[s], k);
        continue;
      }
      const t = this.text(s);
      if (t === null) return this.fail(s, 'dimension is not a scalar value');
      this.dimKeys[s - DIMS] = this.dimIds[s - DIMS].internString(t);
    }

    this.rDay = day;
    const r = this.rNum;
    r[R_AMOUNT] = amount;
    r[R_QUANTITY] = quantity;
    r[R_UNIT_PRICE] = unitPrice;
    r[R_MARGIN] = margin ?? Number.NaN;
    this.rOrder = orderId;
    return cb !== null ? this.stage(cb, cs, ce, null) : this.stage(null, 0, 0, customerId);
  }

  /** Whether the currency slot was given as bytes equal to the run's currency (ASCII case-insensitive). */
  private currencyBytesOk(): boolean {
    const b = this.trimRange(SLOT.currency);
    if (b === null) return false;
    if (this.sameCurrency(b, this.bs, this.be)) return true;
    this.vals[SLOT.currency] = utf8(b, this.tStart[SLOT.currency], this.tEnd[SLOT.currency]);
    return false;
  }

  private sameCurrency(b: Uint8Array, s: number, e: number): boolean {
    const cc = this.currencyCodes;
    if (e - s !== cc.length) return false;
    for (let i = 0; i < cc.length; i++) {
      let c = b[s + i];
      if (c >= 97 && c <= 122) c -= 32;
      if (c !== cc[i]) return false;
    }
    return true;
  }

  /** The byte-path twin of build() for the accepted case; false = use build() instead. */
  private parseBytes(b: Uint8Array, st: Int32Array, en: Int32Array, col: ArrayLike<number>): boolean {
    const mapped = this.mapped;
    // customer id: trimmed, non-empty, ASCII edges (a non-ASCII edge may be a Unicode blank that trim() removes)
    let f = col[SLOT.customerId];
    let s = st[f];
    let e = en[f];
    while (s < e && isWs(b[s])) s++;
    while (e > s && isWs(b[e - 1])) e--;
    if (s === e || b[s] > 127 || b[e - 1] > 127) return false;
    const cs = s;
    const ce = e;

    f = col[SLOT.orderDate];
    let day: number;
    if (this.sameDateBytes(b, st[f], en[f])) day = this.dateMemoDay;
    else {
      day = plainDateBytesToDay(b, st[f], en[f], this.format);
      if (Number.isNaN(day)) {
        const d = parseDateToDay(utf8(b, st[f], en[f]), this.format, this.tz);
        if (d === null) return false;
        day = d;
      } else this.rememberDate(b, st[f], en[f], day);
    }

    // the numbers go straight to rNum (see there); a field that fails leaves the row to build()
    const r = this.rNum;
    if (mapped[SLOT.amount]) {
      if (!this.numberB(b, st, en, col[SLOT.amount], R_AMOUNT)) return false;
      r[R_QUANTITY] = 0;
      r[R_UNIT_PRICE] = 0;
    } else {
      if (!this.numberB(b, st, en, col[SLOT.quantity], R_QUANTITY)) return false;
      if (!this.numberB(b, st, en, col[SLOT.unitPrice], R_UNIT_PRICE)) return false;
      r[R_AMOUNT] = r[R_QUANTITY] * r[R_UNIT_PRICE];
      if (!Number.isFinite(r[R_AMOUNT])) return false;
    }

    if (mapped[SLOT.currency]) {
      f = col[SLOT.currency];
      s = st[f];
      e = en[f];
      while (s < e && isWs(b[s])) s++;
      while (e > s && isWs(b[e - 1])) e--;
      if (!this.sameCurrency(b, s, e)) return false;
    }

    this.rOrder = null;
    this.rOrderBytes = null;
    if (mapped[SLOT.orderId]) {
      f = col[SLOT.orderId];
      if (!this.orderIdBytes(b, st[f], en[f])) return false;
    }

    r[R_MARGIN] = Number.NaN; // none
    if (mapped[SLOT.margin]) {
      f = col[SLOT.margin];
      if (!blankB(b, st[f], en[f]) && !this.numberB(b, st, en, f, R_MARGIN)) return false;
    } else if (mapped[SLOT.cost]) {
      f = col[SLOT.cost];
      if (!blankB(b, st[f], en[f])) {
        if (!this.numberB(b, st, en, f, R_MARGIN)) return false;
        r[R_MARGIN] = r[R_AMOUNT] - r[R_MARGIN]; // amount - cost
      }
    }

    for (let d = 0; d < this.nDims; d++) {
      f = col[DIMS + d];
      s = st[f];
      e = en[f];
      while (s < e && isWs(b[s])) s++;
      while (e > s && isWs(b[e - 1])) e--;
      if (s < e && (b[s] > 127 || b[e - 1] > 127)) return false;
      this.dimKeys[d] = this.dimIds[d].internBytes(b, s, e);
    }

    this.rCust = b;
    this.rCustStart = cs;
    this.rCustEnd = ce;
    this.rDay = day;
    return true;
  }

  /** number() of field f's bytes into rNum[k]; false (NaN there) when the string path should decide. */
  private numberB(b: Uint8Array, st: Int32Array, en: Int32Array, f: number, k: number): boolean {
    const r = this.rNum;
    if (simpleNumberBytesInto(b, st[f], en[f], r, k)) return true;
    r[k] = parseNumber(utf8(b, st[f], en[f])); // not the common shape: rare, may box
    return !Number.isNaN(r[k]);
  }

  /**
   * The end of every accepted-so-far row: the as-of cut, then the row is staged (StagedRows) with
   * its customer id as UTF-8 bytes c[cs, ce) (or the string id, when not given as bytes), its
   * fingerprint and order-id hash; flush() looks up, de-duplicates and emits a batch at a time.
   */
  private stage(c: Uint8Array | null, cs: number, ce: number, id: string | null, inPlace = false): number {
    const day = this.rDay;
    if (day > this.asOf) {
      this.counts.ignored++;
      return ROW_IGNORED;
    }
    const st = this.st;
    st.ensureRow();
    const i = st.n;
    let pre = -1;
    const own = c === null;
    if (c === null) {
      // a string id: its UTF-8 bytes, as the byte paths see them (one key and one fingerprint per id)
      const t = id!;
      let ascii = true;
      for (let k = 0; k < t.length; k++)
        if (t.charCodeAt(k) > 127) {
          ascii = false;
          break;
        }
      if (ascii) {
        c = st.arenaFor(t.length);
        cs = st.arenaLen;
        for (let k = 0; k < t.length; k++) c[cs + k] = t.charCodeAt(k);
        ce = cs + t.length;
      } else if (wellFormed(t)) {
        const u = Buffer.from(t, 'utf8');
        c = st.arenaFor(u.length);
        cs = st.arenaLen;
        c.set(u, cs);
        ce = cs + u.length;
      } else {
        // no UTF-8 bytes of its own (a lone surrogate: only JSON text can carry one, never a parse worker's CSV)
        if (this.opts.parseOnly) throw new Error('a customer id without UTF-8 bytes in a parse worker');
        pre = this.ids.internString(t);
      }
    }
    let ext = 0;
    if (pre < 0) {
      let o = cs;
      if (inPlace && (this.stSrc === null || this.stSrc === c)) {
        // inPlace: c stays unchanged until takeStaged() (see StagedRows.ext)
        this.stSrc = c;
        ext = 1;
      } else if (own) st.arenaLen = o + ce - cs; // the string id's bytes, written at the arena's end above
      else o = st.appendBytes(c!, cs, ce);
      st.off[i] = o;
      st.len[i] = ce - cs;
      st.hash[i] = internHash(c!, cs, ce);
    }
    st.ext[i] = ext;
    st.pre[i] = pre;

    const r = this.rNum;
    const orderBytes = this.rOrderBytes;
    const hasOrder = orderBytes !== null || this.rOrder !== null;
    let oh = 0;
    if (orderBytes !== null) oh = this.rOrderHash;
    else if (this.rOrder !== null) oh = orderHash(this.rOrder);
    if (this.dedupe) {
      // every field but the customer id and the dimensions: their keys, which stand for them
      // exactly, are added by resolve() (a parse worker's keys are its own until then). The order
      // id enters as its 32-bit hash, as it does in OrderRows, where two ids of one customer with
      // the same hash are already one order (issue 8: hashing its bytes again cost ~0.5 s of a
      // parse worker's CPU at 10M rows); the separator keeps a hash apart from nullish().
      const fp = this.fp;
      fp.reset();
      fp.int(day);
      fp.numAt(r, R_AMOUNT);
      if (hasOrder) {
        fp.int(oh);
        fp.int(ORDER_SEPARATOR);
      } else fp.nullish();
      if (Number.isNaN(r[R_MARGIN])) fp.nullish();
      else fp.numAt(r, R_MARGIN);
      if (!this.mapped[SLOT.amount]) {
        fp.numAt(r, R_QUANTITY);
        fp.numAt(r, R_UNIT_PRICE);
      }
      st.hi[i] = fp.hi;
      st.lo[i] = fp.lo;
    }
    st.hasOrder[i] = hasOrder ? 1 : 0;
    st.orderHash[i] = oh;
    if (st.orderIds) st.orderIds[i] = orderBytes !== null ? utf8(orderBytes, this.rOrderStart, this.rOrderEnd) : this.rOrder;
    st.day[i] = day;
    st.amount[i] = r[R_AMOUNT];
    st.margin[i] = r[R_MARGIN];
    const nd = this.nDims;
    for (let d = 0; d < nd; d++) st.dimKeys[i * nd + d] = this.dimKeys[d];
    st.n = i + 1;
    if (st.n === BATCH && !this.opts.parseOnly) this.flush();
    return ROW_OK;
  }

  /**
   * Looks up, de-duplicates and emits the staged rows (see the batch fields): call at the end of
   * the input; it runs by itself whenever the batch is full.
   */
  flush(): void {
    if (this.st.n === 0) return;
    this.resolve(this.st, null);
    this.st.clear();
  }

  /** The values of dimension d, by this builder's key (a parse worker sends the new ones with each block). */
  dimensionValues(d: number): readonly string[] {
    return this.dimIds[d].strings;
  }

  /** This builder's key of value v of dimension d (to translate a parse worker's keys). */
  dimensionKey(d: number, v: string): number {
    return this.dimIds[d].internString(v);
  }

  /** A parse worker's counts of the rows it read, rejected and ignored (the rest are counted when resolved). */
  addCounts(c: { read: number; rejected: number; ignored: number }): void {
    this.counts.read += c.read;
    this.fileRows += c.read;
    this.counts.rejected += c.rejected;
    this.counts.ignored += c.ignored;
  }

  /** A reject a parse worker found. */
  reject(r: Reject): void {
    this.opts.onReject?.(r);
  }

  /** parseOnly: the rows staged so far, handed over (a parse worker sends them to the main thread). */
  takeStaged(replacement?: StagedRows): StagedRows {
    const st = this.st;
    this.internStaged(st);
    this.st = replacement ?? new StagedRows(BATCH, this.nDims, st.orderIds !== null);
    return st;
  }

  /**
   * parseOnly: the staged rows' customer ids interned with this builder's own keys (into pre):
   * the main thread then maps keys (ParsePool) instead of probing its id table, two random loads
   * a row moved off the busier thread (issue 8). Batched like resolveBatch's lookups.
   */
  private internStaged(st: StagedRows): void {
    const ids = this.ids;
    const { pre, hash, off, len, ext } = st;
    const src = this.stSrc;
    let sink = 0;
    let count = ids.count;
    for (let from = 0; from < st.n; from += BATCH) {
      const to = Math.min(st.n, from + BATCH);
      for (let r = from; r < to; r++) sink ^= ids.touch(hash[r]);
      for (let r = from; r < to; r++) sink ^= ids.touchArena(hash[r]);
      for (let r = from; r < to; r++) {
        const inArena = ext[r] === 0;
        const k = ids.internHashed(inArena ? st.arena : src!, off[r], off[r] + len[r], hash[r]);
        pre[r] = k;
        if (k !== count) continue;
        count++;
        if (inArena) continue;
        // an id new to this worker: the main thread interns it from the arena (ParsePool.mapCustomerKeys)
        off[r] = st.appendBytes(src!, off[r], off[r] + len[r]);
        ext[r] = 0;
      }
    }
    this.stSrc = null;
    this.touchSink = sink;
  }

  /**
   * Resolves staged rows, from this builder or from a parse worker, in order: dimension keys made
   * global (dimMap[d][worker key]; null = already this builder's), customer ids interned, orders
   * and duplicates found, rows emitted, BATCH rows at a time.
   */
  resolve(st: StagedRows, dimMap: Int32Array[] | null): void {
    if (st !== this.st) this.flush(); // rows this builder staged come first
    for (let from = 0; from < st.n; from += BATCH) this.resolveBatch(st, from, Math.min(BATCH, st.n - from), dimMap);
  }

  private resolveBatch(st: StagedRows, from: number, n: number, dimMap: Int32Array[] | null): void {
    const batch = this.batch;
    const ids = this.ids;
    const key = batch.customerKey;
    const { pre, hash, off, len, hasOrder, orderHash } = st;
    const arena = st.arena;
    const nd = this.nDims;
    const { bHi, bLo } = this;
    const fp = this.fp;
    const dedupe = this.dedupe;
    let sink = 0;
    // independent loads first (see the batch fields), then the real lookups in row order
    for (let r = from; r < from + n; r++) if (pre[r] < 0) sink ^= ids.touch(hash[r]);
    for (let r = from; r < from + n; r++) if (pre[r] < 0) sink ^= ids.touchArena(hash[r]);
    for (let r = from; r < from + n; r++) key[r - from] = pre[r] >= 0 ? pre[r] : ids.internHashed(arena, off[r], off[r] + len[r], hash[r]);
    for (let i = 0; i < n; i++) {
      const r = from + i;
      for (let d = 0; d < nd; d++) {
        const k = st.dimKeys[r * nd + d];
        this.dimKeys[d] = dimMap === null ? k : dimMap[d][k];
      }
      batch.dims[i] = this.dimsOf();
      if (dedupe) {
        // the staged fingerprint with the customer's and dimensions' keys (see stage())
        fp.reset();
        fp.int(st.hi[r]);
        fp.int(st.lo[r]);
        fp.int(key[i]);
        for (let d = 0; d < nd; d++) fp.int(this.dimKeys[d]);
        bHi[i] = fp.hi;
        bLo[i] = fp.lo;
      }
    }
    const orders = this.orders;
    const slot = this.bSlot;
    if (orders !== null) {
      orders.ensure(n);
      // slots first, then loads alone: a loop of nothing but loads keeps many misses in flight
      // (the hashing in the same loop filled the CPU's window after ~5 of them; issue 8)
      for (let r = from; r < from + n; r++) if (hasOrder[r]) slot[r - from] = orders.first(key[r - from], orderHash[r]);
      for (let r = from; r < from + n; r++) if (hasOrder[r]) sink ^= orders.touch(slot[r - from]);
    }
    batch.day = st.day.subarray(from, from + n);
    batch.amount = st.amount.subarray(from, from + n);
    batch.margin = st.margin.subarray(from, from + n);
    const { ok, startsOrder, day, amount } = batch;
    const counts = this.counts;
    for (let i = 0; i < n; i++) {
      const r = from + i;
      let accepted = true;
      let starts = amount[i] >= 0;
      let isNew = false;
      if (hasOrder[r]) {
        // one probe for both de-duplication and the order's first purchase row (see OrderRows)
        const v = orders!.addFrom(slot[i], key[i], orderHash[r], starts, dedupe, bHi[i], bLo[i]);
        if (v === ORDER_DUPLICATE) accepted = false;
        isNew = v === ORDER_NEW_PURCHASE;
        starts = isNew;
      } else if (dedupe) {
        this.seen ??= new FingerprintSet();
        if (!this.seen.add(bHi[i], bLo[i])) accepted = false;
      }
      ok[i] = accepted ? 1 : 0;
      startsOrder[i] = starts ? 1 : 0;
      this.bNewOrder[i] = isNew ? 1 : 0;
      if (!accepted) {
        counts.duplicates++;
        continue;
      }
      counts.accepted++;
      const d = day[i];
      if (this.minDay === null || d < this.minDay) this.minDay = d;
      if (this.maxDay === null || d > this.maxDay) this.maxDay = d;
    }
    this.touchSink = sink;
    batch.n = n;
    this.opts.onBatch?.(batch);
    const { onAccepted, onRow } = this.opts;
    if (onAccepted || onRow) {
      for (let i = 0; i < n; i++) {
        if (!ok[i]) continue;
        const customerId = ids.strings[key[i]];
        const margin = batch.margin[i];
        if (onAccepted) {
          const v = this.view;
          v.customerKey = key[i];
          v.customerId = customerId;
          v.day = day[i];
          v.amount = amount[i];
          v.margin = margin;
          v.hasOrder = hasOrder[from + i] === 1;
          v.orderHash = orderHash[from + i];
          v.newOrder = this.bNewOrder[i] === 1;
          v.dims = batch.dims[i];
          onAccepted(v);
        }
        if (onRow) {
          const orderId = st.orderIds?.[from + i] ?? null;
          onRow({ customerId, day: day[i], amount: amount[i], orderId, margin: Number.isNaN(margin) ? null : margin, dims: batch.dims[i] });
        }
      }
    }
  }

  private isEmpty(slot: number): boolean {
    const v = this.val(slot);
    return v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
  }
}

/** Whether b[start, end) is empty after String.prototype.trim (ASCII blanks only; else the string path decides). */
function blankB(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isWs(b[i])) return false;
  return true;
}

function utf8(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8', start, end);
}

/** Bounds what a reject carries: a huge field must not make rejects.csv (or memory) huge. */
export function clip(s: string, max = 1000): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
