/**
 * Storage: the outputs bucket (tables, run records, reports), the export bucket (existing or
 * created), and the bucket their server access logs go to. Every bucket: S3-managed
 * encryption, all public access blocked, TLS enforced by bucket policy, retained on stack delete.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { layout } from '../lib/outputs/schema.js';
import type { Settings } from './settings.js';

/** Athena query results of the workgroup, outside the tables' prefix. */
export const ATHENA_RESULTS_PREFIX = 'athena-results/';

/** Staging keys of a run in progress live under `<outputPrefix>_staging/` (lib/outputs/schema.ts layout.staging). */
export const STAGING_DIR = layout.staging('x').split('/')[0] + '/';

const secure: Pick<s3.BucketProps, 'encryption' | 'blockPublicAccess' | 'enforceSSL' | 'minimumTLSVersion' | 'objectOwnership' | 'removalPolicy'> = {
  encryption: s3.BucketEncryption.S3_MANAGED,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
  removalPolicy: RemovalPolicy.RETAIN,
};

export class Storage extends Construct {
  readonly logBucket: s3.Bucket;
  readonly outputsBucket: s3.Bucket;
  readonly exportBucket: s3.IBucket;

  constructor(scope: Construct, id: string, settings: Settings) {
    super(scope, id);

    this.logBucket = new s3.Bucket(this, 'AccessLogs', {
      ...secure,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
    });

    const staging = `${settings.outputPrefix}${STAGING_DIR}`;
    this.outputsBucket = new s3.Bucket(this, 'Outputs', {
      ...secure,
      // Versioning keeps the partition a re-run replaced, so a bad re-run can be undone.
      versioned: true,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'outputs/',
      lifecycleRules: [
        {
          id: 'noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
          expiredObjectDeleteMarker: true,
        },
        // A run writes whole into staging, then moves into place; what is left there is a crashed run's.
        { id: 'staging', prefix: staging, expiration: Duration.days(2) },
        { id: 'athena-results', prefix: ATHENA_RESULTS_PREFIX, expiration: Duration.days(30) },
        ...(settings.outputRetentionDays > 0
          ? [{ id: 'output-retention', prefix: settings.outputPrefix, expiration: Duration.days(settings.outputRetentionDays) }]
          : []),
      ],
    });

    this.exportBucket = settings.exportBucketName
      ? s3.Bucket.fromBucketName(this, 'Export', settings.exportBucketName)
      : new s3.Bucket(this, 'Export', {
          ...secure,
          versioned: true,
          serverAccessLogsBucket: this.logBucket,
          serverAccessLogsPrefix: 'exports/',
          lifecycleRules: [{ id: 'noncurrent-versions', noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
        });
  }
}
