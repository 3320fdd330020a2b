/**
 * Gamma-Gamma model of monetary value (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary
 * Value"; Fader, Hardie & Lee 2005, "RFM and CLV", JMR 42(4)).
 *
 * A customer's transaction values are Gamma(p, ν) (shape p, rate ν), with ν ~ Gamma(q, γ) across
 * customers (γ is `v` in the output). Fitted on repeat buyers (x > 0, zbar > 0), where zbar is
 * the mean of the x repeat transactions; the model assumes spend independent of frequency.
 */
import { distinctIndex } from './compress.js';
import { digamma, lgamma } from './special.js';
import { hessianFromGradient, invertSpd, minimizeWarmStarted, type Objective } from './optimize.js';
import type { FitStatus } from './bgnbd.js';

export interface GammaGammaParams {
  p: number;
  q: number;
  v: number;
}

export interface GammaGammaFit {
  params: GammaGammaParams | null;
  logLikelihood: number | null;
  converged: boolean;
  iterations: number;
  stdErr: GammaGammaParams | null;
  status: FitStatus;
  reason?: string;
  /** Repeat buyers the model was fitted on (x > 0, zbar > 0, both finite). */
  customers: number;
  /** Population mean spend p·v/(q-1); null when q ≤ 1 (the mean does not exist) or the fit failed. */
  populationMeanSpend: number | null;
  gradientNorm: number | null;
}

/** A row the Gamma-Gamma model is fitted on. */
export function isRepeatBuyer(x: number, zbar: number): boolean {
  return Number.isFinite(x) && Number.isFinite(zbar) && x > 0 && zbar > 0;
}

interface Prepared {
  x: Float64Array;
  z: Float64Array;
  logZ: Float64Array;
  xi: Int32Array;
  xValues: Float64Array;
  logX: Float64Array;
}

function prepare(x: Float64Array, zbar: Float64Array, stride = 1): Prepared {
  let m = 0;
  let seen = 0;
  const take = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++)
    if (isRepeatBuyer(x[i], zbar[i]) && seen++ % stride === 0) {
      take[i] = 1;
      m++;
    }
  const px = new Float64Array(m);
  const pz = new Float64Array(m);
  const lz = new Float64Array(m);
  let j = 0;
  for (let i = 0; i < x.length; i++)
    if (take[i]) {
      px[j] = x[i];
      pz[j] = zbar[i];
      lz[j] = Math.log(zbar[i]);
      j++;
    }
  const d = distinctIndex(px);
  return { x: px, z: pz, logZ: lz, xi: d.index, xValues: d.values, logX: d.values.map(Math.log) };
}

/**
 * Log-likelihood of the observed mean spends, all constants included (Fader & Hardie 2013, eq. 3):
 *   f(zbar | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q x^(px) zbar^(px-1) / (γ + x·zbar)^(px+q).
 * Gradient ∂LL/∂(p, q, γ) written into grad when given.
 */
function logLik(par: GammaGammaParams, d: Prepared, grad: Float64Array | null): number {
  const { p, q, v } = par;
  const K = d.xValues.length;
  const ck = new Float64Array(K);
  const dpk = grad ? new Float64Array(K) : null;
  const dqk = grad ? new Float64Array(K) : null;
  const lgq = lgamma(q);
  const psq = grad ? digamma(q) : 0;
  const lv = Math.log(v);
  for (let k = 0; k < K; k++) {
    const xv = d.xValues[k];
    const px = p * xv;
    ck[k] = lgamma(px + q) - lgamma(px) - lgq + q * lv + px * d.logX[k];
    if (grad) {
      const ps = digamma(px + q);
      dpk![k] = xv * (ps - digamma(px) + d.logX[k]);
      dqk![k] = ps - psq + lv;
    }
  }
  let ll = 0;
  let dp = 0;
  let dq = 0;
  let dv = 0;
  const n = d.x.length;
  for (let i = 0; i < n; i++) {
    const k = d.xi[i];
    const x = d.x[i];
    const px = p * x;
    const denom = v + x * d.z[i];
    const lden = Math.log(denom);
    ll += ck[k] + (px - 1) * d.logZ[i] - (px + q) * lden;
    if (grad) {
      dp += dpk![k] + x * (d.logZ[i] - lden);
      dq += dqk![k] - lden;
      dv += q / v - (px + q) / denom;
    }
  }
  if (grad) {
    grad[0] = dp;
    grad[1] = dq;
    grad[2] = dv;
  }
  return ll;
}

/** Total log-likelihood over the repeat buyers among (x, zbar). */
export function gammaGammaLogLikelihood(par: GammaGammaParams, x: Float64Array, zbar: Float64Array): number {
  return logLik(par, prepare(x, zbar), null);
}

const LOG_WALL = 25;
const LOG_BOUND = 15;
/** Above twice this many repeat buyers the fit is warm-started on about this many. */
const WARM_START_CUSTOMERS = 30_000;

/** Mean negative log-likelihood in log-parameters u = ln(p, q, γ). */
function makeObjective(d: Prepared): Objective {
  const scale = 1 / d.x.length;
  const gNat = new Float64Array(3);
  return (u, g) => {
    for (let i = 0; i < 3; i++) if (!(Math.abs(u[i]) < LOG_WALL)) return Infinity;
    const par = { p: Math.exp(u[0]), q: Math.exp(u[1]), v: Math.exp(u[2]) };
    const ll = logLik(par, d, g ? gNat : null);
    if (!Number.isFinite(ll)) return Infinity;
    if (g) {
      g[0] = -gNat[0] * par.p * scale;
      g[1] = -gNat[1] * par.q * scale;
      g[2] = -gNat[2] * par.v * scale;
    }
    return -ll * scale;
  };
}

/** Maximum-likelihood fit of (p, q, v) in log-parameter space. */
export function fitGammaGamma(x: Float64Array, zbar: Float64Array): GammaGammaFit {
  if (x.length !== zbar.length) throw new RangeError('fitGammaGamma: x and zbar must have the same length');
  const d = prepare(x, zbar);
  const base = { customers: d.x.length };
  const fail = (reason: string, extra: Partial<GammaGammaFit> = {}): GammaGammaFit => ({
    params: null,
    logLikelihood: null,
    converged: false,
    iterations: 0,
    stdErr: null,
    status: 'failed',
    reason,
    populationMeanSpend: null,
    gradientNorm: null,
    ...base,
    ...extra,
  });
  if (d.x.length === 0) return fail('no repeat buyers with a positive mean spend: Gamma-Gamma cannot be fitted');
  if (d.x.length < 3) return fail(`only ${d.x.length} repeat buyer(s): too few to fit three parameters`);
  let zMin = Infinity;
  let zMax = -Infinity;
  let zMean = 0;
  for (let i = 0; i < d.z.length; i++) {
    zMin = Math.min(zMin, d.z[i]);
    zMax = Math.max(zMax, d.z[i]);
    zMean += d.z[i] / d.z.length;
  }
  if (zMax === zMin) return fail('every repeat buyer has the same mean spend: the spread across customers is not identifiable');

  const scale = 1 / d.x.length;
  const objective = makeObjective(d);
  // Starts: unit shapes with γ matching the mean spend (E[zbar] = pγ/(q-1)), and a tighter one.
  const starts: number[][] = [
    [0, Math.log(2), Math.log(zMean)],
    [Math.log(5), Math.log(4), Math.log(zMean * 3 / 5)],
  ];
  const sub = d.x.length > WARM_START_CUSTOMERS * 2 ? makeObjective(prepare(x, zbar, Math.ceil(d.x.length / WARM_START_CUSTOMERS))) : null;
  const res = minimizeWarmStarted(objective, starts, sub, LOG_BOUND);
  if (!Number.isFinite(res.f)) return fail(`optimiser found no finite likelihood (${res.message})`, { iterations: res.iterations });
  const u = res.x;
  if (u.some((val) => Math.abs(val) > LOG_BOUND)) {
    const bad = ['p', 'q', 'v'].map((nm, i) => (Math.abs(u[i]) > LOG_BOUND ? `${nm} → ${u[i] > 0 ? '∞' : '0'}` : '')).filter(Boolean);
    return fail(`maximum likelihood at the boundary (${bad.join(', ')}): the spends of ${d.x.length} repeat buyers do not identify the model`, {
      iterations: res.iterations,
      converged: res.converged,
    });
  }
  const params = { p: Math.exp(u[0]), q: Math.exp(u[1]), v: Math.exp(u[2]) };
  const H = hessianFromGradient(objective, u, 1e-4);
  for (let i = 0; i < H.length; i++) H[i] /= scale;
  const cov = invertSpd(H, 3);
  let stdErr: GammaGammaParams | null = null;
  if (cov) {
    const se = [params.p, params.q, params.v].map((val, i) => val * Math.sqrt(cov[i * 3 + i]));
    if (se.every(Number.isFinite)) stdErr = { p: se[0], q: se[1], v: se[2] };
  }
  let status: FitStatus = 'ok';
  let reason: string | undefined;
  const populationMeanSpend = params.q > 1 ? (params.p * params.v) / (params.q - 1) : null;
  if (populationMeanSpend === null) {
    status = 'failed';
    reason = `q = ${params.q.toPrecision(4)} ≤ 1: the population mean spend p·v/(q-1) does not exist (extremely heavy-tailed spend)`;
  } else if (!res.converged) {
    status = 'warning';
    reason = `optimiser stopped before full convergence (${res.message})`;
  } else if (!stdErr) {
    status = 'warning';
    reason = 'standard errors unavailable: the information matrix is not positive definite';
  }
  return {
    params,
    logLikelihood: -res.f / scale,
    converged: res.converged,
    iterations: res.iterations,
    stdErr,
    status,
    ...(reason ? { reason } : {}),
    populationMeanSpend,
    gradientNorm: res.gradNorm,
    ...base,
  };
}

/**
 * E[M | p, q, γ, x, zbar] = (q-1)/(px+q-1) · pγ/(q-1) + px/(px+q-1) · zbar = p(γ + x·zbar)/(px+q-1)
 * (Fader & Hardie 2013, eq. 5): a weighted mean of the population mean and the customer's own
 * mean. For x = 0 (or a non-finite zbar) it is the population mean pγ/(q-1). Requires q > 1.
 * A repeat buyer whose repeat purchases were all free (zbar = 0) is outside the likelihood, but the
 * same posterior-mean formula still applies and shrinks her toward 0, which is what we want.
 */
export function conditionalExpectedSpend(par: GammaGammaParams, x: number, zbar: number): number {
  const { p, q, v } = par;
  if (!(Number.isFinite(x) && x > 0 && Number.isFinite(zbar) && zbar >= 0)) return (p * v) / (q - 1);
  return (p * (v + x * zbar)) / (p * x + q - 1);
}
