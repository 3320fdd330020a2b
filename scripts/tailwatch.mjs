#!/usr/bin/env node
// The `tailwatch` command: loads the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../functions/cli.ts');
process.exitCode = await main(process.argv.slice(2));
