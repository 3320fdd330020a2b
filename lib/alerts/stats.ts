/**
 * The statistics behind the value-loss warnings: normal and Student-t tails, the tests each
 * detector uses, and the Benjamini-Hochberg correction over every test of a run. Pure
 * functions, no dependencies; each formula names its source. All tests are one-sided for a
 * DECLINE (only losses are alerted): the p-value is P(statistic <= observed | no change).
 */

/**
 * Complementary error function, erfc(x) = 2/sqrt(pi) * int_x^inf exp(-t^2) dt.
 * Chebyshev-fitted approximation with fractional error < 1.2e-7 everywhere (so tails keep
 * their relative accuracy, unlike 1 - erf(x)):
 *   t = 1 / (1 + z/2), erfc(z) = t exp(-z^2 - 1.26551223 + t(1.00002368 + ... )), z >= 0;
 *   erfc(-z) = 2 - erfc(z).
 * Source: Press, Teukolsky, Vetterling, Flannery, Numerical Recipes in C (2nd ed.), sec. 6.2, erfcc.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal CDF, Phi(z) = erfc(-z / sqrt 2) / 2 (Abramowitz & Stegun 26.2.29). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/**
 * ln Gamma(x), x > 0: Lanczos approximation (g = 5, 6 terms), error < 2e-10.
 * Source: Numerical Recipes in C (2nd ed.), sec. 6.1, gammln.
 */
export function lnGamma(x: number): number {
  const cof = [76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5];
  let y = x;
  const tmp0 = x + 5.5;
  const tmp = tmp0 - (x + 0.5) * Math.log(tmp0);
  let ser = 1.000000000190015;
  for (const c of cof) ser += c / ++y;
  return -tmp + Math.log((2.5066282746310005 * ser) / x);
}

/**
 * Regularized incomplete beta I_x(a, b) by its continued fraction (modified Lentz),
 * using the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) where the fraction converges slowly.
 * Source: Numerical Recipes in C (2nd ed.), sec. 6.4, betai / betacf.
 */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 3e-14) break;
  }
  return h;
}

/**
 * Student-t CDF with df degrees of freedom: P(T <= t) = 1 - I_x(df/2, 1/2) / 2 for t >= 0,
 * I_x(df/2, 1/2) / 2 for t < 0, where x = df / (df + t^2).
 * Source: Abramowitz & Stegun 26.7.1 with 26.5.27; Numerical Recipes sec. 6.4.
 */
export function studentTCdf(t: number, df: number): number {
  if (!Number.isFinite(t)) return t > 0 ? 1 : 0;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Outcome of a one-sided test for a decline. */
export interface TestResult {
  /** The test statistic (z or t); negative means current < baseline. */
  statistic: number;
  /** Degrees of freedom of a t statistic; null for z. */
  df: number | null;
  /** One-sided p-value for a decline, P(stat <= observed). */
  p: number;
  /** Human-readable name of the test for the `test` column. */
  name: string;
}

export interface BinomialCount {
  /** Successes (retained customers). */
  x: number;
  /** Trials (customers). */
  n: number;
}

/**
 * Pooled two-proportion z-test, one-sided for p2 < p1:
 *   p = (x1 + x2) / (n1 + n2), z = (p2_hat - p1_hat) / sqrt(p (1 - p) (1/n1 + 1/n2)), p-value = Phi(z).
 * Source: Agresti, Categorical Data Analysis (3rd ed.), sec. 3.1 / any intro text.
 * Assumes every customer is an independent Bernoulli draw of ONE rate: it ignores
 * cohort-to-cohort variation, so on real cohorts it cries wolf (see test/alerts.sim.test.ts);
 * kept as the reference the detectors are measured against.
 */
export function twoProportionZTest(baseline: BinomialCount, current: BinomialCount): TestResult {
  const name = 'two-proportion z-test (pooled, one-sided)';
  if (baseline.n <= 0 || current.n <= 0) return { statistic: 0, df: null, p: 1, name };
  const p = (baseline.x + current.x) / (baseline.n + current.n);
  const se = Math.sqrt(p * (1 - p) * (1 / baseline.n + 1 / current.n));
  if (!(se > 0)) return { statistic: 0, df: null, p: 1, name };
  const z = (current.x / current.n - baseline.x / baseline.n) / se;
  return { statistic: z, df: null, p: normalCdf(z), name };
}

/** Result of the grouped-proportion test: the weighted rates of both groups as well. */
export interface GroupedProportionResult extends TestResult {
  /** Between-group (cohort-to-cohort) variance of the true rate, tau^2, method of moments. */
  tau2: number;
  /** Random-effects weighted mean rate of the baseline and current groups. */
  baselineRate: number;
  currentRate: number;
}

/**
 * Decline of a rate measured on several units per side (cohorts, periods), allowing the true
 * rate to vary from unit to unit (overdispersion, as in a beta-binomial):
 *
 *   model      p_i = mu_g(i) + u_i + e_i, u_i ~ (0, tau^2) unit noise, e_i ~ (0, v_i) binomial,
 *              v_i = pbar (1 - pbar) / n_i with pbar the pooled rate (under H0 all units share mu).
 *   tau^2      DerSimonian-Laird method of moments for a two-group meta-regression:
 *              Q = sum (p_i - mu_g^FE)^2 / v_i, tau^2 = max(0, (Q - (k - 2)) / sum_g (W_g - sum w_i^2 / W_g)).
 *   estimate   mu_g = sum w_i p_i / W_g with w_i = 1 / (v_i + tau^2); d = mu_cur - mu_base.
 *   SE         Knapp-Hartung: s^2 = sum w_i (p_i - mu_g(i))^2 / (k - 2), floored at 1 (the
 *              "modified" KH, never narrower than the model variance), SE = sqrt(s^2 (1/W_cur + 1/W_base)).
 *   p-value    T = d / SE ~ t with k - 2 df (one-sided, lower tail).
 * Sources: DerSimonian & Laird (1986) Control Clin Trials 7:177; Knapp & Hartung (2003)
 * Stat Med 22:2693; Roever et al. (2015) BMC Med Res Methodol 15:99 (the floor at 1).
 * The t reference with k - 2 df pays for estimating tau^2 from few units; a plain pooled
 * z-test treats all customers as one binomial and is far too sure when cohorts differ.
 */
export function groupedProportionTest(baseline: BinomialCount[], current: BinomialCount[]): GroupedProportionResult {
  const name = 'random-effects (beta-binomial-like) t-test, Knapp-Hartung, one-sided';
  const units = [...baseline.map((u) => ({ ...u, g: 0 })), ...current.map((u) => ({ ...u, g: 1 }))].filter((u) => u.n > 0);
  const k = units.length;
  const xs = [0, 0];
  const ns = [0, 0];
  for (const u of units) {
    xs[u.g] += u.x;
    ns[u.g] += u.n;
  }
  const raw = [ns[0] > 0 ? xs[0] / ns[0] : 0, ns[1] > 0 ? xs[1] / ns[1] : 0];
  const pbar = (xs[0] + xs[1]) / (ns[0] + ns[1] || 1);
  const none: GroupedProportionResult = { statistic: 0, df: null, p: 1, name, tau2: 0, baselineRate: raw[0], currentRate: raw[1] };
  const nBase = units.filter((u) => u.g === 0).length;
  if (k - nBase < 1 || nBase < 2 || k < 4 || !(pbar > 0 && pbar < 1)) return none;
  const p = units.map((u) => u.x / u.n);
  const v = units.map((u) => (pbar * (1 - pbar)) / u.n);

  const groupMeans = (w: number[]): { mu: number[]; W: number[]; W2: number[] } => {
    const sw = [0, 0];
    const swp = [0, 0];
    const sw2 = [0, 0];
    units.forEach((u, i) => {
      sw[u.g] += w[i];
      swp[u.g] += w[i] * p[i];
      sw2[u.g] += w[i] * w[i];
    });
    return { mu: [swp[0] / sw[0], swp[1] / sw[1]], W: sw, W2: sw2 };
  };

  const wFixed = v.map((vi) => 1 / vi);
  const fe = groupMeans(wFixed);
  let q = 0;
  units.forEach((u, i) => (q += wFixed[i] * (p[i] - fe.mu[u.g]) ** 2));
  const denom = fe.W[0] - fe.W2[0] / fe.W[0] + fe.W[1] - fe.W2[1] / fe.W[1];
  const tau2 = denom > 0 ? Math.max(0, (q - (k - 2)) / denom) : 0;

  const w = v.map((vi) => 1 / (vi + tau2));
  const re = groupMeans(w);
  let ss = 0;
  units.forEach((u, i) => (ss += w[i] * (p[i] - re.mu[u.g]) ** 2));
  const s2 = Math.max(1, ss / (k - 2));
  const se = Math.sqrt(s2 * (1 / re.W[0] + 1 / re.W[1]));
  const d = re.mu[1] - re.mu[0];
  if (!(se > 0)) return none;
  const t = d / se;
  return { statistic: t, df: k - 2, p: studentTCdf(t, k - 2), name, tau2, baselineRate: re.mu[0], currentRate: re.mu[1] };
}

/**
 * Two-sample t-test with pooled variance, one-sided for mean(current) < mean(baseline):
 *   s^2 = (sum (x - xbar)^2 + sum (y - ybar)^2) / (n1 + n2 - 2),
 *   t = (ybar - xbar) / (s sqrt(1/n1 + 1/n2)), df = n1 + n2 - 2.
 * Source: Student (1908); e.g. NIST/SEMATECH e-Handbook of Statistical Methods, 1.3.5.3.
 * Pooled (not Welch) because the current side has only a few periods: its own variance
 * would be a poor estimate, and under "no change" both sides share one noise level.
 */
export function pooledTTest(baseline: number[], current: number[]): TestResult {
  const name = 'two-sample t-test (pooled variance, one-sided)';
  const n1 = baseline.length;
  const n2 = current.length;
  if (n1 < 2 || n2 < 1) return { statistic: 0, df: null, p: 1, name };
  const m1 = mean(baseline);
  const m2 = mean(current);
  const ss = baseline.reduce((s, x) => s + (x - m1) ** 2, 0) + current.reduce((s, y) => s + (y - m2) ** 2, 0);
  const df = n1 + n2 - 2;
  const se = Math.sqrt((ss / df) * (1 / n1 + 1 / n2));
  if (!(se > 0)) return { statistic: 0, df, p: m2 < m1 ? 0 : 1, name };
  const t = (m2 - m1) / se;
  return { statistic: t, df, p: studentTCdf(t, df), name };
}

/**
 * One-sample t-test that mean(x) < mu0 with an external variance estimate s^2 on dfS degrees
 * of freedom: t = (xbar - mu0) / (s / sqrt(n)), df = dfS. Used for year-over-year log ratios
 * whose noise is measured on earlier periods. Source: as pooledTTest (a t statistic is a normal
 * over an independent chi-square / df, whichever sample the chi-square comes from).
 */
export function externalVarianceTTest(x: number[], mu0: number, s2: number, dfS: number, lag1 = 0): TestResult {
  const name = 'year-over-year t-test on log revenue ratios (one-sided)';
  if (x.length < 1 || dfS < 1 || !(s2 > 0)) return { statistic: 0, df: null, p: 1, name };
  const t = (mean(x) - mu0) / Math.sqrt((s2 / x.length) * ar1VarianceFactor(x.length, lag1));
  return { statistic: t, df: dfS, p: studentTCdf(t, dfS), name };
}

/**
 * Variance of the mean of n consecutive values of an AR(1) series with lag-1 autocorrelation
 * phi, relative to n independent ones: 1 + 2 sum_{j=1}^{n-1} (1 - j/n) phi^j.
 * Source: e.g. Box, Jenkins & Reinsel, Time Series Analysis, the variance of a sample mean.
 * Consecutive periods' revenue is autocorrelated (the active base moves slowly), so a block
 * of recent periods is worth fewer than n independent ones; phi < 0 is taken as 0.
 */
export function ar1VarianceFactor(n: number, phi: number): number {
  const r = Math.min(0.95, Math.max(0, Number.isFinite(phi) ? phi : 0));
  let f = 1;
  for (let j = 1; j < n; j++) f += 2 * (1 - j / n) * r ** j;
  return f;
}

/** Lag-1 sample autocorrelation, sum (x_t - m)(x_{t+1} - m) / sum (x_t - m)^2; 0 if undefined. */
export function lag1Autocorrelation(x: number[]): number {
  if (x.length < 3) return 0;
  const m = mean(x);
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    den += (x[i] - m) ** 2;
    if (i + 1 < x.length) num += (x[i] - m) * (x[i + 1] - m);
  }
  return den > 0 ? num / den : 0;
}

/**
 * Benjamini-Hochberg adjusted p-values (q-values) for a family of m tests:
 *   q_(i) = min over j >= i of min(1, m p_(j) / j), with p_(1) <= ... <= p_(m);
 * rejecting every q <= alpha controls the false discovery rate at alpha (and, when no
 * effect is real, the chance of any rejection at alpha). Returned in the input order.
 * Source: Benjamini & Hochberg (1995) JRSS-B 57:289; same as R's p.adjust(method = "BH").
 */
export function benjaminiHochberg(p: number[]): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[b] - p[a]);
  const q = new Array<number>(m);
  let running = 1;
  order.forEach((idx, k) => {
    const rank = m - k;
    running = Math.min(running, (p[idx] * m) / rank);
    q[idx] = Math.min(1, running);
  });
  return q;
}

export function mean(x: number[]): number {
  return x.length ? x.reduce((s, v) => s + v, 0) / x.length : 0;
}

export function sampleVariance(x: number[]): number {
  if (x.length < 2) return 0;
  const m = mean(x);
  return x.reduce((s, v) => s + (v - m) ** 2, 0) / (x.length - 1);
}

/**
 * Variance of the contrast mean(current) - mean(baseline) of n + m consecutive values of an
 * AR(1) series with unit marginal variance and lag-1 autocorrelation phi (>= 0):
 *   Var(a'y) = sum_i sum_j a_i a_j phi^|i-j|, a = (-1/n, ..., -1/n, 1/m, ..., 1/m).
 * Relative to independent values (phi = 0: 1/n + 1/m). Source: the AR(1) autocovariance
 * gamma(h) = sigma^2 phi^|h| (Box, Jenkins & Reinsel, Time Series Analysis, sec. 3.2.1).
 */
export function ar1ContrastVariance(n: number, m: number, phi: number): number {
  const r = Math.min(0.95, Math.max(0, Number.isFinite(phi) ? phi : 0));
  const a = [...new Array<number>(n).fill(-1 / n), ...new Array<number>(m).fill(1 / m)];
  let v = 0;
  for (let i = 0; i < a.length; i++) for (let j = 0; j < a.length; j++) v += a[i] * a[j] * r ** Math.abs(i - j);
  return v;
}

/**
 * Are the recent values below what the baseline's own linear trend predicts for them?
 * One-sided t-test of a regression prediction for the mean of m future points:
 *   fit y_i = a + b x_i on the n baseline points (x = 0..n-1); s^2 = RSS / (n - 2);
 *   predict the mean at x = n..n+m-1, yhat = a + b xbar_c;
 *   SE^2 = s^2 (1/m + 1/n + (xbar_c - xbar)^2 / Sxx) x ar1ContrastVariance(n, m, phi) / (1/n + 1/m),
 *   t = (mean(current) - yhat) / SE ~ t(n - 2), phi = lag-1 autocorrelation of the residuals.
 * Source: the prediction interval of a simple linear regression (e.g. Draper & Smith, Applied
 * Regression Analysis, 3rd ed., sec. 3.1), with the AR(1) inflation of the contrast above.
 * Why a trend: a segment's revenue share drifts while the customer base matures (tiers churn at
 * different speeds), so a flat baseline reads that drift as a drop; measured on generated
 * control exports the flat test gave 3x the nominal rate of p < 1e-3, this one about nominal.
 */
export function trendPredictionTest(baseline: number[], current: number[]): TestResult {
  const name = 'trend-adjusted t-test (baseline linear trend, AR(1) residuals, one-sided)';
  const n = baseline.length;
  const m = current.length;
  if (n < 4 || m < 1) return { statistic: 0, df: null, p: 1, name };
  const xm = (n - 1) / 2;
  const ym = mean(baseline);
  let sxx = 0;
  let sxy = 0;
  baseline.forEach((y, i) => {
    sxx += (i - xm) ** 2;
    sxy += (i - xm) * (y - ym);
  });
  const b = sxy / sxx;
  const resid = baseline.map((y, i) => y - ym - b * (i - xm));
  const s2 = resid.reduce((s, e) => s + e * e, 0) / (n - 2);
  const xc = n + (m - 1) / 2 - xm;
  const yhat = ym + b * xc;
  const inflation = ar1ContrastVariance(n, m, lag1Autocorrelation(resid)) / (1 / n + 1 / m);
  const se = Math.sqrt(s2 * (1 / m + 1 / n + (xc * xc) / sxx) * inflation);
  const df = n - 2;
  if (!(se > 0)) return { statistic: 0, df, p: mean(current) < yhat ? 0 : 1, name };
  const t = (mean(current) - yhat) / se;
  return { statistic: t, df, p: studentTCdf(t, df), name };
}
