import { createReadStream } from 'node:fs';
import { ingest } from './lib/ingest/index.js';
import { parseConfig } from './lib/config.js';
const cfg = parseConfig({ input: { columns: { orderId: 'order_id', margin: 'margin', dimensions: ['region', 'channel'] } } });
const dedupe = process.argv[2] !== 'nodedupe';
let n = 0, sum = 0;
const t = performance.now(); const c0 = process.cpuUsage();
const r = await ingest([{ name: '/tmp/ingbench/sales.csv.gz', open: () => createReadStream('/tmp/ingbench/sales.csv.gz', { highWaterMark: 1 << 20 }) }], cfg, {
  dedupe, onRow: (row) => { n++; sum += row.amount; },
});
const s = (performance.now() - t) / 1000;
const cpu = process.cpuUsage(c0); console.log('cpu(all threads)', ((cpu.user + cpu.system) / 1e6).toFixed(2), r.rows, s.toFixed(2), 's', Math.round(r.rows.read / s), 'rows/s', 'rss', Math.round(process.memoryUsage().rss / 2 ** 20), 'MiB');
