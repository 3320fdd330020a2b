import { describe, expect, it } from 'vitest';
import { crr } from '../lib/crr.js';
import { computeCore, memoryFile } from './helpers/core.js';

function monthly(id: string, from: [number, number], months: number, amount = 10): string[] {
  const out: string[] = [];
  for (let i = 0; i < months; i++) {
    const m = from[1] - 1 + i;
    const y = from[0] + Math.floor(m / 12);
    out.push(`${id},${y}-${String((m % 12) + 1).padStart(2, '0')}-15,${amount}`);
  }
  return out;
}

describe('customer retention rate', () => {
  it('is (E - N) / S x 100 and null without anyone active at the start', () => {
    expect(crr(200, 180, 30)).toBe(75);
    expect(crr(0, 10, 10)).toBeNull();
  });

  it('is exactly 100 when nobody lapses, nobody is new and nobody comes back', async () => {
    const rows = ['customer_id,order_date,amount', ...['a', 'b', 'c', 'd'].flatMap((id) => monthly(id, [2023, 1], 24))];
    const { periods } = await computeCore([memoryFile('steady.csv', rows.join('\n'))], {}, '2024-12-31');
    const all = periods.filter((p) => p.tier === 'all' && p.segment === 'all');
    for (const p of all.filter((p) => p.period > '2023-01')) {
      expect(p.active_start, p.period).toBe(4);
      expect(p.new_customers).toBe(0);
      expect(p.crr, p.period).toBe(100);
      expect(p.reactivated).toBe(0);
    }
    expect(all[0]).toMatchObject({ period: '2023-01', active_start: 0, active_end: 4, new_customers: 4, crr: null });
  });

  it('counts reactivated customers beside CRR, which they can push above 100', async () => {
    const rows = [
      'customer_id,order_date,amount',
      ...monthly('steady', [2022, 1], 36),
      'comeback,2022-01-10,10', // lapses for more than the 365-day window ...
      'comeback,2024-06-10,10', // ... and comes back
    ];
    const { periods } = await computeCore([memoryFile('back.csv', rows.join('\n'))], {}, '2024-12-31');
    const june = periods.find((p) => p.tier === 'all' && p.segment === 'all' && p.period === '2024-06')!;
    expect(june).toMatchObject({ active_start: 1, active_end: 2, new_customers: 0, reactivated: 1 });
    expect(june.crr).toBe(200);
    const jan23 = periods.find((p) => p.tier === 'all' && p.segment === 'all' && p.period === '2023-01')!;
    // comeback's last purchase 2022-01-10 is within 365 days of 2022-12-31 but not of 2023-01-31.
    expect(jan23).toMatchObject({ active_start: 2, active_end: 1, crr: 50 });
  });

  it('marks the period containing the as-of date partial', async () => {
    const rows = ['customer_id,order_date,amount', ...monthly('a', [2024, 1], 3)];
    const { periods } = await computeCore([memoryFile('p.csv', rows.join('\n'))], {}, '2024-03-20');
    const all = periods.filter((p) => p.tier === 'all' && p.segment === 'all');
    expect(all.map((p) => [p.period, p.partial])).toEqual([['2024-01', false], ['2024-02', false], ['2024-03', true]]);
  });
});
