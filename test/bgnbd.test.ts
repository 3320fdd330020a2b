import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bgnbdLogLikelihood,
  conditionalExpectedPurchases,
  expectedPurchases,
  fitBgNbd,
  pAlive,
  probabilityOfPurchases,
  type BgNbdParams,
} from '../lib/models/bgnbd.js';
import { digamma, hyp2f1, lgamma } from '../lib/models/special.js';
import { simulateBtyd } from '../scripts/simulate-btyd.js';

const CDNOW = 'test/fixtures/cdnow/cdnow_customers_summary_with_transactions.csv';

function loadCdnow() {
  const rows = readFileSync(new URL(CDNOW, new URL('..', import.meta.url)), 'utf8').trim().split(/\r?\n/).slice(1);
  const n = rows.length;
  const out = { x: new Float64Array(n), tx: new Float64Array(n), T: new Float64Array(n), zbar: new Float64Array(n) };
  rows.forEach((line, i) => {
    const f = line.split(',');
    out.x[i] = Number(f[1]);
    out.tx[i] = Number(f[2]);
    out.T[i] = Number(f[3]);
    out.zbar[i] = Number(f[4]);
  });
  return out;
}

/** Published values, Fader, Hardie & Lee (2005). */
const PUBLISHED: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

describe('special functions', () => {
  it('lgamma and digamma match known values', () => {
    expect(lgamma(1)).toBeCloseTo(0, 14);
    expect(lgamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
    expect(lgamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(rel(lgamma(1e8), 1e8 * Math.log(1e8) - 1e8 - 0.5 * Math.log(1e8) + 0.5 * Math.log(2 * Math.PI))).toBeLessThan(1e-12);
    expect(lgamma(1e-8)).toBeCloseTo(-Math.log(1e-8) - 0.5772156649 * 1e-8, 8);
    expect(digamma(1)).toBeCloseTo(-0.5772156649015329, 13);
    expect(digamma(0.5)).toBeCloseTo(-0.5772156649015329 - 2 * Math.LN2, 13);
    expect(digamma(100)).toBeCloseTo(4.600161852738087, 12);
  });

  it('hyp2f1 matches closed forms', () => {
    for (const z of [0.1, 0.5, 0.9, 0.99]) {
      expect(rel(hyp2f1(1, 1, 2, z).value, -Math.log1p(-z) / z)).toBeLessThan(1e-12);
      expect(rel(hyp2f1(0.7, 2.5, 2.5, z).value, Math.pow(1 - z, -0.7))).toBeLessThan(1e-12);
      // 2F1(1/2, 1; 3/2; z^2) = atanh(z)/z
      const s = Math.sqrt(z);
      expect(rel(hyp2f1(0.5, 1, 1.5, z).value, Math.atanh(s) / s)).toBeLessThan(1e-11);
    }
  });
});

describe('BG/NBD on the CDNOW sample (Fader, Hardie & Lee 2005)', () => {
  const d = loadCdnow();
  const fit = fitBgNbd(d.x, d.tx, d.T);

  it('reproduces the published parameters and log-likelihood', () => {
    expect(fit.status).toBe('ok');
    expect(fit.converged).toBe(true);
    const p = fit.params!;
    expect(rel(p.r, 0.243)).toBeLessThan(0.005);
    expect(rel(p.alpha, 4.414)).toBeLessThan(0.005);
    expect(rel(p.a, 0.793)).toBeLessThan(0.005);
    expect(rel(p.b, 2.426)).toBeLessThan(0.005);
    expect(Math.abs(fit.logLikelihood! - -9582.4)).toBeLessThan(0.1);
    expect(fit.customers).toBe(2357);
    // The published optimum is an optimum: the reported LL is the model's LL at the estimate.
    expect(bgnbdLogLikelihood(p, d.x, d.tx, d.T)).toBeCloseTo(fit.logLikelihood!, 6);
    expect(bgnbdLogLikelihood(PUBLISHED, d.x, d.tx, d.T)).toBeLessThan(fit.logLikelihood!);
  });

  it('reports standard errors from the Hessian (lifetimes: 0.0126, 0.378, 0.186, 0.705)', () => {
    const se = fit.stdErr!;
    expect(rel(se.r, 0.0126)).toBeLessThan(0.03);
    expect(rel(se.alpha, 0.378)).toBeLessThan(0.03);
    expect(rel(se.a, 0.186)).toBeLessThan(0.03);
    expect(rel(se.b, 0.705)).toBeLessThan(0.03);
  });

  it('gives the published derived quantities', () => {
    const p = fit.params!;
    expect(conditionalExpectedPurchases(p, 39, 2, 30.43, 38.86)).toBeCloseTo(1.226, 3);
    // Hardie's spreadsheet values, 4 decimals. Eq. 7 and Σ n·P(X(t)=n) (eq. 8) agree to 1e-12 on
    // 1.85797 at t = 78 (see below), so the 1.8576 there is the spreadsheet's approximation.
    const ts = [0.1429, 1, 3, 31.8571, 32, 78];
    const want = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576];
    ts.forEach((t, i) => expect(Math.abs(expectedPurchases(p, t) - want[i])).toBeLessThan(5e-4));
  });

  it('P(X(t) = n) matches R BTYD', () => {
    expect(rel(probabilityOfPurchases(PUBLISHED, 39, 0), 0.5737864)).toBeLessThan(1e-6);
    expect(rel(probabilityOfPurchases(PUBLISHED, 2, 10), 1.07869e-7)).toBeLessThan(1e-5);
    const want = [0.0019995214, 0.0015170236, 0.001163315, 0.0009003148, 0.0007023638, 0.0005517902, 0.0004361913, 0.0003467171, 0.0002769613, 0.000222226];
    want.forEach((w, i) => expect(rel(probabilityOfPurchases(PUBLISHED, 30, 11 + i), w)).toBeLessThan(1e-6));
  });
});

describe('BG/NBD formulas agree with each other', () => {
  const cases: BgNbdParams[] = [
    PUBLISHED,
    { r: 0.243, alpha: 4.414, a: 1, b: 2.426 }, // removable singularity of eq. 7 at a = 1
    { r: 0.243, alpha: 4.414, a: 1 + 1e-9, b: 2.426 },
    { r: 2, alpha: 10, a: 0.3, b: 0.4 }, // a + b < 1
    { r: 1.5, alpha: 10, a: 4, b: 20 },
  ];
  it.each(cases)('E[X(t)] (eq. 7) = Σ n P(X(t) = n) (eq. 8) for %o', (p) => {
    for (const t of [0.5, 10, 78]) {
      let mean = 0;
      let total = 0;
      for (let n = 0; n < 500; n++) {
        const pr = probabilityOfPurchases(p, t, n);
        mean += n * pr;
        total += pr;
      }
      expect(total).toBeCloseTo(1, 9);
      expect(rel(expectedPurchases(p, t), mean)).toBeLessThan(1e-8);
    }
  });

  it('the Euler-transformed conditional expectation equals eq. 10 evaluated directly', () => {
    const p = PUBLISHED;
    for (const [x, tx, T, t] of [
      [0, 0, 38.86, 39],
      [2, 30.43, 38.86, 39],
      [5, 10, 30, 52],
      [12, 35, 36, 20],
    ]) {
      const z = t / (p.alpha + T + t);
      const f = hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1, z).value;
      const direct =
        ((p.a + p.b + x - 1) / (p.a - 1)) * (1 - Math.pow((p.alpha + T) / (p.alpha + T + t), p.r + x) * f) * pAlive(p, x, tx, T);
      expect(rel(conditionalExpectedPurchases(p, t, x, tx, T), direct)).toBeLessThan(1e-9);
    }
  });

  it('P(alive) is 1 without repeats and falls with time since the last purchase', () => {
    expect(pAlive(PUBLISHED, 0, 0, 30)).toBe(1);
    expect(pAlive(PUBLISHED, 3, 30, 31)).toBeGreaterThan(pAlive(PUBLISHED, 3, 10, 31));
    // hand computation: 1 / (1 + a/(b+x-1) ((α+T)/(α+t_x))^(r+x))
    const want = 1 / (1 + (0.793 / (2.426 + 1)) * Math.pow((4.414 + 38.86) / (4.414 + 30.43), 2.243));
    expect(pAlive(PUBLISHED, 2, 30.43, 38.86)).toBeCloseTo(want, 12);
  });
});

describe('BG/NBD parameter recovery on seeded simulations', () => {
  const truth: BgNbdParams = { r: 0.6, alpha: 5, a: 0.8, b: 3 };
  it.each([1, 2, 3, 4])('seed %i: estimates within 3 standard errors of the truth', (seed) => {
    const sim = simulateBtyd({ customers: 6000, seed, bgnbd: truth, minT: 20, maxT: 80 });
    const fit = fitBgNbd(sim.x, sim.tx, sim.T);
    expect(fit.status).toBe('ok');
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      const se = fit.stdErr![k];
      expect(se).toBeGreaterThan(0);
      expect(Math.abs(fit.params![k] - truth[k])).toBeLessThan(3 * se);
    }
  });

  it('large data take the warm-started path and still reach the optimum', () => {
    const sim = simulateBtyd({ customers: 60_000, seed: 9, bgnbd: truth, minT: 1 / 7, maxT: 52, grid: 1 / 7 });
    const fit = fitBgNbd(sim.x, sim.tx, sim.T);
    expect(fit.status).toBe('ok');
    expect(fit.uniqueTriples).toBeGreaterThan(20_000);
    expect(fit.gradientNorm!).toBeLessThan(1e-6);
    // a perturbed point is worse: the reported optimum is a maximum
    const p = fit.params!;
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      const q = { ...p, [k]: p[k] * 1.01 };
      expect(bgnbdLogLikelihood(q, sim.x, sim.tx, sim.T)).toBeLessThan(fit.logLikelihood!);
    }
  });
});

describe('BG/NBD edge cases: no NaN, no throw, a clear status', () => {
  const f64 = (...v: number[]) => Float64Array.from(v);
  const finiteOrNull = (v: number | null) => v === null || Number.isFinite(v);

  it('everyone with one purchase (x = 0) fails with a reason', () => {
    const fit = fitBgNbd(new Float64Array(100), new Float64Array(100), new Float64Array(100).fill(30));
    expect(fit.status).toBe('failed');
    expect(fit.reason).toMatch(/no repeat purchases/);
    expect(fit.params).toBeNull();
  });

  it('a single customer fails or warns, never NaN', () => {
    const fit = fitBgNbd(f64(3), f64(20), f64(30));
    expect(['failed', 'warning']).toContain(fit.status);
    expect(fit.reason).toBeTruthy();
    expect(finiteOrNull(fit.logLikelihood)).toBe(true);
  });

  it('no customers, all T = 0, invalid rows', () => {
    expect(fitBgNbd(f64(), f64(), f64()).status).toBe('failed');
    expect(fitBgNbd(f64(0, 0), f64(0, 0), f64(0, 0)).status).toBe('failed');
    const d = loadCdnow();
    const x = Float64Array.from([...d.x, NaN, 2, -1]);
    const tx = Float64Array.from([...d.tx, 1, 40, 0]);
    const T = Float64Array.from([...d.T, 10, 30, 10]);
    const fit = fitBgNbd(x, tx, T);
    expect(fit.invalidRows).toBe(3);
    expect(rel(fit.params!.r, 0.243)).toBeLessThan(0.005);
  });

  it('huge frequencies (x = 500) and T = 0 stay finite', () => {
    const d = loadCdnow();
    const x = Float64Array.from([...d.x, 500, 500, 0]);
    const tx = Float64Array.from([...d.tx, 38, 2, 0]);
    const T = Float64Array.from([...d.T, 38.5, 38.5, 0]);
    const fit = fitBgNbd(x, tx, T);
    expect(fit.status).not.toBe('failed');
    const p = fit.params!;
    for (const v of Object.values(p)) expect(Number.isFinite(v)).toBe(true);
    const pa = pAlive(PUBLISHED, 500, 2, 38.5);
    expect(pa).toBeGreaterThanOrEqual(0);
    expect(pa).toBeLessThan(1e-10);
    expect(pAlive(PUBLISHED, 500, 38.5, 38.5)).toBeGreaterThan(0.99);
    for (const [xx, ttx, TT] of [
      [500, 38.5, 38.5],
      [500, 2, 38.5],
      [0, 0, 0],
      [5000, 100, 100],
    ]) {
      const e = conditionalExpectedPurchases(PUBLISHED, 52, xx, ttx, TT);
      expect(Number.isFinite(e)).toBe(true);
      expect(e).toBeGreaterThanOrEqual(0);
    }
    // a customer with 500 purchases in 38.5 weeks, seen last week, buys about 13/week: ~ 52·13 in a year
    expect(conditionalExpectedPurchases(PUBLISHED, 52, 500, 38.5, 38.5)).toBeGreaterThan(400);
  });
});
