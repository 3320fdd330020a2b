import { startEmulators } from '../scripts/emulators.ts';
const e = await startEmulators();
console.log('READY', e.startupMs, e.s3Endpoint);
setInterval(() => {}, 1000);
