/**
 * Per-customer predicted CLV from a fitted BG/NBD (how many purchases) and Gamma-Gamma (what each
 * is worth), discounted per month and margin-adjusted:
 *   CLV = Σ_{m=1..H} (E[Y(t_m)] - E[Y(t_{m-1})]) · E[M] · margin / (1+d)^m,   t_m = m months,
 * with E[Y(t)] = E[Y(t) | x, t_x, T] the BG/NBD conditional expectation (eq. 10 of Fader, Hardie &
 * Lee 2005) and E[M] the Gamma-Gamma conditional mean spend. The monthly-increment sum is the
 * discrete version of the discounted expected residual transactions (the lifetimes convention).
 * Everything is finite: rows that cannot be scored get 0 and a cleared validity flag.
 */
import { conditionalGGrid, pAlive, type BgNbdParams } from './bgnbd.js';
import { conditionalExpectedSpend, type GammaGammaParams } from './gammagamma.js';

export type TimeUnit = 'week' | 'day';

/** Average month in days (Julian year / 12). */
export const DAYS_PER_MONTH = 365.25 / 12;

/** One month in the model's time unit. */
export function monthInTimeUnits(unit: TimeUnit): number {
  return unit === 'week' ? DAYS_PER_MONTH / 7 : DAYS_PER_MONTH;
}

export interface ClvOptions {
  timeUnit: TimeUnit;
  horizonMonths: number;
  /** Discount rate per month. */
  discountRate: number;
  /** Margin share, one number or one per customer (aligned with the scored arrays). */
  marginShare: number | Float64Array;
}

export interface ScoreInput {
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  /** Mean repeat spend (0 without repeat purchases). */
  zbar: Float64Array;
  /** The repeat-purchase count zbar is a mean over, when it is not x (e.g. zbar from the calibration period). */
  spendX?: Float64Array;
}

export interface CustomerScores {
  /** P(alive) at the end of the scored window (1 for x = 0, by the BG/NBD's construction). */
  pAlive: Float64Array;
  /** Expected purchases over the horizon. */
  expectedPurchases: Float64Array;
  /** Expected value per purchase (Gamma-Gamma), or the documented fallback where spendValid = 0. */
  expectedAvgSpend: Float64Array;
  predictedClv: Float64Array;
  /** 1 where pAlive / expectedPurchases come from a BG/NBD fit; 0 = fallback value 0. */
  purchasesValid: Uint8Array;
  /** 1 where expectedAvgSpend comes from a Gamma-Gamma fit; 0 = fallback (own zbar, else mean zbar of repeat buyers). */
  spendValid: Uint8Array;
  /** Distinct (x, T) pairs whose hypergeometric series hit its term limit (values kept, counted here). */
  seriesNotConverged: number;
}

/**
 * Fallback spend when the Gamma-Gamma model is unavailable: the customer's own mean repeat spend,
 * else the mean of zbar over repeat buyers (0 when there are none).
 */
export function fallbackSpend(x: Float64Array, zbar: Float64Array): { perCustomer: (i: number) => number; mean: number } {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < x.length; i++)
    if (x[i] > 0 && zbar[i] > 0 && Number.isFinite(zbar[i])) {
      sum += zbar[i];
      count++;
    }
  const mean = count ? sum / count : 0;
  return { perCustomer: (i) => (x[i] > 0 && zbar[i] > 0 && Number.isFinite(zbar[i]) ? zbar[i] : mean), mean };
}

export function scoreCustomers(bg: BgNbdParams | null, gg: GammaGammaParams | null, input: ScoreInput, opts: ClvOptions): CustomerScores {
  const { x, tx, T, zbar } = input;
  const n = x.length;
  if (tx.length !== n || T.length !== n || zbar.length !== n) throw new RangeError('scoreCustomers: x, tx, T and zbar must have the same length');
  const margin = opts.marginShare;
  if (typeof margin !== 'number' && margin.length !== n) throw new RangeError('scoreCustomers: marginShare array must have one value per customer');
  const H = Math.max(0, Math.floor(opts.horizonMonths));
  const month = monthInTimeUnits(opts.timeUnit);
  const out: CustomerScores = {
    pAlive: new Float64Array(n),
    expectedPurchases: new Float64Array(n),
    expectedAvgSpend: new Float64Array(n),
    predictedClv: new Float64Array(n),
    purchasesValid: new Uint8Array(n),
    spendValid: new Uint8Array(n),
    seriesNotConverged: 0,
  };

  // Spend first: it feeds the CLV even when only the fallback is available.
  const sx = input.spendX ?? x;
  if (sx.length !== n) throw new RangeError('scoreCustomers: spendX must have one value per customer');
  const fb = fallbackSpend(sx, zbar);
  for (let i = 0; i < n; i++) {
    let s = gg ? conditionalExpectedSpend(gg, sx[i], zbar[i]) : NaN;
    if (Number.isFinite(s) && s >= 0) out.spendValid[i] = 1;
    else s = fb.perCustomer(i);
    out.expectedAvgSpend[i] = s;
  }
  if (!bg) return out;

  // G at t_0 .. t_H per distinct (x, T); then per customer only P(alive) and a few multiplies.
  const ts = Array.from({ length: H + 1 }, (_, m) => m * month);
  const grid = conditionalGGrid(bg, x, tx, T, ts);
  out.seriesNotConverged = grid.notConverged;
  const K = H + 1;
  const disc = Array.from({ length: K }, (_, m) => Math.pow(1 + opts.discountRate, -m));
  const horizonG = new Float64Array(grid.groups);
  const discountedG = new Float64Array(grid.groups);
  for (let k = 0; k < grid.groups; k++) {
    let d = 0;
    for (let m = 1; m < K; m++) d += (grid.G[k * K + m] - grid.G[k * K + m - 1]) * disc[m];
    horizonG[k] = grid.G[k * K + H];
    discountedG[k] = d;
  }
  for (let i = 0; i < n; i++) {
    const k = grid.groupOf[i];
    if (k < 0) continue;
    const pa = pAlive(bg, x[i], tx[i], T[i]);
    const mg = typeof margin === 'number' ? margin : margin[i];
    const clv = discountedG[k] * pa * out.expectedAvgSpend[i] * (Number.isFinite(mg) ? mg : 0);
    const ep = horizonG[k] * pa;
    if (!Number.isFinite(pa) || !Number.isFinite(ep) || !Number.isFinite(clv)) continue;
    out.pAlive[i] = pa;
    out.expectedPurchases[i] = ep;
    out.predictedClv[i] = clv;
    out.purchasesValid[i] = 1;
  }
  return out;
}
