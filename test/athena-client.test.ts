/**
 * functions/aws/athena.ts against a fake client (no network): which requests it sends (SQL, workgroup,
 * database, UNLOAD target), how it polls, how it reads the accounting result, and its errors.
 */
import { describe, expect, it } from 'vitest';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type QueryExecutionState,
} from '@aws-sdk/client-athena';
import { AthenaQueryError, runAthenaReduction, type AthenaCommand, type AthenaLike } from '../functions/aws/athena.js';
import { buildReductionSql, buildRejectCountSql, buildUnloadSql } from '../lib/athena/index.js';
import { parseConfig } from '../lib/config.js';
import { isoToDay } from '../lib/dates.js';

const config = parseConfig({
  input: { format: 'csv', columns: { customerId: 'customer_id', orderDate: 'order_date', amount: 'amount', orderId: 'order_id', dimensions: ['region'] } },
});

// An AthenaClient is an AthenaLike (type check only; nothing is sent).
const real: AthenaLike = new AthenaClient({ region: 'eu-west-1' });
void real;

interface Script {
  /** States returned by successive GetQueryExecution calls, per query (the last repeats). */
  states: Record<'reduction' | 'accounting', QueryExecutionState[]>;
  reason?: string;
  startError?: Error;
  pages?: number;
}

function fake(script: Script) {
  const sent: AthenaCommand[] = [];
  const polls: Record<string, number> = { 'q-reduction': 0, 'q-accounting': 0 };
  const header = { Data: ['outcome', 'reason', 'column_name', 'row_count', 'duplicates', 'example'].map((v) => ({ VarCharValue: v })) };
  const row = (vals: (string | null)[]) => ({ Data: vals.map((v) => (v === null ? {} : { VarCharValue: v })) });
  const resultRows = [
    row(['rejected', 'missing customer id', 'customer_id', '2', '0', '']),
    row(['rejected', 'impossible date "…"', 'order_date', '1', '0', '2024-02-30']),
    row(['valid', null, null, '100', '3', null]),
    row(['ignored', null, null, '4', '0', null]),
  ];
  const client: AthenaLike = {
    async send(cmd: AthenaCommand): Promise<unknown> {
      sent.push(cmd);
      if (cmd instanceof StartQueryExecutionCommand) {
        if (script.startError) throw script.startError;
        return { QueryExecutionId: cmd.input.QueryString!.startsWith('UNLOAD') ? 'q-reduction' : 'q-accounting' };
      }
      if (cmd instanceof GetQueryExecutionCommand) {
        const id = cmd.input.QueryExecutionId!;
        const list = script.states[id === 'q-reduction' ? 'reduction' : 'accounting'];
        const state = list[Math.min(polls[id]++, list.length - 1)];
        return {
          QueryExecution: {
            QueryExecutionId: id,
            Status: { State: state, StateChangeReason: state === 'FAILED' ? script.reason : undefined },
            Statistics: { DataScannedInBytes: 1234, EngineExecutionTimeInMillis: 56 },
          },
        };
      }
      if (cmd instanceof GetQueryResultsCommand) {
        const meta = { ColumnInfo: ['outcome', 'reason', 'column_name', 'row_count', 'duplicates', 'example'].map((Name) => ({ Name, Type: 'varchar' })) };
        if ((script.pages ?? 1) === 2 && !cmd.input.NextToken)
          return { ResultSet: { ResultSetMetadata: meta, Rows: [header, ...resultRows.slice(0, 2)] }, NextToken: 'page-2' };
        if (cmd.input.NextToken === 'page-2') return { ResultSet: { ResultSetMetadata: meta, Rows: resultRows.slice(2) } };
        return { ResultSet: { ResultSetMetadata: meta, Rows: [header, ...resultRows] } };
      }
      if (cmd instanceof StopQueryExecutionCommand) return {};
      throw new Error('unexpected command');
    },
  };
  return { client, sent, polls };
}

const base = {
  workgroup: 'tailwatch-wg',
  database: 'tailwatch',
  table: 'sales_export',
  outputS3Uri: 's3://outputs-bucket/tailwatch/athena-reduced',
  config,
  runId: 'run-20250101',
};

describe('runAthenaReduction', () => {
  it('sends the UNLOAD of the reduction and the accounting query, with workgroup, database and idempotency tokens', async () => {
    const waits: number[] = [];
    const f = fake({ states: { reduction: ['QUEUED', 'RUNNING', 'RUNNING', 'RUNNING', 'SUCCEEDED'], accounting: ['RUNNING', 'SUCCEEDED'] } });
    const asOfDay = isoToDay('2024-12-31')!;
    const res = await runAthenaReduction(f.client, { ...base, asOfDay, sleep: async (ms) => void waits.push(ms), pollMs: { first: 100, max: 300 } });

    expect(res.reducedPrefix).toBe('s3://outputs-bucket/tailwatch/athena-reduced/run-20250101/');
    const starts = f.sent.filter((c): c is StartQueryExecutionCommand => c instanceof StartQueryExecutionCommand);
    expect(starts).toHaveLength(2);
    const sqlOpts = { table: '"tailwatch"."sales_export"', dialect: 'athena' as const, asOfDay };
    expect(starts[0].input.QueryString).toBe(buildUnloadSql(buildReductionSql(config, sqlOpts), res.reducedPrefix));
    expect(starts[1].input.QueryString).toBe(buildRejectCountSql(config, sqlOpts));
    expect(starts[0].input.QueryString).toContain("order_day > DATE '2024-12-31'");
    for (const s of starts) {
      expect(s.input.WorkGroup).toBe('tailwatch-wg');
      expect(s.input.QueryExecutionContext).toEqual({ Database: 'tailwatch' });
      expect(s.input.ClientRequestToken!.length).toBeGreaterThanOrEqual(32);
    }
    expect(new Set(starts.map((s) => s.input.ClientRequestToken)).size).toBe(2);
    // backoff: doubling from 100 ms, capped at 300 ms
    // backoff per query: reduction 100, 200, 300, 300 (doubling, capped); accounting 100
    expect(waits.sort((a, b) => a - b)).toEqual([100, 100, 200, 300, 300]);
    expect(res.accounting.rows).toEqual({ read: 107, accepted: 97, rejected: 3, ignored: 4, duplicates: 3 });
    expect(res.accounting.rejectReasons).toEqual({ 'missing customer id': 2, 'impossible date "…"': 1 });
    expect(res.queries.reduction).toEqual({ queryExecutionId: 'q-reduction', dataScannedBytes: 1234, engineMs: 56 });
    expect(f.sent.some((c) => c instanceof StopQueryExecutionCommand)).toBe(false);
  });

  it('reads a paginated result (header row only on the first page)', async () => {
    const f = fake({ states: { reduction: ['SUCCEEDED'], accounting: ['SUCCEEDED'] }, pages: 2 });
    const res = await runAthenaReduction(f.client, { ...base, sleep: async () => {} });
    expect(res.accounting.rows.read).toBe(107);
    const gets = f.sent.filter((c): c is GetQueryResultsCommand => c instanceof GetQueryResultsCommand);
    expect(gets.map((g) => g.input.NextToken)).toEqual([undefined, 'page-2']);
  });

  it("fails with the query's StateChangeReason and stops the other query", async () => {
    const f = fake({
      states: { reduction: ['RUNNING', 'FAILED'], accounting: ['RUNNING'] },
      reason: "HIVE_PATH_ALREADY_EXISTS: Target directory for table 'x' already exists",
    });
    const err = await runAthenaReduction(f.client, { ...base, sleep: async () => {} }).catch((e) => e);
    expect(err).toBeInstanceOf(AthenaQueryError);
    expect(err.message).toBe("Athena reduction query q-reduction failed: HIVE_PATH_ALREADY_EXISTS: Target directory for table 'x' already exists");
    expect(err.queryExecutionId).toBe('q-reduction');
    const stops = f.sent.filter((c): c is StopQueryExecutionCommand => c instanceof StopQueryExecutionCommand).map((c) => c.input.QueryExecutionId);
    expect(stops.sort()).toEqual(['q-accounting', 'q-reduction']);
  });

  it('times out, stopping the queries, without waiting for real', async () => {
    let t = 0;
    const f = fake({ states: { reduction: ['RUNNING'], accounting: ['RUNNING'] } });
    const err = await runAthenaReduction(f.client, { ...base, timeoutMs: 10_000, now: () => t, sleep: async (ms) => void (t += ms) }).catch((e) => e);
    expect(err).toBeInstanceOf(AthenaQueryError);
    expect(err.message).toMatch(/still RUNNING after 10 s: stopped/);
    expect(t).toBeLessThanOrEqual(10_000);
    expect(f.sent.filter((c) => c instanceof StopQueryExecutionCommand)).toHaveLength(2);
  });

  it('an SDK error on start becomes an AthenaQueryError naming the workgroup', async () => {
    const f = fake({ states: { reduction: ['SUCCEEDED'], accounting: ['SUCCEEDED'] }, startError: new Error('User is not authorized to perform: athena:StartQueryExecution') });
    await expect(runAthenaReduction(f.client, { ...base, sleep: async () => {} })).rejects.toThrow(
      'Athena reduction query could not start in workgroup "tailwatch-wg": User is not authorized to perform: athena:StartQueryExecution',
    );
  });

  it('refuses an output location that is not s3://, and a run id that would make a strange key', async () => {
    await expect(runAthenaReduction(fake({ states: { reduction: [], accounting: [] } }).client, { ...base, outputS3Uri: '/tmp/x' })).rejects.toThrow(/s3:\/\//);
    await expect(runAthenaReduction(fake({ states: { reduction: [], accounting: [] } }).client, { ...base, runId: '../x y' })).rejects.toThrow(/runId/);
  });
});
