/**
 * The run configuration: one zod schema, shared by the CLI, the Lambda handlers and the CDK
 * stack. Every key is optional and has a default; the key names are a contract (operators'
 * config files rely on them), so add keys freely but rename none.
 */
import { z } from 'zod';

/** A column is named (file with a header) or a 0-based index (file without one). */
const column = z.union([z.string().min(1), z.number().int().nonnegative()]);

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD');

/** True for an IANA time zone name this runtime knows (used by the config and the CDK settings). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isCurrency(code: string): boolean {
  try {
    new Intl.NumberFormat('en-US', { style: 'currency', currency: code });
    return true;
  } catch {
    return false;
  }
}

export const columnsSchema = z
  .object({
    customerId: column.default('customer_id'),
    orderDate: column.default('order_date'),
    amount: column.nullable().default('amount'),
    orderId: column.nullable().default(null),
    margin: column.nullable().default(null),
    cost: column.nullable().default(null),
    currency: column.nullable().default(null),
    quantity: column.nullable().default(null),
    unitPrice: column.nullable().default(null),
    dimensions: z.array(column).default([]),
  })
  .strict()
  .refine((c) => c.amount !== null || (c.quantity !== null && c.unitPrice !== null), {
    message: 'give either "amount" or both "quantity" and "unitPrice"',
    path: ['amount'],
  });

export const configSchema = z
  .object({
    /** IANA time zone of the business: order dates are bucketed into its days, weeks, months. */
    timezone: z
      .string()
      .refine(isTimeZone, { message: 'not an IANA time zone name (e.g. "Europe/Berlin")' })
      .default('UTC'),
    /** ISO 4217 code; one currency per run. */
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as "USD"')
      .refine(isCurrency, { message: 'unknown ISO 4217 currency code' })
      .default('USD'),
    /** Where the per-customer aggregation runs: in this process, or as SQL on Athena. */
    engine: z.enum(['lambda', 'athena']).default('lambda'),
    input: z
      .object({
        format: z.enum(['auto', 'csv', 'jsonl', 'parquet']).default('auto'),
        csv: z
          .object({
            delimiter: z
              .string()
              .refine((d) => d === 'whitespace' || [...d].length === 1, {
                message: 'a single character, or "whitespace" for runs of blanks',
              })
              .default(','),
            header: z.boolean().default(true),
            quote: z.string().length(1).default('"'),
          })
          .strict()
          .default({}),
        columns: columnsSchema.default({}),
        dateFormat: z.enum(['iso', 'yyyyMMdd', 'MM/dd/yyyy', 'dd/MM/yyyy']).default('iso'),
        /**
         * Duplicate rows (every mapped field equal) counted once: "auto" does so when an order
         * id column is mapped (then two equal rows are the same order line exported twice);
         * without one, equal rows can be real repeat purchases (CDNOW has 215 such lines, and
         * its published totals count them), so they are kept unless "always".
         */
        dedupe: z.enum(['auto', 'always', 'never']).default('auto'),
        /** A run whose rejected rows exceed this share of the rows read fails instead of reporting. */
        maxRejectShare: z.number().min(0).max(1).default(0.01),
        /** Only keys ending in one of these are read when the input is a prefix or directory. */
        extensions: z.array(z.string()).default(['.csv', '.tsv', '.txt', '.jsonl', '.ndjson', '.json', '.parquet', '.gz']),
      })
      .strict()
      .default({}),
    cohort: z
      .object({
        period: z.enum(['month', 'week', 'quarter']).default('month'),
        /** "Active" = bought within this many trailing days (CRR definition). */
        activeWindowDays: z.number().int().positive().default(365),
        /** Cohort ages compared in trends (retention at age 3, LTV at age 6 ...). */
        trendAges: z.array(z.number().int().positive()).default([1, 3, 6]),
        /** How many recent complete cohorts a trend covers. */
        trendCohorts: z.number().int().positive().default(12),
      })
      .strict()
      .default({}),
    tiers: z
      .object({
        basis: z.enum(['firstOrderValue', 'revenue', 'orders']).default('firstOrderValue'),
        /** Ascending cut points; n bounds make n + 1 tiers. Omitted: value-share cut points. */
        bounds: z.array(z.number()).optional(),
        names: z.array(z.string().min(1)).default(['small', 'mid', 'large']),
        /** Without bounds: the tiers split the total basis value in these cumulative shares. */
        valueShares: z.array(z.number().gt(0).lt(1)).default([1 / 3, 2 / 3]),
      })
      .strict()
      .default({})
      .superRefine((t, ctx) => {
        const cuts = t.bounds ?? t.valueShares;
        if (t.names.length !== cuts.length + 1)
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['names'],
            message: `${cuts.length} cut points make ${cuts.length + 1} tiers, but ${t.names.length} names are given`,
          });
        for (let i = 1; i < cuts.length; i++)
          if (!(cuts[i] > cuts[i - 1]))
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: [t.bounds ? 'bounds' : 'valueShares'], message: 'must be strictly ascending' });
      }),
    model: z
      .object({
        timeUnit: z.enum(['week', 'day']).default('week'),
        calibrationEnd: isoDate.optional(),
        /** Prediction horizon, in months. */
        horizon: z.number().int().positive().default(12),
        /** Discount rate per month. */
        discountRate: z.number().min(0).max(1).default(0.01),
        /** Margin share used when the export has no margin or cost column. */
        marginShare: z.number().min(0).max(1).default(1),
      })
      .strict()
      .default({}),
    alerts: z
      .object({
        fdr: z.number().gt(0).lt(1).default(0.05),
        minCustomers: z.number().int().positive().default(100),
        pAliveThreshold: z.number().gt(0).lt(1).default(0.5),
        /** Cohort age (periods) at which retention is compared. */
        retentionAge: z.number().int().positive().default(3),
        /** Recent complete cohorts/periods compared against the earlier baseline. */
        recentPeriods: z.number().int().positive().default(3),
        baselinePeriods: z.number().int().positive().default(12),
        /** Money at risk (per year) at which a significant loss becomes a warning / critical. */
        warningAmount: z.number().nonnegative().default(10_000),
        criticalAmount: z.number().nonnegative().default(100_000),
      })
      .strict()
      .default({}),
    report: z
      .object({
        from: z.string().default('tailwatch@example.com'),
        to: z.array(z.string()).default(['leadership@example.com']),
        /** Who gets the failure notice when a run fails or its data fails the quality gate. */
        operators: z.array(z.string()).default([]),
        /** Title used in the subject line. */
        company: z.string().default(''),
        /** Where analysts find the tables (printed in the email); defaults to the output location. */
        tablesLocation: z.string().optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ColumnRef = z.infer<typeof column>;

/** A user error in the configuration: names the key and why. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseConfig(raw: unknown, source = 'config'): Config {
  const res = configSchema.safeParse(raw ?? {});
  if (res.success) return res.data;
  const first = res.error.issues[0];
  const key = first.path.join('.') || '(root)';
  const msg =
    first.code === 'unrecognized_keys'
      ? `unknown key${first.keys.length > 1 ? 's' : ''} ${first.keys.map((k) => `"${[...first.path, k].join('.')}"`).join(', ')}`
      : `"${key}": ${first.message}`;
  throw new ConfigError(`${source}: ${msg}`);
}

export const defaultConfig: Config = parseConfig({});
