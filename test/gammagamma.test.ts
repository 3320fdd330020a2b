import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { conditionalExpectedSpend, fitGammaGamma, gammaGammaLogLikelihood, type GammaGammaParams } from '../lib/models/gammagamma.js';
import { lgamma } from '../lib/models/special.js';
import { simulateBtyd } from '../scripts/simulate-btyd.js';

function loadCdnow() {
  const url = new URL('test/fixtures/cdnow/cdnow_customers_summary_with_transactions.csv', new URL('..', import.meta.url));
  const rows = readFileSync(url, 'utf8').trim().split(/\r?\n/).slice(1);
  const x = new Float64Array(rows.length);
  const zbar = new Float64Array(rows.length);
  rows.forEach((line, i) => {
    const f = line.split(',');
    x[i] = Number(f[1]);
    zbar[i] = Number(f[4]);
  });
  return { x, zbar };
}

const PUBLISHED: GammaGammaParams = { p: 6.25, q: 3.74, v: 15.44 };
const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

describe('Gamma-Gamma on the CDNOW sample (Fader & Hardie 2013)', () => {
  const d = loadCdnow();
  const fit = fitGammaGamma(d.x, d.zbar);

  it('reproduces the published parameters and log-likelihood', () => {
    expect(fit.status).toBe('ok');
    expect(fit.customers).toBe(946);
    expect(rel(fit.params!.p, 6.25)).toBeLessThan(0.01);
    expect(rel(fit.params!.q, 3.74)).toBeLessThan(0.01);
    expect(rel(fit.params!.v, 15.44)).toBeLessThan(0.01);
    expect(Math.abs(fit.logLikelihood! - -4055.92)).toBeLessThan(0.1);
    expect(fit.stdErr!.p).toBeGreaterThan(0);
  });

  it('log-likelihood includes every constant (hand computation for one customer)', () => {
    const { p, q, v } = PUBLISHED;
    const x = 2;
    const z = 22.35;
    const hand =
      lgamma(p * x + q) - lgamma(p * x) - lgamma(q) + q * Math.log(v) + p * x * Math.log(x) + (p * x - 1) * Math.log(z) - (p * x + q) * Math.log(v + x * z);
    expect(gammaGammaLogLikelihood(PUBLISHED, Float64Array.of(x, 0), Float64Array.of(z, 0))).toBeCloseTo(hand, 10);
  });

  it('conditional expected spend of the first 10 customers and the population mean', () => {
    const want = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17];
    want.forEach((w, i) => expect(Math.abs(conditionalExpectedSpend(fit.params!, d.x[i], d.zbar[i]) - w)).toBeLessThan(0.015));
    expect(conditionalExpectedSpend(PUBLISHED, 0, 0)).toBeCloseTo(35.22, 2);
    expect(fit.populationMeanSpend!).toBeCloseTo(35.17, 2);
    // a weighted mean of the population mean and the customer's own mean
    const e = conditionalExpectedSpend(PUBLISHED, 2, 22.35);
    expect(e).toBeGreaterThan(22.35);
    expect(e).toBeLessThan(35.22);
  });
});

describe('Gamma-Gamma parameter recovery on seeded simulations', () => {
  const truth: GammaGammaParams = { p: 4, q: 5, v: 30 };
  it.each([1, 2, 3])('seed %i: estimates within 3 standard errors', (seed) => {
    const sim = simulateBtyd({ customers: 8000, seed, bgnbd: { r: 1, alpha: 5, a: 0.5, b: 3 }, gammaGamma: truth, minT: 30, maxT: 60 });
    const fit = fitGammaGamma(sim.x, sim.zbar);
    expect(fit.status).toBe('ok');
    for (const k of ['p', 'q', 'v'] as const) expect(Math.abs(fit.params![k] - truth[k])).toBeLessThan(3 * fit.stdErr![k]);
  });

  it('large data (warm-started) reach the optimum', () => {
    const sim = simulateBtyd({ customers: 150_000, seed: 5, bgnbd: { r: 1, alpha: 5, a: 0.5, b: 3 }, gammaGamma: truth, minT: 30, maxT: 60 });
    const fit = fitGammaGamma(sim.x, sim.zbar);
    expect(fit.status).toBe('ok');
    expect(fit.customers).toBeGreaterThan(60_000);
    for (const k of ['p', 'q', 'v'] as const) {
      expect(Math.abs(fit.params![k] - truth[k])).toBeLessThan(3 * fit.stdErr![k]);
      const worse = { ...fit.params!, [k]: fit.params![k] * 1.01 };
      expect(gammaGammaLogLikelihood(worse, sim.x, sim.zbar)).toBeLessThan(fit.logLikelihood!);
    }
  });
});

describe('Gamma-Gamma edge cases', () => {
  it('no repeat buyers, too few, identical spends: failed with a reason', () => {
    const none = fitGammaGamma(new Float64Array(10), new Float64Array(10));
    expect(none.status).toBe('failed');
    expect(none.reason).toMatch(/no repeat buyers/);
    expect(fitGammaGamma(Float64Array.of(1, 2), Float64Array.of(10, 20)).status).toBe('failed');
    const same = fitGammaGamma(Float64Array.of(1, 2, 3, 4), Float64Array.of(10, 10, 10, 10));
    expect(same.status).toBe('failed');
    expect(same.params).toBeNull();
  });

  it('zero and non-finite spends are left out of the fit', () => {
    const d = loadCdnow();
    const x = Float64Array.from([...d.x, 3, 2, 500]);
    const z = Float64Array.from([...d.zbar, 0, NaN, 40]);
    const fit = fitGammaGamma(x, z);
    expect(fit.customers).toBe(947);
    expect(Number.isFinite(fit.logLikelihood!)).toBe(true);
    // free repeat purchases shrink toward 0; x = 500 is essentially the customer's own mean
    expect(conditionalExpectedSpend(PUBLISHED, 3, 0)).toBeLessThan(35.22);
    expect(conditionalExpectedSpend(PUBLISHED, 500, 40)).toBeCloseTo(40, 0);
  });
});
