/**
 * Synthesis for tests and scripts: the same context as `npx cdk synth` (cdk.json's feature
 * flags and settings), with overrides, optionally without bundling the Lambda (much faster;
 * the template is the same apart from the asset hash).
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from './app.js';
import { REPO_ROOT } from './compute.js';
import type { TailwatchStack } from './stack.js';

export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

export interface Synthesised {
  app: App;
  stack: TailwatchStack;
  template: Template;
  outdir: string;
}

export function synthesise(overrides: Record<string, unknown> = {}, opts: { bundle?: boolean } = {}): Synthesised {
  // Under the repository, so a bundle loaded from here resolves the externals (@aws-sdk/*) from node_modules.
  const base = join(REPO_ROOT, '.tmp');
  mkdirSync(base, { recursive: true });
  const outdir = mkdtempSync(join(base, 'cdk-'));
  const context: Record<string, unknown> = { ...cdkJsonContext(), ...overrides };
  if (!opts.bundle) context['aws:cdk:bundling-stacks'] = [];
  const app = new App({ outdir, context });
  const stack = buildApp(app);
  const template = Template.fromStack(stack);
  return { app, stack, template, outdir };
}
