/**
 * Predicted-CLV models in one call: fit BG/NBD and Gamma-Gamma on the calibration summary,
 * validate on the holdout when given, score every customer, and produce model.json.
 *
 * As-of handling: the models are fitted on the calibration arrays. Scoring uses `score` when the
 * caller gives summaries computed through the as-of date (preferred: purchases between the
 * calibration end and as-of then count). Without `score`, the calibration arrays are scored with
 * T shifted by `asOfOffset` (time from calibration end to as-of), i.e. assuming no purchase in
 * between — exact when the calibration end is the as-of date (offset 0), conservative otherwise.
 *
 * Nothing returned is NaN or infinite: a failed fit has status "failed" and a reason, its
 * parameters are null, and the per-customer values it would have produced are 0 with the
 * matching validity flag cleared (write null where the flag is 0).
 */
import { z } from 'zod';
import { fitBgNbd, type BgNbdFit } from './bgnbd.js';
import { fitGammaGamma, type GammaGammaFit } from './gammagamma.js';
import { scoreCustomers, type TimeUnit } from './clv.js';
import { emptyHoldout, holdoutValidation, type HoldoutSummary } from './holdout.js';

export * from './bgnbd.js';
export * from './gammagamma.js';
export * from './clv.js';
export * from './holdout.js';

const finite = z.number().finite();
const status = z.enum(['ok', 'warning', 'failed']);

export const modelJsonSchema = z.object({
  timeUnit: z.enum(['week', 'day']),
  calibrationEnd: z.string(),
  asOfOffset: finite,
  horizonMonths: finite,
  discountRate: finite,
  /** 'score' = summaries through as-of given by the caller; 'calibration' = calibration arrays with T + asOfOffset. */
  scoring: z.object({ source: z.enum(['score', 'calibration']), customers: z.number().int().nonnegative(), seriesNotConverged: z.number().int().nonnegative() }),
  bgnbd: z.object({
    r: finite.nullable(),
    alpha: finite.nullable(),
    a: finite.nullable(),
    b: finite.nullable(),
    logLikelihood: finite.nullable(),
    converged: z.boolean(),
    iterations: z.number().int().nonnegative(),
    stdErr: z.object({ r: finite, alpha: finite, a: finite, b: finite }).nullable(),
    status,
    reason: z.string().optional(),
    customers: z.number().int().nonnegative(),
    invalidRows: z.number().int().nonnegative(),
    uniqueTriples: z.number().int().nonnegative(),
    gradientNorm: finite.nullable(),
  }),
  gammaGamma: z.object({
    p: finite.nullable(),
    q: finite.nullable(),
    v: finite.nullable(),
    logLikelihood: finite.nullable(),
    converged: z.boolean(),
    iterations: z.number().int().nonnegative(),
    stdErr: z.object({ p: finite, q: finite, v: finite }).nullable(),
    status,
    reason: z.string().optional(),
    customers: z.number().int().nonnegative(),
    populationMeanSpend: finite.nullable(),
    gradientNorm: finite.nullable(),
  }),
  holdout: z.object({
    status: z.enum(['ok', 'skipped', 'failed']),
    reason: z.string().optional(),
    length: finite,
    customers: z.number().int().nonnegative(),
    actualTotal: finite,
    predictedTotal: finite,
    actualMean: finite,
    predictedMean: finite,
    mae: finite,
    rmse: finite,
    relativeError: finite.nullable(),
    buckets: z.array(
      z.object({
        frequency: z.string(),
        customers: z.number().int().nonnegative(),
        actualMean: finite,
        predictedMean: finite,
        actualTotal: finite,
        predictedTotal: finite,
      }),
    ),
  }),
});

export type ModelJson = z.infer<typeof modelJsonSchema>;

export interface FitModelsInput {
  /** Calibration summary, one entry per customer: repeat purchases, recency, age, mean repeat spend. */
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  zbar: Float64Array;
  /** Actual repeat purchases in the holdout period, aligned with the calibration arrays. */
  holdoutActual?: Float64Array;
  /** Holdout length in time units (as-of minus calibration end). */
  holdoutLength?: number;
  /** Summaries through the as-of date to score (may hold more customers than the calibration arrays). */
  score?: { x: Float64Array; tx: Float64Array; T: Float64Array; zbar?: Float64Array };
  timeUnit: TimeUnit;
  calibrationEnd: string;
  /** Time from the calibration end to the as-of date, in time units (used only without `score`). */
  asOfOffset: number;
  horizonMonths: number;
  /** Per month. */
  discountRate: number;
  /** One share, or one per scored customer. */
  marginShare: number | Float64Array;
}

export interface PerCustomer {
  pAlive: Float64Array;
  expectedPurchases: Float64Array;
  expectedAvgSpend: Float64Array;
  predictedClv: Float64Array;
  /** 1 = BG/NBD values (pAlive, expectedPurchases, and the purchase side of predictedClv) are model output; 0 = fallback 0. */
  purchasesValid: Uint8Array;
  /** 1 = expectedAvgSpend is Gamma-Gamma output; 0 = fallback (own zbar, else mean zbar of repeat buyers). */
  spendValid: Uint8Array;
  /** Predicted holdout repeat purchases per calibration customer (only with holdout data). */
  holdoutPredicted?: Float64Array;
}

export interface FitModelsResult {
  modelJson: ModelJson;
  perCustomer: PerCustomer;
}

const nz = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : v);

function bgnbdJson(f: BgNbdFit): ModelJson['bgnbd'] {
  return {
    r: nz(f.params?.r),
    alpha: nz(f.params?.alpha),
    a: nz(f.params?.a),
    b: nz(f.params?.b),
    logLikelihood: nz(f.logLikelihood),
    converged: f.converged,
    iterations: f.iterations,
    stdErr: f.stdErr,
    status: f.status,
    ...(f.reason ? { reason: f.reason } : {}),
    customers: f.customers,
    invalidRows: f.invalidRows,
    uniqueTriples: f.uniqueTriples,
    gradientNorm: nz(f.gradientNorm),
  };
}

function gammaGammaJson(f: GammaGammaFit): ModelJson['gammaGamma'] {
  return {
    p: nz(f.params?.p),
    q: nz(f.params?.q),
    v: nz(f.params?.v),
    logLikelihood: nz(f.logLikelihood),
    converged: f.converged,
    iterations: f.iterations,
    stdErr: f.stdErr,
    status: f.status,
    ...(f.reason ? { reason: f.reason } : {}),
    customers: f.customers,
    populationMeanSpend: nz(f.populationMeanSpend),
    gradientNorm: nz(f.gradientNorm),
  };
}

export function fitModels(input: FitModelsInput): FitModelsResult {
  const n = input.x.length;
  if (input.tx.length !== n || input.T.length !== n || input.zbar.length !== n)
    throw new RangeError('fitModels: x, tx, T and zbar must have one entry per customer');
  const bg = fitBgNbd(input.x, input.tx, input.T);
  const gg = fitGammaGamma(input.x, input.zbar);
  const bgParams = bg.status === 'failed' ? null : bg.params;
  const ggParams = gg.status === 'failed' ? null : gg.params;

  if (input.score) {
    const s = input.score;
    const m = s.x.length;
    if (s.tx.length !== m || s.T.length !== m || (s.zbar && s.zbar.length !== m))
      throw new RangeError('fitModels: score.x, score.tx, score.T (and score.zbar) must have the same length');
    // Without zbar through as-of, spend is conditioned on the calibration (x, zbar) when the
    // arrays are aligned, else every scored customer gets the population mean.
    const zbar = s.zbar ?? (m === n ? input.zbar : new Float64Array(m));
    const spendX = s.zbar ? s.x : m === n ? input.x : new Float64Array(m);
    const scores = scoreCustomers(bgParams, ggParams, { x: s.x, tx: s.tx, T: s.T, zbar, spendX }, input);
    return finish(input, bg, gg, bgParams, scores, 'score', m);
  }
  const off = Number.isFinite(input.asOfOffset) && input.asOfOffset > 0 ? input.asOfOffset : 0;
  const T = off > 0 ? input.T.map((t) => t + off) : input.T;
  const scores = scoreCustomers(bgParams, ggParams, { x: input.x, tx: input.tx, T, zbar: input.zbar }, input);
  return finish(input, bg, gg, bgParams, scores, 'calibration', n);
}

function finish(
  input: FitModelsInput,
  bg: BgNbdFit,
  gg: GammaGammaFit,
  bgParams: BgNbdFit['params'],
  scores: ReturnType<typeof scoreCustomers>,
  source: 'score' | 'calibration',
  scored: number,
): FitModelsResult {
  let holdout: HoldoutSummary;
  let holdoutPredicted: Float64Array | undefined;
  if (!input.holdoutActual) holdout = emptyHoldout('skipped', 'no holdout period (calibration end is the as-of date)');
  else if (input.holdoutActual.length !== input.x.length) throw new RangeError('fitModels: holdoutActual must be aligned with the calibration arrays');
  else if (!bgParams) holdout = emptyHoldout('failed', 'BG/NBD fit failed: no holdout prediction', input.holdoutLength ?? 0);
  else {
    const h = holdoutValidation(bgParams, input.x, input.tx, input.T, input.holdoutActual, input.holdoutLength ?? 0);
    holdout = h.summary;
    holdoutPredicted = h.predicted;
  }
  const modelJson: ModelJson = {
    timeUnit: input.timeUnit,
    calibrationEnd: input.calibrationEnd,
    asOfOffset: Number.isFinite(input.asOfOffset) ? input.asOfOffset : 0,
    horizonMonths: input.horizonMonths,
    discountRate: input.discountRate,
    scoring: { source, customers: scored, seriesNotConverged: scores.seriesNotConverged },
    bgnbd: bgnbdJson(bg),
    gammaGamma: gammaGammaJson(gg),
    holdout,
  };
  const perCustomer: PerCustomer = {
    pAlive: scores.pAlive,
    expectedPurchases: scores.expectedPurchases,
    expectedAvgSpend: scores.expectedAvgSpend,
    predictedClv: scores.predictedClv,
    purchasesValid: scores.purchasesValid,
    spendValid: scores.spendValid,
    ...(holdoutPredicted ? { holdoutPredicted } : {}),
  };
  return { modelJson, perCustomer };
}
