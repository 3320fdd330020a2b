/**
 * BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way: An Alternative
 * to the Pareto/NBD Model", Marketing Science 24(2), 275-284; equation numbers refer to it).
 *
 * While active, a customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase she drops out
 * with probability p ~ Beta(a, b). Per customer: x repeat purchases, the last at t_x, observed
 * over (0, T], all in the model's time unit.
 */
import { groupRows, distinctIndex } from './compress.js';
import { digamma, expm1Ratio, lbeta, lgamma, logNbdCoef } from './special.js';
import { hessianFromGradient, invertSpd, minimizeWarmStarted, type Objective } from './optimize.js';

export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

export type FitStatus = 'ok' | 'warning' | 'failed';

export interface BgNbdFit {
  /** null when the fit failed (no usable estimate). */
  params: BgNbdParams | null;
  logLikelihood: number | null;
  converged: boolean;
  iterations: number;
  stdErr: BgNbdParams | null;
  status: FitStatus;
  reason?: string;
  /** Customers used in the fit (valid rows). */
  customers: number;
  /** Rows rejected as not a valid summary (non-finite, negative, t_x > T). */
  invalidRows: number;
  /** Distinct (x, t_x, T) triples the likelihood was evaluated on. */
  uniqueTriples: number;
  /** max |∂(-LL/n)/∂ log θ| at the estimate. */
  gradientNorm: number | null;
}

/** A summary row the model can take: finite, 0 ≤ t_x ≤ T, x ≥ 0. t_x is ignored when x = 0. */
export function isValidSummary(x: number, tx: number, T: number): boolean {
  return Number.isFinite(x) && Number.isFinite(tx) && Number.isFinite(T) && x >= 0 && T >= 0 && (x === 0 || (tx >= 0 && tx <= T));
}

interface Compressed {
  x: Float64Array;
  w: Float64Array;
  /** index of each distinct triple's x among xValues (likewise T, t_x) */
  xi: Int32Array;
  xValues: Float64Array;
  Ti: Int32Array;
  TValues: Float64Array;
  txi: Int32Array;
  txValues: Float64Array;
  totalWeight: number;
  invalid: number;
}

/** Valid rows (every `stride`-th of them when stride > 1), grouped into weighted distinct triples. */
function compress(x: Float64Array, tx: Float64Array, T: Float64Array, stride = 1): Compressed {
  const n = x.length;
  const cx = new Float64Array(n);
  const ctx = new Float64Array(n);
  const cT = new Float64Array(n);
  let m = 0;
  let seen = 0;
  for (let i = 0; i < n; i++) {
    if (!isValidSummary(x[i], tx[i], T[i])) continue;
    if (seen++ % stride !== 0) continue;
    cx[m] = x[i];
    ctx[m] = x[i] === 0 ? 0 : tx[i];
    cT[m] = T[i];
    m++;
  }
  const g = groupRows([cx.subarray(0, m), ctx.subarray(0, m), cT.subarray(0, m)]);
  const dx = distinctIndex(g.columns[0]);
  const dtx = distinctIndex(g.columns[1]);
  const dT = distinctIndex(g.columns[2]);
  return {
    x: g.columns[0],
    w: g.weight,
    xi: dx.index,
    xValues: dx.values,
    Ti: dT.index,
    TValues: dT.values,
    txi: dtx.index,
    txValues: dtx.values,
    totalWeight: m,
    invalid: stride === 1 ? n - m : 0,
  };
}

/**
 * Log-likelihood (eq. 6), with every constant, summed over the compressed rows; writes
 * ∂LL/∂(r, α, a, b) into grad when given. Per customer:
 *   L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
 *     + 1{x>0} B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)),
 * evaluated as log-sum-exp of the two terms. Terms that depend on x only are computed once per
 * distinct x, so the per-row work is two logs and one exp.
 */
function logLikCompressed(p: BgNbdParams, c: Compressed, grad: Float64Array | null): number {
  const { r, alpha, a, b } = p;
  const K = c.xValues.length;
  const c1 = new Float64Array(K);
  const c2 = new Float64Array(K);
  const c3 = new Float64Array(K);
  const lgr = lgamma(r);
  const lgb = lgamma(b);
  const lgab = lgamma(a + b);
  const la = Math.log(alpha);
  const lna = Math.log(a);
  for (let k = 0; k < K; k++) {
    const xv = c.xValues[k];
    c1[k] = lgamma(r + xv) - lgr + r * la;
    const betaTail = lgab - lgamma(a + b + xv);
    c2[k] = lgamma(b + xv) - lgb + betaTail;
    c3[k] = xv > 0 ? lna + lgamma(b + xv - 1) - lgb + betaTail : -Infinity;
  }
  // ln(α+T), ln(α+t_x) and their reciprocals per distinct value: T and t_x live on a day grid.
  const nT = c.TValues.length;
  const lnT = new Float64Array(nT);
  const invT = new Float64Array(nT);
  for (let k = 0; k < nT; k++) {
    lnT[k] = Math.log(alpha + c.TValues[k]);
    invT[k] = 1 / (alpha + c.TValues[k]);
  }
  const nTx = c.txValues.length;
  const lnTx = new Float64Array(nTx);
  const invTx = new Float64Array(nTx);
  for (let k = 0; k < nTx; k++) {
    lnTx[k] = Math.log(alpha + c.txValues[k]);
    invTx[k] = 1 / (alpha + c.txValues[k]);
  }
  // Per distinct x: Σw, Σw·s2, Σw·s3 (s = posterior weights of the two terms) for the gradient.
  const W = grad ? new Float64Array(K) : null;
  const W2 = grad ? new Float64Array(K) : null;
  const W3 = grad ? new Float64Array(K) : null;
  let ll = 0;
  let dr = 0;
  let dAlpha = 0;
  const n = c.x.length;
  for (let i = 0; i < n; i++) {
    const k = c.xi[i];
    const x = c.x[i];
    const w = c.w[i];
    const rx = r + x;
    const ti = c.Ti[i];
    const lT = lnT[ti];
    const A2 = c2[k] - rx * lT;
    if (x > 0) {
      const tj = c.txi[i];
      const ltx = lnTx[tj];
      const A3 = c3[k] - rx * ltx;
      // log(e^A2 + e^A3) = max + log1p(e^-(|A2 - A3|))
      const diff = A3 - A2;
      const e = Math.exp(-Math.abs(diff));
      const s3 = diff > 0 ? 1 / (1 + e) : e / (1 + e);
      ll += w * (c1[k] + (diff > 0 ? A3 : A2) + Math.log1p(e));
      if (grad) {
        const s2 = 1 - s3;
        dr -= w * (s2 * lT + s3 * ltx);
        dAlpha -= w * rx * (s2 * invT[ti] + s3 * invTx[tj]);
        W![k] += w;
        W2![k] += w * s2;
        W3![k] += w * s3;
      }
    } else {
      ll += w * (c1[k] + A2);
      if (grad) {
        dr -= w * lT;
        dAlpha -= w * rx * invT[ti];
        W![k] += w;
        W2![k] += w;
      }
    }
  }
  if (grad) {
    const psr = digamma(r);
    const psb = digamma(b);
    const psab = digamma(a + b);
    let da = 0;
    let db = 0;
    for (let k = 0; k < K; k++) {
      const xv = c.xValues[k];
      dr += W![k] * (digamma(r + xv) - psr + la);
      dAlpha += W![k] * (r / alpha);
      const tail = psab - digamma(a + b + xv);
      da += W2![k] * tail;
      db += W2![k] * (digamma(b + xv) - psb + tail);
      if (xv > 0 && W3![k] > 0) {
        da += W3![k] * (1 / a + tail);
        db += W3![k] * (digamma(b + xv - 1) - psb + tail);
      }
    }
    grad[0] = dr;
    grad[1] = dAlpha;
    grad[2] = da;
    grad[3] = db;
  }
  return ll;
}

/** Total log-likelihood (eq. 6, all constants included) of the given customers. */
export function bgnbdLogLikelihood(p: BgNbdParams, x: Float64Array, tx: Float64Array, T: Float64Array): number {
  return logLikCompressed(p, compress(x, tx, T), null);
}

/** Log-parameters beyond ±LOG_BOUND are treated as divergence (θ → 0 or ∞): the data do not identify the model. */
const LOG_WALL = 25;
const LOG_BOUND = 15;

const toParams = (u: ArrayLike<number>): BgNbdParams => ({ r: Math.exp(u[0]), alpha: Math.exp(u[1]), a: Math.exp(u[2]), b: Math.exp(u[3]) });

/** Above this many distinct triples the fit is warm-started on about WARM_START_CUSTOMERS customers. */
const WARM_START_TRIPLES = 20_000;
const WARM_START_CUSTOMERS = 30_000;

/** Mean negative log-likelihood in log-parameters u = ln θ, gradient by the chain rule ∂/∂u = θ ∂/∂θ. */
function makeObjective(c: Compressed): Objective {
  const scale = 1 / c.totalWeight;
  const gNat = new Float64Array(4);
  return (u, g) => {
    for (let i = 0; i < 4; i++) if (!(Math.abs(u[i]) < LOG_WALL)) return Infinity;
    const p = toParams(u);
    const ll = logLikCompressed(p, c, g ? gNat : null);
    if (!Number.isFinite(ll)) return Infinity;
    if (g) {
      g[0] = -gNat[0] * p.r * scale;
      g[1] = -gNat[1] * p.alpha * scale;
      g[2] = -gNat[2] * p.a * scale;
      g[3] = -gNat[3] * p.b * scale;
    }
    return -ll * scale;
  };
}

/** Maximum-likelihood fit of (r, α, a, b), in log-parameter space, on weighted distinct triples. */
export function fitBgNbd(x: Float64Array, tx: Float64Array, T: Float64Array): BgNbdFit {
  if (x.length !== tx.length || x.length !== T.length) throw new RangeError('fitBgNbd: x, tx and T must have the same length');
  const c = compress(x, tx, T);
  const base = { customers: c.totalWeight, invalidRows: c.invalid, uniqueTriples: c.x.length };
  const { x: cx, w: cw } = c;
  const fail = (reason: string, extra: Partial<BgNbdFit> = {}): BgNbdFit => ({
    params: null,
    logLikelihood: null,
    converged: false,
    iterations: 0,
    stdErr: null,
    status: 'failed',
    reason,
    gradientNorm: null,
    ...base,
    ...extra,
  });
  if (c.totalWeight === 0) return fail('no customers with a valid summary (frequency, recency, T)');
  let repeat = 0;
  let sumT = 0;
  for (let i = 0; i < cx.length; i++) {
    repeat += cw[i] * cx[i];
    sumT += cw[i] * c.TValues[c.Ti[i]];
  }
  if (repeat === 0) return fail('no repeat purchases in the calibration period: BG/NBD parameters are not identifiable');
  if (sumT === 0) return fail('every customer has T = 0 (first purchase on the calibration end): nothing to fit');

  const scale = 1 / c.totalWeight; // objective = mean negative log-likelihood: O(1) gradients
  const objective = makeObjective(c);
  const meanT = sumT / c.totalWeight;
  const starts: number[][] = [
    [0, 0, 0, 0],
    [Math.log(0.5), Math.log(Math.max(0.1, meanT / 4)), Math.log(0.8), Math.log(2.5)],
  ];
  const sub = c.x.length > WARM_START_TRIPLES ? makeObjective(compress(x, tx, T, Math.ceil(c.totalWeight / WARM_START_CUSTOMERS))) : null;
  const res = minimizeWarmStarted(objective, starts, sub, LOG_BOUND);
  if (!Number.isFinite(res.f)) return fail(`optimiser found no finite likelihood (${res.message})`, { iterations: res.iterations });
  const params = toParams(res.x);
  const logLikelihood = -res.f / scale;
  if (res.x.some((u) => Math.abs(u) > LOG_BOUND)) {
    const bad = ['r', 'alpha', 'a', 'b']
      .map((nm, i) => (Math.abs(res.x[i]) > LOG_BOUND ? `${nm} → ${res.x[i] > 0 ? '∞' : '0'}` : ''))
      .filter(Boolean);
    return fail(
      `maximum likelihood at the boundary (${bad.join(', ')}): ` +
        `the data (${c.totalWeight} customers, ${repeat} repeat purchases) do not identify the model`,
      { iterations: res.iterations, converged: res.converged },
    );
  }
  // Standard errors: observed information in log space, cov(θ) = D cov(u) D with D = diag(θ)
  // (the gradient term of the change of variables vanishes at the optimum).
  const Hf = hessianFromGradient(objective, res.x, 1e-4);
  for (let i = 0; i < Hf.length; i++) Hf[i] /= scale; // Hessian of -LL
  const cov = invertSpd(Hf, 4);
  let stdErr: BgNbdParams | null = null;
  const values = [params.r, params.alpha, params.a, params.b];
  if (cov) {
    const se = values.map((v, i) => v * Math.sqrt(cov[i * 4 + i]));
    if (se.every(Number.isFinite)) stdErr = { r: se[0], alpha: se[1], a: se[2], b: se[3] };
  }
  let status: FitStatus = 'ok';
  let reason: string | undefined;
  if (!res.converged) {
    status = 'warning';
    reason = `optimiser stopped before full convergence (${res.message}; max |gradient| ${res.gradNorm.toExponential(2)})`;
  } else if (!stdErr) {
    status = 'warning';
    reason = 'standard errors unavailable: the information matrix is not positive definite (weakly identified parameters)';
  }
  return {
    params,
    logLikelihood,
    converged: res.converged,
    iterations: res.iterations,
    stdErr,
    status,
    ...(reason ? { reason } : {}),
    gradientNorm: res.gradNorm,
    ...base,
  };
}

/**
 * P(alive | x, t_x, T) (eq. 13):
 *   1 / (1 + 1{x>0} · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)),
 * as a logistic of the log odds, so that x = 500 neither overflows nor gives NaN.
 */
export function pAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (!(x > 0)) return 1;
  const logOdds = Math.log(p.a) - Math.log(p.b + x - 1) + (p.r + x) * Math.log1p((T - tx) / (p.alpha + tx));
  return logOdds > 0 ? Math.exp(-logOdds) / (1 + Math.exp(-logOdds)) : 1 / (1 + Math.exp(logOdds));
}

export interface GResult {
  value: number;
  converged: boolean;
}

/**
 * The conditional expectation (eq. 10) without its P(alive) factor:
 *   E[Y(t) | x, t_x, T] = G(x, T, t) · P(alive | x, t_x, T),
 *   G = (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; z)],  z = t/(α+T+t).
 * Euler's transform turns the 2F1 into (1-z)^(a+b-1-r-... ) form whose prefactor cancels the
 * power, leaving (1-z)^(a-1) · 2F1(a+b-1-r, a-1; a+b+x-1; z) — no overflow for large x. Writing
 * that 2F1 as 1 + (a-1)·S removes the 0/0 at a = 1:
 *   G = -(a+b+x-1) · expm1((a-1)L)/(a-1) - (1-z)^(a-1) · Σ_{n≥1} d_n z^n,   L = ln(1-z),
 *   d_1 = a+b-1-r,  d_{n+1} = d_n (a+b-1-r+n)(a+n-1) / ((a+b+x-1+n)(n+1)).
 * With x = 0, T = 0 this is the unconditional E[X(t)] (eq. 7).
 */
export function conditionalG(p: BgNbdParams, x: number, T: number, t: number): GResult {
  if (!(t > 0)) return { value: 0, converged: true };
  const { r, alpha, a, b } = p;
  const C = a + b + x - 1;
  const Ap = a + b - 1 - r;
  const aT = alpha + T;
  const z = t / (aT + t);
  const L = -Math.log1p(t / aT);
  let term = Ap * z;
  let sum = term;
  let converged = false;
  for (let n = 1; n < 1_000_000; n++) {
    const ratio = ((Ap + n) * (a + n - 1)) / ((C + n) * (n + 1)) * z;
    term *= ratio;
    sum += term;
    if (Math.abs(ratio) < 1 && Math.abs(term) <= 1e-16 * Math.abs(sum)) {
      converged = true;
      break;
    }
    if (term === 0) {
      converged = true;
      break;
    }
  }
  const value = -C * expm1Ratio(a - 1, L) - Math.exp((a - 1) * L) * sum;
  return { value: value > 0 ? value : 0, converged: converged && Number.isFinite(value) };
}

/** E[Y(t) | x, t_x, T]: expected purchases in the next t time units (eq. 10). */
export function conditionalExpectedPurchases(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  return conditionalG(p, x, T, t).value * pAlive(p, x, tx, T);
}

/** E[X(t)]: expected purchases of a new customer in (0, t] (eq. 7). */
export function expectedPurchases(p: BgNbdParams, t: number): number {
  return conditionalG(p, 0, 0, t).value;
}

/**
 * P(X(t) = n) (eq. 8):
 *   B(a, b+n)/B(a,b) · Γ(r+n)/(Γ(r) n!) · (α/(α+t))^r (t/(α+t))^n
 *   + 1{n>0} B(a+1, b+n-1)/B(a,b) · P(NBD(r, α; t) ≥ n),
 * the NBD tail summed upward past the mean (no 1 - (1 - ε) cancellation for small tails).
 */
export function probabilityOfPurchases(p: BgNbdParams, t: number, n: number): number {
  const { r, alpha, a, b } = p;
  if (!(n >= 0) || n !== Math.floor(n)) return 0;
  if (!(t > 0)) return n === 0 ? 1 : 0;
  const lbab = lbeta(a, b);
  const lp0 = Math.log(alpha / (alpha + t));
  const lq0 = Math.log(t / (alpha + t));
  const logPmf = (j: number) => logNbdCoef(r, j) + r * lp0 + j * lq0;
  let prob = Math.exp(lbeta(a, b + n) - lbab + logPmf(n));
  if (n > 0) {
    let tail: number;
    const mean = (r * t) / alpha;
    if (n > mean) {
      tail = 0;
      for (let j = n; j < n + 1_000_000; j++) {
        const v = Math.exp(logPmf(j));
        tail += v;
        if (v <= 1e-17 * tail) break;
      }
    } else {
      let cdf = 0;
      for (let j = 0; j < n; j++) cdf += Math.exp(logPmf(j));
      tail = Math.max(0, 1 - cdf);
    }
    prob += Math.exp(lbeta(a + 1, b + n - 1) - lbab) * tail;
  }
  return prob;
}

/**
 * G(x, T, t) for many customers and several horizons at once: evaluated once per distinct (x, T)
 * (t_x enters only through P(alive)), which is what makes scoring a million customers cheap.
 * Returns, per distinct pair, G at each t in `ts` (row-major) and the pair of each input row;
 * rows that are not a valid summary get group -1.
 */
export function conditionalGGrid(
  p: BgNbdParams,
  x: Float64Array,
  tx: Float64Array,
  T: Float64Array,
  ts: number[],
): { groupOf: Int32Array; G: Float64Array; groups: number; notConverged: number } {
  const n = x.length;
  const vx = new Float64Array(n);
  const vT = new Float64Array(n);
  const valid = new Uint8Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (!isValidSummary(x[i], tx[i], T[i])) continue;
    valid[i] = 1;
    vx[m] = x[i];
    vT[m] = T[i];
    m++;
  }
  const g = groupRows([vx.subarray(0, m), vT.subarray(0, m)]);
  const groupOf = new Int32Array(n).fill(-1);
  for (let i = 0, j = 0; i < n; i++) if (valid[i]) groupOf[i] = g.groupOf[j++];
  const K = ts.length;
  const G = new Float64Array(g.size * K);
  let notConverged = 0;
  for (let k = 0; k < g.size; k++) {
    for (let h = 0; h < K; h++) {
      const res = conditionalG(p, g.columns[0][k], g.columns[1][k], ts[h]);
      G[k * K + h] = res.value;
      if (!res.converged) notConverged++;
    }
  }
  return { groupOf, G, groups: g.size, notConverged };
}
