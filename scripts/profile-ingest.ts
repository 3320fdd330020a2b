/**
 * Profiling aid for the row pass (issue 8): ingest a local export with a no-op onRow and with the
 * CustomerAccumulator (modes noop, acc: onBatch; accrow1: onAccepted; row, accrow: onRow SalesRow objects; DEDUPE=0
 * turns de-duplication off), printing wall/CPU seconds, CPU rows/s and RSS. Not a test, not the bench.
 *   npx tsx scripts/profile-ingest.ts bench/data/export.csv.gz [noop,acc,row,accrow]
 *   node --import tsx --cpu-prof scripts/profile-ingest.ts bench/data/export.parquet acc
 */
import { parseConfig } from '../lib/config.js';
import { ingest } from '../lib/ingest/index.js';
import { CustomerAccumulator } from '../lib/customers.js';
import { listLocalInputs } from '../functions/local/fs.js';

const config = parseConfig({
  input: { columns: { orderId: 'order_id', margin: 'margin', currency: 'currency', dimensions: ['region', 'channel'] } },
});
const files = await listLocalInputs(process.argv[2], []);
for (const mode of (process.argv[3] ?? 'noop,acc').split(',')) {
  const acc = new CustomerAccumulator(2);
  const t = performance.now();
  const cpu = process.cpuUsage();
  const r = await ingest(
    files,
    config,
    {
      ...(process.env.DEDUPE === '0' ? { dedupe: false } : {}),
      ...(mode === 'acc'
      ? { onBatch: (b) => acc.addBatch(b) }
      : mode === 'accrow1'
      ? { onAccepted: (row) => acc.addAccepted(row) }
      : mode === 'accrow'
        ? { onRow: (row) => acc.add(row) }
        : mode === 'row'
          ? { onRow: () => {} }
          : { onAccepted: () => {} }),
    },
  );
  const c = process.cpuUsage(cpu);
  const cpuS = (c.user + c.system) / 1e6;
  console.log(
    mode,
    r.rows.read,
    'wall',
    ((performance.now() - t) / 1000).toFixed(2),
    'cpu',
    cpuS.toFixed(2),
    'rows/s(cpu)',
    Math.round(r.rows.read / cpuS),
    'rss',
    Math.round(process.memoryUsage().rss / 1e6),
    'customers',
    acc.customerCount,
    'accepted',
    r.rows.accepted,
    'duplicates',
    r.rows.duplicates,
    'orders',
    acc.column(2, Float64Array).reduce((a, b) => a + b, 0),
    'heapMB',
    Math.round(process.memoryUsage().heapUsed / 1e6),
    'arrayBuffersMB',
    Math.round(process.memoryUsage().arrayBuffers / 1e6),
  );
}
