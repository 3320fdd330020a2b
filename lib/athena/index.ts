/**
 * Engine "athena": the export's first reduction as SQL (Athena / DuckDB) and its row accounting.
 * No AWS here: functions/aws/athena.ts runs the SQL; the pipeline reads the result with
 * `reducedInputConfig` through the usual ingest and core.
 */
export {
  buildReductionSql,
  buildRejectCountSql,
  buildUnloadSql,
  reducedDimensionNames,
  reducedInputConfig,
  REDUCED_COLUMNS,
  type SqlDialect,
  type SqlOptions,
} from './sql.js';
export { normalizeRejectReason, rowAccounting, outcomeRowSchema, type OutcomeRow, type RejectReasonCount, type RowAccounting } from './accounting.js';
