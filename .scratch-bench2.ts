import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ingest } from './lib/ingest/index.js';
import { parseConfig } from './lib/config.js';
const raw = gunzipSync(readFileSync('/tmp/ingbench/sales.csv.gz'));
const chunks: Buffer[] = []; for (let i = 0; i < raw.length; i += 1 << 18) chunks.push(raw.subarray(i, i + (1 << 18)));
const cfg = parseConfig({ input: { columns: { orderId: 'order_id', margin: 'margin', dimensions: ['region', 'channel'] } } });
const mode = process.argv[2] ?? 'full';
for (let rep = 0; rep < 3; rep++) {
  let n = 0;
  const c0 = process.cpuUsage(); const t = performance.now();
  if (mode === 'decode') { const d = new TextDecoder(); for (const c of chunks) n += d.decode(c, { stream: true }).length; }
  else await ingest([{ name: 'x.csv', open: async function* () { yield* chunks; } }], cfg, { dedupe: mode === 'dedupe', onRow: () => { n++; } });
  const cpu = process.cpuUsage(c0); const s = (performance.now() - t) / 1000;
  console.log(mode, n, 'wall', s.toFixed(2), 'cpu', ((cpu.user + cpu.system) / 1e6).toFixed(2), 'rows/s(cpu)', Math.round(2e6 / ((cpu.user + cpu.system) / 1e6)));
}
