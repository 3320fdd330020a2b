/**
 * Value tiers. A customer's tier is fixed at acquisition by default (basis = first-order
 * value): a tier decided by today's spend would push every churned customer into "small"
 * and make the small tier look like it is collapsing.
 *
 * Rule: with `bounds` [b1, b2, ...], tier i holds basis values in [b(i), b(i+1)) (the first
 * tier everything below b1, the last everything from the last bound up). Without bounds the
 * cut points are derived so that the tiers split the total basis value in the cumulative
 * shares `valueShares` (default thirds): ranking customers from the smallest value up, the
 * "small" tier is the many customers who together carry the first third of the value, and
 * "large" the few who carry the last third.
 */
import type { Config } from './config.js';
import type { CustomerSummary } from './customers.js';

export interface Tiers {
  names: string[];
  /** Cut points actually used (given or derived). */
  bounds: number[];
  /** Tier index per customer; -1 for customers with no purchase (refunds only). */
  tierOf: Int8Array;
  basis: Config['tiers']['basis'];
  derived: boolean;
}

export const NO_TIER_NAME = 'none';

function basisValues(s: CustomerSummary, basis: Config['tiers']['basis']): Float64Array {
  if (basis === 'firstOrderValue') return s.firstOrderValue;
  if (basis === 'revenue') return s.revenue;
  return Float64Array.from(s.orders);
}

/** Cut points at which the cumulative basis value (smallest first) reaches each share. */
export function valueShareBounds(values: Float64Array, shares: number[]): number[] {
  const sorted = Float64Array.from(values).sort();
  let total = 0;
  for (const v of sorted) if (v > 0) total += v;
  const bounds: number[] = [];
  let cum = 0;
  let k = 0;
  for (let i = 0; i < sorted.length && k < shares.length; i++) {
    if (sorted[i] > 0) cum += sorted[i];
    while (k < shares.length && total > 0 && cum >= shares[k] * total) {
      // The customer that crosses the share opens the next tier.
      bounds.push(sorted[i]);
      k++;
    }
  }
  while (bounds.length < shares.length) bounds.push(bounds.length ? bounds[bounds.length - 1] : 0);
  // Strictly ascending, so every tier can hold someone even with heavy ties.
  for (let i = 1; i < bounds.length; i++) if (bounds[i] <= bounds[i - 1]) bounds[i] = bounds[i - 1] + 0.01;
  return bounds;
}

export function tierIndex(value: number, bounds: number[]): number {
  let t = 0;
  while (t < bounds.length && value >= bounds[t]) t++;
  return t;
}

export function assignTiers(s: CustomerSummary, cfg: Config['tiers']): Tiers {
  const values = basisValues(s, cfg.basis);
  const acquired: number[] = [];
  for (let c = 0; c < s.n; c++) if (s.purchaseDays[c] > 0) acquired.push(values[c]);
  const derived = cfg.bounds === undefined;
  const bounds = cfg.bounds ?? valueShareBounds(Float64Array.from(acquired), cfg.valueShares);
  const tierOf = new Int8Array(s.n);
  for (let c = 0; c < s.n; c++) tierOf[c] = s.purchaseDays[c] > 0 ? tierIndex(values[c], bounds) : -1;
  return { names: cfg.names, bounds, tierOf, basis: cfg.basis, derived };
}
