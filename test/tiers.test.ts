import { describe, expect, it } from 'vitest';
import { sortFloat64, valueShareBounds } from '../lib/tiers.js';

describe('sortFloat64', () => {
  it('orders as Float64Array.prototype.sort: negatives, -0 before +0, ties, infinities, tiny and huge values', () => {
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) | 0) >>> 0) / 4294967296;
    for (const n of [10, 5000, 200_000]) {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const r = rnd();
        a[i] = r < 0.05 ? -0 : r < 0.1 ? 0 : r < 0.12 ? (r < 0.11 ? Infinity : -Infinity) : r < 0.3 ? -Math.round(rnd() * 1e4) / 100 : r < 0.35 ? rnd() * 1e-300 : r < 0.4 ? rnd() * 1e300 : Math.round(rnd() * 1e5) / 100;
      }
      const want = Float64Array.from(a).sort();
      const got = sortFloat64(Float64Array.from(a));
      expect(Array.from(got, (x) => Object.is(x, -0) ? '-0' : x)).toEqual(Array.from(want, (x) => Object.is(x, -0) ? '-0' : x));
    }
  });

  it('sorts when only some radix passes move values (small integers: the low words are all zero)', () => {
    const a = Float64Array.from({ length: 3000 }, (_, i) => (i * 7919) % 3000);
    expect(Array.from(sortFloat64(a))).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    const b = Float64Array.from({ length: 3000 }, (_, i) => 2 ** ((i * 31) % 60) * ((i % 2) * 2 - 1));
    expect(Array.from(sortFloat64(Float64Array.from(b)))).toEqual(Array.from(Float64Array.from(b).sort()));
  });

  it('orders whole cents (money) as the built-in sort does, exactly, through its integer path', () => {
    let seed = 11;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) | 0) >>> 0) / 4294967296;
    for (const n of [2000, 300_000]) {
      const a = Float64Array.from({ length: n }, (_, i) => (i % 7 === 0 ? -1 : 1) * Math.round(rnd() * (i % 3 === 0 ? 1e4 : 2e9)) / 100);
      a[5] = 21474836.47; // the largest cents the path takes, and the smallest
      a[6] = -21474836.48;
      const want = Array.from(Float64Array.from(a).sort());
      expect(Array.from(sortFloat64(a))).toEqual(want);
    }
    // values not whole cents (and -0) take the general path: still the built-in order
    const b = Float64Array.from({ length: 5000 }, (_, i) => (i === 7 ? 0.001 : Math.round(rnd() * 1e6) / 100));
    expect(Array.from(sortFloat64(Float64Array.from(b)))).toEqual(Array.from(b.sort()));
  });

  it('valueShareBounds: the value that crosses each cumulative share opens the next tier', () => {
    // sorted 10, 20, 30, 40 (total 100): the cumulative sum passes 33.3 at 30 (10 + 20 + 30 = 60) and 66.7 at 40
    expect(valueShareBounds(Float64Array.from([40, 10, 30, 20]), [1 / 3, 2 / 3])).toEqual([30, 40]);
  });
});
