import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CDNOW_MASTER_CONFIG, cdnowDir, computeCore, fileInput } from './helpers/core.js';

/** An independent hand computation of the monthly cohort matrix straight from the text file. */
function handCohorts(path: string) {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).slice(1).filter((l) => l.trim());
  const byCustomer = new Map<string, { month: number; amount: number }[]>();
  let total = 0;
  for (const l of lines) {
    const [id, date, , dollars] = l.trim().split(/\s+/);
    const month = Number(date.slice(0, 4)) * 12 + Number(date.slice(4, 6)) - 1;
    const cents = Math.round(Number(dollars) * 100);
    total += cents;
    (byCustomer.get(id) ?? byCustomer.set(id, []).get(id)!).push({ month, amount: cents });
  }
  const cells = new Map<string, { size: number; active: number; cents: number }>();
  const sizes = new Map<number, number>();
  for (const orders of byCustomer.values()) {
    const first = Math.min(...orders.map((o) => o.month));
    sizes.set(first, (sizes.get(first) ?? 0) + 1);
    const seen = new Set<number>();
    for (const o of orders) {
      const age = o.month - first;
      const key = `${first}:${age}`;
      const cell = cells.get(key) ?? cells.set(key, { size: 0, active: 0, cents: 0 }).get(key)!;
      cell.cents += o.amount;
      if (!seen.has(age)) {
        seen.add(age);
        cell.active++;
      }
    }
  }
  return { cells, sizes, total, customers: byCustomer.size };
}

describe('cohort retention on CDNOW (master file)', () => {
  it('equals a hand computation in every cell of all/all and reconciles revenue to the cent', async () => {
    const path = `${cdnowDir()}/CDNOW_master.txt`;
    const { cohorts, s } = await computeCore([fileInput(path)], CDNOW_MASTER_CONFIG);
    const hand = handCohorts(path);
    expect(s.n).toBe(23570);
    expect(hand.customers).toBe(23570);
    const all = cohorts.filter((r) => r.tier === 'all' && r.segment === 'all');
    const jan = all.find((r) => r.cohort === '1997-01' && r.period === 1)!;
    expect(jan.customers).toBe(7846);
    expect(jan.retention).toBeCloseTo(0.1475, 4);
    expect(new Set(all.map((r) => r.cohort))).toEqual(new Set(['1997-01', '1997-02', '1997-03']));
    let cells = 0;
    let cents = 0;
    for (const r of all) {
      const first = Number(r.cohort.slice(0, 4)) * 12 + Number(r.cohort.slice(5, 7)) - 1;
      const h = hand.cells.get(`${first}:${r.period}`) ?? { active: 0, cents: 0 };
      expect(r.customers, `${r.cohort} size`).toBe(hand.sizes.get(first));
      expect(r.active_customers, `${r.cohort} age ${r.period}`).toBe(h.active);
      expect(Math.round(r.revenue * 100), `${r.cohort} age ${r.period} revenue`).toBe(h.cents);
      expect(r.retention).toBeGreaterThanOrEqual(0);
      expect(r.retention).toBeLessThanOrEqual(1);
      if (r.period === 0) expect(r.retention).toBe(1);
      cells++;
      cents += Math.round(r.revenue * 100);
    }
    expect(cells).toBe(18 + 17 + 16); // cohorts Jan-Mar 1997 observed to June 1998
    expect(cents).toBe(hand.total);
    expect(cents).toBe(250031563);
    // 1998-06 ends on the last order date: complete, not partial.
    expect(all.some((r) => r.partial)).toBe(false);
  });
});
