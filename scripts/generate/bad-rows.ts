/**
 * Deliberately bad rows for a synthetic export, at seeded positions, with their count by reason
 * (the truth the ingest tests check against). Bad rows are INSERTED (corrupted copies of a nearby
 * clean row), never substituted, so the clean rows, and every metric computed from them, stay
 * exactly what the shop generator made.
 *
 * Reasons, as DESIGN.md's ingest contract names them:
 * - date: unparseable order date (rejected)
 * - amount: non-numeric amount (rejected)
 * - customer: empty customer id (rejected)
 * - currency: a currency other than the run's (rejected when the currency column is mapped)
 * - duplicate: an exact copy of a clean row up to 50 rows earlier (not a reject: counted once, as a duplicate)
 */
import { Rng, mix32 } from './prng.js';
import type { ShopRow } from './shop.js';

export const BAD_REASONS = ['date', 'amount', 'customer', 'currency', 'duplicate'] as const;
export type BadReason = (typeof BAD_REASONS)[number];

/** A row as written: bad rows carry strings where the clean ones carry numbers. */
export type ExportRow = { [K in keyof ShopRow]: string | number };

export interface BadRowSpec {
  seed?: number;
  /** How many bad rows of each reason (missing = 0). */
  counts: Partial<Record<BadReason, number>>;
  /** Clean rows expected; positions are drawn in [1, expectedRows]. Leftovers (a shorter stream) go at the end. */
  expectedRows: number;
}

export interface BadRowTruth {
  counts: Record<BadReason, number>;
  /** Rows an ingest must reject (everything but duplicates). */
  rejects: number;
  duplicates: number;
  /** Where each bad row is: `line` is the 1-based line in the CSV file with a header (header = line 1). */
  positions: { line: number; reason: BadReason }[];
}

const BAD_DATES = ['2026-13-07', '31.02.2026', 'yesterday', '2025-00-10', 'n/a'];
const BAD_AMOUNTS = ['N/A', 'ten', '12.3.4', 'USD 12', '--5'];
const WRONG_CURRENCIES = ['EUR', 'GBP', 'JPY'];

export function* injectBadRows(rows: Iterable<ShopRow>, spec: BadRowSpec): Generator<ExportRow, BadRowTruth, undefined> {
  const rng = new Rng(mix32(spec.seed ?? 1, 0xbad));
  const plan: { after: number; reason: BadReason }[] = [];
  for (const reason of BAD_REASONS)
    for (let i = 0; i < (spec.counts[reason] ?? 0); i++) plan.push({ after: rng.int(1, Math.max(1, spec.expectedRows)), reason });
  plan.sort((a, b) => a.after - b.after);
  const truth: BadRowTruth = {
    counts: { date: 0, amount: 0, customer: 0, currency: 0, duplicate: 0 },
    rejects: 0,
    duplicates: 0,
    positions: [],
  };
  const recent: ShopRow[] = [];
  let clean = 0;
  let out = 0;
  let p = 0;
  const corrupt = function* (reason: BadReason): Generator<ExportRow> {
    const src = recent[recent.length - 1];
    if (!src) return;
    let row: ExportRow;
    switch (reason) {
      case 'date':
        row = { ...src, order_date: rng.pick(BAD_DATES) };
        break;
      case 'amount':
        row = { ...src, amount: rng.pick(BAD_AMOUNTS) };
        break;
      case 'customer':
        row = { ...src, customer_id: '' };
        break;
      case 'currency':
        row = { ...src, currency: rng.pick(WRONG_CURRENCIES.filter((c) => c !== src.currency)) };
        break;
      case 'duplicate':
        row = { ...recent[rng.int(0, recent.length - 1)] };
        break;
    }
    truth.counts[reason]++;
    if (reason === 'duplicate') truth.duplicates++;
    else truth.rejects++;
    truth.positions.push({ line: ++out + 1, reason });
    yield row;
  };
  for (const r of rows) {
    yield r;
    out++;
    clean++;
    recent.push(r);
    if (recent.length > 50) recent.shift();
    while (p < plan.length && plan[p].after <= clean) yield* corrupt(plan[p++].reason);
  }
  while (p < plan.length) yield* corrupt(plan[p++].reason);
  return truth;
}
