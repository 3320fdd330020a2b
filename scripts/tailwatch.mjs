#!/usr/bin/env node
// The `tailwatch` command: loads the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';

// The CLI runs on Node 20 too; the SDK's notice that it will need Node 22 in 2027 is not for our users' every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../functions/cli.ts');
process.exitCode = await main(process.argv.slice(2));
