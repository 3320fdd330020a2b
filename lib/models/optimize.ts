/**
 * Unconstrained minimisation for small (3-4 parameter) smooth problems: BFGS with analytic
 * gradients and a backtracking (Armijo) line search, Nelder-Mead as a derivative-free fallback,
 * and a finite-difference Hessian of the gradient for standard errors.
 *
 * Hand-written on purpose: the npm optimisers are either unmaintained (fmin, numeric,
 * optimization-js: no release in years), least-squares only (ml-levenberg-marquardt), or pull a
 * whole numerics stack into the Lambda bundle. The models here are 3-4 parameter problems in log
 * space with analytic gradients, where ~150 lines of textbook BFGS (Nocedal & Wright, Alg. 6.1)
 * are easy to test and fully under our control (convergence flags, no NaN leaking out).
 */

/** f(x) and, when `grad` is given, its gradient written into `grad`. Return Infinity where undefined. */
export type Objective = (x: Float64Array, grad: Float64Array | null) => number;

export interface MinimizeOptions {
  maxIterations?: number;
  /** Converged when max |gradient| ≤ gradTol (the objective should be scaled to O(1)). */
  gradTol?: number;
  /** ... or when the relative decrease of f over an iteration falls below fTol (with a small step). */
  fTol?: number;
  /** Start BFGS from this inverse Hessian (n×n row-major), e.g. from a fit on a subsample. */
  initialInverseHessian?: Float64Array;
}

export interface MinimizeResult {
  x: Float64Array;
  f: number;
  gradNorm: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  message: string;
}

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

/** BFGS on the inverse Hessian, Armijo backtracking, update skipped when curvature s'y ≤ 0. */
export function bfgs(fn: Objective, x0: ArrayLike<number>, opts: MinimizeOptions = {}): MinimizeResult {
  const n = x0.length;
  const maxIt = opts.maxIterations ?? 500;
  const gradTol = opts.gradTol ?? 1e-9;
  const fTol = opts.fTol ?? 1e-15;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fn(x, g);
  let evals = 1;
  if (!Number.isFinite(f) || !g.every(Number.isFinite)) {
    return { x, f, gradNorm: Infinity, iterations: 0, evaluations: evals, converged: false, message: 'objective not finite at the start point' };
  }
  // Inverse Hessian approximation, row-major.
  const H = new Float64Array(n * n);
  const resetH = (scale: number) => {
    H.fill(0);
    for (let i = 0; i < n; i++) H[i * n + i] = scale;
  };
  if (opts.initialInverseHessian && opts.initialInverseHessian.length === n * n) H.set(opts.initialInverseHessian);
  else resetH(1 / Math.max(1, maxAbs(g)));
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const s = new Float64Array(n);
  const y = new Float64Array(n);
  const Hy = new Float64Array(n);
  let smallSteps = 0;
  for (let it = 1; it <= maxIt; it++) {
    const gNorm = maxAbs(g);
    if (gNorm <= gradTol) return { x, f, gradNorm: gNorm, iterations: it - 1, evaluations: evals, converged: true, message: 'gradient tolerance reached' };
    // d = -H g
    let slope = 0;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let j = 0; j < n; j++) v -= H[i * n + j] * g[j];
      d[i] = v;
      slope += v * g[i];
    }
    if (!(slope < 0)) {
      // Not a descent direction (lost positive-definiteness): restart from steepest descent.
      resetH(1 / Math.max(1, maxAbs(g)));
      for (let i = 0; i < n; i++) d[i] = -H[i * n + i] * g[i];
      slope = 0;
      for (let i = 0; i < n; i++) slope += d[i] * g[i];
    }
    // The predicted decrease is below what f can resolve: nothing left to gain (a stricter gradient
    // test would only chase round-off in a sum over a million customers).
    if (-slope <= 1e-15 * Math.max(1, Math.abs(f)) && gNorm <= gradTol * 1e3) {
      return { x, f, gradNorm: gNorm, iterations: it - 1, evaluations: evals, converged: true, message: 'decrease below round-off' };
    }
    // Cap the step: in log-parameter space a step of 5 is a factor e^5 already.
    const dMax = maxAbs(d);
    let step = dMax > 5 ? 5 / dMax : 1;
    let fNew = Infinity;
    let accepted = false;
    for (let ls = 0; ls < 40; ls++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * d[i];
      fNew = fn(xNew, gNew);
      evals++;
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * step * slope && gNew.every(Number.isFinite)) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) {
      const gn = maxAbs(g);
      return { x, f, gradNorm: gn, iterations: it, evaluations: evals, converged: gn <= gradTol * 1e3, message: 'line search failed' };
    }
    let sy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
      sy += s[i] * y[i];
    }
    const fOld = f;
    [x, g] = [Float64Array.from(xNew), Float64Array.from(gNew)];
    f = fNew;
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      // H+ = (I - ρ s y') H (I - ρ y s') + ρ s s'
      const rho = 1 / sy;
      let yHy = 0;
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let j = 0; j < n; j++) v += H[i * n + j] * y[j];
        Hy[i] = v;
        yHy += y[i] * v;
      }
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          H[i * n + j] += rho * ((1 + rho * yHy) * s[i] * s[j] - Hy[i] * s[j] - s[i] * Hy[j]);
    }
    if (Math.abs(fOld - f) <= fTol * Math.max(1, Math.abs(f)) && maxAbs(s) < 1e-10) {
      if (++smallSteps >= 3) {
        const gn = maxAbs(g);
        return { x, f, gradNorm: gn, iterations: it, evaluations: evals, converged: gn <= gradTol * 1e3, message: 'no further progress' };
      }
    } else smallSteps = 0;
  }
  const gn = maxAbs(g);
  return { x, f, gradNorm: gn, iterations: maxIt, evaluations: evals, converged: gn <= gradTol, message: 'iteration limit reached' };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Nelder-Mead (standard coefficients 1, 2, 0.5, 0.5), derivative-free; used to escape where BFGS stalls. */
export function nelderMead(fn: Objective, x0: ArrayLike<number>, opts: { maxIterations?: number; initialStep?: number; fTol?: number } = {}): MinimizeResult {
  const n = x0.length;
  const maxIt = opts.maxIterations ?? 2000;
  const fTol = opts.fTol ?? 1e-12;
  const step = opts.initialStep ?? 0.5;
  const f = (p: Float64Array) => {
    const v = fn(p, null);
    return Number.isFinite(v) ? v : Infinity;
  };
  const pts: Float64Array[] = [];
  for (let i = 0; i <= n; i++) {
    const p = Float64Array.from(x0);
    if (i > 0) p[i - 1] += step;
    pts.push(p);
  }
  let vals = pts.map(f);
  let evals = n + 1;
  const centroid = new Float64Array(n);
  const along = (t: number, worst: Float64Array) => {
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) p[i] = centroid[i] + t * (worst[i] - centroid[i]);
    return p;
  };
  let it = 0;
  for (; it < maxIt; it++) {
    const order = vals.map((_, i) => i).sort((i, j) => vals[i] - vals[j]);
    const sp = order.map((i) => pts[i]);
    const sv = order.map((i) => vals[i]);
    pts.splice(0, pts.length, ...sp);
    vals = sv;
    if (Math.abs(vals[n] - vals[0]) <= fTol * Math.max(1, Math.abs(vals[0]))) break;
    centroid.fill(0);
    for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) centroid[i] += pts[k][i] / n;
    const xr = along(-1, pts[n]);
    const fr = f(xr);
    evals++;
    if (fr < vals[0]) {
      const xe = along(-2, pts[n]);
      const fe = f(xe);
      evals++;
      if (fe < fr) [pts[n], vals[n]] = [xe, fe];
      else [pts[n], vals[n]] = [xr, fr];
    } else if (fr < vals[n - 1]) {
      [pts[n], vals[n]] = [xr, fr];
    } else {
      const outside = fr < vals[n];
      const xc = along(outside ? -0.5 : 0.5, pts[n]);
      const fc = f(xc);
      evals++;
      if (fc < (outside ? fr : vals[n])) [pts[n], vals[n]] = [xc, fc];
      else {
        for (let k = 1; k <= n; k++) {
          for (let i = 0; i < n; i++) pts[k][i] = pts[0][i] + 0.5 * (pts[k][i] - pts[0][i]);
          vals[k] = f(pts[k]);
          evals++;
        }
      }
    }
  }
  let best = 0;
  for (let k = 1; k <= n; k++) if (vals[k] < vals[best]) best = k;
  return {
    x: pts[best],
    f: vals[best],
    gradNorm: NaN,
    iterations: it,
    evaluations: evals,
    converged: it < maxIt && Number.isFinite(vals[best]),
    message: it < maxIt ? 'simplex collapsed' : 'iteration limit reached',
  };
}

/**
 * Minimise from several start points: BFGS from each, a Nelder-Mead polish + BFGS again from the
 * best when it did not converge. Returns the best point found.
 */
export function minimizeWithRestarts(fn: Objective, starts: ArrayLike<number>[], opts: MinimizeOptions = {}): MinimizeResult {
  let best: MinimizeResult | null = null;
  let totalIt = 0;
  let totalEvals = 0;
  for (const s0 of starts) {
    const r = bfgs(fn, s0, opts);
    totalIt += r.iterations;
    totalEvals += r.evaluations;
    if (Number.isFinite(r.f) && (best === null || r.f < best.f - 1e-12 || (!best.converged && r.converged && r.f <= best.f + 1e-9))) best = r;
  }
  if (best && !best.converged) {
    const nm = nelderMead(fn, best.x, { maxIterations: 3000 });
    totalEvals += nm.evaluations;
    const r = bfgs(fn, nm.x, opts);
    totalIt += nm.iterations + r.iterations;
    totalEvals += r.evaluations;
    if (Number.isFinite(r.f) && r.f <= best.f + 1e-9) best = r;
  }
  if (!best) {
    return { x: Float64Array.from(starts[0]), f: Infinity, gradNorm: Infinity, iterations: totalIt, evaluations: totalEvals, converged: false, message: 'objective not finite at any start point' };
  }
  return { ...best, iterations: totalIt, evaluations: totalEvals };
}

/**
 * Hessian by central differences of an analytic gradient, symmetrised:
 * H[i][j] ≈ (g_i(x + h e_j) - g_i(x - h e_j)) / 2h.
 */
export function hessianFromGradient(fn: Objective, x: Float64Array, h = 1e-4): Float64Array {
  const n = x.length;
  const H = new Float64Array(n * n);
  const gp = new Float64Array(n);
  const gm = new Float64Array(n);
  const xp = Float64Array.from(x);
  for (let j = 0; j < n; j++) {
    xp[j] = x[j] + h;
    fn(xp, gp);
    xp[j] = x[j] - h;
    fn(xp, gm);
    xp[j] = x[j];
    for (let i = 0; i < n; i++) H[i * n + j] = (gp[i] - gm[i]) / (2 * h);
  }
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (H[i * n + j] + H[j * n + i]);
      H[i * n + j] = v;
      H[j * n + i] = v;
    }
  return H;
}

/** Inverse of a symmetric positive-definite matrix by Cholesky; null when not positive definite. */
export function invertSpd(A: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) return null;
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  }
  // inv(A) = inv(L)' inv(L)
  const Li = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    Li[i * n + i] = 1 / L[i * n + i];
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= L[i * n + k] * Li[k * n + j];
      Li[i * n + j] = s / L[i * n + i];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = Math.max(i, j); k < n; k++) s += Li[k * n + i] * Li[k * n + j];
      inv[i * n + j] = s;
    }
  return inv;
}

/**
 * Minimises over all rows, warm-started on a subsample when one is given: the optimum and its
 * curvature are located on the subsample (the mean log-likelihood has the same Hessian in
 * expectation), so BFGS on all rows, started there with that curvature, needs only a few
 * full-data evaluations. Falls back to plain restarts if the polish does not converge.
 */
export function minimizeWarmStarted(objective: Objective, starts: number[][], sub: Objective | null, logBound: number): MinimizeResult {
  const dim = starts[0].length;
  let initialInverseHessian: Float64Array | undefined;
  let warmIterations = 0;
  if (sub) {
    const warm = minimizeWithRestarts(sub, starts, { gradTol: 1e-7, maxIterations: 1000 });
    warmIterations = warm.iterations;
    if (Number.isFinite(warm.f) && warm.x.every((u) => Math.abs(u) < logBound)) {
      starts = [Array.from(warm.x), ...starts];
      const inv = invertSpd(hessianFromGradient(sub, warm.x, 1e-4), dim);
      if (inv) initialInverseHessian = inv;
    }
  }
  const res0 = minimizeWithRestarts(objective, starts.slice(0, initialInverseHessian ? 1 : starts.length), { gradTol: 1e-9, maxIterations: 1000, initialInverseHessian });
  const res = res0.converged || !initialInverseHessian ? res0 : minimizeWithRestarts(objective, starts, { gradTol: 1e-9, maxIterations: 1000 });
  res.iterations += warmIterations + (res === res0 ? 0 : res0.iterations);
  return res;
}
