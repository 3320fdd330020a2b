/**
 * The tailwatch stack, top to bottom: storage, compute, schedule, delivery, catalog, alarms.
 * Each concern is a construct in its own file; this file wires them and holds the pipeline's
 * S3 permissions (read the export prefix, read/write the outputs prefix, nothing else).
 */
import { CfnOutput, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { Alarms } from './alarms.js';
import { Catalog, EXPORT_TABLE_NAME } from './catalog.js';
import { checkEnvironmentSize, Compute, NODE_OPTIONS } from './compute.js';
import { Delivery } from './delivery.js';
import { acknowledgeWildcardResource } from './nag.js';
import { RunSchedule } from './schedule.js';
import type { Settings } from './settings.js';
import { Storage } from './storage.js';

export interface TailwatchStackProps extends StackProps {
  settings: Settings;
}

export class TailwatchStack extends Stack {
  readonly storage: Storage;
  readonly compute: Compute;
  readonly schedule: RunSchedule;
  readonly delivery: Delivery;
  readonly catalog: Catalog;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: TailwatchStackProps) {
    super(scope, id, {
      description: 'tailwatch: scheduled cohort retention and customer lifetime value report',
      ...props,
    });
    const { settings } = props;
    Tags.of(this).add('project', 'tailwatch');

    // Storage
    this.storage = new Storage(this, 'Storage', settings);
    const { outputsBucket, exportBucket } = this.storage;

    // Compute
    const environment: Record<string, string> = {
      EXPORT_BUCKET: exportBucket.bucketName,
      EXPORT_PREFIX: settings.exportPrefix,
      OUTPUT_BUCKET: outputsBucket.bucketName,
      OUTPUT_PREFIX: settings.outputPrefix,
      CONFIG_JSON: JSON.stringify(settings.configInput),
      POWERTOOLS_SERVICE_NAME: 'tailwatch',
      LOG_LEVEL: 'INFO',
      NODE_OPTIONS,
    };
    this.compute = new Compute(this, 'Compute', { settings, environment });
    const { fn, role } = this.compute;
    this.grantExportRead(role, exportBucket, settings.exportPrefix, settings.exportKmsKeyArn);
    this.grantOutputsReadWrite(role, outputsBucket, settings.outputPrefix);

    // Schedule
    this.schedule = new RunSchedule(this, 'Schedule', { settings, fn, deadLetterQueue: this.compute.failureQueue });

    // Delivery
    this.delivery = new Delivery(this, 'Delivery', settings);
    this.delivery.grantSend(role);
    environment.SES_CONFIGURATION_SET = this.delivery.configurationSet.configurationSetName;

    // Catalog
    this.catalog = new Catalog(this, 'Catalog', { settings, outputsBucket, exportBucket });
    environment.ATHENA_WORKGROUP = this.catalog.workgroup.ref;
    environment.GLUE_DATABASE = this.catalog.database.databaseName;
    if (this.catalog.exportTable) {
      environment.EXPORT_TABLE = EXPORT_TABLE_NAME;
      // Configured column reference (JSON) -> Glue column name, as functions/aws/athena.ts takes it.
      environment.EXPORT_COLUMN_NAMES = JSON.stringify(this.catalog.exportSpec!.columnNames);
      this.catalog.grantQueryExport(role);
    }

    // Alarms
    this.alarms = new Alarms(this, 'Alarms', { fn, failureQueue: this.compute.failureQueue, operatorEmails: settings.operatorEmails });

    for (const key of ['SES_CONFIGURATION_SET', 'ATHENA_WORKGROUP', 'GLUE_DATABASE', 'EXPORT_TABLE', 'EXPORT_COLUMN_NAMES'])
      if (environment[key] !== undefined) fn.addEnvironment(key, environment[key]);
    checkEnvironmentSize(environment);

    new CfnOutput(this, 'OutputsBucketName', { value: outputsBucket.bucketName, description: 'tables, run records and reports' });
    new CfnOutput(this, 'ExportBucketName', { value: exportBucket.bucketName, description: `drop exports under ${settings.exportPrefix}` });
    new CfnOutput(this, 'FunctionName', { value: fn.functionName, description: 'invoke once: see README "Deploy"' });
    new CfnOutput(this, 'LogGroupName', { value: this.compute.logGroup.logGroupName, description: 'aws logs tail <name> --follow' });
    new CfnOutput(this, 'AthenaWorkgroup', { value: this.catalog.workgroup.ref });
    new CfnOutput(this, 'GlueDatabase', { value: this.catalog.database.databaseName });
    new CfnOutput(this, 'FailedRunsQueueUrl', { value: this.compute.failureQueue.queueUrl });
    new CfnOutput(this, 'OperatorsTopicArn', { value: this.alarms.topic.topicArn });
  }

  /** Read-only on the export prefix: raw data is never altered. */
  private grantExportRead(role: iam.Role, bucket: s3.IBucket, prefix: string, kmsKeyArn?: string): void {
    const objects = bucket.arnForObjects(`${prefix}*`);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadExport', actions: ['s3:GetObject'], resources: [objects] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListExport',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
    acknowledgeWildcardResource(role, objects, 'Read-only on the export files under the configured export prefix; their names are not known in advance.');
    if (kmsKeyArn)
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DecryptExport',
          actions: ['kms:Decrypt'],
          resources: [kmsKeyArn],
          // Only through S3 (reading the export), not for anything else the key protects.
          conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
        }),
      );
  }

  /** Read/write on the outputs prefix only: tables, run records, staging, the lock marker. */
  private grantOutputsReadWrite(role: iam.Role, bucket: s3.IBucket, prefix: string): void {
    const objects = bucket.arnForObjects(`${prefix}*`);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteOutputs',
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [objects],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListOutputs',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
    acknowledgeWildcardResource(role, objects, 'Read/write on the outputs prefix only: one partition per table and run date, keys named by the run date.');
  }
}
