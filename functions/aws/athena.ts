/**
 * Engine "athena": runs the export's first reduction on Athena (lib/athena builds the SQL) and
 * UNLOADs it as Parquet under a new prefix of the outputs bucket, and the row accounting query
 * beside it. The pipeline then reads the UNLOADed files with `reducedInputConfig(config)` through
 * the usual ingest and core. Both queries start at once and are polled with backoff; a failed,
 * cancelled or timed-out query is an AthenaQueryError naming the query and Athena's reason.
 */
import { randomBytes } from 'node:crypto';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  type GetQueryResultsCommandOutput,
  type StartQueryExecutionCommandOutput,
} from '@aws-sdk/client-athena';
import type { Config } from '../../lib/config.js';
import { buildReductionSql, buildRejectCountSql, buildUnloadSql, rowAccounting, type RowAccounting } from '../../lib/athena/index.js';
import { ident } from '../../lib/athena/dialect.js';

export type AthenaCommand = StartQueryExecutionCommand | GetQueryExecutionCommand | GetQueryResultsCommand | StopQueryExecutionCommand;

/** What is used of an AthenaClient (a fake in tests). */
export interface AthenaLike {
  send(command: AthenaCommand): Promise<unknown>;
}

export interface AthenaReductionOptions {
  workgroup: string;
  /** Glue database and the export's table in it. */
  database: string;
  table: string;
  /** s3://bucket/prefix/ under which each run UNLOADs into a new sub-prefix (UNLOAD refuses a non-empty one). */
  outputS3Uri: string;
  config: Config;
  /** Rows after this day (days since 1970-01-01) are ignored, as with the run's as-of date. */
  asOfDay?: number;
  /** The export table's column names by configured reference (infra's ExportTableSpec.columnNames). */
  columnNames?: Record<string, string>;
  /** Names this run's sub-prefix (default: UTC time and a random suffix). */
  runId?: string;
  /** Give up (and stop the queries) after this long; default 13 minutes, inside a 15-minute Lambda. */
  timeoutMs?: number;
  /** First and longest wait between polls; default 500 ms doubling to 5 s. */
  pollMs?: { first: number; max: number };
  /** Injected in tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface QueryStats {
  queryExecutionId: string;
  dataScannedBytes?: number;
  engineMs?: number;
}

export interface AthenaReductionResult {
  /** s3://.../ prefix holding the reduced Parquet files (UNLOAD names them without an extension). */
  reducedPrefix: string;
  /** The export's rows: read = accepted + rejected + ignored + duplicates, and rejects by reason. */
  accounting: RowAccounting;
  queries: { reduction: QueryStats; accounting: QueryStats };
}

/** An Athena query failed, was cancelled, timed out, or could not be started. A user-facing error. */
export class AthenaQueryError extends Error {
  override name = 'AthenaQueryError';
  constructor(
    message: string,
    readonly queryExecutionId: string | undefined,
    readonly state: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function withSlash(uri: string): string {
  return uri.endsWith('/') ? uri : `${uri}/`;
}

export async function runAthenaReduction(client: AthenaLike, opts: AthenaReductionOptions): Promise<AthenaReductionResult> {
  if (!/^s3:\/\/[^/]+/.test(opts.outputS3Uri)) throw new AthenaQueryError(`outputS3Uri must be an s3:// URI, got "${opts.outputS3Uri}"`, undefined, undefined);
  const runId = opts.runId ?? `${new Date(opts.now?.() ?? Date.now()).toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(runId)) throw new AthenaQueryError(`runId must be letters, digits, "_", "." or "-", got "${runId}"`, undefined, undefined);
  const reducedPrefix = `${withSlash(opts.outputS3Uri)}${runId}/`;
  const table = `${ident(opts.database)}.${ident(opts.table)}`;
  const sqlOpts = { table, dialect: 'athena' as const, asOfDay: opts.asOfDay, columnNames: opts.columnNames };
  const reductionSql = buildUnloadSql(buildReductionSql(opts.config, sqlOpts), reducedPrefix);
  const accountingSql = buildRejectCountSql(opts.config, sqlOpts);

  const now = opts.now ?? Date.now;
  const deadline = now() + (opts.timeoutMs ?? 13 * 60_000);
  const started: string[] = [];
  /** Set when one query failed: the other's poll loop ends instead of waiting on for nothing. */
  let abandoned = false;
  const start = async (what: string, sql: string): Promise<string> => {
    let out: StartQueryExecutionCommandOutput;
    try {
      out = (await client.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          WorkGroup: opts.workgroup,
          QueryExecutionContext: { Database: opts.database },
          // Idempotent across the SDK's retries: one token, one query (32..128 characters).
          ClientRequestToken: `tailwatch-${what}-${runId}`.padEnd(32, '0').slice(0, 128),
        }),
      )) as StartQueryExecutionCommandOutput;
    } catch (e) {
      throw new AthenaQueryError(`Athena ${what} query could not start in workgroup "${opts.workgroup}": ${(e as Error).message}`, undefined, undefined, { cause: e });
    }
    const id = out.QueryExecutionId;
    if (!id) throw new AthenaQueryError(`Athena ${what} query: StartQueryExecution returned no QueryExecutionId`, undefined, undefined);
    started.push(id);
    return id;
  };

  const wait = async (what: string, id: string): Promise<QueryStats> => {
    let delay = opts.pollMs?.first ?? 500;
    const max = opts.pollMs?.max ?? 5000;
    const sleep = opts.sleep ?? sleepReal;
    for (;;) {
      if (abandoned) throw new AthenaQueryError(`Athena ${what} query ${id} abandoned: the other query failed`, id, undefined);
      const out = (await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))) as GetQueryExecutionCommandOutput;
      const q = out.QueryExecution;
      const state = q?.Status?.State;
      if (state === 'SUCCEEDED')
        return { queryExecutionId: id, dataScannedBytes: q?.Statistics?.DataScannedInBytes, engineMs: q?.Statistics?.EngineExecutionTimeInMillis };
      if (state === 'FAILED' || state === 'CANCELLED') {
        const reason = q?.Status?.StateChangeReason ?? q?.Status?.AthenaError?.ErrorMessage ?? 'no reason given';
        throw new AthenaQueryError(`Athena ${what} query ${id} ${state.toLowerCase()}: ${reason}`, id, state);
      }
      if (now() + delay > deadline) {
        throw new AthenaQueryError(`Athena ${what} query ${id} still ${state ?? 'pending'} after ${Math.round((opts.timeoutMs ?? 13 * 60_000) / 1000)} s: stopped`, id, state);
      }
      await sleep(delay);
      delay = Math.min(max, Math.round(delay * 2));
    }
  };

  try {
    const [reductionId, accountingId] = await Promise.all([start('reduction', reductionSql), start('accounting', accountingSql)]);
    const [reduction, accountingStats] = await Promise.all([wait('reduction', reductionId), wait('accounting', accountingId)]);
    const rows = await readResults(client, accountingId);
    return { reducedPrefix, accounting: rowAccounting(rows), queries: { reduction, accounting: accountingStats } };
  } catch (e) {
    abandoned = true;
    // Do not leave the other query scanning (and billing) after a failure: stopping a finished one is a no-op.
    await Promise.all(started.map((id) => client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined)));
    throw e;
  }
}

/** A SELECT's rows as objects keyed by column name (Athena returns the header as the first row). */
async function readResults(client: AthenaLike, id: string): Promise<Record<string, string | null>[]> {
  const rows: Record<string, string | null>[] = [];
  let names: string[] | null = null;
  let token: string | undefined;
  let first = true;
  do {
    const out = (await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 }))) as GetQueryResultsCommandOutput;
    names ??= (out.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
    const data = out.ResultSet?.Rows ?? [];
    for (let i = first ? 1 : 0; i < data.length; i++) {
      const rec: Record<string, string | null> = {};
      (data[i].Data ?? []).forEach((cell, k) => (rec[names![k]] = cell.VarCharValue ?? null));
      rows.push(rec);
    }
    first = false;
    token = out.NextToken;
  } while (token);
  return rows;
}
