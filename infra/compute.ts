/**
 * Compute: the pipeline Lambda (functions/handler.ts bundled by the local esbuild, no Docker),
 * its role, its log group, and the queue that failed runs land in.
 *
 * One Lambda runs the whole pipeline: a run is one streaming pass plus small in-memory stages,
 * well inside 15 minutes for 10M rows (issue 8's benchmark), so there is nothing for Step
 * Functions to orchestrate; retries and failure routing are Lambda's async invocation config.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RUNTIME_ASSETS } from '../lib/report/assets.js';
import { acknowledge } from './nag.js';
import { SettingsError, type Settings } from './settings.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const HANDLER_ENTRY = join(REPO_ROOT, 'functions', 'handler.ts');

/**
 * Sizing, from `npm run bench` (bench/results.json; README "Performance"): a 10M-row, 1M-customer
 * export runs in 30-40 s on 2 cores here with a peak RSS of 0.77-0.94 GB, V8's old space capped
 * at 768 MB (first measured at 512 MB: 0.98 GB capped, 1.16 GB uncapped; a cap of 1,536 MB gave
 * the run no time back). 2048 MB gives 1.16 vCPU (Lambda allots CPU in proportion to memory; on
 * one vCPU the run parses on one thread) and twice the measured peak as headroom; the old-space
 * cap below keeps the heap from growing into it lazily. Raise both together for exports with
 * several million customers (the per-customer state grows with customers, not rows).
 */
export const MEMORY_MB = 2048;
export const NODE_OPTIONS = '--enable-source-maps --max-old-space-size=768';
export const TIMEOUT = Duration.minutes(15);
/** One run at a time: two runs for the same date must not race (the run itself also locks). */
export const RESERVED_CONCURRENCY = 1;
/** Lambda's own retry of a failed async invocation: once (a run is idempotent per run date). */
export const ASYNC_RETRY_ATTEMPTS = 1;
export const ASYNC_MAX_EVENT_AGE = Duration.hours(2);

/** Lambda environment variables are limited to 4 KB in total. */
const ENV_LIMIT_BYTES = 4096;

/**
 * Graviton (arm64): cheaper per GB-second. Nothing in the bundle is native code: the chart
 * renderer is resvg compiled to WebAssembly (lib/report/charts.ts), copied in as a runtime asset.
 */
export const ARCHITECTURE = lambda.Architecture.ARM_64;

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Shell commands copying lib/report/assets.ts RUNTIME_ASSETS into the bundle at the same relative paths. */
export function assetCopyCommands(assets: string[], inputDir: string, outputDir: string): string[] {
  return assets.map((rel) => {
    const to = join(outputDir, rel);
    return `mkdir -p ${shq(dirname(to))} && cp -R ${shq(join(inputDir, rel))} ${shq(to)}`;
  });
}

/**
 * The parse worker (lib/ingest/parallel.ts) as a file of its own beside index.js: a worker thread
 * starts from a file, and the handler's bundle cannot name its own modules. The handler finds it
 * through TAILWATCH_PARSE_WORKER_FILE; workers start when the function has 2 vCPUs' worth of
 * memory (3,538 MB or more; see lib/ingest/parallel.ts), so not at the default 2,048 MB.
 */
export function parseWorkerBundleCommand(inputDir: string, outputDir: string): string {
  const esbuild = join(inputDir, 'node_modules', '.bin', 'esbuild');
  const args = ['--bundle', '--platform=node', '--format=cjs', '--target=node22', '--minify', '--log-level=warning', `--outfile=${join(outputDir, PARSE_WORKER_FILE)}`];
  return [esbuild, join(inputDir, 'lib', 'ingest', 'parse-worker.ts'), ...args].map(shq).join(' ');
}

export const PARSE_WORKER_FILE = 'parse-worker.js';

export interface ComputeProps {
  settings: Settings;
  /** Environment the handler reads (more may be added with fn.addEnvironment). */
  environment: Record<string, string>;
}

export class Compute extends Construct {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly failureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ComputeProps) {
    super(scope, id);
    const { settings } = props;

    for (const rel of RUNTIME_ASSETS)
      if (!existsSync(join(REPO_ROOT, rel))) throw new SettingsError(`lib/report/assets.ts: runtime asset ${rel} does not exist`);

    // Failed runs: the scheduler's dead letters and Lambda's on-failure records land here; an alarm watches its depth.
    this.failureQueue = new sqs.Queue(this, 'FailedRuns', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.failureQueue, 'AwsSolutions-SQS3', 'This queue is itself the dead-letter queue of the schedule and the failure destination of the Lambda.');

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: settings.logRetentionDays as logs.RetentionDays,
    });

    // An explicit role instead of AWSLambdaBasicExecutionRole: logs only to this function's log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'tailwatch pipeline: read the export prefix, write the outputs prefix, send the report',
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    const environment = { ...props.environment, TAILWATCH_PARSE_WORKER_FILE: `/var/task/${PARSE_WORKER_FILE}` };
    this.fn = new NodejsFunction(this, 'Pipeline', {
      entry: HANDLER_ENTRY,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      description: 'tailwatch: cohort retention and CLV report, one run per schedule tick',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: ARCHITECTURE,
      memorySize: MEMORY_MB,
      timeout: TIMEOUT,
      reservedConcurrentExecutions: RESERVED_CONCURRENCY,
      role: this.role,
      logGroup: this.logGroup,
      environment,
      onFailure: new SqsDestination(this.failureQueue),
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      maxEventAge: ASYNC_MAX_EVENT_AGE,
      bundling: {
        forceDockerBundling: false,
        // CommonJS without a file-wide "use strict": parquetjs-lite's generated Thrift code assigns
        // undeclared globals, which throws in an ES module (always strict) or under alwaysStrict
        // (see infra/tsconfig.bundle.json). import.meta is empty in this format; the code that
        // reads it (lib/report/charts.ts) falls back to LAMBDA_TASK_ROOT.
        format: OutputFormat.CJS,
        tsconfig: join(REPO_ROOT, 'infra', 'tsconfig.bundle.json'),
        target: 'node22',
        mainFields: ['module', 'main'],
        // The Node.js 22 runtime provides the AWS SDK v3.
        externalModules: ['@aws-sdk/*'],
        minify: true,
        keepNames: true,
        sourceMap: true,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) => [...assetCopyCommands(RUNTIME_ASSETS, inputDir, outputDir), parseWorkerBundleCommand(inputDir, outputDir)],
        },
      },
    });

    acknowledge(
      this.fn,
      'AwsSolutions-L1',
      'Node.js 22 is the runtime the project is built and tested for (package.json engines, CI); the upgrade to a newer runtime is a tested change, not an automatic one.',
    );
  }
}

/** Unresolved tokens (bucket names) are counted at their longest (63 characters). */
export function checkEnvironmentSize(env: Record<string, string>): void {
  let bytes = 0;
  for (const [k, v] of Object.entries(env)) bytes += k.length + (v.includes('${Token[') ? 63 : Buffer.byteLength(v));
  if (bytes > ENV_LIMIT_BYTES)
    throw new SettingsError(
      `the Lambda environment would be ${bytes} bytes (limit ${ENV_LIMIT_BYTES}); CONFIG_JSON is ${Buffer.byteLength(env.CONFIG_JSON ?? '')} bytes: shorten the config (defaults need not be written out)`,
    );
}
