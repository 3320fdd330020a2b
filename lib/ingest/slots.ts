/** Sizing and slot choice of the open-addressing tables of the row pass (ingest and the customer accumulator). */

/**
 * Slots for n entries at load <= 0.7, not rounded to a power of two (slot = fastrange of the hash,
 * Lemire 2016: floor(h * cap / 2^32)): at 10M rows a power of two would be 2^24 slots, 268 MB,
 * where 7.2M customer-days need 10.3M (issue 8).
 */
export function slotsFor(n: number): number {
  return Math.max(128, Math.ceil((n * 10) / 7));
}

/** floor(h * cap / 2^32) for a 32-bit h: a slot in [0, cap) (exact enough: the product's rounding error is < 64 <= cap). */
export function fastrange(h: number, cap: number): number {
  return Math.floor(((h >>> 0) * cap) / 4294967296);
}
