/**
 * Special functions for the buy-'til-you-die models, in log space where magnitudes explode
 * (gamma functions of frequency-sized arguments overflow long before the model does).
 * Only positive real arguments are needed by the models; the functions say what they do
 * outside that range.
 */

/** Lanczos coefficients, g = 7, n = 9 (Numerical Recipes 3rd ed. / Godfrey); |rel err| < 2e-15. */
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.9189385332046727;

/** ln |Γ(x)|. Reflection Γ(x)Γ(1-x) = π / sin(πx) below 0.5; +Infinity at the poles (x = 0, -1, ...). */
export function lgamma(x: number): number {
  if (x < 0.5) {
    if (x === Math.floor(x)) return Infinity;
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  }
  if (x > 1e7) {
    // Stirling with the 1/(12x) correction: Lanczos' (x+0.5)ln(t) - t cancels badly this far out.
    return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + 1 / (12 * x);
  }
  const y = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < LANCZOS_G + 2; i++) s += LANCZOS[i] / (y + i);
  const t = y + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (y + 0.5) * Math.log(t) - t + Math.log(s);
}

/** ln B(a, b) = lnΓ(a) + lnΓ(b) - lnΓ(a + b). */
export function lbeta(a: number, b: number): number {
  return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/**
 * Digamma ψ(x) = d/dx lnΓ(x) for x > 0: upward recurrence ψ(x) = ψ(x+1) - 1/x to x ≥ 10, then the
 * asymptotic (Bernoulli) series (Abramowitz & Stegun 6.3.18). NaN for x ≤ 0 (not needed here).
 */
export function digamma(x: number): number {
  if (!(x > 0)) return NaN;
  let acc = 0;
  while (x < 10) {
    acc -= 1 / x;
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  return (
    acc +
    Math.log(x) -
    0.5 * inv -
    inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))
  );
}

/** log(exp(u) + exp(v)) without overflow. */
export function logAddExp(u: number, v: number): number {
  if (u === -Infinity) return v;
  if (v === -Infinity) return u;
  return u > v ? u + Math.log1p(Math.exp(v - u)) : v + Math.log1p(Math.exp(u - v));
}

/** expm1(eps * L) / eps, with its limit L at eps = 0 (removable singularity, e.g. at a = 1 in BG/NBD). */
export function expm1Ratio(eps: number, L: number): number {
  return eps === 0 ? L : Math.expm1(eps * L) / eps;
}

export interface SeriesResult {
  value: number;
  terms: number;
  converged: boolean;
}

/**
 * Gauss hypergeometric 2F1(a, b; c; z) for 0 ≤ z < 1 by its power series
 * Σ (a)_n (b)_n / ((c)_n n!) z^n. When z > 1/2 and the Euler transform
 * 2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z) gives a series with smaller parameters, it is
 * used instead (same z, but terms that shrink faster). c must not be a non-positive integer.
 */
export function hyp2f1(a: number, b: number, c: number, z: number, maxTerms = 200_000): SeriesResult {
  if (!(z >= 0 && z < 1)) return { value: NaN, terms: 0, converged: false };
  const ca = c - a;
  const cb = c - b;
  // Euler's transform helps when the transformed parameters decay faster (|ca*cb| < |a*b|).
  if (z > 0.5 && Math.abs(ca * cb) < Math.abs(a * b)) {
    const inner = hyp2f1Series(ca, cb, c, z, maxTerms);
    return { ...inner, value: Math.exp((c - a - b) * Math.log1p(-z)) * inner.value };
  }
  return hyp2f1Series(a, b, c, z, maxTerms);
}

function hyp2f1Series(a: number, b: number, c: number, z: number, maxTerms: number): SeriesResult {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < maxTerms; n++) {
    term *= ((a + n) * (b + n)) / ((c + n) * (n + 1)) * z;
    sum += term;
    if (term === 0 || (Math.abs(term) <= 1e-16 * Math.abs(sum) && n > Math.abs(a * b / c))) {
      return { value: sum, terms: n + 1, converged: true };
    }
    if (!Number.isFinite(sum)) break;
  }
  return { value: sum, terms: maxTerms, converged: false };
}

/** ln of the negative-binomial (Poisson-gamma) coefficient Γ(r+n) / (Γ(r) n!). */
export function logNbdCoef(r: number, n: number): number {
  return lgamma(r + n) - lgamma(r) - lgamma(n + 1);
}
