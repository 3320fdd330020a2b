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
  /**
   * Customers grouped by their whole membership list (null when there would be too many cells).
   * Integer counts accumulated per cell and summed into segments afterwards equal counts made per
   * membership, with one update instead of `maxMemberships`.
   */
  cells?: () => SegmentCells | null;
}

/** Disjoint groups of customers with the same memberships (tier x one value of each dimension). */
export interface SegmentCells {
  count: number;
  /** Cell of each customer. */
  of: Int32Array;
  /** Memberships of cell i: members[i * stride .. i * stride + size[i]). */
  members: Int32Array;
  size: Int32Array;
  stride: number;
}

/** Cells are worth it while they are not much more numerous than the segments they add up to. */
const MAX_CELLS_PER_SEGMENT = 4;

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
  const maxMemberships = 2 * (1 + nd);
  const membership = (c: number, out: Int32Array): number => {
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
  };
  // Cell = tier slot + tier slots x (mixed-radix number of the customer's dimension values).
  const tierSlots = noTier + 1;
  let nCells = tierSlots;
  for (let d = 0; d < nd; d++) nCells *= Math.max(1, s.dimValues[d].length);
  let cells: SegmentCells | null | undefined;
  return {
    keys,
    count: keys.length,
    maxMemberships,
    membership,
    cells(): SegmentCells | null {
      if (cells !== undefined) return cells;
      if (nCells > MAX_CELLS_PER_SEGMENT * keys.length) return (cells = null);
      const of = new Int32Array(s.n);
      const members = new Int32Array(nCells * maxMemberships);
      const size = new Int32Array(nCells).fill(-1);
      for (let c = 0; c < s.n; c++) {
        const t = tiers.tierOf[c];
        let cell = 0;
        for (let d = nd - 1; d >= 0; d--) cell = cell * s.dimValues[d].length + s.dims[c * nd + d];
        cell = cell * tierSlots + (t < 0 ? noTier : t + 1);
        of[c] = cell;
        if (size[cell] < 0) size[cell] = membership(c, members.subarray(cell * maxMemberships));
      }
      for (let i = 0; i < nCells; i++) if (size[i] < 0) size[i] = 0;
      return (cells = { count: nCells, of, members, size, stride: maxMemberships });
    },
  };
}
