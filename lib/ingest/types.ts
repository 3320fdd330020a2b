import type { RowCounts } from '../types.js';

/** One validated sales row, in the business time zone and the run's currency. */
export interface SalesRow {
  customerId: string;
  /** Local calendar day in config.timezone, integer days since 1970-01-01 (see lib/dates.ts). */
  day: number;
  /** Money; negative = refund/return (kept, nets revenue). */
  amount: number;
  /** null when no orderId column is mapped, or the row's order id is empty. */
  orderId: string | null;
  /** The margin column, or amount - cost when a cost column is mapped, else null (also when empty). */
  margin: number | null;
  /** One value per config.input.columns.dimensions entry, '' when empty. Do not mutate (may be shared). */
  dims: string[];
}

/**
 * Rows of one batch as columns (IngestOptions.onBatch), in file order: rows i < n with ok[i] = 1
 * were accepted; ok[i] = 0 marks a duplicate found in the batch (skip it). The arrays are reused
 * for the next batch: read them inside the callback, never keep them.
 */
export interface AcceptedBatch {
  n: number;
  ok: Uint8Array;
  /** Dense key of the customer id within one ingest() call (AcceptedRow.customerKey). */
  customerKey: Int32Array;
  /** The id of each key: customerIds[customerKey[i]]. */
  customerIds: string[];
  day: Int32Array;
  amount: Float64Array;
  /** NaN for no margin. */
  margin: Float64Array;
  /** 1 when the row starts an order: a purchase (amount >= 0) without an order id, or the first purchase row of its order. */
  startsOrder: Uint8Array;
  /** As SalesRow.dims: shared between rows, do not mutate. */
  dims: string[][];
  /** As AcceptedRow.expectedRows. */
  expectedRows: number;
}

/**
 * An accepted row as primitives, for the fast consumer (IngestOptions.onAccepted; the
 * CustomerAccumulator): no object, string or array is made per row. ONE object is reused for
 * every row: read it inside the callback, never keep it.
 */
export interface AcceptedRow {
  /** Dense key of customerId within one ingest() call: equal ids, equal keys (0, 1, 2...). */
  customerKey: number;
  /** Made once per distinct customer id. */
  customerId: string;
  day: number;
  amount: number;
  /** SalesRow.margin, with NaN for null. */
  margin: number;
  /** SalesRow.orderId !== null. */
  hasOrder: boolean;
  /** FNV-1a 32-bit hash of the order id's UTF-16 code units (ingest's orderHash), when hasOrder. */
  orderHash: number;
  /**
   * A purchase row (amount >= 0) with an order id, the first accepted purchase row of its
   * (customer, order-id hash) in this ingest() call: counting these counts distinct orders.
   */
  newOrder: boolean;
  /** As SalesRow.dims: shared between rows, do not mutate. */
  dims: string[];
  /**
   * About how many rows this ingest() call will read, guessed from the input files' sizes (0 when
   * unknown): lets a consumer size its tables once instead of growing them (issue 8).
   */
  expectedRows: number;
}

/** A row that did not validate: where it is, which column, why, and its text. */
export interface Reject {
  file: string;
  /** 1-based physical line of the record's start (CSV/JSONL, header = line 1), or 1-based row number (Parquet). */
  line: number;
  /** Header name of the offending column, or its 0-based index as text; null when the whole record is bad. */
  column: string | null;
  reason: string;
  /** The record's text (at most 1,000 characters). */
  raw: string;
}

export interface IngestFileSummary {
  name: string;
  size?: number;
  etag?: string;
  format: 'csv' | 'jsonl' | 'parquet';
  compressed: boolean;
  /** Rows read from this file (header and blank lines are not rows). */
  rows: number;
}

export interface IngestResult {
  /** read = accepted + rejected + ignored + duplicates, always. */
  rows: RowCounts;
  files: IngestFileSummary[];
  /** Over accepted rows. */
  minDay: number | null;
  maxDay: number | null;
  /** File-level notes (e.g. an empty file among several). */
  warnings: string[];
}

/**
 * A file-level problem the run cannot go past (not what its extension says, truncated gzip, no
 * rows anywhere, a mapped column missing from the header). The message names the file, and the
 * line/column where known. A user error: print the message, not the stack.
 */
export class IngestError extends Error {
  override name = 'IngestError';
}
