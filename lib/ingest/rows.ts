/**
 * Turning the mapped values of one record into a SalesRow, or a reject with its reason: the one
 * place where the row rules live, shared by the CSV, JSON Lines and Parquet readers. Also the
 * row accounting (read = accepted + rejected + ignored + duplicates) and de-duplication.
 */
import type { ColumnRef, Config } from '../config.js';
import { dateRejectReason, parseDateToDay, utcMsToDay, type DateFormat } from '../dates.js';
import type { RowCounts } from '../types.js';
import { Fingerprint, FingerprintSet } from './fingerprint.js';
import { numberRejectReason, parseNumber } from './numbers.js';
import type { Reject, SalesRow } from './types.js';

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

export const ROW_OK = 0;
export const ROW_IGNORED = 1;
export const ROW_DUPLICATE = 2;
export const ROW_REJECTED = 3;

export interface BuilderOptions {
  asOfDay?: number;
  onRow: (row: SalesRow) => void;
  onReject?: (r: Reject) => void;
  dedupe: boolean;
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

  private readonly nSlots: number;
  private readonly mapped: boolean[];
  private readonly format: DateFormat;
  private readonly tz: string;
  private readonly currency: string;
  private readonly asOf: number;
  private readonly fp = new Fingerprint();
  private readonly seen: FingerprintSet | null;
  private reason = '';
  private rejectSlot = -1;

  constructor(
    config: Config,
    private readonly opts: BuilderOptions,
  ) {
    const refs = slotRefs(config);
    this.nSlots = refs.length;
    this.mapped = refs.map((r) => r !== null);
    this.vals = new Array(this.nSlots).fill(undefined);
    this.labels = refs.map((r) => (r === null ? null : String(r)));
    this.format = config.input.dateFormat;
    this.tz = config.timezone;
    this.currency = config.currency.toUpperCase();
    this.asOf = opts.asOfDay ?? Number.POSITIVE_INFINITY;
    this.seen = opts.dedupe ? new FingerprintSet() : null;
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
   * Validates `vals` and emits the row. Returns ROW_OK / ROW_IGNORED / ROW_DUPLICATE, or
   * ROW_REJECTED, after which the caller must call emitReject(line, raw) (it alone knows the raw text).
   */
  process(): number {
    this.counts.read++;
    this.fileRows++;
    const r = this.build();
    if (r === ROW_REJECTED) this.counts.rejected++;
    return r;
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
    const v = this.vals[slot];
    if (typeof v === 'string') return v.trim();
    if (v === null || v === undefined) return '';
    if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
    return null; // object, array: not a scalar
  }

  private number(slot: number): number {
    const v = this.vals[slot];
    if (typeof v === 'string') return parseNumber(v);
    if (typeof v === 'number') return Number.isFinite(v) ? v : Number.NaN;
    if (typeof v === 'bigint') return Number(v);
    return Number.NaN;
  }

  private numberReason(slot: number, what: string): string {
    const v = this.vals[slot];
    if (v === null || v === undefined) return `missing ${what}`;
    if (typeof v === 'string') return numberRejectReason(v, what);
    if (typeof v === 'number') return `non-numeric ${what}: ${v} is not a finite number`;
    return `non-numeric ${what}: expected a number, found ${Array.isArray(v) ? 'an array' : typeof v}`;
  }

  private day(): number | null {
    const v = this.vals[SLOT.orderDate];
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

  private build(): number {
    const mapped = this.mapped;
    const customerId = this.text(SLOT.customerId);
    if (customerId === null) return this.fail(SLOT.customerId, 'customer id is not a scalar value');
    if (customerId === '') return this.fail(SLOT.customerId, 'missing customer id');

    const day = this.day();
    if (day === null) {
      const v = this.vals[SLOT.orderDate];
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

    if (mapped[SLOT.currency]) {
      const cur = this.text(SLOT.currency);
      if (cur === null || cur === '') return this.fail(SLOT.currency, `missing currency (the run's currency is ${this.currency})`);
      if (cur.toUpperCase() !== this.currency)
        return this.fail(SLOT.currency, `currency ${clip(cur, 12)} differs from the run's currency ${this.currency}`);
    }

    let orderId: string | null = null;
    if (mapped[SLOT.orderId]) {
      const o = this.text(SLOT.orderId);
      if (o === null) return this.fail(SLOT.orderId, 'order id is not a scalar value');
      orderId = o === '' ? null : o; // an order id missing on one row: the row still counts, its order is unknown
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

    let dims = EMPTY_DIMS;
    if (this.nSlots > DIMS) {
      dims = new Array(this.nSlots - DIMS);
      for (let s = DIMS; s < this.nSlots; s++) {
        const t = this.text(s);
        if (t === null) return this.fail(s, 'dimension is not a scalar value');
        dims[s - DIMS] = t;
      }
    }

    if (day > this.asOf) {
      this.counts.ignored++;
      return ROW_IGNORED;
    }

    if (this.seen) {
      const fp = this.fp;
      fp.reset();
      fp.str(customerId);
      fp.num(day);
      fp.num(amount);
      if (orderId === null) fp.nullish();
      else fp.str(orderId);
      if (margin === null) fp.nullish();
      else fp.num(margin);
      if (!mapped[SLOT.amount]) {
        fp.num(quantity);
        fp.num(unitPrice);
      }
      for (let k = 0; k < dims.length; k++) fp.str(dims[k]);
      if (!this.seen.add(fp.hi, fp.lo)) {
        this.counts.duplicates++;
        return ROW_DUPLICATE;
      }
    }

    this.counts.accepted++;
    if (this.minDay === null || day < this.minDay) this.minDay = day;
    if (this.maxDay === null || day > this.maxDay) this.maxDay = day;
    this.opts.onRow({ customerId, day, amount, orderId, margin, dims });
    return ROW_OK;
  }

  private isEmpty(slot: number): boolean {
    const v = this.vals[slot];
    return v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
  }
}

/** Bounds what a reject carries: a huge field must not make rejects.csv (or memory) huge. */
export function clip(s: string, max = 1000): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
