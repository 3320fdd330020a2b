/**
 * Calibration/holdout validation (the "conditional expectations" table of Fader, Hardie & Lee
 * 2005, Fig. 4): for each customer, the BG/NBD expected repeat purchases in the holdout period
 * given the calibration summary, against the repeat purchases actually made; grouped by
 * calibration frequency 0, 1, ..., 6, 7+ and in aggregate.
 */
import { conditionalGGrid, pAlive, type BgNbdParams } from './bgnbd.js';

export interface HoldoutBucket {
  /** Calibration frequency: "0" ... "6", "7+" (the last bucket is open). */
  frequency: string;
  customers: number;
  actualMean: number;
  predictedMean: number;
  actualTotal: number;
  predictedTotal: number;
}

export interface HoldoutSummary {
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  /** Holdout length in the model's time unit. */
  length: number;
  customers: number;
  actualTotal: number;
  predictedTotal: number;
  actualMean: number;
  predictedMean: number;
  /** Mean absolute and root-mean-square error per customer. */
  mae: number;
  rmse: number;
  /** (predicted - actual) / actual over all customers; null when nothing was bought. */
  relativeError: number | null;
  buckets: HoldoutBucket[];
}

export function emptyHoldout(status: 'skipped' | 'failed', reason: string, length = 0): HoldoutSummary {
  return { status, reason, length, customers: 0, actualTotal: 0, predictedTotal: 0, actualMean: 0, predictedMean: 0, mae: 0, rmse: 0, relativeError: null, buckets: [] };
}

/**
 * Predicted vs actual holdout repeat purchases. Rows with an invalid summary or a non-finite /
 * negative actual are left out of every figure, and their prediction is 0 with valid = 0.
 */
export function holdoutValidation(
  p: BgNbdParams,
  x: Float64Array,
  tx: Float64Array,
  T: Float64Array,
  actual: Float64Array,
  length: number,
  openBucket = 7,
): { summary: HoldoutSummary; predicted: Float64Array; valid: Uint8Array } {
  const n = x.length;
  if (tx.length !== n || T.length !== n || actual.length !== n) throw new RangeError('holdoutValidation: arrays must have the same length');
  const predicted = new Float64Array(n);
  const valid = new Uint8Array(n);
  if (!(length > 0) || !Number.isFinite(length)) return { summary: emptyHoldout('skipped', 'holdout period has no length', 0), predicted, valid };
  const grid = conditionalGGrid(p, x, tx, T, [length]);
  const B = openBucket + 1;
  const cnt = new Float64Array(B);
  const act = new Float64Array(B);
  const pred = new Float64Array(B);
  let absErr = 0;
  let sqErr = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const k = grid.groupOf[i];
    if (k < 0 || !(actual[i] >= 0) || !Number.isFinite(actual[i])) continue;
    const e = grid.G[k] * pAlive(p, x[i], tx[i], T[i]);
    if (!Number.isFinite(e)) continue;
    predicted[i] = e;
    valid[i] = 1;
    const bkt = Math.min(openBucket, Math.floor(x[i]));
    cnt[bkt]++;
    act[bkt] += actual[i];
    pred[bkt] += e;
    absErr += Math.abs(e - actual[i]);
    sqErr += (e - actual[i]) ** 2;
    m++;
  }
  if (m === 0) return { summary: emptyHoldout('failed', 'no customer with a valid calibration summary and holdout count', length), predicted, valid };
  const buckets: HoldoutBucket[] = [];
  let actualTotal = 0;
  let predictedTotal = 0;
  for (let b = 0; b < B; b++) {
    actualTotal += act[b];
    predictedTotal += pred[b];
    if (cnt[b] === 0) continue;
    buckets.push({
      frequency: b === openBucket ? `${openBucket}+` : String(b),
      customers: cnt[b],
      actualMean: act[b] / cnt[b],
      predictedMean: pred[b] / cnt[b],
      actualTotal: act[b],
      predictedTotal: pred[b],
    });
  }
  return {
    summary: {
      status: 'ok',
      length,
      customers: m,
      actualTotal,
      predictedTotal,
      actualMean: actualTotal / m,
      predictedMean: predictedTotal / m,
      mae: absErr / m,
      rmse: Math.sqrt(sqErr / m),
      relativeError: actualTotal > 0 ? (predictedTotal - actualTotal) / actualTotal : null,
      buckets,
    },
    predicted,
    valid,
  };
}
