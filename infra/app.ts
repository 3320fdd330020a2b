/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs `npx tsx infra/app.ts`).
 * Settings come from the CDK context (cdk.json "context", or `-c key=value`); see
 * infra/README-deploy.md. A bad setting or config fails synth with one line naming the key.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readSettings, SettingsError } from './settings.js';
import { TailwatchStack } from './stack.js';

/** Builds the stack into `app`; shared by the CLI entry below and the tests. */
export function buildApp(app: App, opts: { nag?: boolean } = {}): TailwatchStack {
  const settings = readSettings((key) => app.node.tryGetContext(key));
  const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'Tailwatch';
  const stack = new TailwatchStack(app, stackName, { settings });
  if (opts.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const app = new App();
  try {
    buildApp(app, { nag: true });
  } catch (e) {
    if (e instanceof SettingsError) {
      console.error(`tailwatch: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
  app.synth();
}
