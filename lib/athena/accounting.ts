/**
 * Row accounting for engine "athena": the result of `buildRejectCountSql` turned into the manifest's
 * RowCounts and reject reasons. In this mode the pipeline's own ingest reads only the reduced rows, so
 * the export's rows are counted by that query: read = accepted + rejected + ignored + duplicates.
 */
import { z } from 'zod';
import type { RowCounts } from '../types.js';

/** A count as SQL engines return it: a number, a bigint, or (Athena's GetQueryResults) a decimal string. */
const count = z.union([z.number(), z.bigint(), z.string().regex(/^\d+$/)]).transform((v) => Number(v));
const text = z.union([z.string(), z.null(), z.undefined()]).transform((v) => v ?? null);

export const outcomeRowSchema = z.object({
  outcome: z.enum(['valid', 'ignored', 'rejected']),
  reason: text,
  column_name: text,
  row_count: count,
  duplicates: count,
  example: text,
});
export type OutcomeRow = z.infer<typeof outcomeRowSchema>;

export interface RejectReasonCount {
  reason: string;
  column: string | null;
  rows: number;
  /** One offending value (the smallest), as text. */
  example: string | null;
}

export interface RowAccounting {
  rows: RowCounts;
  /** Normalised reason -> rows, the same keys as the manifest's rejectReasons. */
  rejectReasons: Record<string, number>;
  rejects: RejectReasonCount[];
}

/**
 * The manifest's key for a reject reason: quoted values replaced by "…" (lib/pipeline.ts groups the
 * streaming path's rejects this way; the SQL emits its reasons in this form already).
 */
export function normalizeRejectReason(reason: string): string {
  return reason.replace(/"[^"]*"/g, '"…"');
}

/** Validates the count query's rows (from any engine) and adds them up. */
export function rowAccounting(raw: readonly unknown[]): RowAccounting {
  const rows: RowCounts = { read: 0, accepted: 0, rejected: 0, ignored: 0, duplicates: 0 };
  const rejectReasons: Record<string, number> = {};
  const rejects: RejectReasonCount[] = [];
  raw.forEach((r, i) => {
    const parsed = outcomeRowSchema.safeParse(r);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`row accounting query, result row ${i + 1}: "${issue.path.join('.')}": ${issue.message}`);
    }
    const o = parsed.data;
    rows.read += o.row_count;
    if (o.outcome === 'valid') {
      rows.accepted += o.row_count - o.duplicates;
      rows.duplicates += o.duplicates;
    } else if (o.outcome === 'ignored') {
      rows.ignored += o.row_count;
    } else {
      rows.rejected += o.row_count;
      const reason = normalizeRejectReason(o.reason ?? 'rejected');
      rejectReasons[reason] = (rejectReasons[reason] ?? 0) + o.row_count;
      rejects.push({ reason, column: o.column_name, rows: o.row_count, example: o.example });
    }
  });
  return { rows, rejectReasons, rejects };
}
