/**
 * Engine "athena" end to end through runAndDeliver (the path the Lambda takes), against the
 * local S3 API. Athena itself is not available here, so a stand-in client answers the Athena
 * API calls by running the same SQL builder's DuckDB dialect over the sample export and putting
 * the UNLOAD's Parquet where Athena would (the Athena dialect itself is tested for equality with
 * the streaming path in test/athena.test.ts). The run must equal the streaming engine's.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { runAndDeliver } from '../functions/run.js';
import { parseS3Uri } from '../functions/aws/s3.js';
import type { AthenaCommand, AthenaLike } from '../functions/aws/athena.js';
import { buildReductionSql, buildRejectCountSql } from '../lib/athena/index.js';
import { parseConfig } from '../lib/config.js';
import { decodeParquet } from '../lib/outputs/parquet.js';
import { useEmulators } from './helpers/emulators.js';

const emu = useEmulators();
const ROOT = path.resolve(import.meta.dirname, '..');
const SAMPLE = path.join(ROOT, 'examples/sample-export.csv.gz');
const config = parseConfig(JSON.parse(readFileSync(path.join(ROOT, 'examples/sample-config.json'), 'utf8')));
const tmp = mkdtempSync(path.join(tmpdir(), 'tailwatch-athena-run-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
const TABLE = `(SELECT * FROM read_csv(${q(SAMPLE)}, header = true, delim = ',', quote = '"', escape = '"', all_varchar = true))`;

/** Answers StartQueryExecution / GetQueryExecution / GetQueryResults as Athena would, with DuckDB doing the work. */
function fakeAthena(s3: import('@aws-sdk/client-s3').S3Client) {
  const sent: AthenaCommand[] = [];
  const results = new Map<string, Record<string, unknown>[]>();
  const client: AthenaLike = {
    async send(command: AthenaCommand) {
      sent.push(command);
      const input = command.input as { QueryString?: string; ClientRequestToken?: string; QueryExecutionId?: string };
      const name = command.constructor.name;
      if (name === 'StartQueryExecutionCommand') {
        const id = `q-${sent.length}`;
        const db = await (await DuckDBInstance.create(':memory:')).connect();
        if (/^UNLOAD/i.test(input.QueryString!)) {
          const target = /TO '(s3:\/\/[^']+)'/.exec(input.QueryString!)![1];
          const file = path.join(tmp, `${id}.parquet`);
          await db.run(`COPY (${buildReductionSql(config, { table: TABLE, dialect: 'duckdb' })}) TO ${q(file)} (FORMAT PARQUET)`);
          const { bucket, key } = parseS3Uri(target);
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}20261123_000000_00000_abcde_part-0`, Body: readFileSync(file) }));
        } else {
          results.set(id, (await db.runAndReadAll(buildRejectCountSql(config, { table: TABLE, dialect: 'duckdb' }))).getRowObjectsJson() as Record<string, unknown>[]);
        }
        db.closeSync();
        return { QueryExecutionId: id };
      }
      if (name === 'GetQueryExecutionCommand') return { QueryExecution: { Status: { State: 'SUCCEEDED' }, Statistics: { DataScannedInBytes: 1 } } };
      if (name === 'GetQueryResultsCommand') {
        const rows = results.get(input.QueryExecutionId!) ?? [];
        const cols = rows.length ? Object.keys(rows[0]) : [];
        const cell = (v: unknown) => ({ VarCharValue: v === null || v === undefined ? undefined : String(v) });
        return {
          ResultSet: {
            ResultSetMetadata: { ColumnInfo: cols.map((Name) => ({ Name })) },
            Rows: [{ Data: cols.map((c) => cell(c)) }, ...rows.map((r) => ({ Data: cols.map((c) => cell(r[c])) }))],
          },
        };
      }
      return {};
    },
  };
  return { client, sent };
}

describe('engine "athena" through runAndDeliver', () => {
  it('reads the UNLOADed reduction with the same core: the same customers and row accounting as the streaming engine', async () => {
    const outputs = await emu.bucket('outputs');
    const env = { ...emu.current.env, ATHENA_WORKGROUP: 'Tailwatch', GLUE_DATABASE: 'tailwatch', EXPORT_TABLE: 'sales_export' };
    const { client, sent } = fakeAthena(emu.s3());
    const athena = await runAndDeliver({
      input: 's3://unused/', out: `s3://${outputs}/athena/`, config: { ...config, engine: 'athena' }, send: false, env, athenaClient: client,
    });
    const lambda = await runAndDeliver({ input: SAMPLE, out: path.join(tmp, 'lambda'), config, send: false, env });
    // The SQL went to Athena in the stack's workgroup and database, the reduction as an UNLOAD under the output's _staging/.
    const starts = sent.filter((c) => c.constructor.name === 'StartQueryExecutionCommand').map((c) => c.input as { QueryString: string; WorkGroup: string; QueryExecutionContext: { Database: string } });
    expect(starts).toHaveLength(2);
    expect(starts.every((s) => s.WorkGroup === 'Tailwatch' && s.QueryExecutionContext.Database === 'tailwatch')).toBe(true);
    expect(starts.some((s) => s.QueryString.includes(`TO 's3://${outputs}/athena/_staging/athena/`))).toBe(true);
    // The export's rows are accounted for as the streaming engine counts them.
    expect(athena.result.manifest.rows).toEqual(lambda.result.manifest.rows);
    expect(athena.result.manifest.rejectReasons).toEqual(lambda.result.manifest.rejectReasons);
    expect(athena.result.manifest.customers).toBe(lambda.result.manifest.customers);
    expect(athena.result.manifest.alerts).toBe(lambda.result.manifest.alerts);
    const s3 = (await import('../functions/io.js')).storageFor(`s3://${outputs}/athena/`, env);
    const viaAthena = await decodeParquet((await s3.get(`customers/run_date=${athena.result.runDate}/part-00000.parquet`))!);
    const viaLambda = await decodeParquet(readFileSync(path.join(tmp, 'lambda', `customers/run_date=${lambda.result.runDate}/part-00000.parquet`)));
    const byId = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [r.customer_id, r]));
    const a = byId(viaAthena);
    expect(a.size).toBe(viaLambda.length);
    for (const r of viaLambda) {
      const o = a.get(r.customer_id)!;
      for (const k of ['first_order_date', 'last_order_date', 'orders', 'purchase_days', 'tier', 'region', 'channel', 'frequency'])
        expect(o[k], `${String(r.customer_id)}.${k}`).toEqual(r[k]);
      expect(Math.abs(Number(o.revenue) - Number(r.revenue))).toBeLessThan(0.005);
    }
  }, 120_000);
});
