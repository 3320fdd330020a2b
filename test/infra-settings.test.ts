/**
 * The deployment settings and the Athena export table rules: pure functions, no synthesis.
 * A bad context value or config must fail `cdk synth` with one line naming the key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../infra/app.js';
import { cdkJsonContext } from '../infra/synth.js';
import { parseConfig } from '../lib/config.js';
import { assetCopyCommands, checkEnvironmentSize } from '../infra/compute.js';
import { exportColumnName, exportTableSpec } from '../infra/export-table.js';
import { flattenCfn } from '../infra/nag.js';
import { readSettings, SettingsError } from '../infra/settings.js';

const ctx = (values: Record<string, unknown>) => (key: string) => values[key];

describe('readSettings', () => {
  it('fills defaults and merges the report addresses from context into the config', () => {
    const s = readSettings(ctx({ senderEmail: 'tw@corp.example', recipients: ['ceo@corp.example'], operatorEmails: ['ops@corp.example'] }));
    expect(s.exportPrefix).toBe('exports/');
    expect(s.outputPrefix).toBe('tailwatch/');
    expect(s.schedule).toBe('cron(0 7 ? * MON *)');
    expect(s.scheduleTimeZone).toBe('UTC');
    expect(s.config.report).toMatchObject({ from: 'tw@corp.example', to: ['ceo@corp.example'], operators: ['ops@corp.example'] });
    // CONFIG_JSON carries what was given, and the handler's parse of it gives the same config.
    expect(parseConfig(JSON.parse(JSON.stringify(s.configInput)))).toEqual(s.config);
  });

  it('accepts -c strings: comma lists, numbers, JSON config, prefixes without the slash', () => {
    const s = readSettings(
      ctx({
        recipients: 'a@x.example, b@x.example',
        outputRetentionDays: '365',
        logRetentionDays: '30',
        exportPrefix: 'sales/daily',
        config: '{"currency":"EUR","input":{"columns":{"dimensions":["region"]}}}',
      }),
    );
    expect(s.recipients).toEqual(['a@x.example', 'b@x.example']);
    expect(s.outputRetentionDays).toBe(365);
    expect(s.logRetentionDays).toBe(30);
    expect(s.exportPrefix).toBe('sales/daily/');
    expect(s.config.currency).toBe('EUR');
    expect(s.config.input.columns.dimensions).toEqual(['region']);
  });

  it('reads the config from a JSON file path, relative to the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-settings-'));
    writeFileSync(join(dir, 'tailwatch.json'), JSON.stringify({ timezone: 'Europe/Berlin', report: { to: ['cfo@x.example'] } }));
    const s = readSettings(ctx({ config: 'tailwatch.json' }), dir);
    expect(s.config.timezone).toBe('Europe/Berlin');
    expect(s.recipients).toEqual(['cfo@x.example']);
  });

  it.each([
    [{ schedule: 'cron(0 7 * * MON)' }, /context "schedule": expected "cron\(m h dom mon dow year\)"/],
    [{ scheduleTimeZone: 'Europe/Atlantis' }, /context "scheduleTimeZone": not an IANA time zone/],
    [{ recipients: 'ceo-at-corp' }, /context "recipients.0": not an email address/],
    [{ recipients: [] }, /context "recipients": at least one recipient/],
    [{ exportBucketName: 'My_Bucket' }, /context "exportBucketName": not an S3 bucket name/],
    [{ exportPrefix: '/abs/' }, /context "exportPrefix": a key prefix must not start with "\/"/],
    [{ logRetentionDays: 45 }, /context "logRetentionDays": CloudWatch Logs keeps logs for one of/],
    [{ outputRetentionDays: 'forever' }, /context "outputRetentionDays"/],
    [{ config: { input: { columns: { custmerId: 'id' } } } }, /context "config": unknown key "input.columns.custmerId"/],
    [{ config: { currency: 'usd' } }, /context "config": "currency": expected an ISO 4217 code/],
    [{ config: '{"currency": ' }, /context "config": not valid JSON/],
    [{ config: 'no/such/file.json' }, /context "config": no such file/],
    [{ exportKmsKeyArn: 'alias/exports', exportBucketName: 'corp-exports' }, /context "exportKmsKeyArn": expected a KMS key ARN/],
    [{ exportKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abcd-12' }, /only for an existing export bucket/],
  ])('rejects %j with a message naming the key', (values, message) => {
    expect(() => readSettings(ctx(values))).toThrow(SettingsError);
    expect(() => readSettings(ctx(values))).toThrow(message);
  });
});

describe('buildApp', () => {
  it('fails before any resource is built, with the settings error, on a bad mapping', () => {
    const app = new App({ context: { config: { input: { columns: { amount: null } } }, 'aws:cdk:bundling-stacks': [] } });
    expect(() => buildApp(app)).toThrow(SettingsError);
    expect(() => buildApp(new App({ context: { config: { input: { columns: { amount: null } } } } }))).toThrow(
      /"input.columns.amount": give either "amount" or both "quantity" and "unitPrice"/,
    );
    expect(() => buildApp(new App({ context: { ...cdkJsonContext(), config: { engine: 'athena' } } }))).toThrow(/needs "input.format" set to/);
  });
});

describe('exportTableSpec (config engine "athena")', () => {
  const config = (input: unknown) => parseConfig({ engine: 'athena', input });

  it('CSV without a header: positional columns col0..colN, all strings, named as the SQL expects', () => {
    const spec = exportTableSpec(config({ format: 'csv', csv: { header: false, delimiter: ';' }, columns: { customerId: 0, orderDate: 1, amount: 3 } }));
    expect(spec.columns).toEqual(['col0', 'col1', 'col2', 'col3'].map((name) => ({ name, type: 'string' })));
    expect(spec.serdeParameters).toEqual({ separatorChar: ';', quoteChar: '"', escapeChar: '\\' });
    expect(spec.tableParameters).toEqual({});
    expect(spec.columnNames).toEqual({ '0': 'col0', '1': 'col1', '3': 'col3' });
  });

  it('CSV with a header: the full ordered column list from context, the header line skipped', () => {
    const spec = exportTableSpec(
      config({ format: 'csv', columns: { customerId: 'Customer_ID', orderDate: 'date', amount: 'amount', dimensions: ['region'] } }),
      [{ name: 'Customer_ID', type: 'string' }, { name: 'date', type: 'string' }, { name: 'sku', type: 'string' }, { name: 'amount', type: 'double' }, { name: 'region', type: 'string' }],
    );
    expect(spec.columns.map((c) => c.name)).toEqual(['customer_id', 'date', 'sku', 'amount', 'region']);
    // OpenCSVSerde reads strings only, whatever the context says.
    expect(spec.columns.every((c) => c.type === 'string')).toBe(true);
    expect(spec.tableParameters).toEqual({ 'skip.header.line.count': '1' });
    expect(spec.columnNames['"Customer_ID"']).toBe('customer_id');
  });

  it('Parquet: the columns and types from context; JSON Lines: the mapped keys', () => {
    const pq = exportTableSpec(config({ format: 'parquet', columns: { customerId: 'cid', orderDate: 'ts', amount: 'amt' } }), [
      { name: 'cid', type: 'bigint' },
      { name: 'ts', type: 'timestamp' },
      { name: 'amt', type: 'double' },
    ]);
    expect(pq.columns).toEqual([{ name: 'cid', type: 'bigint' }, { name: 'ts', type: 'timestamp' }, { name: 'amt', type: 'double' }]);
    const jl = exportTableSpec(config({ format: 'jsonl', columns: { customerId: 'cid', orderDate: 'ts', amount: 'amt', orderId: 'oid' } }));
    expect(jl.columns.map((c) => c.name)).toEqual(['cid', 'ts', 'amt', 'oid']);
  });

  it.each([
    [{ format: 'auto' }, undefined, /needs "input.format" set to "csv", "jsonl" or "parquet"/],
    [{ format: 'csv', csv: { delimiter: 'whitespace' } }, undefined, /cannot split on runs of blanks/],
    [{ format: 'csv' }, undefined, /give context "exportColumns", every column of the export in file order/],
    [{ format: 'parquet' }, undefined, /Parquet input: give context "exportColumns" with each column's type/],
    [{ format: 'csv' }, [{ name: 'customer_id', type: 'string' }, { name: 'order_date', type: 'string' }], /maps "amount", which is not among the export's columns/],
    [{ format: 'jsonl', columns: { customerId: 0, orderDate: 1, amount: 2 } }, undefined, /the mapping must name them/],
  ])('rejects input %j (exportColumns %j)', (input, columns, message) => {
    expect(() => exportTableSpec(config(input), columns)).toThrow(message);
  });

  it('names a numeric reference col<i> and lower-cases names', () => {
    expect(exportColumnName(7)).toBe('col7');
    expect(exportColumnName('Order Date')).toBe('order date');
  });
});

describe('compute helpers', () => {
  it('copies each runtime asset to the same relative path in the bundle, quoted for the shell', () => {
    expect(assetCopyCommands(['lib/report/fonts/A b.ttf', "it's.txt"], '/in', '/out')).toEqual([
      "mkdir -p '/out/lib/report/fonts' && cp -R '/in/lib/report/fonts/A b.ttf' '/out/lib/report/fonts/A b.ttf'",
      "mkdir -p '/out' && cp -R '/in/it'\\''s.txt' '/out/it'\\''s.txt'",
    ]);
  });


  it('refuses an environment over the 4 KB Lambda limit, naming CONFIG_JSON', () => {
    expect(() => checkEnvironmentSize({ CONFIG_JSON: 'x'.repeat(3000) })).not.toThrow();
    expect(() => checkEnvironmentSize({ CONFIG_JSON: 'x'.repeat(4100) })).toThrow(/CONFIG_JSON is 4100 bytes/);
  });
});

describe('flattenCfn (cdk-nag finding ids)', () => {
  it('flattens Fn::Join, Fn::GetAtt and Ref as cdk-nag prints them', () => {
    const arn = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket1', 'Arn'] }, '/p/*']] };
    expect(flattenCfn(arn)).toBe('<Bucket1.Arn>/p/*');
    expect(flattenCfn({ 'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, 's3']] })).toBe('arn:<AWS::Partition>:s3');
    expect(flattenCfn({ 'Fn::Sub': 'x-${AWS::Region}' })).toBe('x-<AWS::Region>');
  });
});
