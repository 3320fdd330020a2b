/** Reading raw bytes in the row pass. */

/**
 * The 4 bytes b[i..i+3] as a little-endian int32: ids packed into the id table's slots, a date
 * compared with the previous row's as words, Parquet's length prefixes. Small enough for V8 to
 * inline into every caller's loop.
 */
export function le32(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}
