/**
 * Seeded simulator of customer summaries from known BG/NBD + Gamma-Gamma parameters, for
 * parameter-recovery tests and the million-customer timing.
 *
 * Process (Fader, Hardie & Lee 2005): λ ~ Gamma(r, rate α), p ~ Beta(a, b); purchases arrive as a
 * Poisson process with rate λ after the first purchase at time 0; after each repeat purchase the
 * customer drops out with probability p. Spend (Fader & Hardie 2013): ν ~ Gamma(q, rate γ), each
 * transaction's value ~ Gamma(p, rate ν).
 *
 *   npx tsx scripts/simulate-btyd.ts [customers=1000000] [seed=1]
 * simulates a day-grid export (weeks), then times fitModels (fit + scoring) on it.
 */
import { pathToFileURL } from 'node:url';

export interface SimulateOptions {
  customers: number;
  seed: number;
  bgnbd: { r: number; alpha: number; a: number; b: number };
  gammaGamma?: { p: number; q: number; v: number };
  /** Observation length T per customer, uniform on [minT, maxT] (time units). */
  minT: number;
  maxT: number;
  /** Holdout length after T (0 = none). */
  holdoutLength?: number;
  /**
   * Time resolution: when set (e.g. 1/7 for days in weeks), T is a whole number of grid steps,
   * purchases are counted per grid step (several on one day are one purchase, values summed),
   * and t_x is the step of the last one. Unset: continuous times, exactly the model.
   */
  grid?: number;
}

export interface Simulated {
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  zbar: Float64Array;
  holdoutX: Float64Array;
}

/** sfc32 seeded through splitmix32: small, fast, good enough statistically for simulation. */
export function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return ((t >>> 0) + 0.5) / 4294967296; // in (0, 1)
  };
}

export function normal(u: () => number): number {
  // Box-Muller; one of the pair is dropped for simplicity.
  return Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Gamma(shape, rate 1), Marsaglia & Tsang (2000); shape < 1 by the U^(1/shape) boost. */
export function gamma(u: () => number, shape: number): number {
  if (shape < 1) return gamma(u, shape + 1) * Math.pow(u(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(u);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const w = u();
    if (w < 1 - 0.0331 * x * x * x * x || Math.log(w) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

export function simulateBtyd(o: SimulateOptions): Simulated {
  const u = makeRng(o.seed);
  const n = o.customers;
  const out: Simulated = {
    x: new Float64Array(n),
    tx: new Float64Array(n),
    T: new Float64Array(n),
    zbar: new Float64Array(n),
    holdoutX: new Float64Array(n),
  };
  const { r, alpha, a, b } = o.bgnbd;
  const H = o.holdoutLength ?? 0;
  const g = o.grid;
  for (let i = 0; i < n; i++) {
    const lambda = gamma(u, r) / alpha;
    const ga = gamma(u, a);
    const p = ga / (ga + gamma(u, b));
    const nu = o.gammaGamma ? gamma(u, o.gammaGamma.q) / o.gammaGamma.v : 0;
    let T = o.minT + (o.maxT - o.minT) * u();
    if (g) T = Math.round(T / g) * g;
    const end = T + H;
    let t = 0;
    let x = 0;
    let tx = 0;
    let spend = 0;
    let hold = 0;
    let curStep = 0; // grid mode: the step being accumulated (0 = the first purchase's day)
    let curCal = false; // ... and whether it is a calibration repeat purchase
    let cur = 0;
    for (;;) {
      t += -Math.log(u()) / lambda;
      if (!(t <= end) || !Number.isFinite(t)) break;
      const value = o.gammaGamma ? gamma(u, o.gammaGamma.p) / nu : 0;
      if (g) {
        const step = Math.floor(t / g);
        if (step !== curStep) {
          if (curCal) spend += cur;
          curStep = step;
          cur = 0;
          curCal = step * g <= T + 1e-9;
          if (curCal) {
            x++;
            tx = step * g;
          } else hold++;
        }
        cur += value;
      } else if (t <= T) {
        x++;
        tx = t;
        spend += value;
      } else hold++;
      if (u() < p) break; // drops out after this purchase
    }
    if (g && curCal) spend += cur;
    out.x[i] = x;
    out.tx[i] = x > 0 ? tx : 0;
    out.T[i] = T;
    out.zbar[i] = x > 0 ? spend / x : 0;
    out.holdoutX[i] = hold;
  }
  return out;
}

async function main(): Promise<void> {
  const customers = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? 1);
  const { fitModels } = await import('../lib/models/index.js');
  let t0 = performance.now();
  const sim = simulateBtyd({
    customers,
    seed,
    bgnbd: { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 },
    gammaGamma: { p: 6.25, q: 3.74, v: 15.44 },
    minT: 1 / 7,
    maxT: 104,
    grid: 1 / 7,
  });
  const simSec = (performance.now() - t0) / 1000;
  const rssBefore = process.memoryUsage().rss;
  t0 = performance.now();
  const res = fitModels({
    x: sim.x,
    tx: sim.tx,
    T: sim.T,
    zbar: sim.zbar,
    timeUnit: 'week',
    calibrationEnd: '2024-01-01',
    asOfOffset: 0,
    horizonMonths: 12,
    discountRate: 0.01,
    marginShare: 0.3,
  });
  const fitSec = (performance.now() - t0) / 1000;
  const bg = res.modelJson.bgnbd;
  const gg = res.modelJson.gammaGamma;
  console.log(
    JSON.stringify(
      {
        customers,
        simulateSeconds: +simSec.toFixed(2),
        fitAndScoreSeconds: +fitSec.toFixed(2),
        rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
        rssBeforeFitMiB: Math.round(rssBefore / 2 ** 20),
        uniqueTriples: bg.uniqueTriples,
        bgnbd: { r: bg.r, alpha: bg.alpha, a: bg.a, b: bg.b, status: bg.status, iterations: bg.iterations },
        gammaGamma: { p: gg.p, q: gg.q, v: gg.v, status: gg.status, iterations: gg.iterations },
        seriesNotConverged: res.modelJson.scoring.seriesNotConverged,
      },
      null,
      1,
    ),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
