/**
 * A seeded synthetic shop whose sales export has a known truth: who was acquired when, in which
 * tier, and exactly what a scenario changed. Used by the sample export, the alert tests and the bench.
 *
 * Model (per customer; parameters by acquisition tier, see TIERS):
 * - Acquisition: a fixed number of customers per calendar month (seasonal, December peak, mild
 *   growth), each with a tier (small / mid / large) that decides the first order's value, which
 *   falls inside the tier's bounds [0, 50), [50, 250), [250, ...). So the pipeline's default tiering
 *   by first-order value with bounds [50, 250] recovers the generator's tier exactly.
 * - Repeat purchases: a "buy till you die" process in the spirit of Pareto/NBD (Schmittlein,
 *   Morrison & Colombo 1987): a share of customers never return (one-and-done); the others buy as a
 *   Poisson process with a gamma-distributed rate while alive, with an exponential lifetime whose
 *   mean is itself gamma-distributed. Order values are gamma around a per-customer mean (as in the
 *   Gamma-Gamma spend model). Small customers are many, buy less often and churn sooner, but
 *   together carry roughly a third of revenue (the long tail).
 * - Export shape: some orders span 2-3 rows (order lines; distinct amounts, so no two rows of one
 *   order are equal), ~2.5% of orders get a refund row (negative amount, own "R..." id) 1-30 days
 *   later, region fixed per customer, channel mostly the acquisition channel.
 *
 * Scenarios (the known truth; only months from `dropFrom` on are touched):
 * - control: stationary behaviour.
 * - small-drop: for every small-tier customer, in each calendar month M >= dropMonth after their
 *   acquisition month, all purchases of that month are kept with probability `dropFactor` (for
 *   cohorts acquired since dropMonth) or `existingDropFactor` (earlier cohorts), else removed.
 *   Hence cohort retention at any age k >= 1 (share of the cohort buying in month k) of the
 *   affected cohorts is exactly dropFactor x what it is in control, in expectation, and with the
 *   same seed the two exports differ only by those removed months (each customer has its own random
 *   streams, so everything else is drawn identically).
 * - region-drop: the same, only for tier small AND region = `dropRegion`.
 * - mix-shift: per-tier behaviour unchanged; from dropMonth on, small-tier acquisitions are
 *   multiplied by `mixFactor` (mid/large acquisitions unchanged), so overall retention falls only
 *   because the mix moved toward the tier that retains least (Simpson's paradox).
 *
 * Streaming: the generator walks calendar months; each month it acquires that month's customers,
 * draws the month's purchases of every customer still alive, sorts the month's rows by date and
 * yields them. Memory is bounded by customers (typed arrays, ~40 bytes each) plus one month's rows.
 */
import { Rng, mix32 } from './prng.js';

export const TIER_NAMES = ['small', 'mid', 'large'] as const;
export type Tier = (typeof TIER_NAMES)[number];
/** First-order value bounds: the pipeline's `tiers.bounds` that recover the generator's tiers. */
export const TIER_BOUNDS: [number, number] = [50, 250];
export const REGIONS = ['EU', 'NA', 'APAC', 'LATAM'] as const;
export type Region = (typeof REGIONS)[number];
export const CHANNELS = ['web', 'app', 'marketplace'] as const;
export type Channel = (typeof CHANNELS)[number];
export const SCENARIOS = ['control', 'small-drop', 'region-drop', 'mix-shift'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const CSV_HEADER = ['order_id', 'customer_id', 'order_date', 'amount', 'margin', 'region', 'channel', 'currency'] as const;

export interface ShopRow {
  order_id: string;
  customer_id: string;
  /** YYYY-MM-DD, a local calendar date (no time, no offset). */
  order_date: string;
  /** Money with 2 decimals; negative for a refund. */
  amount: number;
  /** Margin in money (same sign as amount), 2 decimals. */
  margin: number;
  region: Region;
  channel: Channel;
  currency: string;
}

export interface ShopOptions {
  seed?: number;
  /** Customers acquired over the whole window in the control (mix-shift adds small ones on top). Default 3000. */
  customers?: number;
  /** Alternative to `customers`: average acquisitions per month. */
  customersPerMonth?: number;
  /** Calendar months in the export, the last one containing endDate. Default 24. */
  months?: number;
  /** Last day of the export (inclusive), YYYY-MM-DD. Default 2026-10-31. */
  endDate?: string;
  scenario?: Scenario;
  /** Start of the planted change, YYYY-MM-DD; rounded up to a month start. Default: 6 months before the end month's end. */
  dropFrom?: string;
  dropRegion?: Region;
  /** Keep-probability of a purchase month for affected cohorts acquired since dropFrom. Default 0.6. */
  dropFactor?: number;
  /** The same for affected customers acquired before dropFrom. Default 0.8. */
  existingDropFactor?: number;
  /** mix-shift: small-tier acquisitions are multiplied by this from dropFrom on. Default 3. */
  mixFactor?: number;
  /** Scales every customer's purchase rate (the bench uses it to hit a row count). Default 1. */
  rateMultiplier?: number;
  /** Amplitude of seasonality (0 = none, 1 = default: December acquisitions x1.7, repeat purchases x1.3). */
  seasonality?: number;
  /** Yearly growth of acquisitions. Default 0.1. */
  growth?: number;
  /** Share of orders refunded later. Default 0.025. */
  refundRate?: number;
  currency?: string;
}

export interface TierTruth {
  customers: number;
  /** Purchase orders (distinct order ids with a non-negative amount). */
  orders: number;
  rows: number;
  /** Net revenue (purchases minus refunds), 2 decimals. */
  revenue: number;
}

export interface ShopTruth {
  scenario: Scenario;
  seed: number;
  startDate: string;
  endDate: string;
  months: number;
  /** First day of the first month the scenario touches (YYYY-MM-DD) and that month ("YYYY-MM"). */
  dropFrom: string;
  dropMonth: string;
  /** Who the planted change hits (null for control and mix-shift). */
  affected: { tier: Tier; region: Region | null } | null;
  dropFactor: number;
  existingDropFactor: number;
  mixFactor: number;
  tierBounds: [number, number];
  tierNames: Tier[];
  customers: number;
  rows: number;
  orders: number;
  refundRows: number;
  revenue: number;
  byTier: Record<Tier, TierTruth>;
  /** Small tier's share of net revenue. */
  smallRevenueShare: number;
  /** Customer-months whose purchases the scenario removed (0 for control and mix-shift). */
  removedCustomerMonths: number;
  /** Acquisitions per month and tier, months in order ("YYYY-MM" -> [small, mid, large]). */
  acquisitions: Record<string, [number, number, number]>;
  /** One sentence stating the planted truth. */
  description: string;
}

interface TierParams {
  share: number;
  /** First order value: lognormal(log(median), sigma) truncated to [lo, hi), or Pareto(lo, alpha) for the top tier. */
  firstMedian: number;
  firstSigma: number;
  lo: number;
  hi: number;
  paretoAlpha?: number;
  /** Mean order value of repeat orders, before per-customer heterogeneity. */
  spend: number;
  /** Share of customers who never buy again. */
  oneAndDone: number;
  /** Mean purchases per month while alive (gamma across customers, shape 1.5). */
  rate: number;
  /** Mean lifetime in months (exponential; its mean gamma across customers, shape 2). */
  lifetime: number;
}

/** Tuned so small is ~75% of customers, ~30-40% of net revenue, and retains worst (needed for mix-shift). */
const TIERS: Record<Tier, TierParams> = {
  small: { share: 0.8, firstMedian: 24, firstSigma: 0.55, lo: 5, hi: 50, spend: 52, oneAndDone: 0.5, rate: 0.45, lifetime: 11 },
  mid: { share: 0.165, firstMedian: 95, firstSigma: 0.45, lo: 50, hi: 250, spend: 80, oneAndDone: 0.25, rate: 0.6, lifetime: 24 },
  large: { share: 0.035, firstMedian: 250, firstSigma: 0, lo: 250, hi: 6000, paretoAlpha: 2, spend: 210, oneAndDone: 0.25, rate: 0.55, lifetime: 24 },
};

const REGION_WEIGHTS = [0.3, 0.35, 0.25, 0.1];
const CHANNEL_WEIGHTS = [0.55, 0.25, 0.2];
/** Marketplace fees eat margin. */
const CHANNEL_MARGIN = [1, 1, 0.7];
/** Calendar-month multipliers at amplitude 1 (Jan..Dec). */
const ACQ_SEASON = [0.85, 0.8, 0.9, 0.95, 0.95, 0.9, 0.9, 0.95, 1, 1.05, 1.35, 1.7];
const BUY_SEASON = [0.95, 0.9, 0.95, 1, 1, 0.95, 0.95, 1, 1, 1, 1.1, 1.3];
const DAYS_PER_MONTH = 30.4375;
const DAY_MS = 86_400_000;

/** A bad generator option (a user error: the CLI prints the message, no stack). */
export class OptionError extends Error {
  override name = 'OptionError';
}

function parseDay(iso: string, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  const t = m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : NaN;
  if (!m || Number.isNaN(t) || new Date(t).getUTCDate() !== +m[3]) throw new OptionError(`${what}: expected a date as YYYY-MM-DD, got "${iso}"`);
  return t / DAY_MS;
}

function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** Resolved options plus the calendar of the window. */
export interface ShopPlan {
  o: Required<Omit<ShopOptions, 'customersPerMonth'>>;
  monthStart: number[];
  /** Exclusive end day of each month, clipped to endDate + 1. */
  monthEnd: number[];
  monthLabel: string[];
  moy: number[];
  endDay: number;
  dropMonth: number;
  /** Base acquisitions per month (control). */
  acquisitions: number[];
}

export function planShop(opts: ShopOptions = {}): ShopPlan {
  const months = opts.months ?? 24;
  if (!Number.isInteger(months) || months < 1) throw new OptionError(`months: expected a positive integer, got ${months}`);
  const endDate = opts.endDate ?? '2026-10-31';
  const endDay = parseDay(endDate, 'endDate');
  const end = new Date(endDay * DAY_MS);
  const endY = end.getUTCFullYear();
  const endM = end.getUTCMonth();
  const monthStart: number[] = [];
  const monthEnd: number[] = [];
  const monthLabel: string[] = [];
  const moy: number[] = [];
  for (let i = 0; i < months; i++) {
    const k = endM - (months - 1 - i);
    const s = Date.UTC(endY, k, 1) / DAY_MS;
    const e = Date.UTC(endY, k + 1, 1) / DAY_MS;
    monthStart.push(s);
    monthEnd.push(Math.min(e, endDay + 1));
    const d = new Date(s * DAY_MS);
    monthLabel.push(d.toISOString().slice(0, 7));
    moy.push(d.getUTCMonth());
  }
  const dropDay = opts.dropFrom !== undefined ? parseDay(opts.dropFrom, 'dropFrom') : monthStart[Math.max(0, months - 6)];
  let dropMonth = monthStart.findIndex((s) => s >= dropDay);
  if (dropMonth < 0) dropMonth = months; // after the window: nothing planted
  const seasonality = opts.seasonality ?? 1;
  const growth = opts.growth ?? 0.1;
  const customers = opts.customers ?? (opts.customersPerMonth !== undefined ? Math.round(opts.customersPerMonth * months) : 3000);
  // Largest-remainder allocation of the customers over months (exact total, deterministic).
  const w = monthStart.map((s, i) => {
    const full = (Date.UTC(endY, endM - (months - 1 - i) + 1, 1) / DAY_MS) - s;
    return (1 + seasonality * (ACQ_SEASON[moy[i]] - 1)) * Math.pow(1 + growth, i / 12) * ((monthEnd[i] - s) / full);
  });
  const wSum = w.reduce((a, b) => a + b, 0);
  const raw = w.map((x) => (x / wSum) * customers);
  const acquisitions = raw.map(Math.floor);
  let left = customers - acquisitions.reduce((a, b) => a + b, 0);
  const order = raw.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let j = 0; left > 0; j++, left--) acquisitions[order[j % months][1]]++;
  const o = {
    seed: opts.seed ?? 1,
    customers,
    months,
    endDate,
    scenario: opts.scenario ?? 'control',
    dropFrom: dropMonth < months ? isoDay(monthStart[dropMonth]) : isoDay(endDay + 1),
    dropRegion: opts.dropRegion ?? 'APAC',
    dropFactor: opts.dropFactor ?? 0.6,
    existingDropFactor: opts.existingDropFactor ?? 0.8,
    mixFactor: opts.mixFactor ?? 3,
    rateMultiplier: opts.rateMultiplier ?? 1,
    seasonality,
    growth,
    refundRate: opts.refundRate ?? 0.025,
    currency: opts.currency ?? 'USD',
  } satisfies ShopPlan['o'];
  if (!SCENARIOS.includes(o.scenario)) throw new OptionError(`scenario: expected one of ${SCENARIOS.join(', ')}, got "${o.scenario}"`);
  if (!REGIONS.includes(o.dropRegion)) throw new OptionError(`dropRegion: expected one of ${REGIONS.join(', ')}, got "${o.dropRegion}"`);
  for (const k of ['dropFactor', 'existingDropFactor'] as const)
    if (!(o[k] >= 0 && o[k] <= 1)) throw new OptionError(`${k}: expected a number in [0, 1], got ${o[k]}`);
  return { o, monthStart, monthEnd, monthLabel, moy, endDay, dropMonth, acquisitions };
}

/** One order or refund waiting to be emitted in its month. */
interface Ev {
  day: number;
  c: number;
  ch: number;
  /** Line amounts in cents (one negative value for a refund). */
  cents: number[];
  refund: boolean;
}

function splitLines(rng: Rng, total: number): number[] {
  const u = rng.next();
  const k = total < 1000 ? 1 : u < 0.72 ? 1 : u < 0.92 ? 2 : 3;
  if (k === 1) return [total];
  const w0 = rng.uniform(0.2, 1);
  const w1 = rng.uniform(0.2, 1);
  const w2 = k === 3 ? rng.uniform(0.2, 1) : 0;
  const ws = w0 + w1 + w2;
  // Lines of one order must differ, or two rows would be exact duplicates of each other (orders
  // here are >= 10.00, so the nudges below never make a line non-positive).
  const a = Math.max(1, Math.floor((w0 / ws) * total));
  if (k === 2) {
    const b = total - a;
    return a === b ? [a + 1, b - 1] : [a, b];
  }
  let b = Math.max(1, Math.floor((w1 / ws) * total));
  let c = total - a - b;
  // b - a grows and c - a, c - b shrink by each step, so each equality is met at most once.
  for (let g = 0; g < 4 && (a === b || a === c || b === c); g++) {
    b += 1;
    c -= 1;
  }
  return [a, b, c];
}

/**
 * The shop as a stream of export rows in date order. The generator's return value (the `value`
 * of the final `next()`) is the truth; see `collectShop` for a convenience wrapper.
 */
export function* generateShop(opts: ShopOptions = {}): Generator<ShopRow, ShopTruth, undefined> {
  const plan = planShop(opts);
  const { o, monthStart, monthEnd, monthLabel, moy, endDay, dropMonth } = plan;
  const months = o.months;
  const mix = o.scenario === 'mix-shift';
  // Acquisitions per month: base, plus mix-shift's extra small ones (forced to tier small).
  const base = plan.acquisitions;
  const extra = base.map((n, m) => (mix && m >= dropMonth ? Math.round(n * TIERS.small.share * (o.mixFactor - 1)) : 0));
  const total = base.reduce((a, b) => a + b, 0) + extra.reduce((a, b) => a + b, 0);

  // Per-customer state, indexed by acquisition order.
  const st = new Uint32Array(total); // main random stream
  const th = new Uint32Array(total); // thinning stream (scenario only), so the main stream never depends on the scenario
  const tier = new Uint8Array(total);
  const region = new Uint8Array(total);
  const chan = new Uint8Array(total);
  const acqMonth = new Int16Array(total);
  const acqDay = new Int32Array(total);
  const death = new Float64Array(total);
  const rate = new Float32Array(total);
  const spend = new Float32Array(total);
  const margin = new Float32Array(total);
  const active = new Int32Array(total);
  let nActive = 0;
  const rng = new Rng(0);
  const thin = new Rng(0);
  const tierParams = TIER_NAMES.map((t) => TIERS[t]);
  const tierWeights = tierParams.map((p) => p.share);
  const idWidth = Math.max(6, String(total).length);

  const truth: ShopTruth = {
    scenario: o.scenario,
    seed: o.seed,
    startDate: isoDay(monthStart[0]),
    endDate: o.endDate,
    months,
    dropFrom: o.dropFrom,
    dropMonth: dropMonth < months ? monthLabel[dropMonth] : '',
    affected:
      o.scenario === 'small-drop' ? { tier: 'small', region: null } : o.scenario === 'region-drop' ? { tier: 'small', region: o.dropRegion } : null,
    dropFactor: o.dropFactor,
    existingDropFactor: o.existingDropFactor,
    mixFactor: o.mixFactor,
    tierBounds: [...TIER_BOUNDS],
    tierNames: [...TIER_NAMES],
    customers: total,
    rows: 0,
    orders: 0,
    refundRows: 0,
    revenue: 0,
    byTier: { small: zeroTier(), mid: zeroTier(), large: zeroTier() },
    smallRevenueShare: 0,
    removedCustomerMonths: 0,
    acquisitions: {},
    description: '',
  };
  truth.description = describe(truth);
  const revCents = [0, 0, 0];
  const affected = (c: number): boolean =>
    tier[c] === 0 && (o.scenario === 'small-drop' || (o.scenario === 'region-drop' && REGIONS[region[c]] === o.dropRegion));

  /** Draws one order's value (cents), lines and maybe a refund, from the customer's stream (rng holds it). */
  const drawOrder = (c: number, day: number, valueCents: number, pending: Ev[]): void => {
    const ch = rng.next() < 0.85 ? chan[c] : rng.pickIndex(CHANNEL_WEIGHTS);
    const cents = splitLines(rng, valueCents);
    pending.push({ day, c, ch, cents, refund: false });
    if (rng.next() < o.refundRate) {
      const whole = rng.next() < 0.4;
      const amt = whole ? valueCents : cents[rng.int(0, cents.length - 1)];
      const rday = day + rng.int(1, 30);
      if (rday <= endDay) pending.push({ day: rday, c, ch, cents: [-amt], refund: true });
    }
  };
  const repeatValue = (c: number): number => Math.max(100, Math.round(spend[c] * rng.gamma(4, 0.25) * 100));

  // Refunds that fall in a later month wait here.
  const carry = new Map<number, Ev[]>();
  let next = 0;
  let orderSeq = 0;
  let refundSeq = 0;
  // Day -> month index and day -> "YYYY-MM-DD", tabulated once (formatting dates was a third of the time).
  const day0 = monthStart[0];
  const nDays = endDay + 1 - day0;
  const monthIdx = new Int16Array(nDays);
  const dayStr: string[] = new Array(nDays);
  for (let d = 0, m = 0; d < nDays; d++) {
    while (m + 1 < months && monthStart[m + 1] <= d + day0) m++;
    monthIdx[d] = m;
    dayStr[d] = isoDay(d + day0);
  }
  const monthOf = (day: number): number => monthIdx[day - day0];

  for (let m = 0; m < months; m++) {
    const evs: Ev[] = carry.get(m) ?? [];
    carry.delete(m);
    const later: Ev[] = [];
    const acq: [number, number, number] = [0, 0, 0];
    const days = monthEnd[m] - monthStart[m];

    // 1. This month's new customers and their first orders.
    const firstNew = next;
    for (let j = 0; j < base[m] + extra[m]; j++) {
      const c = next++;
      rng.state = mix32(o.seed, 1, c);
      thin.state = mix32(o.seed, 2, c);
      let t = rng.pickIndex(tierWeights);
      if (j >= base[m]) t = 0; // mix-shift's extra acquisitions are small by construction
      const p = tierParams[t];
      tier[c] = t;
      acq[t]++;
      region[c] = rng.pickIndex(REGION_WEIGHTS);
      chan[c] = rng.pickIndex(CHANNEL_WEIGHTS);
      acqMonth[c] = m;
      const d0 = monthStart[m] + Math.floor(rng.next() * days);
      acqDay[c] = d0;
      let first: number;
      if (p.paretoAlpha) first = Math.min(p.hi - 0.01, p.lo * Math.pow(1 - rng.next(), -1 / p.paretoAlpha));
      else
        do first = rng.lognormal(Math.log(p.firstMedian), p.firstSigma);
        while (first < p.lo || first >= p.hi);
      const firstCents = Math.min(Math.round(first * 100), p.hi * 100 - 1);
      // Repeat spend leans on the first order (a big first basket predicts big baskets) but regresses to the tier mean.
      spend[c] = p.spend * Math.pow(first / (p.paretoAlpha ? p.lo * 2 : p.firstMedian), 0.3) * rng.lognormal(0, 0.3);
      rate[c] = rng.gamma(1.5, p.rate / 1.5) * o.rateMultiplier;
      death[c] = rng.next() < p.oneAndDone ? d0 : d0 + 1 + rng.exponential(rng.gamma(2, p.lifetime / 2)) * DAYS_PER_MONTH;
      margin[c] = rng.uniform(0.25, 0.45);
      const pend: Ev[] = [];
      drawOrder(c, d0, firstCents, pend);
      for (const e of pend) (monthOf(e.day) === m ? evs : later).push(e);
      st[c] = rng.state;
      th[c] = thin.state;
    }
    for (let c = firstNew; c < next; c++) if (death[c] > acqDay[c] + 1) active[nActive++] = c;
    truth.acquisitions[monthLabel[m]] = acq;

    // 2. Repeat purchases of everyone alive this month (new customers from the day after their first order).
    const season = 1 + o.seasonality * (BUY_SEASON[moy[m]] - 1);
    let keep = 0;
    for (let a = 0; a < nActive; a++) {
      const c = active[a];
      const from = Math.max(monthStart[m], acqDay[c] + 1);
      const to = Math.min(monthEnd[m], death[c]);
      if (to > from) {
        rng.state = st[c];
        const n = rng.poisson((rate[c] * season * (to - from)) / DAYS_PER_MONTH);
        if (n > 0) {
          const pend: Ev[] = [];
          for (let k = 0; k < n; k++) drawOrder(c, Math.floor(rng.uniform(from, to)), repeatValue(c), pend);
          let kept = true;
          if (m >= dropMonth && m > acqMonth[c] && affected(c)) {
            thin.state = th[c];
            kept = thin.next() < (acqMonth[c] >= dropMonth ? o.dropFactor : o.existingDropFactor);
            th[c] = thin.state;
            if (!kept) truth.removedCustomerMonths++;
          }
          if (kept) for (const e of pend) (monthOf(e.day) === m ? evs : later).push(e);
        }
        st[c] = rng.state;
      }
      if (death[c] > monthEnd[m] && monthEnd[m] <= endDay) active[keep++] = c;
    }
    nActive = keep;
    for (const e of later) {
      const lm = monthOf(e.day);
      const list = carry.get(lm);
      if (list) list.push(e);
      else carry.set(lm, [e]);
    }

    // 3. Emit the month in date order (stable sort: ties keep their deterministic creation order).
    evs.sort((x, y) => x.day - y.day);
    for (const e of evs) {
      const t = tier[e.c];
      const tt = truth.byTier[TIER_NAMES[t]];
      const customer_id = 'C' + String(e.c + 1).padStart(idWidth, '0');
      const order_id = e.refund ? 'R' + String(++refundSeq).padStart(7, '0') : 'O' + String(++orderSeq).padStart(8, '0');
      const order_date = dayStr[e.day - day0];
      const share = margin[e.c] * CHANNEL_MARGIN[e.ch];
      if (e.refund) truth.refundRows++;
      else {
        truth.orders++;
        tt.orders++;
      }
      for (const cents of e.cents) {
        truth.rows++;
        tt.rows++;
        revCents[t] += cents;
        yield {
          order_id,
          customer_id,
          order_date,
          amount: cents / 100,
          margin: Math.round(cents * share) / 100,
          region: REGIONS[region[e.c]],
          channel: CHANNELS[e.ch],
          currency: o.currency,
        };
      }
    }
  }

  for (let t = 0; t < 3; t++) {
    const tt = truth.byTier[TIER_NAMES[t]];
    tt.revenue = revCents[t] / 100;
  }
  for (const c of tier) truth.byTier[TIER_NAMES[c]].customers++;
  const totalCents = revCents[0] + revCents[1] + revCents[2];
  truth.revenue = totalCents / 100;
  truth.smallRevenueShare = totalCents > 0 ? revCents[0] / totalCents : 0;
  return truth;
}

function zeroTier(): TierTruth {
  return { customers: 0, orders: 0, rows: 0, revenue: 0 };
}

function describe(t: ShopTruth): string {
  const pct = (f: number) => `${Math.round(f * 100)}%`;
  switch (t.scenario) {
    case 'control':
      return 'control: stationary behaviour, nothing planted';
    case 'small-drop':
    case 'region-drop': {
      const who = t.scenario === 'small-drop' ? 'small-tier customers' : `small-tier customers in region ${t.affected?.region}`;
      return `${t.scenario}: from ${t.dropMonth}, ${who} buy in a given month with ${pct(t.dropFactor)} of the control probability if acquired since ${t.dropMonth} (cohort retention at every age x${t.dropFactor}), ${pct(t.existingDropFactor)} if acquired earlier`;
    }
    case 'mix-shift':
      return `mix-shift: from ${t.dropMonth}, small-tier acquisitions x${t.mixFactor}; per-tier behaviour unchanged, so overall retention falls only through the mix`;
  }
}

/** Runs the generator to the end, returning all rows and the truth (small fixtures only). */
export function collectShop(opts: ShopOptions = {}): { rows: ShopRow[]; truth: ShopTruth } {
  const it = generateShop(opts);
  const rows: ShopRow[] = [];
  for (;;) {
    const r = it.next();
    if (r.done) return { rows, truth: r.value };
    rows.push(r.value);
  }
}

/**
 * Purchase-rate multiplier that makes `opts` produce about `targetRows` rows. Rows are linear in the
 * rate in expectation (rows = first-order rows + rate x repeat rows), so one pilot run on a
 * subsample of customers gives both terms.
 */
export function calibrateRateMultiplier(opts: ShopOptions, targetRows: number, pilotCustomers = 20_000): number {
  const customers = opts.customers ?? 3000;
  const pilot = { ...opts, customers: Math.min(customers, pilotCustomers), rateMultiplier: 1, seed: (opts.seed ?? 1) + 1 };
  const firstOnly = collectCount({ ...pilot, rateMultiplier: 0 });
  const all = collectCount(pilot);
  const a = firstOnly / pilot.customers;
  const b = (all - firstOnly) / pilot.customers;
  return Math.max(0, (targetRows / customers - a) / b);
}

function collectCount(opts: ShopOptions): number {
  let n = 0;
  for (const _ of generateShop(opts)) n++;
  return n;
}
