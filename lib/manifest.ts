/**
 * The run manifest (`runs/run_date=YYYY-MM-DD/manifest.json`): what was read, how many rows
 * went where, the config used, timings and the outputs written. It is stored JSON that later
 * runs read back (the sent message id makes a retried run send nothing), so it has a schema.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();

export const manifestSchema = z.object({
  tool: z.literal('tailwatch'),
  version: z.string(),
  runId: z.string(),
  runDate: z.string(),
  asOf: z.string(),
  asOfSource: z.enum(['option', 'latest order']),
  calibrationEnd: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  status: z.enum(['succeeded', 'failed']),
  inputs: z.array(
    z.object({
      name: z.string(),
      size: z.number().optional(),
      etag: z.string().optional(),
      format: z.string(),
      compressed: z.boolean(),
      rows: count,
    }),
  ),
  rows: z.object({ read: count, accepted: count, rejected: count, ignored: count, duplicates: count }),
  rejectReasons: z.record(count),
  dataRange: z.object({ firstOrderDate: z.string().nullable(), lastOrderDate: z.string().nullable() }),
  customers: count,
  tiers: z.object({ names: z.array(z.string()), bounds: z.array(z.number()), basis: z.string(), derived: z.boolean() }),
  alerts: count,
  tooSmallToJudge: count,
  model: z.object({ status: z.string(), summary: z.string() }),
  warnings: z.array(z.string()),
  timingsMs: z.record(z.number()),
  peakRssMb: z.number().optional(),
  /** Peak RSS of the process (MB) at the end of each stage. */
  stagePeakRssMb: z.record(z.number()).optional(),
  outputs: z.array(z.object({ key: z.string(), bytes: count, rows: count.optional() })),
  config: z.unknown(),
  email: z
    .object({ subject: z.string(), to: z.array(z.string()), messageId: z.string().nullable(), sentAt: z.string().nullable() })
    .optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;

export function parseManifest(bytes: Uint8Array | string, where: string): Manifest {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);
  const res = manifestSchema.safeParse(JSON.parse(text));
  if (!res.success) throw new Error(`${where}: not a tailwatch manifest (${res.error.issues[0].path.join('.')}: ${res.error.issues[0].message})`);
  return res.data;
}
