import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { conditionalExpectedPurchases, fitBgNbd, type BgNbdParams } from '../lib/models/bgnbd.js';
import { holdoutValidation } from '../lib/models/holdout.js';
import { fitModels, modelJsonSchema } from '../lib/models/index.js';
import { simulateBtyd } from '../scripts/simulate-btyd.js';

const dataDir = new URL('test/fixtures/cdnow/', new URL('..', import.meta.url));

/** Calibration summary, plus holdout repeat purchase days counted from the transaction file. */
function loadCdnow() {
  const rows = readFileSync(new URL('cdnow_customers_summary_with_transactions.csv', dataDir), 'utf8').trim().split(/\r?\n/).slice(1);
  const n = rows.length;
  const d = { x: new Float64Array(n), tx: new Float64Array(n), T: new Float64Array(n), zbar: new Float64Array(n), holdout: new Float64Array(n) };
  rows.forEach((line, i) => {
    const f = line.split(',');
    d.x[i] = Number(f[1]);
    d.tx[i] = Number(f[2]);
    d.T[i] = Number(f[3]);
    d.zbar[i] = Number(f[4]);
  });
  const days = new Map<number, Set<string>>();
  for (const line of readFileSync(new URL('CDNOW_sample.txt', dataDir), 'utf8').trim().split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f[2] <= '19970930') continue;
    const id = Number(f[1]);
    if (!days.has(id)) days.set(id, new Set());
    days.get(id)!.add(f[2]);
  }
  for (let i = 0; i < n; i++) d.holdout[i] = days.get(i + 1)?.size ?? 0;
  return d;
}

describe('calibration/holdout validation', () => {
  it('CDNOW: 39-week holdout, predicted vs actual by calibration frequency', () => {
    const d = loadCdnow();
    const fit = fitBgNbd(d.x, d.tx, d.T);
    const { summary, predicted } = holdoutValidation(fit.params!, d.x, d.tx, d.T, d.holdout, 39);
    expect(summary.status).toBe('ok');
    expect(summary.actualTotal).toBe(1882); // README: repeat transaction days in the holdout
    expect(summary.buckets.map((b) => b.frequency)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7+']);
    expect(summary.buckets.map((b) => b.customers)).toEqual([1411, 439, 214, 100, 62, 38, 29, 64]);
    const sumPred = summary.buckets.reduce((s, b) => s + b.predictedTotal, 0);
    expect(sumPred).toBeCloseTo(summary.predictedTotal, 8);
    expect(predicted.reduce((s, v) => s + v, 0)).toBeCloseTo(summary.predictedTotal, 8);
    // FHL 2005 Fig. 4: x = 0 customers bought 0.24 on average in the holdout, the model says ~0.22
    expect(summary.buckets[0].actualMean).toBeCloseTo(0.2367, 3);
    expect(summary.buckets[0].predictedMean).toBeGreaterThan(0.2);
    expect(summary.buckets[0].predictedMean).toBeLessThan(0.25);
    // predictions rise with calibration frequency, as the actuals do
    for (let b = 1; b < summary.buckets.length; b++) expect(summary.buckets[b].predictedMean).toBeGreaterThan(summary.buckets[b - 1].predictedMean);
    expect(summary.relativeError!).toBeGreaterThan(-0.2);
    expect(summary.relativeError!).toBeLessThan(0.05);
    expect(predicted[0]).toBeCloseTo(conditionalExpectedPurchases(fit.params!, 39, 2, 30.43, 38.86), 12);
  });

  it('on data simulated from the model, true-parameter predictions match the actual holdout purchases', () => {
    const truth: BgNbdParams = { r: 0.8, alpha: 6, a: 0.7, b: 2.5 };
    const sim = simulateBtyd({ customers: 40_000, seed: 11, bgnbd: truth, minT: 20, maxT: 60, holdoutLength: 39 });
    const { summary } = holdoutValidation(truth, sim.x, sim.tx, sim.T, sim.holdoutX, 39);
    expect(Math.abs(summary.relativeError!)).toBeLessThan(0.03);
    for (const b of summary.buckets.slice(0, 4)) expect(Math.abs(b.predictedMean - b.actualMean) / b.actualMean).toBeLessThan(0.08);
  });

  it('skips without a holdout length and ignores invalid rows', () => {
    const p: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    const x = Float64Array.of(0, 1, NaN, 2);
    const tx = Float64Array.of(0, 5, 0, 3);
    const T = Float64Array.of(10, 10, 10, 10);
    const actual = Float64Array.of(0, 1, 1, NaN);
    expect(holdoutValidation(p, x, tx, T, actual, 0).summary.status).toBe('skipped');
    const r = holdoutValidation(p, x, tx, T, actual, 10);
    expect(r.summary.customers).toBe(2);
    expect(Array.from(r.valid)).toEqual([1, 1, 0, 0]);
    expect(Array.from(r.predicted).every(Number.isFinite)).toBe(true);
  });

  it('fitModels puts the holdout table in model.json and the per-customer predictions in perCustomer', () => {
    const d = loadCdnow();
    const res = fitModels({
      x: d.x,
      tx: d.tx,
      T: d.T,
      zbar: d.zbar,
      holdoutActual: d.holdout,
      holdoutLength: 39,
      timeUnit: 'week',
      calibrationEnd: '1997-09-30',
      asOfOffset: 39,
      horizonMonths: 12,
      discountRate: 0.01,
      marginShare: 1,
    });
    const json = modelJsonSchema.parse(JSON.parse(JSON.stringify(res.modelJson)));
    expect(json.holdout.status).toBe('ok');
    expect(json.holdout.actualTotal).toBe(1882);
    expect(json.holdout.buckets).toHaveLength(8);
    expect(res.perCustomer.holdoutPredicted!.length).toBe(2357);
  });
});
