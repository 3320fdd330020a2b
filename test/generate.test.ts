/**
 * The synthetic export generator (scripts/generate): determinism, the long tail, the planted
 * scenarios' known truth, and the bad rows. Every figure is recomputed from the CSV text by the small
 * independent reader below, not taken from the generator's own truth object.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config.js';
import {
  calibrateRateMultiplier,
  collectShop,
  CSV_HEADER,
  shopCsv,
  shopCsvString,
  TIER_BOUNDS,
  writeShopCsv,
  type ExportOptions,
  type ShopTruth,
} from '../scripts/generate/index.js';
import { SAMPLE_CONFIG, SAMPLE_OPTIONS } from '../scripts/generate/cli.js';
import { median } from '../scripts/bench.js';

interface Row {
  order_id: string;
  customer_id: string;
  order_date: string;
  amount: number;
  region: string;
  channel: string;
}

function parse(csv: string): Row[] {
  const lines = csv.trimEnd().split('\n');
  expect(lines[0]).toBe(CSV_HEADER.join(','));
  return lines.slice(1).map((l) => {
    const f = l.split(',');
    return { order_id: f[0], customer_id: f[1], order_date: f[2], amount: Number(f[3]), region: f[5], channel: f[6] };
  });
}

function addMonths(month: string, k: number): string {
  const [y, m] = month.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1 + k, 1)).toISOString().slice(0, 7);
}

interface Customer {
  cohort: string;
  tier: 'small' | 'mid' | 'large';
  region: string;
  months: Set<string>;
  revenue: number;
}

/** Per customer, by hand: cohort = month of first purchase, tier by first-order value with the bounds, purchase months. */
function customers(rows: Row[]): Map<string, Customer> {
  const first = new Map<string, { order: string; value: number }>();
  const out = new Map<string, Customer>();
  for (const r of rows) {
    let c = out.get(r.customer_id);
    if (r.amount < 0) {
      if (!c) throw new Error(`refund ${r.order_id} precedes the first purchase of its customer`);
      c.revenue += r.amount;
      continue;
    }
    if (!c) {
      c = { cohort: r.order_date.slice(0, 7), tier: 'small', region: r.region, months: new Set(), revenue: 0 };
      out.set(r.customer_id, c);
      first.set(r.customer_id, { order: r.order_id, value: 0 });
    }
    const f = first.get(r.customer_id)!;
    if (f.order === r.order_id) f.value += r.amount;
    c.months.add(r.order_date.slice(0, 7));
    c.revenue += r.amount;
  }
  for (const [id, c] of out) {
    const v = Math.round(first.get(id)!.value * 100) / 100;
    c.tier = v < TIER_BOUNDS[0] ? 'small' : v < TIER_BOUNDS[1] ? 'mid' : 'large';
  }
  return out;
}

/** Pooled retention: buyers / cohort members over all (cohort, age) pairs with cohort in [from, to], age in ages, age complete by lastMonth. */
function pooledRetention(cs: Iterable<Customer>, pick: (c: Customer) => boolean, from: string, to: string, ages: number[], lastMonth: string) {
  let n = 0;
  let bought = 0;
  for (const c of cs) {
    if (!pick(c) || c.cohort < from || c.cohort > to) continue;
    for (const k of ages) {
      const m = addMonths(c.cohort, k);
      if (m > lastMonth) continue;
      n++;
      if (c.months.has(m)) bought++;
    }
  }
  return { n, bought, rate: bought / n };
}

const tmp = mkdtempSync(join(tmpdir(), 'tw-generate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('determinism and shape', () => {
  it('same seed gives the same bytes, another seed different ones', async () => {
    const opts: ExportOptions = { seed: 11, customers: 500, months: 12, bad: { date: 1, duplicate: 1 } };
    expect(shopCsvString(opts)).toBe(shopCsvString(opts));
    expect(shopCsvString({ ...opts, seed: 12 })).not.toBe(shopCsvString(opts));
    const a = join(tmp, 'a.csv.gz');
    const b = join(tmp, 'b.csv.gz');
    const ra = await writeShopCsv(opts, a);
    await writeShopCsv(opts, b);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(gunzipSync(readFileSync(a)).toString()).toBe(shopCsvString(opts));
    expect(ra.rows).toBe(ra.truth.rows + 2);
  });

  it('a 3,000-customer, 24-month export takes well under a second', () => {
    shopCsvString({ seed: 1, customers: 300, months: 24 }); // warm the JIT
    // CPU time, not wall time: the CI machine is shared, and contention is not the generator's cost.
    const t = process.cpuUsage();
    const { truth } = shopCsv({ seed: 2, customers: 3000, months: 24, scenario: 'region-drop' });
    const used = process.cpuUsage(t);
    expect(truth.customers).toBe(3000);
    expect((used.user + used.system) / 1000).toBeLessThan(600);
  });

  it('rows are in date order inside the window, with order lines, refunds and both dimensions', () => {
    const { csv, truth } = shopCsv({ seed: 5, customers: 3000, months: 24, endDate: '2026-10-31' });
    const rows = parse(csv);
    expect(rows.length).toBe(truth.rows);
    expect(rows.filter((r, i) => i > 0 && r.order_date < rows[i - 1].order_date)).toEqual([]);
    expect(rows[0].order_date >= '2024-11-01').toBe(true);
    expect(rows.at(-1)!.order_date <= '2026-10-31').toBe(true);
    const refunds = rows.filter((r) => r.amount < 0);
    expect(refunds.length / rows.length).toBeGreaterThan(0.01);
    expect(refunds.length / rows.length).toBeLessThan(0.035);
    expect(refunds.every((r) => r.order_id.startsWith('R'))).toBe(true);
    // Multi-line orders: same customer and date, distinct amounts (else they would be duplicates).
    const byOrder = new Map<string, Row[]>();
    for (const r of rows) byOrder.set(r.order_id, [...(byOrder.get(r.order_id) ?? []), r]);
    const multi = [...byOrder.values()].filter((l) => l.length > 1);
    expect(multi.length / byOrder.size).toBeGreaterThan(0.1);
    expect(Math.max(...multi.map((l) => l.length))).toBe(3);
    for (const l of multi) {
      expect(new Set(l.map((r) => r.customer_id + r.order_date)).size).toBe(1);
      expect(new Set(l.map((r) => r.amount)).size).toBe(l.length);
    }
    const lines = csv.trimEnd().split('\n');
    expect(new Set(lines).size).toBe(lines.length); // no row exported twice
    expect(new Set(rows.map((r) => r.region))).toEqual(new Set(['EU', 'NA', 'APAC', 'LATAM']));
    expect(new Set(rows.map((r) => r.channel))).toEqual(new Set(['web', 'app', 'marketplace']));
    // Region is fixed per customer (segments by region are then unambiguous).
    const reg = new Map<string, string>();
    for (const r of rows) if (!reg.has(r.customer_id)) reg.set(r.customer_id, r.region);
    expect(rows.filter((r) => reg.get(r.customer_id) !== r.region)).toEqual([]);
  });

  it('has a December peak in acquisitions', () => {
    const { rows } = collectShop({ seed: 3, customers: 6000, months: 24, growth: 0 });
    const cs = customers(rows as unknown as Row[]);
    const per = new Map<string, number>();
    for (const c of cs.values()) per.set(c.cohort, (per.get(c.cohort) ?? 0) + 1);
    const mean = 6000 / 24;
    expect(per.get('2025-12')! / mean).toBeGreaterThan(1.4);
    expect(per.get('2025-02')! / mean).toBeLessThan(0.95);
  });
});

describe('long tail', () => {
  const { csv, truth } = shopCsv({ seed: 21, customers: 4000, months: 24 });
  const cs = customers(parse(csv));

  it('tiers recomputed from first-order value match the truth exactly', () => {
    const count = { small: 0, mid: 0, large: 0 };
    for (const c of cs.values()) count[c.tier]++;
    expect(cs.size).toBe(truth.customers);
    expect(count).toEqual({ small: truth.byTier.small.customers, mid: truth.byTier.mid.customers, large: truth.byTier.large.customers });
  });

  it('small customers are most customers and carry a large share of revenue; large ones few', () => {
    let total = 0;
    const rev = { small: 0, mid: 0, large: 0 };
    const n = { small: 0, mid: 0, large: 0 };
    for (const c of cs.values()) {
      rev[c.tier] += c.revenue;
      n[c.tier]++;
      total += c.revenue;
    }
    expect(n.small / cs.size).toBeGreaterThan(0.7);
    expect(n.large / cs.size).toBeLessThan(0.06);
    expect(rev.small / total).toBeGreaterThan(0.3);
    expect(rev.small / total).toBeLessThan(0.5);
    expect(rev.small / total).toBeCloseTo(truth.smallRevenueShare, 6);
    // ... and yet each small customer is worth several times less than a large one.
    expect(rev.large / n.large / (rev.small / n.small)).toBeGreaterThan(5);
  });
});

describe('planted scenarios (known truth)', () => {
  // 24 months ending 2026-10; change from 2026-05. Ages 1..5 of cohorts 2026-05..2026-09 are compared.
  const base: ExportOptions = { seed: 7, customers: 20000, months: 24, endDate: '2026-10-31' };
  const control = customers(parse(shopCsv({ ...base, scenario: 'control' }).csv));
  const recent = (cs: Map<string, Customer>, pick: (c: Customer) => boolean) =>
    pooledRetention(cs.values(), pick, '2026-05', '2026-09', [1, 2, 3, 4, 5], '2026-10');
  const older = (cs: Map<string, Customer>, pick: (c: Customer) => boolean) =>
    pooledRetention(cs.values(), pick, '2025-01', '2026-04', [1, 2, 3], '2026-04');
  // With the same seed, a scenario only removes customer-months, so the ratio's noise is the binomial
  // thinning of the control's buyers: sd = sqrt(f (1 - f) / buyers). Allow 4 sd.
  const tol = (f: number, buyers: number) => 4 * Math.sqrt((f * (1 - f)) / buyers);
  const small = (c: Customer) => c.tier === 'small';

  it('control: recent small cohorts retain like earlier ones (stationary)', () => {
    const r = recent(control, small);
    const o = older(control, small);
    // Age mixes differ (recent pools ages 1..5, older 1..3), so compare age 3 alone.
    const r3 = pooledRetention(control.values(), small, '2026-05', '2026-07', [3], '2026-10');
    const o3 = pooledRetention(control.values(), small, '2025-05', '2026-04', [3], '2026-10');
    const se = Math.sqrt(o3.rate * (1 - o3.rate) * (1 / r3.n + 1 / o3.n));
    expect(Math.abs(r3.rate - o3.rate)).toBeLessThan(4 * se);
    expect(r.n).toBeGreaterThan(5000);
    expect(o.n).toBeGreaterThan(10000);
  });

  it('small-drop: recent small cohorts retain x dropFactor, existing small customers x existingDropFactor, others untouched', () => {
    const res = shopCsv({ ...base, scenario: 'small-drop' });
    const drop = customers(parse(res.csv));
    const t: ShopTruth = res.truth;
    expect(t.affected).toEqual({ tier: 'small', region: null });
    const c = recent(control, small);
    const d = recent(drop, small);
    expect(d.n).toBe(c.n); // same customers, same cohorts
    expect(d.rate / c.rate).toBeGreaterThan(t.dropFactor - tol(t.dropFactor, c.bought));
    expect(d.rate / c.rate).toBeLessThan(t.dropFactor + tol(t.dropFactor, c.bought));
    // Existing small customers: months since the change, among those who bought at all.
    const boughtSince = (cs: Map<string, Customer>) => {
      let k = 0;
      for (const x of cs.values()) if (x.tier === 'small' && x.cohort < '2026-05') for (const m of x.months) if (m >= '2026-05') k++;
      return k;
    };
    const e = boughtSince(drop) / boughtSince(control);
    expect(Math.abs(e - t.existingDropFactor)).toBeLessThan(tol(t.existingDropFactor, boughtSince(control)));
    // Mid and large customers are drawn identically.
    for (const tier of ['mid', 'large'] as const) {
      const pick = (x: Customer) => x.tier === tier;
      expect(recent(drop, pick)).toEqual(recent(control, pick));
    }
  });

  it('region-drop: only small customers in the region fall; small elsewhere identical to control', () => {
    const res = shopCsv({ ...base, scenario: 'region-drop', dropRegion: 'APAC' });
    const drop = customers(parse(res.csv));
    expect(res.truth.affected).toEqual({ tier: 'small', region: 'APAC' });
    const apac = (x: Customer) => x.tier === 'small' && x.region === 'APAC';
    const c = recent(control, apac);
    const ratio = recent(drop, apac).rate / c.rate;
    expect(Math.abs(ratio - 0.6)).toBeLessThan(tol(0.6, c.bought));
    const elsewhere = (x: Customer) => x.tier === 'small' && x.region !== 'APAC';
    expect(recent(drop, elsewhere)).toEqual(recent(control, elsewhere));
    const midApac = (x: Customer) => x.tier === 'mid' && x.region === 'APAC';
    expect(recent(drop, midApac)).toEqual(recent(control, midApac));
  });

  it('mix-shift: per-tier retention unchanged, small share of acquisitions up, overall retention down', () => {
    const res = shopCsv({ ...base, scenario: 'mix-shift' });
    const mix = customers(parse(res.csv));
    const all = () => true;
    for (const tier of ['small', 'mid'] as const) {
      const pick = (x: Customer) => x.tier === tier;
      const a = recent(mix, pick);
      const b = recent(control, pick);
      const se = Math.sqrt(b.rate * (1 - b.rate) * (1 / a.n + 1 / b.n));
      expect(Math.abs(a.rate - b.rate)).toBeLessThan(4 * se);
    }
    const share = (cs: Map<string, Customer>) => {
      let s = 0;
      let n = 0;
      for (const x of cs.values()) if (x.cohort >= '2026-05') (n++, x.tier === 'small' && s++);
      return s / n;
    };
    expect(share(control)).toBeLessThan(0.85);
    expect(share(mix)).toBeGreaterThan(0.9);
    // Overall recent retention falls by several standard errors although no tier changed.
    const a = recent(mix, all);
    const b = recent(control, all);
    const se = Math.sqrt(b.rate * (1 - b.rate) * (1 / a.n + 1 / b.n));
    expect(b.rate - a.rate).toBeGreaterThan(3 * se);
    expect(res.truth.affected).toBeNull();
  });
});

describe('bad rows', () => {
  it('inserts exactly the asked bad rows at the reported lines, leaving the clean rows intact', () => {
    const counts = { date: 3, amount: 2, customer: 2, currency: 2, duplicate: 3 };
    const res = shopCsv({ seed: 9, customers: 800, months: 12, bad: counts });
    const clean = shopCsv({ seed: 9, customers: 800, months: 12 });
    const lines = res.csv.trimEnd().split('\n');
    const seen = new Set<string>();
    const found = { date: 0, amount: 0, customer: 0, currency: 0, duplicate: 0 };
    const where: { line: number; reason: string }[] = [];
    const kept: string[] = [lines[0]];
    lines.forEach((l, i) => {
      if (i === 0) return;
      const f = l.split(',');
      const reason = !/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(f[2])
        ? 'date'
        : !/^-?\d+\.\d{2}$/.test(f[3])
          ? 'amount'
          : f[1] === ''
            ? 'customer'
            : f[7] !== 'USD'
              ? 'currency'
              : seen.has(l)
                ? 'duplicate'
                : null;
      seen.add(l);
      if (reason) {
        found[reason]++;
        where.push({ line: i + 1, reason });
      } else kept.push(l);
    });
    expect(found).toEqual(counts);
    expect(res.bad!.counts).toEqual(counts);
    expect(res.bad!.rejects).toBe(9);
    expect(res.bad!.duplicates).toBe(3);
    expect(res.bad!.positions).toEqual(where);
    expect(res.rows).toBe(clean.rows + 12);
    expect(kept.join('\n') + '\n').toBe(clean.csv);
  });
});

describe('sample and bench helpers', () => {
  it('the sample config is valid and maps every generated column', () => {
    const cfg = parseConfig(SAMPLE_CONFIG, 'examples/sample-config.json');
    expect(cfg.tiers.bounds).toEqual(TIER_BOUNDS);
    const cols = cfg.input.columns;
    const mapped = [cols.orderId, cols.customerId, cols.orderDate, cols.amount, cols.margin, ...cols.dimensions, cols.currency];
    expect(new Set(mapped)).toEqual(new Set(CSV_HEADER));
    expect(JSON.parse(readFileSync(new URL('../examples/sample-config.json', import.meta.url), 'utf8'))).toEqual(SAMPLE_CONFIG);
  });

  it('the committed sample export is exactly what the seeded script makes, with its planted drop and bad rows', () => {
    const committed = gunzipSync(readFileSync(new URL('../examples/sample-export.csv.gz', import.meta.url))).toString();
    const res = shopCsv(SAMPLE_OPTIONS);
    expect(committed).toBe(res.csv);
    expect(res.truth.scenario).toBe('small-drop');
    expect(res.truth.affected).toEqual({ tier: 'small', region: null });
    expect(res.bad!.rejects / res.rows).toBeLessThan(0.01 / 10); // far under the default maxRejectShare
    expect(res.truth.orders).toBeGreaterThan(20_000);
    expect(readFileSync(new URL('../examples/sample-export.csv.gz', import.meta.url)).length).toBeLessThan(1.5e6);
  });

  it("the bench's median: the middle figure of an odd count, the mean of the middle two of an even one, whatever the order", () => {
    expect(median([9.1, 7.2, 8.4])).toBe(8.4);
    expect(median([3, 1, 4, 2])).toBe(2.5);
    expect(median([5])).toBe(5);
    const xs = [4, 1, 3];
    median(xs);
    expect(xs).toEqual([4, 1, 3]); // the rounds' own order is kept (results.json lists them as run)
  });

  it('the rate multiplier calibration lands near the asked row count', () => {
    const opts: ExportOptions = { seed: 4, customers: 5000, months: 36 };
    const target = 40_000;
    const mult = calibrateRateMultiplier(opts, target, 5000);
    expect(mult).toBeGreaterThan(1);
    const { truth } = collectShop({ ...opts, rateMultiplier: mult });
    expect(Math.abs(truth.rows / target - 1)).toBeLessThan(0.05);
  });
});
