/**
 * Catalog: a Glue database with one table per output table, generated from lib/outputs/schema.ts
 * (the same definitions the Parquet writer uses, so the two cannot drift), Hive-partitioned by
 * run_date with partition projection (analysts query without crawlers or MSCK REPAIR), and an
 * Athena workgroup with its own, enforced results location. With config engine "athena", also
 * the export's table and the permissions for the pipeline to query it.
 */
import { Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PARTITION_COLUMN, tableDefs, type ColumnType, type TableDef } from '../lib/outputs/schema.js';
import { exportTableSpec, type ExportTableSpec } from './export-table.js';
import { acknowledgeWildcardResource } from './nag.js';
import type { Settings } from './settings.js';
import { ATHENA_RESULTS_PREFIX } from './storage.js';

/** lib's column types as Glue (Hive) types; the Parquet writer maps the same ColumnType. */
export const GLUE_TYPES: Record<ColumnType, glue.Type> = {
  string: glue.Schema.STRING,
  int: glue.Schema.INTEGER,
  bigint: glue.Schema.BIG_INT,
  double: glue.Schema.DOUBLE,
  date: glue.Schema.DATE,
  boolean: glue.Schema.BOOLEAN,
};

/** First run date partition projection considers; queries filter on run_date, so the range costs nothing. */
export const PROJECTION_MIN_DATE = '2020-01-01';
export const EXPORT_TABLE_NAME = 'sales_export';

export interface CatalogProps {
  settings: Settings;
  outputsBucket: s3.IBucket;
  exportBucket: s3.IBucket;
}

export class Catalog extends Construct {
  readonly database: glue.Database;
  readonly tables: Map<string, glue.S3Table> = new Map();
  readonly workgroup: athena.CfnWorkGroup;
  readonly exportTable?: glue.S3Table;
  readonly exportSpec?: ExportTableSpec;
  private readonly props: CatalogProps;

  constructor(scope: Construct, id: string, props: CatalogProps) {
    super(scope, id);
    this.props = props;
    const { settings, outputsBucket } = props;

    this.database = new glue.Database(this, 'Database', {
      databaseName: settings.glueDatabaseName,
      description: 'tailwatch outputs: one table per output table of lib/outputs/schema.ts, one partition per run_date',
    });

    for (const def of tableDefs(settings.config.input.columns.dimensions)) this.addOutputTable(def);

    this.workgroup = new athena.CfnWorkGroup(this, 'Workgroup', {
      name: Stack.of(this).stackName,
      description: 'tailwatch: analysts\' queries over the output tables (and the pipeline\'s, with engine "athena")',
      recursiveDeleteOption: true,
      state: 'ENABLED',
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        engineVersion: { selectedEngineVersion: 'AUTO' },
        resultConfiguration: {
          outputLocation: outputsBucket.s3UrlForObject(ATHENA_RESULTS_PREFIX),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });

    if (settings.config.engine === 'athena') {
      this.exportSpec = exportTableSpec(settings.config, settings.exportColumns);
      this.exportTable = this.addExportTable(this.exportSpec);
    }
  }

  private addOutputTable(def: TableDef): void {
    const { settings, outputsBucket } = this.props;
    const prefix = `${settings.outputPrefix}${def.name}/`;
    const table = new glue.S3Table(this, `Table-${def.name}`, {
      database: this.database,
      tableName: def.name,
      description: def.doc,
      columns: def.columns.map((c) => ({ name: c.name, type: GLUE_TYPES[c.type], comment: c.doc })),
      partitionKeys: [{ name: PARTITION_COLUMN, type: glue.Schema.STRING, comment: 'run date, YYYY-MM-DD' }],
      dataFormat: glue.DataFormat.PARQUET,
      storage: glue.S3TableStorage.fromBucket(outputsBucket),
      s3Prefix: prefix,
      // SSE-S3 is transparent to readers; "true" would mean client-side encryption (CSE-KMS) to Athena.
      hasEncryptedData: false,
      partitionProjection: {
        [PARTITION_COLUMN]: glue.PartitionProjectionConfiguration.date({
          min: PROJECTION_MIN_DATE,
          max: 'NOW',
          format: 'yyyy-MM-dd',
          step: { interval: 1, intervalUnit: glue.DateIntervalUnit.DAYS },
        }),
      },
      // The L2 does not emit the template; without it Athena guesses key=value paths, with it the layout is explicit.
      parameters: {
        'storage.location.template': `s3://${outputsBucket.bucketName}/${prefix}${PARTITION_COLUMN}=\${${PARTITION_COLUMN}}`,
      },
    });
    this.tables.set(def.name, table);
  }

  private addExportTable(spec: ExportTableSpec): glue.S3Table {
    const { settings, exportBucket } = this.props;
    const dataFormat =
      spec.format === 'parquet'
        ? glue.DataFormat.PARQUET
        : spec.format === 'jsonl'
          ? glue.DataFormat.JSON
          : new glue.DataFormat({
              inputFormat: glue.InputFormat.TEXT,
              outputFormat: glue.OutputFormat.HIVE_IGNORE_KEY_TEXT,
              serializationLibrary: glue.SerializationLibrary.OPEN_CSV,
              classificationString: glue.ClassificationString.CSV,
            });
    const table = new glue.S3Table(this, 'ExportTable', {
      database: this.database,
      tableName: EXPORT_TABLE_NAME,
      description: `the sales export under s3://${settings.exportBucketName ?? '(created bucket)'}/${settings.exportPrefix} (${spec.format}), read by the pipeline's Athena SQL`,
      columns: spec.columns.map((c) => ({ name: c.name, type: glue.Schema.custom(c.type) })),
      dataFormat,
      storage: glue.S3TableStorage.fromBucket(exportBucket),
      s3Prefix: settings.exportPrefix,
      hasEncryptedData: false,
      parameters: spec.tableParameters,
    });
    if (Object.keys(spec.serdeParameters).length > 0)
      (table.node.defaultChild as glue.CfnTable).addPropertyOverride('TableInput.StorageDescriptor.SerdeInfo.Parameters', spec.serdeParameters);
    return table;
  }

  /**
   * Engine "athena": run queries in the workgroup, read the export table's metadata, and use the
   * workgroup's results prefix (Athena reads and writes S3 with the caller's credentials; the
   * export prefix and the outputs prefix, where UNLOAD writes, are granted by the stack already).
   */
  grantQueryExport(role: iam.Role): void {
    if (!this.exportTable) return;
    const stack = Stack.of(this);
    const { outputsBucket } = this.props;
    const workgroupArn = stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: this.workgroup.ref });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AthenaQueryExport',
        actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution', 'athena:GetWorkGroup'],
        resources: [workgroupArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'GlueReadExportTable',
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
        resources: [stack.formatArn({ service: 'glue', resource: 'catalog' }), this.database.databaseArn, this.exportTable.tableArn],
      }),
    );
    const results = outputsBucket.arnForObjects(`${ATHENA_RESULTS_PREFIX}*`);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AthenaResults',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [results],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AthenaResultsList',
        actions: ['s3:ListBucket'],
        resources: [outputsBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${ATHENA_RESULTS_PREFIX}*`] } },
      }),
    );
    // Athena looks up the region of every bucket it touches; the action has no prefix to scope by.
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AthenaBucketLocation',
        actions: ['s3:GetBucketLocation'],
        resources: [outputsBucket.bucketArn, this.props.exportBucket.bucketArn],
      }),
    );
    acknowledgeWildcardResource(role, results, 'Athena writes one result object per query under the workgroup\'s results prefix; the grant is that prefix only.');
  }
}
