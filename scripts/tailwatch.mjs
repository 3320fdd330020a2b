#!/usr/bin/env node
// The `tailwatch` command: loads the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';

// The CLI runs on Node 20 too; the SDK's notice that it will need Node 22 in 2027 is not for our users' every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
if (process.argv[2] === 'run') {
  // a parse worker loads its code beside this thread's own loading, not after ingest has begun
  const { warmParseWorker } = await import('../lib/ingest/parallel.ts');
  warmParseWorker();
}
const { main } = await import('../functions/cli.ts');
process.exitCode = await main(process.argv.slice(2));
