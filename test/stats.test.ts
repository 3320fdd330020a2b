/**
 * lib/alerts/stats.ts against reference values computed elsewhere (SciPy 1.17: scipy.stats /
 * scipy.special, and an independent matrix-form implementation of the random-effects test in
 * NumPy), and against the worked example of Benjamini & Hochberg (1995).
 */
import { describe, expect, it } from 'vitest';
import {
  ar1ContrastVariance,
  trendPredictionTest,
  benjaminiHochberg,
  erfc,
  groupedProportionTest,
  incompleteBeta,
  lnGamma,
  normalCdf,
  pooledTTest,
  studentTCdf,
  twoProportionZTest,
  externalVarianceTTest,
} from '../lib/alerts/stats.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('normal distribution', () => {
  it('erfc matches scipy.special.erfc to 1.2e-7 relative', () => {
    const ref: [number, number][] = [
      [0.1, 0.8875370839817152],
      [0.5, 0.4795001221869535],
      [1.0, 0.15729920705028516],
      [2.0, 0.004677734981047266],
      [3.5, 7.430983723414129e-7],
    ];
    for (const [x, v] of ref) {
      expect(rel(erfc(x), v)).toBeLessThan(1.2e-7);
      expect(Math.abs(erfc(-x) - (2 - v))).toBeLessThan(1e-7);
    }
  });

  it('Phi(z) matches known z/p pairs, tails included', () => {
    const ref: [number, number][] = [
      [-6.0, 9.865876450376946e-10],
      [-3.0, 0.0013498980316300933],
      [-1.959963985, 0.025],
      [-1.644853627, 0.05],
      [-0.5, 0.3085375387259869],
      [0, 0.5],
      [1.0, 0.8413447460685429],
      [2.5, 0.9937903346742238],
    ];
    for (const [z, p] of ref) expect(rel(normalCdf(z), p)).toBeLessThan(2e-7);
  });
});

describe('gamma, beta and Student t', () => {
  it('lnGamma matches scipy.special.gammaln', () => {
    expect(lnGamma(0.5)).toBeCloseTo(0.5723649429247, 9); // ln sqrt(pi)
    expect(lnGamma(10.3)).toBeCloseTo(13.482036786138359, 9);
  });

  it('incomplete beta matches scipy.special.betainc', () => {
    expect(incompleteBeta(0.4, 2.5, 3.5)).toBeCloseTo(0.4869041915261176, 9);
    expect(incompleteBeta(0.9, 0.5, 7)).toBeCloseTo(0.9999999780702157, 12);
    expect(incompleteBeta(0, 2, 3)).toBe(0);
    expect(incompleteBeta(1, 2, 3)).toBe(1);
  });

  it('t CDF matches scipy.stats.t.cdf', () => {
    const ref: [number, number, number][] = [
      [-2.0, 10, 0.03669401738537018],
      [-1.5, 4, 0.104],
      [0.7, 13, 0.7518680629764614],
      [-3.2, 2, 0.04267043961997642],
      [-2.5, 30, 0.009057824534033344],
      [1.8, 1, 0.8385855327829047],
    ];
    for (const [t, df, p] of ref) expect(rel(studentTCdf(t, df), p)).toBeLessThan(1e-8);
  });
});

describe('tests for a decline', () => {
  it('pooled two-proportion z-test: 31.0% of 1000 -> 26.5% of 1000', () => {
    const r = twoProportionZTest({ x: 310, n: 1000 }, { x: 265, n: 1000 });
    expect(r.statistic).toBeCloseTo(-2.2232390249394522, 9);
    expect(rel(r.p, 0.01309984332554019)).toBeLessThan(1e-6);
    // a rise is never a decline
    expect(twoProportionZTest({ x: 265, n: 1000 }, { x: 310, n: 1000 }).p).toBeGreaterThan(0.98);
  });

  it('pooled t-test matches scipy.stats.ttest_ind(equal_var=True, alternative="less")', () => {
    const r = pooledTTest([10, 12, 9, 11, 13, 10, 12], [8, 9, 10]);
    expect(r.statistic).toBeCloseTo(-2.1908902300206647, 9);
    expect(r.df).toBe(8);
    expect(rel(r.p, 0.029918937759643074)).toBeLessThan(1e-7);
  });

  it('external-variance t: t = (mean - mu0) / sqrt(s2/n) on the given df', () => {
    const r = externalVarianceTTest([-0.1, -0.2, -0.15], 0, 0.01, 10);
    expect(r.statistic).toBeCloseTo(-0.15 / Math.sqrt(0.01 / 3), 12);
    expect(rel(r.p, studentTCdf(r.statistic, 10))).toBeLessThan(1e-12);
  });

  it('random-effects proportion test matches an independent NumPy matrix implementation', () => {
    const base = [
      { x: 30, n: 100 },
      { x: 45, n: 120 },
      { x: 28, n: 110 },
      { x: 40, n: 105 },
      { x: 33, n: 98 },
    ];
    const cur = [
      { x: 20, n: 100 },
      { x: 25, n: 95 },
    ];
    const r = groupedProportionTest(base, cur);
    expect(r.tau2).toBeCloseTo(0.0007138874588071509, 12);
    expect(r.baselineRate).toBeCloseTo(0.32998377, 7);
    expect(r.currentRate).toBeCloseTo(0.23096969, 7);
    expect(r.statistic).toBeCloseTo(-2.2244442279886676, 9);
    expect(r.df).toBe(5);
    expect(rel(r.p, 0.03834928901360718)).toBeLessThan(1e-7);
  });

  it('random-effects test is less sure than the pooled z-test when cohorts differ', () => {
    const base = [0.2, 0.35, 0.25, 0.4, 0.3, 0.22, 0.38, 0.28].map((p) => ({ x: Math.round(p * 500), n: 500 }));
    const cur = [0.24, 0.26, 0.25].map((p) => ({ x: Math.round(p * 500), n: 500 }));
    const pooled = twoProportionZTest(
      { x: base.reduce((s, u) => s + u.x, 0), n: base.reduce((s, u) => s + u.n, 0) },
      { x: cur.reduce((s, u) => s + u.x, 0), n: cur.reduce((s, u) => s + u.n, 0) },
    );
    const re = groupedProportionTest(base, cur);
    expect(pooled.p).toBeLessThan(0.01);
    expect(re.p).toBeGreaterThan(0.05);
    expect(re.tau2).toBeGreaterThan(0);
  });

  it('degenerate inputs give p = 1, never NaN', () => {
    expect(groupedProportionTest([], []).p).toBe(1);
    expect(groupedProportionTest([{ x: 0, n: 10 }, { x: 0, n: 10 }, { x: 0, n: 5 }], [{ x: 0, n: 10 }]).p).toBe(1);
    expect(pooledTTest([1], [0]).p).toBe(1);
    expect(twoProportionZTest({ x: 0, n: 0 }, { x: 0, n: 0 }).p).toBe(1);
  });
});

describe('Benjamini-Hochberg', () => {
  it('reproduces the 15-test worked example of Benjamini & Hochberg (1995), in input order', () => {
    // p-values of the paper's example (sec. 3.2), first one moved to show order is kept;
    // adjusted values from scipy.stats.false_discovery_control(method="bh").
    const p = [0.0201, 0.0001, 0.0004, 0.0019, 0.0095, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1.0];
    const ref = [
      0.0603, 0.0015, 0.003, 0.0095, 0.035625, 0.06385714285714286, 0.06385714285714286, 0.0645, 0.0765, 0.486, 0.5811818181818181,
      0.7148749999999999, 0.7532307692307693, 0.8132142857142857, 1.0,
    ];
    const q = benjaminiHochberg(p);
    q.forEach((v, i) => expect(v).toBeCloseTo(ref[i], 12));
    // the paper rejects the four smallest at 0.05
    expect(q.filter((v) => v <= 0.05).length).toBe(4);
  });

  it('q >= p, monotone in p, and empty input is fine', () => {
    const p = [0.5, 0.01, 0.03, 0.02, 0.9];
    const q = benjaminiHochberg(p);
    p.forEach((v, i) => expect(q[i]).toBeGreaterThanOrEqual(v));
    const byP = p.map((v, i) => [v, q[i]]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < byP.length; i++) expect(byP[i][1]).toBeGreaterThanOrEqual(byP[i - 1][1]);
    expect(benjaminiHochberg([])).toEqual([]);
  });
});

describe('ar1ContrastVariance and trendPredictionTest', () => {
  it('reduces to 1/n + 1/m without autocorrelation; by hand for n = m = 1', () => {
    expect(ar1ContrastVariance(12, 3, 0)).toBeCloseTo(1 / 12 + 1 / 3, 12);
    expect(ar1ContrastVariance(12, 3, -0.4)).toBeCloseTo(1 / 12 + 1 / 3, 12); // negative phi taken as 0
    // Var(y2 - y1) = 2 - 2 phi
    expect(ar1ContrastVariance(1, 1, 0.5)).toBeCloseTo(1, 12);
    expect(ar1ContrastVariance(12, 3, 0.5)).toBeGreaterThan(1 / 12 + 1 / 3);
  });

  it('a straight line continued exactly is no decline; a drop below it is, by hand', () => {
    // baseline y = i + e_i with residuals (+1, -1, -1, +1): b = 1 (symmetric residuals), s^2 = 4 / 2 = 2
    const base = [1, -1 + 1, -1 + 2, 1 + 3];
    expect(trendPredictionTest(base, [4, 5]).p).toBeCloseTo(0.5, 12);
    // residuals' lag-1 autocorrelation: (-1 + 1 - 1) / 4 = -0.25 -> no inflation.
    // current [2] at x = 4: yhat = 1.5 + 1 x 2.5 = 4 ; SE^2 = 2 (1 + 1/4 + 6.25/5) = 5; t = -2 / sqrt 5, df 2
    const r = trendPredictionTest(base, [2]);
    expect(r.statistic).toBeCloseTo(-2 / Math.sqrt(5), 12);
    expect(r.df).toBe(2);
    expect(r.p).toBeCloseTo(studentTCdf(-2 / Math.sqrt(5), 2), 12);
  });
});
