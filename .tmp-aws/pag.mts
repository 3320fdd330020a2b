import { startEmulators } from '../scripts/emulators.ts';
import { makeS3Client, S3Storage } from '../functions/aws/s3.ts';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
const e = await startEmulators();
console.log('startup', e.startupMs);
const c = makeS3Client(e.env);
await c.send(new CreateBucketCommand({ Bucket: 'pag-test' }));
const s = new S3Storage(c, 's3://pag-test/p/');
const keys = Array.from({ length: 1010 }, (_, i) => `k/${String(i).padStart(5, '0')}`);
for (const conc of [8, 32]) {
  const t = performance.now();
  for (let i = 0; i < 400; i += conc) await Promise.all(keys.slice(i, i + conc).map((k) => s.put(k, k)));
  console.log('put 400 conc', conc, Math.round(performance.now() - t));
}
let t = performance.now();
await Promise.all(keys.slice(400).map((k) => s.put(k, k)));
console.log('rest', Math.round(performance.now() - t));
t = performance.now(); const l = await s.list(''); console.log('list', l.length, Math.round(performance.now() - t));
t = performance.now(); await s.delete(keys); console.log('delete', Math.round(performance.now() - t));
await e.stop();
