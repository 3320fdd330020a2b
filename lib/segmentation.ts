/**
 * Segments: every metric exists for all customers, each tier, each dimension value, and
 * each tier x dimension value (DESIGN.md: the result for the whole base is misleading).
 * A segment is a (tier, segment) pair: tier "all" or a tier name; segment "all" or
 * "dimension=value" (e.g. tier "small", segment "region=APAC").
 *
 * Segments are numbered densely (tier slot x segment slot) so that metrics accumulate in
 * flat typed arrays.
 */
import { dimensionLabel } from './outputs/schema.js';
import type { CustomerSummary } from './customers.js';
import { NO_TIER_NAME, type Tiers } from './tiers.js';

export const ALL = 'all';

export interface Segmentation {
  /** (tier, segment) of each segment index. */
  keys: { tier: string; segment: string }[];
  count: number;
  /** Segment indices a customer belongs to, written into `out`; returns how many. */
  membership(c: number, out: Int32Array): number;
  /** Upper bound of memberships per customer (size of `out`). */
  maxMemberships: number;
}

export function segmentation(s: CustomerSummary, tiers: Tiers, dimensions: (string | number)[]): Segmentation {
  // Tier slots: 0 = all, 1..n = tiers, n + 1 = customers without a purchase (refunds only).
  const tierNames = [ALL, ...tiers.names, NO_TIER_NAME];
  const segNames = [ALL];
  const dimOffset: number[] = [];
  for (let d = 0; d < s.dimensionCount; d++) {
    dimOffset.push(segNames.length);
    for (const v of s.dimValues[d]) segNames.push(`${dimensionLabel(dimensions[d])}=${v}`);
  }
  const nSeg = segNames.length;
  const keys = tierNames.flatMap((tier) => segNames.map((segment) => ({ tier, segment })));
  const nd = s.dimensionCount;
  const noTier = tiers.names.length + 1;
  return {
    keys,
    count: keys.length,
    maxMemberships: 2 * (1 + nd),
    membership(c: number, out: Int32Array): number {
      const t = tiers.tierOf[c];
      const tierSlot = t < 0 ? noTier : t + 1;
      let k = 0;
      out[k++] = 0;
      out[k++] = tierSlot * nSeg;
      for (let d = 0; d < nd; d++) {
        const seg = dimOffset[d] + s.dims[c * nd + d];
        out[k++] = seg;
        out[k++] = tierSlot * nSeg + seg;
      }
      return k;
    },
  };
}
