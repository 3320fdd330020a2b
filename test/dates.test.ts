import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  civilFromDays,
  dateRejectReason,
  dayToIso,
  daysFromCivil,
  isoToDay,
  parseDateToDay,
  utcMsToDay,
  zoneOffsetMs,
  zoneOffsetMsExact,
} from '../lib/dates.js';

const RUNS = Number(process.env.TAILWATCH_FUZZ_RUNS ?? 200);
const DAY = 86_400_000;

/** Independent reference: the calendar date of an instant in a zone, as Intl formats it. */
function intlDay(utcMs: number, tz: string): number {
  const s = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(utcMs));
  return Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10)) / DAY;
}

describe('day numbers', () => {
  it('match Date.UTC for known dates', () => {
    expect(isoToDay('1970-01-01')).toBe(0);
    expect(isoToDay('1997-01-01')).toBe(Date.UTC(1997, 0, 1) / DAY);
    expect(isoToDay('2000-02-29')).toBe(Date.UTC(2000, 1, 29) / DAY);
    expect(isoToDay('1969-12-31')).toBe(-1);
    expect(dayToIso(0)).toBe('1970-01-01');
    expect(dayToIso(10407)).toBe('1998-06-30');
    expect(dayToIso(-719162)).toBe('0001-01-01');
  });

  it('round-trip and agree with Date.UTC on every day from year 1 to 9999 (sampled)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -719162, max: 2932896 }), (day) => {
        const { y, m, d } = civilFromDays(day);
        expect(daysFromCivil(y, m, d)).toBe(day);
        const ref = new Date(day * DAY);
        expect([y, m, d]).toEqual([ref.getUTCFullYear(), ref.getUTCMonth() + 1, ref.getUTCDate()]);
        expect(isoToDay(dayToIso(day))).toBe(day);
      }),
      { seed: 42, numRuns: RUNS * 5 },
    );
  });

  it('isoToDay gives null for anything but a real YYYY-MM-DD', () => {
    for (const s of ['2024-02-30', '2024-2-3', '2024-02-03T00:00', ' 2024-02-03', '2024/02/03', '', 'abcd-ef-gh', '0000-01-01'])
      expect(isoToDay(s), s).toBeNull();
  });
});

describe('parseDateToDay', () => {
  const d = (iso: string) => isoToDay(iso)!;

  it('reads each format', () => {
    expect(parseDateToDay('2024-03-05', 'iso', 'UTC')).toBe(d('2024-03-05'));
    expect(parseDateToDay(' 2024-03-05 ', 'iso', 'UTC')).toBe(d('2024-03-05'));
    expect(parseDateToDay('19970101', 'yyyyMMdd', 'UTC')).toBe(d('1997-01-01'));
    expect(parseDateToDay('03/05/2024', 'MM/dd/yyyy', 'UTC')).toBe(d('2024-03-05'));
    expect(parseDateToDay('3/5/2024', 'MM/dd/yyyy', 'UTC')).toBe(d('2024-03-05'));
    expect(parseDateToDay('03/05/2024', 'dd/MM/yyyy', 'UTC')).toBe(d('2024-05-03'));
    expect(parseDateToDay('31/12/2023 23:59', 'dd/MM/yyyy', 'UTC')).toBe(d('2023-12-31'));
  });

  it('rejects impossible dates and times instead of rolling them over', () => {
    for (const [t, f] of [
      ['2024-02-30', 'iso'],
      ['2023-02-29', 'iso'],
      ['1900-02-29', 'iso'],
      ['2024-13-01', 'iso'],
      ['2024-00-10', 'iso'],
      ['2024-04-31', 'iso'],
      ['2024-01-01T24:00', 'iso'],
      ['2024-01-01T10:60', 'iso'],
      ['2024-01-01T10:00:61', 'iso'],
      ['2024-01-01T10:00+25:00', 'iso'],
      ['20240230', 'yyyyMMdd'],
      ['2024010', 'yyyyMMdd'],
      ['02/30/2024', 'MM/dd/yyyy'],
      ['30/02/2024', 'dd/MM/yyyy'],
      ['13/01/2024', 'MM/dd/yyyy'],
    ] as const)
      expect(parseDateToDay(t, f, 'UTC'), `${t} ${f}`).toBeNull();
    expect(parseDateToDay('2024-02-29', 'iso', 'UTC')).toBe(d('2024-02-29'));
    expect(parseDateToDay('2000-02-29', 'iso', 'UTC')).toBe(d('2000-02-29'));
  });

  it('rejects garbage', () => {
    for (const t of ['', 'x', '2024-03', '2024/03/05', '2024-03-05X', '2024-03-05T', '２０２４-01-01', 'NaN', '2024-03-05T10:00:00.', '2024-03-05 10:00 Z'])
      expect(parseDateToDay(t, 'iso', 'UTC'), t).toBeNull();
  });

  it('takes a timestamp without offset as local wall-clock time', () => {
    expect(parseDateToDay('2024-03-10T23:30:00', 'iso', 'America/New_York')).toBe(d('2024-03-10'));
    expect(parseDateToDay('2024-03-10 00:10', 'iso', 'Asia/Tokyo')).toBe(d('2024-03-10'));
    expect(parseDateToDay('2024-03-10T23:30:00.123456', 'iso', 'UTC')).toBe(d('2024-03-10'));
  });

  it('converts a timestamp with an offset to the business time zone', () => {
    // 01:30 UTC on 10 March is 20:30 on 9 March in New York (EST, -5)
    expect(parseDateToDay('2024-03-10T01:30:00Z', 'iso', 'America/New_York')).toBe(d('2024-03-09'));
    expect(parseDateToDay('2024-03-10T01:30:00Z', 'iso', 'UTC')).toBe(d('2024-03-10'));
    // 23:30 at -08:00 is 07:30 next day UTC, 16:30 in Tokyo
    expect(parseDateToDay('2024-06-30T23:30:00-08:00', 'iso', 'Asia/Tokyo')).toBe(d('2024-07-01'));
    expect(parseDateToDay('2024-06-30T23:30:00-0800', 'iso', 'UTC')).toBe(d('2024-07-01'));
    expect(parseDateToDay('2024-06-30T23:30:00-08', 'iso', 'UTC')).toBe(d('2024-07-01'));
    // around the EU spring-forward (31 March 2024, 01:00 UTC) in Berlin
    expect(parseDateToDay('2024-03-30T22:59:59Z', 'iso', 'Europe/Berlin')).toBe(d('2024-03-30'));
    expect(parseDateToDay('2024-03-30T23:00:00Z', 'iso', 'Europe/Berlin')).toBe(d('2024-03-31'));
    expect(parseDateToDay('2024-10-26T21:59:59Z', 'iso', 'Europe/Berlin')).toBe(d('2024-10-26'));
    expect(parseDateToDay('2024-10-26T22:00:00Z', 'iso', 'Europe/Berlin')).toBe(d('2024-10-27'));
    // +05:45 Kathmandu, +13:45 Chatham
    expect(parseDateToDay('2024-01-01T18:15:00Z', 'iso', 'Asia/Kathmandu')).toBe(d('2024-01-02'));
    expect(parseDateToDay('2024-01-01T10:14:59Z', 'iso', 'Pacific/Chatham')).toBe(d('2024-01-01'));
    expect(parseDateToDay('2024-01-01T10:15:00Z', 'iso', 'Pacific/Chatham')).toBe(d('2024-01-02'));
  });

  it('agrees with Intl for random instants and zones (the per-day offset cache is exact)', () => {
    const zones = ['UTC', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/St_Johns', 'Pacific/Apia', 'Africa/Casablanca', 'America/Sao_Paulo'];
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2035, 0, 1) }),
        fc.constantFrom(...zones),
        fc.integer({ min: -14 * 60, max: 14 * 60 }).map((m) => Math.round(m / 15) * 15),
        (ms, tz, offMin) => {
          ms = Math.floor(ms / 1000) * 1000;
          expect(utcMsToDay(ms, tz)).toBe(intlDay(ms, tz));
          expect(zoneOffsetMs(tz, ms)).toBe(zoneOffsetMsExact(tz, ms));
          // the same instant written with an arbitrary offset
          const local = new Date(ms + offMin * 60_000).toISOString().slice(0, 19);
          const a = Math.abs(offMin);
          const off = `${offMin < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
          expect(parseDateToDay(local + off, 'iso', tz)).toBe(intlDay(ms, tz));
        },
      ),
      { seed: 7, numRuns: RUNS * 5 },
    );
  });

  it('explains rejects', () => {
    expect(dateRejectReason('2024-02-30', 'iso')).toMatch(/^impossible date "2024-02-30"/);
    expect(dateRejectReason('20240230', 'yyyyMMdd')).toMatch(/^impossible date/);
    expect(dateRejectReason('soon', 'iso')).toMatch(/^unparseable date "soon" \(expected format iso\)/);
    expect(dateRejectReason('2024-02-03T25:00', 'iso')).toMatch(/unparseable time or offset/);
    expect(dateRejectReason('x'.repeat(500), 'iso').length).toBeLessThan(100);
  });
});
