import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { conditionalExpectedPurchases, pAlive, type BgNbdParams } from '../lib/models/bgnbd.js';
import { conditionalExpectedSpend, type GammaGammaParams } from '../lib/models/gammagamma.js';
import { DAYS_PER_MONTH, monthInTimeUnits, scoreCustomers } from '../lib/models/clv.js';
import { fitModels, modelJsonSchema } from '../lib/models/index.js';

function loadCdnow() {
  const url = new URL('test/fixtures/cdnow/cdnow_customers_summary_with_transactions.csv', new URL('..', import.meta.url));
  const rows = readFileSync(url, 'utf8').trim().split(/\r?\n/).slice(1);
  const n = rows.length;
  const d = { x: new Float64Array(n), tx: new Float64Array(n), T: new Float64Array(n), zbar: new Float64Array(n) };
  rows.forEach((line, i) => {
    const f = line.split(',');
    d.x[i] = Number(f[1]);
    d.tx[i] = Number(f[2]);
    d.T[i] = Number(f[3]);
    d.zbar[i] = Number(f[4]);
  });
  return d;
}

const BG: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const GG: GammaGammaParams = { p: 6.25, q: 3.74, v: 15.44 };
const f64 = (...v: number[]) => Float64Array.from(v);
const allFinite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);

describe('predicted CLV', () => {
  it('converts months to the time unit (1 month = 365.25/12 days)', () => {
    expect(monthInTimeUnits('day')).toBeCloseTo(30.4375, 12);
    expect(monthInTimeUnits('week')).toBeCloseTo(30.4375 / 7, 12);
    expect(DAYS_PER_MONTH).toBe(365.25 / 12);
  });

  it('equals the discounted sum of monthly expected-purchase increments × spend × margin', () => {
    const input = { x: f64(0, 2, 7, 1), tx: f64(0, 30.43, 20, 5), T: f64(38.86, 38.86, 38, 30), zbar: f64(0, 22.35, 50, 10) };
    const opts = { timeUnit: 'week' as const, horizonMonths: 12, discountRate: 0.01, marginShare: 0.3 };
    const s = scoreCustomers(BG, GG, input, opts);
    const month = 30.4375 / 7;
    for (let i = 0; i < 4; i++) {
      const spend = conditionalExpectedSpend(GG, input.x[i], input.zbar[i]);
      let clv = 0;
      for (let m = 1; m <= 12; m++) {
        const inc =
          conditionalExpectedPurchases(BG, m * month, input.x[i], input.tx[i], input.T[i]) -
          conditionalExpectedPurchases(BG, (m - 1) * month, input.x[i], input.tx[i], input.T[i]);
        clv += (inc * spend * 0.3) / 1.01 ** m;
      }
      expect(s.predictedClv[i]).toBeCloseTo(clv, 10);
      expect(s.expectedPurchases[i]).toBeCloseTo(conditionalExpectedPurchases(BG, 12 * month, input.x[i], input.tx[i], input.T[i]), 12);
      expect(s.pAlive[i]).toBeCloseTo(pAlive(BG, input.x[i], input.tx[i], input.T[i]), 14);
      expect(s.expectedAvgSpend[i]).toBeCloseTo(spend, 12);
      expect(s.purchasesValid[i]).toBe(1);
      expect(s.spendValid[i]).toBe(1);
    }
  });

  it('without discounting, CLV = E[purchases over the horizon] × spend × margin', () => {
    const input = { x: f64(3), tx: f64(20), T: f64(30), zbar: f64(40) };
    const s = scoreCustomers(BG, GG, input, { timeUnit: 'week', horizonMonths: 6, discountRate: 0, marginShare: f64(0.5) });
    expect(s.predictedClv[0]).toBeCloseTo(s.expectedPurchases[0] * s.expectedAvgSpend[0] * 0.5, 10);
  });

  it('does not depend on the time unit: days with α × 7 give the same CLV as weeks', () => {
    const weeks = { x: f64(0, 2, 5), tx: f64(0, 30, 12), T: f64(38, 38.86, 20), zbar: f64(0, 22, 60) };
    const days = { ...weeks, tx: weeks.tx.map((v) => v * 7), T: weeks.T.map((v) => v * 7) };
    const o = { horizonMonths: 12, discountRate: 0.02, marginShare: 1 };
    const w = scoreCustomers(BG, GG, weeks, { ...o, timeUnit: 'week' });
    const d = scoreCustomers({ ...BG, alpha: BG.alpha * 7 }, GG, days, { ...o, timeUnit: 'day' });
    for (let i = 0; i < 3; i++) {
      expect(d.predictedClv[i]).toBeCloseTo(w.predictedClv[i], 9);
      expect(d.pAlive[i]).toBeCloseTo(w.pAlive[i], 12);
    }
  });

  it('is finite for edge inputs and flags what it could not score', () => {
    const input = { x: f64(500, 0, NaN, 2, 3), tx: f64(38, 0, 1, 40, 0), T: f64(38.5, 0, 10, 30, 0), zbar: f64(40, 0, 0, 10, 0) };
    const s = scoreCustomers(BG, GG, input, { timeUnit: 'week', horizonMonths: 12, discountRate: 0.01, marginShare: 1 });
    for (const a of [s.pAlive, s.expectedPurchases, s.expectedAvgSpend, s.predictedClv]) expect(allFinite(a)).toBe(true);
    expect(Array.from(s.purchasesValid)).toEqual([1, 1, 0, 0, 1]);
    expect(s.predictedClv[0]).toBeGreaterThan(1000);
    // without a spend model: documented fallback (own zbar, else mean zbar of repeat buyers), flagged
    const f = scoreCustomers(BG, null, input, { timeUnit: 'week', horizonMonths: 12, discountRate: 0.01, marginShare: 1 });
    expect(Array.from(f.spendValid)).toEqual([0, 0, 0, 0, 0]);
    expect(f.expectedAvgSpend[0]).toBe(40);
    expect(f.expectedAvgSpend[1]).toBe(25);
  });
});

describe('fitModels and model.json', () => {
  const d = loadCdnow();
  const base = { timeUnit: 'week' as const, calibrationEnd: '1997-09-30', asOfOffset: 0, horizonMonths: 12, discountRate: 0.01, marginShare: 1 };

  it('fits both models on CDNOW, writes a schema-valid model.json and finite per-customer values', () => {
    const { modelJson, perCustomer } = fitModels({ ...d, ...base });
    expect(modelJsonSchema.parse(JSON.parse(JSON.stringify(modelJson)))).toEqual(modelJson);
    expect(modelJson.bgnbd.status).toBe('ok');
    expect(modelJson.bgnbd.r).toBeCloseTo(0.2426, 3);
    expect(modelJson.gammaGamma.p).toBeCloseTo(6.249, 2);
    expect(modelJson.holdout.status).toBe('skipped');
    expect(modelJson.scoring.source).toBe('calibration');
    for (const a of Object.values(perCustomer)) expect(allFinite(a as Float64Array)).toBe(true);
    expect(perCustomer.predictedClv.length).toBe(2357);
    expect(perCustomer.purchasesValid.every((v) => v === 1)).toBe(true);
    // customer 1 (x=2, t_x=30.43, T=38.86): scored at the calibration end
    expect(perCustomer.pAlive[0]).toBeCloseTo(pAlive({ r: modelJson.bgnbd.r!, alpha: modelJson.bgnbd.alpha!, a: modelJson.bgnbd.a!, b: modelJson.bgnbd.b! }, 2, 30.43, 38.86), 12);
  });

  it('scores at as-of: shifted T without score arrays, or the given score arrays', () => {
    const shifted = fitModels({ ...d, ...base, asOfOffset: 10 });
    const plain = fitModels({ ...d, ...base });
    expect(shifted.perCustomer.pAlive[0]).toBeLessThan(plain.perCustomer.pAlive[0]);
    const score = { x: f64(2, 0), tx: f64(30.43, 0), T: f64(48.86, 1) };
    const s = fitModels({ ...d, ...base, score });
    expect(s.modelJson.scoring).toMatchObject({ source: 'score', customers: 2 });
    expect(s.perCustomer.pAlive[0]).toBeCloseTo(shifted.perCustomer.pAlive[0], 12);
    expect(s.perCustomer.expectedAvgSpend[1]).toBeCloseTo(s.modelJson.gammaGamma.populationMeanSpend!, 10);
  });

  it('a failed fit still gives a valid model.json and finite, flagged per-customer values', () => {
    const n = 50;
    const res = fitModels({
      x: new Float64Array(n),
      tx: new Float64Array(n),
      T: new Float64Array(n).fill(20),
      zbar: new Float64Array(n),
      holdoutActual: new Float64Array(n).fill(1),
      holdoutLength: 10,
      ...base,
    });
    expect(modelJsonSchema.safeParse(res.modelJson).success).toBe(true);
    expect(res.modelJson.bgnbd.status).toBe('failed');
    expect(res.modelJson.bgnbd.reason).toBeTruthy();
    expect(res.modelJson.gammaGamma.status).toBe('failed');
    expect(res.modelJson.holdout.status).toBe('failed');
    expect(res.perCustomer.purchasesValid.every((v) => v === 0)).toBe(true);
    for (const a of [res.perCustomer.pAlive, res.perCustomer.predictedClv, res.perCustomer.expectedAvgSpend]) expect(allFinite(a)).toBe(true);
    expect(JSON.stringify(res.modelJson)).not.toMatch(/NaN|Infinity/);
  });

  it('a single customer and huge frequencies: no throw, no NaN', () => {
    const one = fitModels({ x: f64(3), tx: f64(20), T: f64(30), zbar: f64(12), ...base });
    expect(modelJsonSchema.safeParse(one.modelJson).success).toBe(true);
    expect(one.modelJson.bgnbd.reason).toBeTruthy();
    const big = fitModels({
      x: Float64Array.from([...d.x, 500]),
      tx: Float64Array.from([...d.tx, 38]),
      T: Float64Array.from([...d.T, 38.5]),
      zbar: Float64Array.from([...d.zbar, 30]),
      ...base,
    });
    expect(big.modelJson.bgnbd.status).not.toBe('failed');
    for (const a of [big.perCustomer.pAlive, big.perCustomer.predictedClv]) expect(allFinite(a)).toBe(true);
  });

  it('the schema rejects NaN and missing contract fields', () => {
    const { modelJson } = fitModels({ ...d, ...base });
    expect(modelJsonSchema.safeParse({ ...modelJson, bgnbd: { ...modelJson.bgnbd, r: NaN } }).success).toBe(false);
    const { alpha: _drop, ...noAlpha } = modelJson.bgnbd;
    expect(modelJsonSchema.safeParse({ ...modelJson, bgnbd: noAlpha }).success).toBe(false);
  });
});
