import { Fingerprint, FingerprintSet } from './lib/ingest/fingerprint.js';
const ids = Array.from({ length: 2e6 }, (_, i) => 'C' + ((i * 7919) % 200000));
const oids = Array.from({ length: 2e6 }, (_, i) => 'O' + i);
for (let rep = 0; rep < 3; rep++) {
  const fp = new Fingerprint(); const set = new FingerprintSet();
  let c0 = process.cpuUsage();
  for (let i = 0; i < 2e6; i++) { fp.reset(); fp.str(ids[i]); fp.num(18000 + (i % 1000)); fp.num(i * 0.01); fp.str(oids[i]); fp.num(i * 0.003); fp.str('EU'); fp.str('web'); }
  let c1 = process.cpuUsage(c0); console.log('hash', (c1.user / 1e6).toFixed(2));
  c0 = process.cpuUsage();
  for (let i = 0; i < 2e6; i++) { fp.reset(); fp.str(oids[i]); set.add(fp.hi, fp.lo); }
  c1 = process.cpuUsage(c0); console.log('hash+set', (c1.user / 1e6).toFixed(2), set.size);
}
for (const cap of [1 << 22, 1 << 23]) {
  const fp = new Fingerprint(); const set = new FingerprintSet(cap);
  const c0 = process.cpuUsage();
  for (let i = 0; i < 2e6; i++) { fp.reset(); fp.str(oids[i]); set.add(fp.hi, fp.lo); }
  const c1 = process.cpuUsage(c0); console.log('presized', cap, (c1.user / 1e6).toFixed(2));
}
