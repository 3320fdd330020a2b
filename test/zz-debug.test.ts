import { PutObjectCommand } from '@aws-sdk/client-s3';
import { it } from 'vitest';
import { listS3Inputs, makeS3Client } from '../functions/aws/s3.js';
import { useEmulators } from './helpers/emulators.js';
import { startProxy } from './helpers/proxy.js';
const emu = useEmulators();
it('x', async () => {
  const p = await startProxy(emu.current.s3Endpoint);
  const b = await emu.bucket('x');
  await emu.s3().send(new PutObjectCommand({ Bucket: b, Key: 'sales/e.csv', Body: Buffer.alloc(300000, 'a') }));
  p.onRequest = (r) => { console.log('REQ', r.method, r.path, r.query); return r.method === 'GET' && r.path === `/${b}/sales/e.csv` ? { cutAfterBytes: 65536, then: async () => { console.log('then'); await emu.current.stopS3(); console.log('stopped'); } } : 'forward'; };
  const c = makeS3Client({ ...emu.current.env, AWS_ENDPOINT_URL_S3: p.endpoint }, { maxAttempts: 2, requestTimeoutMs: 5000 });
  const [inp] = await listS3Inputs(c, `s3://${b}/sales/`, []);
  let n = 0;
  try { for await (const ch of inp.open()) { n += ch.length; console.log('chunk', n); } } catch (e) { console.log('ERR', (e as Error).message); }
}, 60000);
