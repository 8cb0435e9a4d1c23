/**
 * The neutral package `common/`: what the builder, the service and the CLI all use (errors, suggestions, formatting).
 * It imports nothing of builder/, services/ or apps/, so the bundle that runs on the key carries no builder code.
 *
 * One error type for every failure a user can act on. `code` is stable (tests and scripts match on it), `hint`
 * says what to do next. Anything that is not an OpenKeyError reaching the CLI is a bug and prints its stack.
 */
export class OpenKeyError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  /** Process exit code the CLI uses: 1 for failures, 2 for usage and manifest errors. */
  readonly exitCode: 1 | 2;

  constructor(code: string, message: string, options: { hint?: string; exitCode?: 1 | 2; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OpenKeyError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

export class UsageError extends OpenKeyError {
  constructor(message: string, hint?: string) {
    super('E_USAGE', message, { exitCode: 2, ...(hint === undefined ? {} : { hint }) });
    this.name = 'UsageError';
  }
}

export function isOpenKeyError(value: unknown): value is OpenKeyError {
  return value instanceof Error && typeof (value as Partial<OpenKeyError>).code === 'string' && 'exitCode' in value;
}
