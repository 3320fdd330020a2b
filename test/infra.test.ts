/**
 * The stack's template, pinned with aws-cdk-lib/assertions. Synthesised once per variant
 * (beforeAll): the default context from cdk.json with the Lambda really bundled by the local
 * esbuild, and an engine "athena" variant without bundling.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config.js';
import { CustomerAccumulator, customerState, finishSummary, summarize, summaryJob } from '../lib/customers.js';
import { PARTITION_COLUMN, tableDefs, type ColumnType } from '../lib/outputs/schema.js';
import { RUNTIME_ASSETS } from '../lib/report/assets.js';
import { ARCHITECTURE } from '../infra/compute.js';
import { flattenCfn } from '../infra/nag.js';
import { cdkJsonContext, synthesise, type Synthesised } from '../infra/synth.js';

type Json = Record<string, any>;
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Json; Sid?: string };

/** The Glue type each lib ColumnType must become (written out here, not imported from infra). */
const EXPECTED_GLUE_TYPE: Record<ColumnType, string> = {
  string: 'string',
  int: 'int',
  bigint: 'bigint',
  double: 'double',
  date: 'date',
  boolean: 'boolean',
};

const arr = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const one = (t: Template, type: string): [string, Json] => {
  const found = Object.entries(t.findResources(type));
  expect(found).toHaveLength(1);
  return found[0] as [string, Json];
};
const logicalId = (s: Synthesised, construct: { node: { defaultChild?: unknown } }) =>
  Stack.of(s.stack).getLogicalId(construct.node.defaultChild as never);

function statementsOf(t: Template, roleLogicalId: string): Statement[] {
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p: Json) => p.Properties.Roles.some((r: Json) => r.Ref === roleLogicalId))
    .flatMap((p: Json) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const ctx = cdkJsonContext();
let main: Synthesised;
let athena: Synthesised;

beforeAll(() => {
  main = synthesise({}, { bundle: true });
  athena = synthesise(
    {
      stackName: 'TailwatchAthena',
      exportBucketName: 'corp-sales-exports',
      exportKmsKeyArn: 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      exportPrefix: 'daily/',
      exportColumns: ['customer_id', 'order_date', 'sku', 'amount', 'Region', 'channel'],
      config: {
        engine: 'athena',
        input: { format: 'csv', csv: { delimiter: ';' }, columns: { customerId: 'customer_id', orderDate: 'order_date', amount: 'amount', dimensions: ['Region', 'channel'] } },
      },
    },
    { bundle: false },
  );
});

afterAll(() => {
  for (const s of [main, athena]) if (s) rmSync(s.outdir, { recursive: true, force: true });
});

describe('schedule', () => {
  it('runs on the configured cron in the configured time zone, with retries and a dead-letter queue', () => {
    const t = main.template;
    const [, schedule] = one(t, 'AWS::Scheduler::Schedule');
    const p = schedule.Properties;
    expect(p.ScheduleExpression).toBe(ctx.schedule);
    expect(p.ScheduleExpressionTimezone).toBe(ctx.scheduleTimeZone);
    expect(p.State).toBe('ENABLED');
    expect(p.Target.RetryPolicy).toEqual({ MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 });
    expect(p.Target.Arn).toEqual({ 'Fn::GetAtt': [logicalId(main, main.stack.compute.fn), 'Arn'] });
    expect(p.Target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [logicalId(main, main.stack.compute.failureQueue), 'Arn'] });
    // The event the handler validates (functions/handler.ts eventSchema): the tick's time from the scheduler.
    expect(JSON.parse(p.Target.Input)).toEqual({ source: 'tailwatch.schedule', scheduledTime: '<aws.scheduler.scheduled-time>' });
  });

  it('lets the scheduler role invoke only this function and write only to the failure queue', () => {
    const roleId = logicalId(main, main.stack.schedule.role);
    const fnId = logicalId(main, main.stack.compute.fn);
    const statements = statementsOf(main.template, roleId);
    const actions = statements.flatMap((s) => arr(s.Action)).sort();
    expect(actions).toEqual(['lambda:InvokeFunction', 'sqs:SendMessage']);
    const invoke = statements.find((s) => arr(s.Action).includes('lambda:InvokeFunction'))!;
    for (const r of arr(invoke.Resource)) expect(flattenCfn(r)).toMatch(new RegExp(`^<${fnId}\\.Arn>(:\\*)?$`));
  });
});

describe('pipeline Lambda', () => {
  it('runs Node.js 22 on arm64 (no native code in the bundle), sized from the benchmark', () => {
    const [, fn] = one(main.template, 'AWS::Lambda::Function');
    const p = fn.Properties;
    expect(p.Runtime).toBe('nodejs22.x');
    expect(ARCHITECTURE.name).toBe('arm64');
    expect(p.Architectures).toEqual(['arm64']);
    expect(p.MemorySize).toBe(2048);
    expect(p.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps --max-old-space-size=768');
    expect(p.Timeout).toBe(900);
    expect(p.ReservedConcurrentExecutions).toBe(1);
    expect(p.Handler).toBe('index.handler');
  });

  it('gets the environment the handler reads, with the config as validated at synth', () => {
    const [, fn] = one(main.template, 'AWS::Lambda::Function');
    const env = fn.Properties.Environment.Variables;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(['EXPORT_BUCKET', 'EXPORT_PREFIX', 'OUTPUT_BUCKET', 'OUTPUT_PREFIX', 'CONFIG_JSON', 'SES_CONFIGURATION_SET', 'POWERTOOLS_SERVICE_NAME', 'LOG_LEVEL']),
    );
    expect(env.EXPORT_PREFIX).toBe(ctx.exportPrefix);
    expect(env.OUTPUT_PREFIX).toBe(ctx.outputPrefix);
    expect(env.OUTPUT_BUCKET).toEqual({ Ref: logicalId(main, main.stack.storage.outputsBucket) });
    expect(env.SES_CONFIGURATION_SET).toEqual({ Ref: logicalId(main, main.stack.delivery.configurationSet) });
    const config = parseConfig(JSON.parse(env.CONFIG_JSON), 'CONFIG_JSON');
    expect(config.report).toMatchObject({ from: ctx.senderEmail, to: ctx.recipients, operators: ctx.operatorEmails });
    expect(env.EXPORT_TABLE).toBeUndefined();
  });

  it('sends a failed async invocation, after one retry, to the failure queue', () => {
    const [, cfg] = one(main.template, 'AWS::Lambda::EventInvokeConfig');
    expect(cfg.Properties.MaximumRetryAttempts).toBe(1);
    expect(cfg.Properties.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': [logicalId(main, main.stack.compute.failureQueue), 'Arn'] });
  });

  it('logs to its own log group with a retention', () => {
    const [logId, group] = one(main.template, 'AWS::Logs::LogGroup');
    expect(group.Properties.RetentionInDays).toBe(90);
    const [, fn] = one(main.template, 'AWS::Lambda::Function');
    expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: logId });
  });

  it('is bundled by the local esbuild: the bundle loads, exports handler, and carries the runtime assets', async () => {
    const [, fn] = one(main.template, 'AWS::Lambda::Function');
    const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
    const dir = join(main.outdir, `asset.${hash}`);
    const files = readdirSync(dir);
    expect(files).toContain('index.js');
    expect(files).toContain('parse-worker.js');
    expect(fn.Properties.Environment.Variables.TAILWATCH_PARSE_WORKER_FILE).toBe('/var/task/parse-worker.js');
    expect(files.some((f) => f.endsWith('.node')), 'no native addon in the bundle').toBe(false);
    for (const asset of RUNTIME_ASSETS) expect(existsSync(join(dir, asset)), asset).toBe(true);
    // /var/task has no package.json, so Lambda loads index.js as CommonJS; here the repo's
    // "type": "module" would apply, so the asset directory says otherwise for itself.
    writeFileSync(join(dir, 'package.json'), '{"type":"commonjs"}');
    const mod = createRequire(import.meta.url)(join(dir, 'index.js')) as { handler?: unknown };
    expect(typeof mod.handler).toBe('function');
    // the parse worker's bundle starts as a worker thread and answers a file and a block
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(join(dir, 'parse-worker.js'));
    // first it says it has started
    expect(await new Promise((resolve) => w.once('message', resolve))).toEqual({ seq: -1, ready: true });
    const config = parseConfig({});
    w.postMessage({ type: 'file', name: 'x.csv', config, columns: { cols: [0, 1, 2, -1, -1, -1, -1, -1, -1], expected: 3, labels: ['customer_id', 'order_date', 'amount', null, null, null, null, null, null] }, dedupe: false, keepOrderIds: false });
    const bytes = Buffer.from('C1,2024-01-05,3\nC2,2024-01-06,oops\n');
    const reply = await new Promise<{ counts: unknown; rejects: { line: number; column: string }[] }>((resolve) => {
      w.once('message', resolve);
      w.postMessage({ type: 'block', seq: 0, bytes, offset: 0 });
    });
    expect(reply.counts).toEqual({ read: 2, rejected: 1, ignored: 0 });
    expect(reply.rejects.map((r) => [r.line, r.column])).toEqual([[2, 'amount']]);
    // handed over after ingest (reset), it makes the period rows (lib/aggregate-thread.ts): two
    // customers, one buying on 2024-01-05 and 2024-02-10, one on 2024-02-03 (days since 1970)
    w.postMessage({ type: 'reset' });
    const d = (iso: string) => Date.parse(iso) / 86_400_000;
    const lists = { dayStart: new Int32Array([0, 2, 3]), day: new Int32Array([d('2024-01-05'), d('2024-02-10'), d('2024-02-03')]), value: new Float64Array([10, 5, 7]), purchase: new Uint8Array([1, 1, 1]) };
    const periods = await new Promise<{ type: string; rows: { period: string; tier: string; segment: string; new_customers: number; customers_buying: number; revenue: number }[] }>((resolve) => {
      w.once('message', resolve);
      w.postMessage({ type: 'periods', n: 2, firstDay: new Float64Array([d('2024-01-05'), d('2024-02-03')]), lists, dims: new Int32Array(0), dimValues: [], dimensionCount: 0, dimensions: [], tierNames: ['small', 'large'], tierOf: new Int8Array([0, 1]), opts: { unit: 'month', asOfDay: d('2024-02-29'), activeWindowDays: 90 } });
    });
    // and the summary's share it is given (customers.ts: summarizePartitions, on shared memory)
    const acc = () => {
      const a = new CustomerAccumulator(0);
      for (const [id, day, amount] of [['a', '2024-02-10', 5], ['a', '2024-01-05', 10], ['b', '2024-02-03', 7], ['a', '2024-01-05', 1]] as const)
        a.add({ customerId: id, day: d(day), amount, orderId: null, margin: null, dims: [] });
      return a;
    };
    const opts = { asOfDay: d('2024-02-29'), calibrationEndDay: d('2024-02-29'), unitDays: 7, marginShare: 0.3 };
    const there = acc();
    const job = summaryJob(there, opts);
    const end = await new Promise<{ type: string; end: number }>((resolve) => {
      w.once('message', resolve);
      w.postMessage({ type: 'summary', job, from: 0, to: job.chunks.length });
    });
    await w.terminate();
    const s = finishSummary(there, job, [{ from: 0, end: end.end }], customerState(there, opts));
    expect(Array.from(s.lists.day)).toEqual([d('2024-01-05'), d('2024-02-10'), d('2024-02-03')]);
    expect(Array.from(s.lists.value)).toEqual([11, 5, 7]);
    expect(s).toEqual(summarize(acc(), opts));
    const all = periods.rows.filter((r) => r.tier === 'all' && r.segment === 'all').map((r) => [r.period, r.new_customers, r.customers_buying, r.revenue]);
    expect(all).toEqual([['2024-01', 1, 1, 10], ['2024-02', 1, 2, 12]]);
    expect(periods.rows.filter((r) => r.tier === 'large').map((r) => r.revenue)).toEqual([0, 7]);
  });
});

describe('buckets', () => {
  it('every bucket: S3-managed encryption, all public access blocked, retained', () => {
    const buckets = main.template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(3); // access logs, outputs, export (created: no exportBucketName in cdk.json)
    for (const b of Object.values(buckets) as Json[]) {
      expect(b.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }]);
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(b.DeletionPolicy).toBe('Retain');
    }
  });

  it('every bucket policy denies requests without TLS', () => {
    const buckets = Object.keys(main.template.findResources('AWS::S3::Bucket'));
    const policies = Object.values(main.template.findResources('AWS::S3::BucketPolicy')) as Json[];
    for (const id of buckets) {
      const policy = policies.find((p) => p.Properties.Bucket.Ref === id);
      expect(policy, id).toBeDefined();
      const deny = (policy!.Properties.PolicyDocument.Statement as Statement[]).find(
        (s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      );
      expect(deny, id).toBeDefined();
      expect(arr(deny!.Action)).toContain('s3:*');
    }
  });

  it('outputs: versioned, access-logged, noncurrent versions and crashed runs\' staging expire', () => {
    const id = logicalId(main, main.stack.storage.outputsBucket);
    const b = main.template.toJSON().Resources[id].Properties;
    expect(b.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(b.LoggingConfiguration.DestinationBucketName).toEqual({ Ref: logicalId(main, main.stack.storage.logBucket) });
    const rules = b.LifecycleConfiguration.Rules as Json[];
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: `${ctx.outputPrefix}_staging/`, ExpirationInDays: 2 }),
        expect.objectContaining({ Prefix: ctx.outputPrefix, ExpirationInDays: ctx.outputRetentionDays }),
      ]),
    );
  });
});

describe('Glue tables and Athena', () => {
  function glueTables(s: Synthesised): Map<string, Json> {
    return new Map((Object.values(s.template.findResources('AWS::Glue::Table')) as Json[]).map((t) => [t.Properties.TableInput.Name, t.Properties.TableInput]));
  }

  for (const variant of ['main', 'athena'] as const) {
    it(`(${variant}) one table per output table, columns equal to lib/outputs/schema.ts`, () => {
      const s = variant === 'main' ? main : athena;
      const dims = variant === 'main' ? [] : ['Region', 'channel'];
      const tables = glueTables(s);
      const defs = tableDefs(dims);
      for (const def of defs) {
        const t = tables.get(def.name);
        expect(t, def.name).toBeDefined();
        expect(t!.StorageDescriptor.Columns).toEqual(def.columns.map((c) => ({ Name: c.name, Type: EXPECTED_GLUE_TYPE[c.type], Comment: c.doc })));
        expect(t!.PartitionKeys).toEqual([expect.objectContaining({ Name: PARTITION_COLUMN, Type: 'string' })]);
        expect(t!.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
        expect(t!.Parameters).toMatchObject({
          'projection.enabled': 'true',
          [`projection.${PARTITION_COLUMN}.type`]: 'date',
          [`projection.${PARTITION_COLUMN}.format`]: 'yyyy-MM-dd',
        });
        const outputs = logicalId(s, s.stack.storage.outputsBucket);
        expect(flattenCfn(t!.Parameters['storage.location.template'])).toBe(`s3://<${outputs}>/${ctx.outputPrefix}${def.name}/${PARTITION_COLUMN}=<${PARTITION_COLUMN}>`);
        expect(flattenCfn(t!.StorageDescriptor.Location)).toBe(`s3://<${outputs}>/${ctx.outputPrefix}${def.name}/`);
      }
      if (variant === 'athena') expect(tables.get('customers')!.StorageDescriptor.Columns.map((c: Json) => c.Name)).toEqual(expect.arrayContaining(['region', 'channel']));
      expect(tables.size).toBe(defs.length + (variant === 'athena' ? 1 : 0));
    });
  }

  it('an Athena workgroup with its own, enforced, encrypted results location', () => {
    const [, wg] = one(main.template, 'AWS::Athena::WorkGroup');
    const c = wg.Properties.WorkGroupConfiguration;
    expect(c.EnforceWorkGroupConfiguration).toBe(true);
    expect(c.ResultConfiguration.EncryptionConfiguration).toEqual({ EncryptionOption: 'SSE_S3' });
    expect(flattenCfn(c.ResultConfiguration.OutputLocation)).toBe(`s3://<${logicalId(main, main.stack.storage.outputsBucket)}>/athena-results/`);
  });

  it('engine "athena": the export table (CSV SerDe, file-order columns) over the export prefix', () => {
    const t = glueTables(athena).get('sales_export')!;
    expect(t.StorageDescriptor.Columns.map((c: Json) => [c.Name, c.Type])).toEqual(
      ['customer_id', 'order_date', 'sku', 'amount', 'region', 'channel'].map((n) => [n, 'string']),
    );
    expect(t.StorageDescriptor.SerdeInfo).toEqual({
      SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
      Parameters: { separatorChar: ';', quoteChar: '"', escapeChar: '\\' },
    });
    expect(t.Parameters['skip.header.line.count']).toBe('1');
    expect(flattenCfn(t.StorageDescriptor.Location)).toBe('s3://corp-sales-exports/daily/');
    const [, fn] = one(athena.template, 'AWS::Lambda::Function');
    expect(fn.Properties.Environment.Variables.EXPORT_TABLE).toBe('sales_export');
    expect(JSON.parse(fn.Properties.Environment.Variables.EXPORT_COLUMN_NAMES)).toEqual({
      '"customer_id"': 'customer_id',
      '"order_date"': 'order_date',
      '"amount"': 'amount',
      '"Region"': 'region',
      '"channel"': 'channel',
    });
  });
});

describe('IAM: least privilege', () => {
  /** Every Allow statement in every policy of a template. */
  const allows = (t: Template) =>
    (Object.values(t.findResources('AWS::IAM::Policy')) as Json[]).flatMap((p) => (p.Properties.PolicyDocument.Statement as Statement[]).filter((s) => s.Effect === 'Allow'));

  it('no Allow statement anywhere has Resource "*" or a wildcard action', () => {
    for (const s of [main, athena])
      for (const st of allows(s.template)) {
        expect(arr(st.Resource), JSON.stringify(st)).not.toContain('*');
        for (const a of arr(st.Action)) expect(a).not.toContain('*');
      }
  });

  it('the pipeline reads only the export prefix and writes only the outputs prefix', () => {
    for (const s of [main, athena]) {
      const stmts = statementsOf(s.template, logicalId(s, s.stack.compute.role));
      const exportArn = flattenCfn(Stack.of(s.stack).resolve(s.stack.storage.exportBucket.bucketArn));
      const outputsArn = `<${logicalId(s, s.stack.storage.outputsBucket)}.Arn>`;
      const exportPrefix = s === main ? ctx.exportPrefix : 'daily/';
      const s3Object = stmts.filter((st) => arr(st.Action).some((a) => a.startsWith('s3:') && a !== 's3:ListBucket' && a !== 's3:GetBucketLocation'));
      for (const st of s3Object)
        for (const r of arr(st.Resource).map(flattenCfn)) {
          const writes = arr(st.Action).some((a) => a === 's3:PutObject' || a === 's3:DeleteObject');
          if (r.startsWith(exportArn)) {
            expect(r).toBe(`${exportArn}/${exportPrefix}*`);
            expect(writes, 'the export is never written').toBe(false);
          } else {
            expect([`${outputsArn}/${ctx.outputPrefix}*`, `${outputsArn}/athena-results/*`]).toContain(r);
          }
        }
      for (const st of stmts.filter((x) => arr(x.Action).includes('s3:ListBucket')))
        expect(st.Condition?.StringLike?.['s3:prefix']).toEqual([expect.stringMatching(/^(daily|exports|tailwatch|athena-results)\/\*$/)]);
    }
  });

  it('decrypts with the export bucket\'s KMS key only when one is given, and only through S3', () => {
    const kms = (s: Synthesised) => statementsOf(s.template, logicalId(s, s.stack.compute.role)).filter((st) => arr(st.Action).some((a) => a.startsWith('kms:')));
    expect(kms(main)).toEqual([]);
    const [st] = kms(athena);
    expect(st.Action).toBe('kms:Decrypt');
    expect(st.Resource).toBe('arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(flattenCfn(st.Condition?.StringEquals?.['kms:ViaService'])).toBe('s3.<AWS::Region>.amazonaws.com');
  });

  it('sends mail only as the sender identity with the configuration set', () => {
    const stmts = statementsOf(main.template, logicalId(main, main.stack.compute.role));
    const ses = stmts.filter((st) => arr(st.Action).some((a) => a.startsWith('ses:')));
    expect(ses).toHaveLength(1);
    expect(arr(ses[0].Action).sort()).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
    const resources = arr(ses[0].Resource).map(flattenCfn);
    expect(resources).toContain(`arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/<${logicalId(main, main.stack.delivery.identity)}>`);
    expect(resources).toContain(
      `arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:configuration-set/<${logicalId(main, main.stack.delivery.configurationSet)}>`,
    );
    for (const r of resources) expect(r).toMatch(/:(identity|configuration-set)\/[^*]+$/);
  });

  it('Athena and Glue permissions exist only with engine "athena", scoped to the workgroup and the export table', () => {
    const actionsOf = (s: Synthesised) => statementsOf(s.template, logicalId(s, s.stack.compute.role)).flatMap((st) => arr(st.Action));
    expect(actionsOf(main).filter((a) => a.startsWith('athena:') || a.startsWith('glue:'))).toEqual([]);
    const stmts = statementsOf(athena.template, logicalId(athena, athena.stack.compute.role));
    const athenaSt = stmts.find((st) => arr(st.Action).includes('athena:StartQueryExecution'))!;
    expect(arr(athenaSt.Resource).map(flattenCfn)).toEqual([
      `arn:<AWS::Partition>:athena:<AWS::Region>:<AWS::AccountId>:workgroup/<${logicalId(athena, { node: { defaultChild: athena.stack.catalog.workgroup } })}>`,
    ]);
    const glueSt = stmts.find((st) => arr(st.Action).includes('glue:GetTable'))!;
    const exportTableId = logicalId(athena, athena.stack.catalog.exportTable!);
    const glueResources = arr(glueSt.Resource).map(flattenCfn);
    expect(glueResources).toHaveLength(3); // the catalog, the database, the export table
    expect(glueResources.filter((r) => r.includes(':table/'))).toEqual([expect.stringContaining(`<${exportTableId}>`)]);
  });
});

describe('failure path', () => {
  it('alarms on Lambda errors and on the failure queue, both notifying the operators\' topic', () => {
    const t = main.template;
    const [topicId] = one(t, 'AWS::SNS::Topic');
    const fnId = logicalId(main, main.stack.compute.fn);
    const queueId = logicalId(main, main.stack.compute.failureQueue);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: topicId }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: [{ Ref: topicId }],
    });
    expect(Object.keys(t.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(2);
  });

  it('subscribes every operator by email', () => {
    const subs = Object.values(main.template.findResources('AWS::SNS::Subscription')) as Json[];
    expect(subs.map((s) => [s.Properties.Protocol, s.Properties.Endpoint]).sort()).toEqual((ctx.operatorEmails as string[]).map((e) => ['email', e]).sort());
  });

  it('the failure queue and the topic refuse requests without TLS', () => {
    main.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    main.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });
});

describe('SES', () => {
  it('an email identity for the sender and a configuration set requiring TLS', () => {
    main.template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: ctx.senderEmail });
    main.template.hasResourceProperties('AWS::SES::ConfigurationSet', { DeliveryOptions: { TlsPolicy: 'REQUIRE' } });
  });
});
