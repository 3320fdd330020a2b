/**
 * Group identical rows of a few numeric columns, so that a likelihood over a million customers is
 * evaluated once per distinct (x, t_x, T) with a weight. Customers summarised on a day grid share
 * triples massively (most have x = 0, t_x = 0 and one of a few hundred T values).
 * An open-addressing hash on the IEEE bits: no per-row strings or objects.
 */

export interface Grouped {
  /** Distinct rows, one Float64Array per input column. */
  columns: Float64Array[];
  /** How many input rows each distinct row stands for. */
  weight: Float64Array;
  /** For each input row, the index of its distinct row. */
  groupOf: Int32Array;
  size: number;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function mixValue(h: number, v: number): number {
  f64[0] = v === 0 ? 0 : v; // -0 and 0 are one key
  h = Math.imul(h ^ u32[0], 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ u32[1], 0x85ebca6b);
  return h ^ (h >>> 13);
}

export function groupRows(cols: Float64Array[]): Grouped {
  const n = cols.length ? cols[0].length : 0;
  const k = cols.length;
  let cap = 16;
  while (cap < 2 * n) cap *= 2;
  const mask = cap - 1;
  const table = new Int32Array(cap).fill(-1);
  const rep = new Int32Array(n); // representative input row of each group
  const weight = new Float64Array(n);
  const groupOf = new Int32Array(n);
  let size = 0;
  for (let i = 0; i < n; i++) {
    let h = 0x811c9dc5;
    for (let c = 0; c < k; c++) h = mixValue(h, cols[c][i]);
    let slot = h & mask;
    for (;;) {
      const g = table[slot];
      if (g === -1) {
        table[slot] = size;
        rep[size] = i;
        weight[size] = 1;
        groupOf[i] = size;
        size++;
        break;
      }
      const r = rep[g];
      let same = true;
      for (let c = 0; c < k; c++) if (cols[c][r] !== cols[c][i]) { same = false; break; }
      if (same) {
        weight[g]++;
        groupOf[i] = g;
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
  const columns = cols.map((col) => {
    const out = new Float64Array(size);
    for (let g = 0; g < size; g++) out[g] = col[rep[g]];
    return out;
  });
  return { columns, weight: weight.slice(0, size), groupOf, size };
}

/** Distinct values of a column, and for each row its index among them (for per-x precomputation). */
export function distinctIndex(col: Float64Array): { values: Float64Array; index: Int32Array } {
  const g = groupRows([col]);
  return { values: g.columns[0], index: g.groupOf };
}
