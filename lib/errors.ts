/**
 * Errors a user can act on. The CLI prints their message on one line (exit code 2) and the
 * Lambda logs them without a stack; anything else is a bug and keeps its stack.
 */

/** A run that must not report: the data failed the quality gate, or a stage could not complete. */
export class RunFailedError extends Error {
  override name = 'RunFailedError';
  constructor(
    message: string,
    readonly stage: 'input' | 'data quality' | 'compute' | 'outputs' | 'delivery' | 'publish',
    readonly details: string[] = [],
    /** The run date the failure concerns (the data's as-of date), and where its failure record is. */
    readonly where: { runDate?: string; record?: string } = {},
  ) {
    super(message);
  }

  get runDate(): string | undefined {
    return this.where.runDate;
  }

  get record(): string | undefined {
    return this.where.record;
  }
}

const USER_ERRORS = new Set([
  'ConfigError',
  'IngestError',
  'RunFailedError',
  'InputNotFoundError',
  'UsageError',
  'InvalidS3UriError',
  'S3AccessError',
  'EmailRejectedError',
  'SesSendError',
]);

/** True for errors whose message is the whole story (no stack trace for the user). */
export function isUserError(e: unknown): e is Error {
  return e instanceof Error && USER_ERRORS.has(e.name);
}
