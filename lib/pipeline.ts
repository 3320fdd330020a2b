/**
 * The whole run, free of AWS: ingest -> customers -> tiers -> cohorts / CRR / models ->
 * segments -> alerts -> report -> outputs. The CLI, the Lambda handler and the tests call
 * `runPipeline` with inputs and a Storage; only they know where the bytes live.
 *
 * Outputs are first written under a staging prefix, then moved into their partitions, and
 * the manifest goes last: a run that fails leaves the previous partition of its date intact.
 */
import { randomUUID } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import type { Config } from './config.js';
import { CustomerAccumulator, releasedDayLists, summarize, type CustomerSummary } from './customers.js';
import { cohortRows, round2 } from './cohorts.js';
import { periodRows } from './crr.js';
import { dayToIso, isoToDay } from './dates.js';
import { RunFailedError } from './errors.js';
import { ingest, rejectsCsv, type Reject } from './ingest/index.js';
import { normalizeRejectReason, reducedInputConfig, type RowAccounting } from './athena/index.js';
import type { Manifest } from './manifest.js';
import { fitModels } from './models/index.js';
import { detectValueLoss } from './alerts/index.js';
import { renderReport, buildReportEmail, resolveImages, pngDataUrl } from './report/index.js';
import { encodeParquet, encodeParquetColumns, decodeParquet, type ColumnValues } from './outputs/parquet.js';
import { alertsTable, cohortsTable, customersTable, dimensionColumnName, layout, periodsTable, segmentsTable, trendsTable, type Row, type TableDef } from './outputs/schema.js';
import { trendRows, asRows as asTrendRows } from './trends.js';
import { publish, type StagedFile } from './outputs/publish.js';
import { periodIndex, periodLabel, type PeriodUnit } from './periods.js';
import { segmentation } from './segmentation.js';
import { segmentRows, withPrevious } from './segments.js';
import { assignTiers, NO_TIER_NAME, type Tiers } from './tiers.js';
import type { InputFile, Storage } from './storage.js';
import type { AlertRow } from './types.js';
import { AggregateThread } from './aggregate-thread.js';
import { collectGarbage } from './memory.js';

export const VERSION = '0.1.0';

/**
 * Rejected rows kept whole (with file, line, column, reason) for rejects.csv. Beyond this a
 * run is failing its quality gate anyway; the rest are counted by reason, and the export itself
 * is never modified, so memory stays bounded even when every row of a huge file is rejected.
 */
export const MAX_KEPT_REJECTS = 100_000;

export interface ProgressEvent {
  stage: string;
  message: string;
  rows?: number;
  bytes?: number;
}

export interface RunOptions {
  inputs: InputFile[];
  out: Storage;
  config: Config;
  /** YYYY-MM-DD; default: the latest order date in the input. */
  asOf?: string;
  onProgress?: (e: ProgressEvent) => void;
  /**
   * Engine "athena": the inputs are the export's reduction by SQL (lib/athena), read with the
   * reduced rows' mapping; the row accounting of the raw export comes from the SQL too.
   */
  reduced?: { accounting: RowAccounting };
  /** Where analysts find the tables, for the report (default: out.location). */
  tablesLocation?: string;
  now?: () => Date;
  /**
   * Customer-days from which the period rows are made on a second thread (default
   * MIN_THREAD_DAYS; aggregate-thread.ts). Tests set 0 to take that path on small inputs.
   */
  aggregateThreadMinDays?: number;
}

export interface RunResult {
  runDate: string;
  manifest: Manifest;
  email: { subject: string; from: string; to: string[]; eml: Uint8Array };
  outputs: string[];
  summary: string;
}

interface ModelOutputs {
  status: 'ok' | 'failed';
  summary: string;
  modelJson: unknown;
  pAlive?: Float64Array;
  expectedPurchases?: Float64Array;
  expectedAvgSpend?: Float64Array;
  predictedClv?: Float64Array;
}

const DAYS_PER_UNIT = { week: 7, day: 1 } as const;

/**
 * Customers from which a run collects garbage at two stage boundaries (memory.ts): a collection
 * takes ~60 ms at 1M customers, and a small run's garbage does not matter.
 */
const MIN_COLLECT_CUSTOMERS = 100_000;

export async function runPipeline(opts: RunOptions): Promise<RunResult> {
  const held: Held = { spare: null, helper: null };
  try {
    return await run(opts, held);
  } finally {
    // a run that failed before its cohorts stage stops the thread it kept or started for them
    await held.spare?.terminate();
    await held.helper?.close();
  }
}

/** What a run holds that must be let go however it ends. */
interface Held {
  /** The parse worker ingest handed over, until the aggregate thread takes it. */
  spare: Worker | null;
  helper: AggregateThread | null;
}

async function run(opts: RunOptions, held: Held): Promise<RunResult> {
  const { config, out } = opts;
  const now = opts.now ?? (() => new Date());
  const progress = opts.onProgress ?? (() => {});
  const startedAt = now();
  const runId = `${startedAt.toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
  const timings: Record<string, number> = {};
  const stagePeakRss: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (stage: string) => {
    const t = performance.now();
    timings[stage] = Math.round(t - t0);
    stagePeakRss[stage] = Math.round(process.resourceUsage().maxRSS / 1024); // peak so far, MB
    t0 = t;
  };

  // 1. Ingest: one pass over the rows into per-customer state.
  const dims = config.input.columns.dimensions;
  const acc = new CustomerAccumulator(dims.length);
  const rejects: Reject[] = [];
  let rejectReasons: Record<string, number> = {};
  const asOfOption = opts.asOf !== undefined ? isoToDay(opts.asOf) : undefined;
  if (opts.asOf !== undefined && (asOfOption === undefined || asOfOption === null || Number.isNaN(asOfOption)))
    throw new RunFailedError(`--as-of "${opts.asOf}" is not a date (YYYY-MM-DD)`, 'input');
  progress({ stage: 'ingest', message: `reading ${opts.inputs.length} file(s)` });
  const ingestConfig = opts.reduced ? { ...config, input: reducedInputConfig(config) } : config;
  const ingested = await ingest(opts.inputs, ingestConfig, {
    asOfDay: asOfOption ?? undefined,
    onWorkerFree: (w) => (held.spare = w),
    onBatch: (b) => acc.addBatch(b),
    onReject: (r) => {
      const reason = normalizeRejectReason(r.reason);
      rejectReasons[reason] = (rejectReasons[reason] ?? 0) + 1;
      if (rejects.length < MAX_KEPT_REJECTS) rejects.push(r);
    },
    onProgress: (p) => progress({ stage: 'ingest', message: `${p.file}`, rows: p.rows, bytes: p.bytes }),
  });
  // A large ingest's tables are garbage now: collected before the summary allocates (memory.ts).
  // Not while the second thread starts on its share of the summary: one run of three so peaked at
  // 895 MB in the summary stage, 135 MB above the others.
  if (acc.customerCount >= MIN_COLLECT_CUSTOMERS) collectGarbage();
  lap('ingest');
  // part of the summary and the period rows are made on a second thread (steps 2-3; aggregate-thread.ts)
  const helper = (held.helper = AggregateThread.start(acc.dayCount, opts.aggregateThreadMinDays, held.spare));
  held.spare = null;
  // With engine "athena" the raw rows were counted by SQL; the reduced rows are all valid.
  const ing = opts.reduced ? { ...ingested, rows: opts.reduced.accounting.rows } : ingested;
  if (opts.reduced) rejectReasons = opts.reduced.accounting.rejectReasons;
  const rejectsFile = () =>
    rejectsCsv(rejects) +
    (ing.rows.rejected > rejects.length ? `# ${ing.rows.rejected - rejects.length} more rejected rows not listed (first ${rejects.length} kept); counts by reason are in the manifest / failure record\n` : '');

  const asOfDay = asOfOption ?? ing.maxDay;
  const runDate = asOfDay !== null && asOfDay !== undefined ? dayToIso(asOfDay) : startedAt.toISOString().slice(0, 10);
  const fail = async (message: string, stage: RunFailedError['stage'], details: string[] = []) => {
    // Keep what the run saw (rejected rows with reasons) beside its failure record; no table is touched.
    const prefix = `failures/run_date=${runDate}/${runId}/`;
    await out.put(`${prefix}rejects.csv`, rejectsFile(), 'text/csv');
    await out.put(
      `${prefix}failure.json`,
      JSON.stringify({ runId, runDate, stage, message, details, rows: ing.rows, rejectReasons, inputs: ing.files }, null, 2),
      'application/json',
    );
    // The run date travels with the error so the operators' notice names the data's date, not today's.
    return new RunFailedError(message, stage, details, { runDate, record: `${prefix}failure.json` });
  };
  if (ing.rows.accepted === 0 || asOfDay === null || asOfDay === undefined)
    throw await fail(`no valid sales rows in ${opts.inputs.length} input file(s) (${ing.rows.read} rows read, ${ing.rows.rejected} rejected)`, 'data quality');
  const rejectShare = ing.rows.read > 0 ? ing.rows.rejected / ing.rows.read : 0;
  if (rejectShare > config.input.maxRejectShare) {
    const top = Object.entries(rejectReasons).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([r, n]) => `${n} x ${r}`);
    throw await fail(
      `${ing.rows.rejected} of ${ing.rows.read} rows rejected (${(rejectShare * 100).toFixed(2)}%), above input.maxRejectShare = ${(config.input.maxRejectShare * 100).toFixed(2)}%: not reporting on bad data`,
      'data quality',
      top,
    );
  }
  const calibrationEnd = config.model.calibrationEnd ?? runDate;
  const calibrationEndDay = isoToDay(calibrationEnd)!;
  if (calibrationEndDay > asOfDay) throw await fail(`model.calibrationEnd ${calibrationEnd} is after the as-of date ${runDate}`, 'input');

  // 2. Per-customer summary, tiers, segments.
  progress({ stage: 'summary', message: `${acc.customerCount} customers` });
  const summaryOpts = { asOfDay, calibrationEndDay, unitDays: DAYS_PER_UNIT[config.model.timeUnit], marginShare: config.model.marginShare };
  // the later customers' day lists on the second thread, when there is one (aggregate-thread.ts)
  const s = helper ? await helper.summarize(acc, summaryOpts) : summarize(acc, summaryOpts);
  const tiers = assignTiers(s, config.tiers);
  const seg = segmentation(s, tiers, dims);
  lap('summary');

  // 3. Cohorts and CRR (the period rows on the second thread, when there is one).
  progress({ stage: 'cohorts', message: 'cohort retention and CRR' });
  const cohortsHere = () => cohortRows(s, seg, { unit: config.cohort.period, asOfDay });
  const periodOpts = { unit: config.cohort.period, asOfDay, activeWindowDays: config.cohort.activeWindowDays };
  const periodsHere = () => periodRows(s, seg, periodOpts);
  const [cohorts, periods] = helper ? await helper.periodRowsBeside(s, tiers, dims, periodOpts, cohortsHere, periodsHere) : [cohortsHere(), periodsHere()];
  // not awaited: its exit takes 10-35 ms at 1M customers, and the process does not wait for it (unref)
  void helper?.close().catch(() => {});
  held.helper = null;
  // the day lists (~100 MB at 10M rows) serve steps 2-3 only: let them go before the later stages
  s.lists = releasedDayLists(s.n);
  const trends = trendRows(cohorts, config.cohort.trendAges, config.cohort.trendCohorts);
  lap('cohorts');

  // 4. Predicted CLV.
  progress({ stage: 'models', message: 'fitting BG/NBD and Gamma-Gamma' });
  const model = fitCustomerModels(s, config, calibrationEnd, asOfDay - calibrationEndDay);
  lap('models');

  // 5. Segments, against the previous run.
  const previous = await previousSegments(out, runDate);
  const segments = withPrevious(
    segmentRows(s, seg, periods, {
      asOfDay,
      activeWindowDays: config.cohort.activeWindowDays,
      pAliveThreshold: config.alerts.pAliveThreshold,
      predictedClv: model.predictedClv,
      pAlive: model.pAlive,
    }),
    previous,
  );
  lap('segments');

  // 6. Value-loss warnings.
  progress({ stage: 'alerts', message: 'testing segments for value losses' });
  const detected = detectValueLoss({ cohorts, periods, segments, config, asOf: runDate });
  const alerts: AlertRow[] = detected.alerts;
  lap('alerts');

  // 7. Report.
  progress({ stage: 'report', message: 'rendering the report' });
  const tablesLocation = opts.tablesLocation ?? config.report.tablesLocation ?? out.location;
  const latestOrderDate = ing.maxDay !== null ? dayToIso(Math.min(ing.maxDay, asOfDay)) : runDate;
  const rendered = await renderReport({
    runDate,
    asOf: runDate,
    currency: config.currency,
    company: config.report.company || undefined,
    tablesLocation,
    cohortPeriod: config.cohort.period,
    tierNames: tiers.names,
    alerts,
    segments,
    cohorts,
    periods,
    tooSmall: detected.tooSmall,
    mix: detected.mix,
    quality: {
      rows: ing.rows,
      rejectedExamples: Object.entries(rejectReasons).map(([reason, count]) => ({ reason, count })),
      latestOrderDate,
      filesRead: ing.files.length,
      marginNote: s.hasMargin ? undefined : `No margin column: margin assumed to be ${(config.model.marginShare * 100).toFixed(0)}% of revenue (model.marginShare).`,
    },
    model: { status: model.status, summary: model.summary },
    recipients: config.report.to,
  });
  const eml = await buildReportEmail(rendered, { from: config.report.from, to: config.report.to, date: now() });
  lap('report');

  // 8. Outputs: stage everything, then move into place; the manifest goes last. The stages before
  // left garbage (the day lists, the models' and the report's working memory) that V8 may not have
  // collected yet: collected before the customers table is encoded, the run's peak (memory.ts).
  progress({ stage: 'outputs', message: `writing tables to ${out.location}` });
  if (s.n >= MIN_COLLECT_CUSTOMERS) collectGarbage();
  const staged: StagedFile[] = [];
  const stage = async (key: string, body: Uint8Array | string, contentType: string, rows?: number) => {
    const tmp = `${layout.staging(runId)}${key}`;
    await out.put(tmp, body, contentType);
    staged.push({ tmp, key, bytes: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength, rows });
  };
  const table = async (def: TableDef, rows: Iterable<Row>, n: number) =>
    stage(layout.table(def.name, runDate), await encodeParquet(def, rows), 'application/vnd.apache.parquet', n);
  try {
    const custDef = customersTable(dims);
    const custBytes = encodeParquetColumns(custDef, s.n, (start, end) => customerColumns(s, tiers, dims, model, config.cohort.period, start, end));
    await stage(layout.table('customers', runDate), custBytes, 'application/vnd.apache.parquet', s.n);
    await table(cohortsTable, cohorts as unknown as Row[], cohorts.length);
    await table(segmentsTable, segments as unknown as Row[], segments.length);
    await table(periodsTable, periods as unknown as Row[], periods.length);
    await table(trendsTable, asTrendRows(trends), trends.length);
    await table(alertsTable, alerts as unknown as Row[], alerts.length);
    await stage(layout.run(runDate, 'model.json'), JSON.stringify(model.modelJson, null, 2), 'application/json');
    await stage(layout.run(runDate, 'rejects.csv'), rejectsFile(), 'text/csv');
    // The saved report.html is self-contained (images as data: URLs) so it opens anywhere, from S3 or disk.
    await stage(layout.run(runDate, 'report.html'), resolveImages(rendered.html, rendered.images, pngDataUrl), 'text/html; charset=utf-8');
    await stage(layout.run(runDate, 'report.txt'), rendered.text, 'text/plain; charset=utf-8');
    await stage(layout.run(runDate, 'report.eml'), eml, 'message/rfc822');
    for (const img of rendered.images) await stage(layout.run(runDate, `images/${img.filename}`), img.png, 'image/png');
  } catch (e) {
    await out.delete(staged.map((f) => f.tmp)).catch(() => {});
    throw new RunFailedError(`could not write outputs to ${out.location}: ${(e as Error).message}`, 'outputs', [], { runDate });
  }
  lap('outputs');

  const manifest: Manifest = {
    tool: 'tailwatch',
    version: VERSION,
    runId,
    runDate,
    asOf: runDate,
    asOfSource: opts.asOf !== undefined ? 'option' : 'latest order',
    calibrationEnd,
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    status: 'succeeded',
    inputs: ing.files.map((f) => ({ name: f.name, size: f.size, etag: f.etag, format: f.format, compressed: f.compressed, rows: f.rows })),
    rows: ing.rows,
    rejectReasons,
    dataRange: { firstOrderDate: ing.minDay !== null ? dayToIso(ing.minDay) : null, lastOrderDate: latestOrderDate },
    customers: s.n,
    tiers: { names: tiers.names, bounds: tiers.bounds.map(round2), basis: tiers.basis, derived: tiers.derived },
    alerts: alerts.length,
    tooSmallToJudge: detected.tooSmall.length,
    model: { status: model.status, summary: model.summary },
    warnings: ing.warnings,
    timingsMs: timings,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    stagePeakRssMb: stagePeakRss,
    outputs: staged.map((f) => ({ key: f.key, bytes: f.bytes, rows: f.rows })),
    config,
    email: { subject: rendered.subject, to: config.report.to, messageId: null, sentAt: null },
  };
  try {
    await publish(out, runDate, staged, JSON.stringify(manifest, null, 2));
  } catch (e) {
    throw new RunFailedError(`could not publish outputs to ${out.location}: ${(e as Error).message}`, 'publish', [], { runDate });
  }
  lap('publish');
  manifest.timingsMs = timings;

  const smallAlerts = alerts.filter((a) => a.tier === tiers.names[0]).length;
  const summary =
    `${s.n.toLocaleString('en-US')} customers in ${new Set(cohorts.map((c) => c.cohort)).size} cohorts, ` +
    `${ing.rows.accepted.toLocaleString('en-US')} rows accepted, ${ing.rows.rejected} rejected, ${ing.rows.duplicates} duplicates, ${ing.rows.ignored} after the as-of date; ` +
    `${alerts.length} warning(s) (${smallAlerts} in the ${tiers.names[0]} tier); model: ${model.summary}.`;
  return {
    runDate,
    manifest,
    email: { subject: rendered.subject, from: config.report.from, to: config.report.to, eml },
    outputs: [...staged.map((f) => f.key), layout.run(runDate, 'manifest.json')],
    summary,
  };
}

/** Customers [start, end) of the `customers` table as columns (no object per customer). */
function customerColumns(
  s: CustomerSummary,
  tiers: Tiers,
  dims: (string | number)[],
  m: ModelOutputs,
  unit: PeriodUnit,
  start: number,
  end: number,
): Record<string, ColumnValues> {
  const col = <T extends string | number | boolean | null>(f: (c: number) => T): T[] => {
    const out = new Array<T>(end - start);
    for (let c = start; c < end; c++) out[c - start] = f(c);
    return out;
  };
  const day = (d: number) => (d === d ? d : null);
  const model = (a: Float64Array | undefined) => (a ? col((c) => (a[c] === a[c] ? a[c] : null)) : col(() => null));
  const calibrated = (a: Float64Array) => col((c) => (s.calibrated[c] ? a[c] : null));
  const cohortLabels = new Map<number, string>();
  const columns: Record<string, ColumnValues> = {
    customer_id: s.ids.slice(start, end),
    cohort: col((c) => {
      if (s.firstDay[c] !== s.firstDay[c]) return null;
      const p = periodIndex(s.firstDay[c], unit);
      let label = cohortLabels.get(p);
      if (label === undefined) cohortLabels.set(p, (label = periodLabel(p, unit)));
      return label;
    }),
    first_order_date: col((c) => day(s.firstDay[c])),
    last_order_date: col((c) => day(s.lastDay[c])),
    orders: Array.from(s.orders.subarray(start, end)),
    purchase_days: Array.from(s.purchaseDays.subarray(start, end)),
    revenue: col((c) => round2(s.revenue[c])),
    margin: col((c) => round2(s.margin[c])),
    first_order_value: col((c) => round2(s.firstOrderValue[c])),
    tier: col((c) => (tiers.tierOf[c] >= 0 ? tiers.names[tiers.tierOf[c]] : NO_TIER_NAME)),
    frequency: calibrated(s.frequency),
    recency: calibrated(s.recency),
    t: calibrated(s.T),
    zbar: calibrated(s.zbar),
    p_alive: model(m.pAlive),
    expected_purchases: model(m.expectedPurchases),
    expected_avg_spend: model(m.expectedAvgSpend),
    predicted_clv: model(m.predictedClv),
  };
  dims.forEach((d, j) => (columns[dimensionColumnName(d)] = col((c) => s.dimValues[j][s.dims[c * dims.length + j]] ?? null)));
  return columns;
}

/**
 * a[c] for each customer c of `of`, by a plain loop: Float64Array.from(of, mapFn) goes through the
 * iterator protocol and took ~0.9 s for the eleven columns of the bench's 1M customers (issue 8).
 */
function gather(a: Float64Array, of: readonly number[]): Float64Array {
  const out = new Float64Array(of.length);
  for (let i = 0; i < of.length; i++) out[i] = a[of[i]];
  return out;
}

/** Each scored customer's margin / revenue in [0, 1]; the configured share where there is no revenue. */
function marginShares(s: CustomerSummary, scored: readonly number[], fallback: number): Float64Array {
  const out = new Float64Array(scored.length);
  for (let i = 0; i < scored.length; i++) {
    const c = scored[i];
    out[i] = s.revenue[c] > 0 ? Math.min(1, Math.max(0, s.margin[c] / s.revenue[c])) : fallback;
  }
  return out;
}

/** Fits BG/NBD + Gamma-Gamma on calibrated customers and scores everyone acquired; never throws. */
function fitCustomerModels(s: CustomerSummary, config: Config, calibrationEnd: string, asOfOffsetDays: number): ModelOutputs {
  const idx: number[] = [];
  for (let c = 0; c < s.n; c++) if (s.calibrated[c]) idx.push(c);
  const pick = (a: Float64Array) => gather(a, idx);
  const scored: number[] = [];
  for (let c = 0; c < s.n; c++) if (s.purchaseDays[c] > 0) scored.push(c);
  const pickS = (a: Float64Array) => gather(a, scored);
  const unitDays = DAYS_PER_UNIT[config.model.timeUnit];
  try {
    const fit = fitModels({
      x: pick(s.frequency),
      tx: pick(s.recency),
      T: pick(s.T),
      zbar: pick(s.zbar),
      holdoutActual: asOfOffsetDays > 0 ? pick(s.holdoutPurchases) : undefined,
      holdoutLength: asOfOffsetDays > 0 ? asOfOffsetDays / unitDays : undefined,
      timeUnit: config.model.timeUnit,
      calibrationEnd,
      horizonMonths: config.model.horizon,
      discountRate: config.model.discountRate,
      marginShare: marginShares(s, scored, config.model.marginShare),
      asOfOffset: asOfOffsetDays / unitDays,
      score: { x: pickS(s.frequencyAsOf), tx: pickS(s.recencyAsOf), T: pickS(s.TAsOf), zbar: pickS(s.zbarAsOf) },
    });
    const valid = fit.perCustomer.purchasesValid;
    const spread = (a: Float64Array | undefined) => {
      if (!a) return undefined;
      const full = new Float64Array(s.n).fill(NaN);
      for (let i = 0; i < scored.length; i++) if (valid[i]) full[scored[i]] = a[i];
      return full;
    };
    const mj = fit.modelJson as { bgnbd?: { status?: string; reason?: string; r?: number; alpha?: number; a?: number; b?: number } };
    const ok = mj.bgnbd?.status !== 'failed';
    const b = mj.bgnbd;
    return {
      status: ok ? 'ok' : 'failed',
      summary: ok
        ? `BG/NBD fitted on ${idx.length.toLocaleString('en-US')} customers (r=${b?.r?.toFixed(3)}, alpha=${b?.alpha?.toFixed(3)}, a=${b?.a?.toFixed(3)}, b=${b?.b?.toFixed(3)})`
        : `BG/NBD fit failed: ${b?.reason ?? 'unknown reason'}`,
      modelJson: fit.modelJson,
      pAlive: spread(fit.perCustomer?.pAlive),
      expectedPurchases: spread(fit.perCustomer?.expectedPurchases),
      expectedAvgSpend: spread(fit.perCustomer?.expectedAvgSpend),
      predictedClv: ok ? spread(fit.perCustomer?.predictedClv) : undefined,
    };
  } catch (e) {
    const reason = (e as Error).message;
    return {
      status: 'failed',
      summary: `model fit failed: ${reason}`,
      modelJson: { timeUnit: config.model.timeUnit, calibrationEnd, bgnbd: { status: 'failed', reason, converged: false }, gammaGamma: { status: 'failed', reason, converged: false } },
    };
  }
}

/** The most recent earlier run's `segments` partition, if any. */
async function previousSegments(out: Storage, runDate: string): Promise<{ runDate: string; rows: Record<string, unknown>[] } | null> {
  const keys = await out.list('segments/');
  const dates = keys
    .map((k) => /^segments\/run_date=(\d{4}-\d{2}-\d{2})\/part-00000\.parquet$/.exec(k)?.[1])
    .filter((d): d is string => d !== undefined && d < runDate)
    .sort();
  const prev = dates.at(-1);
  if (!prev) return null;
  const bytes = await out.get(layout.table('segments', prev));
  if (!bytes) return null;
  return { runDate: prev, rows: await decodeParquet(bytes) };
}

