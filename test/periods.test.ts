import { describe, expect, it } from 'vitest';
import { monthsSinceEpoch, periodIndex, periodIndexTable, periodStartDay } from '../lib/periods.js';

/** The reference: JavaScript's own proleptic Gregorian calendar. */
function monthsByDate(day: number): number {
  const d = new Date(day * 86_400_000);
  return (d.getUTCFullYear() - 1970) * 12 + d.getUTCMonth();
}

describe('monthsSinceEpoch', () => {
  it('equals the Date calendar on every day from 1600 to 2400', () => {
    const from = Math.round(Date.UTC(1600, 0, 1) / 86_400_000);
    const to = Math.round(Date.UTC(2400, 11, 31) / 86_400_000);
    let mismatches = 0;
    for (let day = from; day <= to; day++) if (monthsSinceEpoch(day) !== monthsByDate(day)) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('knows month ends and leap days', () => {
    const day = (y: number, m: number, d: number) => Math.round(Date.UTC(y, m - 1, d) / 86_400_000);
    expect(monthsSinceEpoch(day(1970, 1, 1))).toBe(0);
    expect(monthsSinceEpoch(day(1969, 12, 31))).toBe(-1);
    expect(monthsSinceEpoch(day(2000, 2, 29))).toBe(30 * 12 + 1);
    expect(monthsSinceEpoch(day(2000, 3, 1))).toBe(30 * 12 + 2);
    expect(monthsSinceEpoch(day(1900, 2, 28)) + 1).toBe(monthsSinceEpoch(day(1900, 3, 1)));
  });

  it('is the period index of months and quarters, and the start day round-trips', () => {
    for (let day = -800; day <= 30000; day += 17) {
      const m = periodIndex(day, 'month');
      expect(m).toBe(monthsByDate(day));
      expect(periodIndex(day, 'quarter')).toBe(Math.floor(m / 3));
      expect(periodIndex(periodStartDay(m, 'month'), 'month')).toBe(m);
      expect(periodIndex(periodStartDay(m, 'month') - 1, 'month')).toBe(m - 1);
    }
  });
});

describe('periodIndexTable', () => {
  it('equals periodIndex on every day of the range, for each unit, across 1970 and leap years', () => {
    for (const unit of ['month', 'week', 'quarter'] as const) {
      for (const [from, to] of [[-800, 1200], [10_957, 10_957], [19_000, 19_500]]) {
        const t = periodIndexTable(from, to, unit);
        expect(t.length).toBe(to - from + 1);
        const ref = Array.from({ length: to - from + 1 }, (_, i) => periodIndex(from + i, unit));
        expect(Array.from(t)).toEqual(ref);
      }
    }
  });
});
