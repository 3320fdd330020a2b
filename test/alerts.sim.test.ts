/**
 * False-alarm rate of the whole detector set on data where nothing changed: 200 seeds of
 * simulated cohort and period rows (3 tiers x 3 regions + "all" rows, 24 complete months),
 * binomial noise plus a realistic cohort-to-cohort / period-to-period random effect (logit SD
 * 0.12 shared by all cells + 0.08 per cell). warningAmount = 0, so EVERY significant decline
 * counts as a warning: the strictest reading. The pooled two-proportion z-test on the same
 * retention and CRR comparisons (same BH correction) is measured alongside, to show why it is
 * not used.
 */
import { describe, expect, it } from 'vitest';
import { detectValueLoss } from '../lib/alerts/index.js';
import { completeCohortsAtAge, completePeriods, makeContext } from '../lib/alerts/detectors.js';
import { benjaminiHochberg, twoProportionZTest } from '../lib/alerts/stats.js';
import { parseConfig } from '../lib/config.js';
import { simulate } from './alerts.fixtures.js';

const SEEDS = 200;

describe('false alarms on unchanged data', () => {
  it(`runs with >= 1 warning over ${SEEDS} seeds <= 5%`, () => {
    const config = parseConfig({ alerts: { warningAmount: 0 } });
    let runsWithWarning = 0;
    let runsNaive = 0;
    let tests = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = simulate({ seed: 10_000 + seed });
      const r = detectValueLoss({ cohorts: sim.cohorts, periods: sim.periods, segments: [], config, asOf: sim.asOf });
      tests = r.tests;
      if (r.alerts.some((a) => a.severity !== 'info')) runsWithWarning++;
      for (const a of r.alerts) for (const v of Object.values(a)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);

      // the naive alternative: pooled z-test, every customer one Bernoulli draw of one rate
      const ctx = makeContext(config, sim.asOf, sim.periods);
      const p: number[] = [];
      const group = <T extends { tier: string; segment: string }>(rows: T[]) => {
        const m = new Map<string, T[]>();
        for (const x of rows) m.set(`${x.tier}|${x.segment}`, [...(m.get(`${x.tier}|${x.segment}`) ?? []), x]);
        return m.values();
      };
      for (const rows of group(sim.cohorts)) {
        const c = completeCohortsAtAge(rows, 3, ctx);
        const [base, cur] = [c.slice(-15, -3), c.slice(-3)];
        const agg = (rs: typeof c) => ({ x: rs.reduce((s, x) => s + x.active_customers, 0), n: rs.reduce((s, x) => s + x.customers, 0) });
        p.push(twoProportionZTest(agg(base), agg(cur)).p);
      }
      for (const rows of group(sim.periods)) {
        const c = completePeriods(rows, ctx);
        const [base, cur] = [c.slice(-15, -3), c.slice(-3)];
        const agg = (rs: typeof c) => ({
          x: rs.reduce((s, x) => s + Math.min(x.active_start, x.active_end - x.new_customers), 0),
          n: rs.reduce((s, x) => s + x.active_start, 0),
        });
        p.push(twoProportionZTest(agg(base), agg(cur)).p);
      }
      if (benjaminiHochberg(p).some((q) => q <= 0.05)) runsNaive++;
    }
    const rate = runsWithWarning / SEEDS;
    const naive = runsNaive / SEEDS;
    console.log(
      `[alerts.sim] false-alarm rate: ${runsWithWarning}/${SEEDS} = ${(rate * 100).toFixed(1)}% of runs (${tests} tests per run);` +
        ` pooled z-test on retention + CRR alone: ${runsNaive}/${SEEDS} = ${(naive * 100).toFixed(1)}%`,
    );
    expect(rate).toBeLessThanOrEqual(0.05);
    expect(naive).toBeGreaterThan(rate); // the cohort noise is real: ignoring it cries wolf
  });
});
