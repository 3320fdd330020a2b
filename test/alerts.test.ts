/**
 * lib/alerts: each detector on small fixtures (hand-built rows, and the seeded simulator of
 * test/alerts.fixtures.ts with low noise), money recomputed by hand, ranking, mix shift.
 */
import { describe, expect, it } from 'vitest';
import { detectValueLoss } from '../lib/alerts/index.js';
import { parseConfig, type ConfigInput } from '../lib/config.js';
import type { AlertRow, CohortRow, PeriodRow, SegmentRow } from '../lib/types.js';
import { addPeriods, segmentWords } from '../lib/alerts/format.js';
import { makeContext, retentionDetector } from '../lib/alerts/detectors.js';
import { simulate, type SimOptions } from './alerts.fixtures.js';

const cfg = (alerts: ConfigInput['alerts'] = {}) => parseConfig({ alerts });

function run(o: SimOptions, alerts: ConfigInput['alerts'] = {}) {
  const sim = simulate({ monthSd: 0.04, cellSd: 0.02, ...o });
  return detectValueLoss({ cohorts: sim.cohorts, periods: sim.periods, segments: [], config: cfg(alerts), asOf: sim.asOf });
}

const warnings = (a: AlertRow[]) => a.filter((x) => x.severity !== 'info');

function noNaN(rows: object[]) {
  for (const r of rows) for (const v of Object.values(r)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
}

/** Cohorts with exact rates: `base` cohorts at baseRate then `cur` cohorts at curRate, all of size n. */
function cohortFixture(o: { tier: string; segment: string; baseRate: number; curRate: number; n: number; value: number; base?: number; cur?: number; start?: string }): CohortRow[] {
  const rows: CohortRow[] = [];
  // 7 baseline-rate cohorts from 2022-10: the detector keeps only those observed at age 3 before the
  // recent cohorts were acquired (2022-10..2023-01); 2023-02..04 are seen at age 3 in May-Jul 2023.
  const nb = o.base ?? 7;
  const nc = o.cur ?? 3;
  for (let i = 0; i < nb + nc; i++) {
    const start = addPeriods(o.start ?? '2022-10-01', i, 'month');
    const x = Math.round((i < nb ? o.baseRate : o.curRate) * o.n);
    const common = { cohort: start.slice(0, 7), cohort_start: start, tier: o.tier, segment: o.segment, customers: o.n, partial: false };
    rows.push({ ...common, period: 0, active_customers: o.n, retention: 1, revenue: o.n * 50, revenue_retention: 1, cumulative_revenue_per_customer: 50 });
    rows.push({ ...common, period: 3, active_customers: x, retention: x / o.n, revenue: x * o.value, revenue_retention: (x * o.value) / (o.n * 50), cumulative_revenue_per_customer: null });
  }
  return rows;
}
// cohorts 2022-10..2023-07: age 3 of 2023-07 is 2023-10, complete once 2023-11-01 has begun.
const AS_OF = '2023-11-05';

describe('retention decline', () => {
  it('finds a planted drop in the right tier and region, with severity >= warning', () => {
    const r = run({ seed: 11, plant: { from: 18, tier: 'small', region: 'APAC', retention: 0.6 } }, { warningAmount: 1000 });
    const hit = r.alerts.filter((a) => a.metric === 'retention');
    expect(hit.some((a) => a.tier === 'small' && a.segment === 'region=APAC' && a.severity !== 'info')).toBe(true);
    // no other region is blamed
    expect(hit.filter((a) => a.segment === 'region=EMEA' || a.segment === 'region=AMER')).toEqual([]);
    const a = hit.find((x) => x.tier === 'small' && x.segment === 'region=APAC')!;
    expect(a.message).toMatch(/^Small customers in APAC are coming back less: 3-month retention fell from \d+% to \d+% for cohorts since July 2023; about \$[\d,]+ a year at risk\.$/);
    expect(a.q_value).toBeLessThanOrEqual(0.05);
    expect(a.change).toBeLessThan(0);
    noNaN(r.alerts);
  });

  it('no change -> no alert', () => {
    for (const seed of [1, 2, 3]) {
      const r = run({ seed }, { warningAmount: 0 });
      expect(r.alerts).toEqual([]);
      expect(r.tests).toBeGreaterThan(40);
    }
  });

  it('a rise is never alerted (only losses)', () => {
    const r = run({ seed: 11, plant: { from: 18, tier: 'small', retention: 1.5, crr: 1.04, buyRate: 1.4 } }, { warningAmount: 0 });
    expect(r.alerts).toEqual([]);
  });

  it('a too-small segment goes to tooSmall and is never alerted', () => {
    const tiers = [
      { name: 'small', newPerMonth: 300, retention: 0.25, crr: 0.9, buyRate: 0.12, spend: 30 },
      { name: 'large', newPerMonth: 12, retention: 0.45, crr: 0.95, buyRate: 0.25, spend: 300 },
    ];
    // the planted collapse in large APAC (36 recent customers) must not be alerted
    const r = run({ seed: 5, tiers, plant: { from: 18, tier: 'large', region: 'APAC', retention: 0.2, crr: 0.8, buyRate: 0.3 } }, { warningAmount: 0 });
    expect(r.tooSmall).toContainEqual(expect.objectContaining({ tier: 'large', segment: 'region=APAC', metric: 'retention' }));
    const ts = r.tooSmall.find((t) => t.tier === 'large' && t.segment === 'region=APAC' && t.metric === 'retention')!;
    expect(ts.customers).toBeLessThan(100);
    expect(r.alerts.filter((a) => a.tier === 'large' && a.segment === 'region=APAC')).toEqual([]);
  });

  it('partial rows (the period containing asOf) are never compared', () => {
    const clean = run({ seed: 4 }, { warningAmount: 0 });
    const collapsed = run({ seed: 4, partialCollapse: 0.05 }, { warningAmount: 0 });
    expect(collapsed.alerts).toEqual([]);
    expect(collapsed.tests).toBe(clean.tests);
  });

  it('rows newer than asOf are not compared even when not flagged partial', () => {
    const rows = cohortFixture({ tier: 'small', segment: 'all', baseRate: 0.3, curRate: 0.1, n: 1000, value: 45 });
    const config = cfg();
    // asOf inside the last cohort's age-3 month (2023-10): that cohort must be dropped
    const early = retentionDetector(rows, makeContext(config, '2023-10-15', []));
    const late = retentionDetector(rows, makeContext(config, '2023-11-01', []));
    expect(early && 'finding' in early && early.finding.currentWindow).toBe('cohorts 2023-04..2023-06 (3 cohorts) at age 3');
    expect(late && 'finding' in late && late.finding.currentWindow).toBe('cohorts 2023-05..2023-07 (3 cohorts) at age 3');
  });
});

describe('money at risk, by hand', () => {
  it('retention: (30% - 20%) x 12,000 new/yr x $45 = $54,000', () => {
    const rows = cohortFixture({ tier: 'small', segment: 'region=APAC', baseRate: 0.3, curRate: 0.2, n: 1000, value: 45 });
    const r = detectValueLoss({ cohorts: rows, periods: [], segments: [], config: cfg(), asOf: AS_OF });
    expect(r.tests).toBe(1);
    expect(r.alerts).toHaveLength(1);
    const a = r.alerts[0];
    // 3 recent cohorts of 1,000 a month -> 12,000 new customers a year; revenue per retained
    // customer at age 3 in the baseline = 300 x $45 / 300 = $45.
    expect(a.annual_value_at_risk).toBeCloseTo(0.1 * 12_000 * 45, 6);
    expect(a.arithmetic).toBe('(30% - 20%) x 12,000 new small customers APAC/yr x $45.00 revenue per retained customer at age 3 = $54,000');
    expect(a.message).toBe(
      'Small customers in APAC are coming back less: 3-month retention fell from 30% to 20% for cohorts since May 2023; about $54,000 a year at risk.',
    );
    expect(a).toMatchObject({ rank: 1, tier: 'small', segment: 'region=APAC', metric: 'retention', severity: 'warning', baseline: 0.3, current: 0.2, customers: 3000 });
    expect(a.change).toBeCloseTo(-0.1, 12);
    expect(a.relative_change).toBeCloseTo(-1 / 3, 12);
    expect(a.q_value).toBe(a.p_value); // a family of one
    expect(a.baseline_window).toBe('cohorts 2022-10..2023-01 (4 cohorts) at age 3');
    expect(a.current_window).toBe('cohorts 2023-05..2023-07 (3 cohorts) at age 3');
  });

  it('CRR: (95% - 90%) x 1,000 active x 12 = 600 lost/yr x $240/yr = $144,000', () => {
    const periods: PeriodRow[] = [];
    for (let i = 0; i < 10; i++) {
      const start = addPeriods('2023-01-01', i, 'month');
      const kept = i < 7 ? 950 : 900;
      periods.push({
        period: start.slice(0, 7),
        period_start: start,
        tier: 'small',
        segment: 'all',
        active_start: 1000,
        active_end: kept + 50,
        new_customers: 50,
        reactivated: 0,
        crr: kept / 10,
        customers_buying: 200,
        revenue: 20_000,
        revenue_share: null,
        partial: false,
      });
    }
    const r = detectValueLoss({ cohorts: [], periods, segments: [], config: cfg(), asOf: '2023-11-02' });
    const a = r.alerts.find((x) => x.metric === 'crr')!;
    expect(a.annual_value_at_risk).toBeCloseTo(0.05 * 1000 * 12 * ((20_000 / 1000) * 12), 6);
    expect(a.arithmetic).toBe(
      '(95% - 90%) x 1,000 active small customers x 12 months/yr = 600 customers lost/yr x $240.00 revenue per active customer per year = $144,000',
    );
    expect(a.severity).toBe('critical');
    expect(a.baseline).toBeCloseTo(95, 12);
    expect(a.current).toBeCloseTo(90, 12);
  });

  it('predicted CLV and value at risk vs the previous run: info, untested, money per year', () => {
    const seg = {
      tier: 'small',
      segment: 'region=EU',
      customers: 2000,
      predicted_clv_mean: 40,
      prev_predicted_clv_mean: 50,
      value_at_risk: 30_000,
      prev_value_at_risk: 20_000,
      prev_run_date: '2023-09-01',
    } as unknown as SegmentRow;
    const r = detectValueLoss({ cohorts: [], periods: [], segments: [seg], config: cfg(), asOf: AS_OF });
    expect(r.tests).toBe(0);
    const clv = r.alerts.find((a) => a.metric === 'predicted_clv')!;
    expect(clv.annual_value_at_risk).toBeCloseTo(10 * 2000, 6); // horizon 12 months: x 12/12
    expect(clv.severity).toBe('info');
    const v = r.alerts.find((a) => a.metric === 'value_at_risk')!;
    expect(v.annual_value_at_risk).toBeCloseTo(10_000, 6);
    expect(v.message).toContain('in EU');
    expect(r.alerts.map((a) => a.rank)).toEqual([1, 2]);
    expect(r.alerts[0].metric).toBe('predicted_clv'); // $20,000 > $10,000
  });
});

describe('ranking', () => {
  it('most money first; the small tier first when within 10%', () => {
    const cohorts = [
      ...cohortFixture({ tier: 'large', segment: 'all', baseRate: 0.3, curRate: 0.2, n: 1000, value: 48 }), // $57,600
      ...cohortFixture({ tier: 'small', segment: 'all', baseRate: 0.3, curRate: 0.2, n: 1000, value: 45 }), // $54,000
      ...cohortFixture({ tier: 'mid', segment: 'all', baseRate: 0.3, curRate: 0.2, n: 1000, value: 100 }), // $120,000
      ...cohortFixture({ tier: 'large', segment: 'region=EU', baseRate: 0.3, curRate: 0.2, n: 1000, value: 60 }), // $72,000
    ];
    const r = detectValueLoss({ cohorts, periods: [], segments: [], config: cfg(), asOf: AS_OF });
    expect(r.alerts.map((a) => [a.rank, a.tier, a.segment, Math.round(a.annual_value_at_risk)])).toEqual([
      [1, 'mid', 'all', 120_000],
      [2, 'large', 'region=EU', 72_000],
      [3, 'small', 'all', 54_000],
      [4, 'large', 'all', 57_600],
    ]);
    expect(r.alerts[0].severity).toBe('critical');
    expect(r.tests).toBe(4);
  });
});

describe('mix shift', () => {
  it('explains an overall decline caused by the tier mix, and raises no per-segment loss', () => {
    const r = run({ seed: 3, mixShift: { from: 18, factors: { small: 3, large: 0.4 } } }, { warningAmount: 0 });
    expect(warnings(r.alerts)).toEqual([]);
    const ret = r.mix.find((m) => m.metric === 'retention' && m.explanation.startsWith('Customers:'));
    expect(ret).toBeDefined();
    expect(ret!.overallChange).toBeLessThan(0);
    expect(Math.abs(ret!.mixEffect)).toBeGreaterThan(Math.abs(ret!.withinSegmentChange));
    expect(ret!.overallChange).toBeCloseTo(ret!.mixEffect + ret!.withinSegmentChange, 12);
    expect(ret!.explanation).toMatch(/small \d+% -> \d+%/);
    noNaN(r.mix);
  });
});

describe('words', () => {
  it('segment names in plain words', () => {
    expect(segmentWords('region=APAC')).toBe('in APAC');
    expect(segmentWords('all')).toBe('');
  });
});
