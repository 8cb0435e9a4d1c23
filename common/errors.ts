/**
 * The neutral package `common/`: what the builder, the service and the CLI all use (errors, suggestions, formatting).
 * It imports nothing of builder/, services/ or apps/, so the bundle that runs on the key carries no builder code.
 *
 * One error type for every failure a user can act on. `code` is stable (tests and scripts match on it), `hint`
 * says what to do next. Anything that is not an OpenKeyError reaching the CLI is a bug and prints its stack.
 */
/**
 * The error registry, as fastify's lib/errors.js keeps one: every code a user can meet, with what it means, the
 * HTTP status the service answers it with, the exit code the CLI ends with, and a default hint. Codes listed
 * under a family are stable (tests and scripts match on them). An OpenKeyError takes its exit code and hint from
 * here unless it is given its own; the service's error handler takes the status from here.
 *
 * Codes of the image build (manifest, stages, tools) carry their exit code on the error itself and are not listed
 * yet: a code missing here exits 1, and the service answers it with 400.
 */
export interface ErrorEntry {
  /** What the code means, in a few words (for the README and `--help` texts). */
  what: string;
  /** HTTP status when the service answers with it; analysis failures are reported inside the analysis (200). */
  status: number;
  /** Process exit code: 1 a failure, 2 a usage, manifest or request mistake. */
  exitCode: 1 | 2;
  /** What to do next, when the error itself does not say better. */
  hint?: string;
}

const request = (what: string, hint?: string): ErrorEntry => ({
  what,
  status: 400,
  exitCode: 2,
  ...(hint === undefined ? {} : { hint }),
});
const notFound = (what: string): ErrorEntry => ({ what, status: 404, exitCode: 2 });
/** Why an analysis failed: the request was fine, the data or a worker was not. Reported as the analysis's error. */
const failure = (what: string): ErrorEntry => ({ what, status: 500, exitCode: 1 });

export const ERRORS = {
  // usage
  E_USAGE: request('a command line the CLI cannot use'),
  // requests to the analysis service (400)
  E_BAD_REQUEST: request('a request that breaks the API contract (unknown field, wrong type, bad value)'),
  E_BAD_BODY: request('a body that is not JSON'),
  E_BAD_BINNING: request('bins out of 1..MAX_BINS, or min not below max'),
  E_BAD_HISTOGRAM: request('two histograms with one name'),
  E_TOO_MANY_BINS: request('more bins over all histograms than one analysis may fill', 'use fewer bins or histograms'),
  E_NO_FILES: request('a dataset without ROOT files'),
  E_UNSUPPORTED_BRANCH: request('a branch of a type the reader cannot read'),
  E_BAD_LUMINOSITY: request('a luminosity that is not above 0'),
  E_SAMPLES: request('datasets that cannot be combined into samples'),
  E_BAD_COLUMN: request('a column that cannot be read, or one asked for twice (POST /api/columns)'),
  E_BAD_RANGE: request('an entry range whose start is after its stop'),
  E_EXPR_SYNTAX: request('an expression that does not parse'),
  E_EXPR_UNKNOWN_FUNCTION: request('an unknown function in an expression'),
  E_EXPR_ARITY: request('a function called with the wrong number of arguments'),
  E_EXPR_TOO_DEEP: request('an expression nested too deeply'),
  E_EXPR_TOO_LONG: request('an expression too long'),
  E_EXPR_NOT_ARRAY: request('an index or Length$ on a branch that is not an array'),
  E_EXPR_INDEX: request('an index that is not a whole number'),
  E_EXPR_UNKNOWN_BRANCH: request('a branch the tree does not have (the service answers E_UNKNOWN_BRANCH)'),
  // what the service does not have (404)
  E_NOT_FOUND: notFound('no such route or file'),
  E_UNKNOWN_DATASET: notFound('no such dataset'),
  E_UNKNOWN_FILE: notFound('no such file in the dataset'),
  E_UNKNOWN_TREE: notFound('no such tree in the files'),
  E_UNKNOWN_BRANCH: notFound('no such branch in the tree'),
  E_UNKNOWN_ANALYSIS: {
    ...notFound('no such analysis (never made, or forgotten)'),
    hint: 'analyses are kept in memory until the service restarts; POST /api/analyses starts a new one',
  },
  E_TOO_LARGE: { what: 'an answer larger than the service gives at once', status: 413, exitCode: 2 },
  // the service is busy or stopping (429, 503: retry)
  E_CLIENT_BUSY: {
    what: 'this client already has as many analyses running or waiting as it may',
    status: 429,
    exitCode: 1,
    hint: 'wait for one to end, or cancel one',
  },
  E_QUEUE_FULL: { what: 'the analysis queue is full', status: 503, exitCode: 1, hint: 'retry in a few seconds' },
  E_SHUTTING_DOWN: {
    what: 'the service is shutting down',
    status: 503,
    exitCode: 1,
    hint: 'retry once it is back',
  },
  // the service's own failures (500)
  E_DATASETS_DIR: { what: 'the datasets folder cannot be read', status: 500, exitCode: 1 },
  E_INTERNAL: { what: 'a bug', status: 500, exitCode: 1 },
  E_EXPR_BATCH: {
    what: 'a batch of columns that does not fit the compiled expression (a bug)',
    status: 500,
    exitCode: 1,
  },
  // why an analysis failed (its `error`, in a 200 answer)
  E_ROOT_CORRUPT: failure('a file whose metadata cannot be read'),
  E_ROOT_READ: failure('a damaged basket'),
  E_MISSING_BRANCH: failure('a file lacking a branch the expressions read'),
  E_WORKER_CRASHED: failure('a worker died during a task'),
  E_POOL_BROKEN: failure('the workers cannot start'),
  E_POOL_CLOSED: failure('the service stopped during the analysis'),
  E_CANCELLED: failure('cancelled'),
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * What a result must say beside the plot (not failures): each with its facts as params, like the errors, so the
 * apps can say it in the user's language (`notice.<CODE>` in apps/shared/i18n).
 */
export const NOTICES = {
  W_UNNORMALISED:
    'a simulation sample drawn unnormalised: its dataset.json lacks labels (params dataset, file, missing)',
  W_NO_LUMINOSITY: 'no luminosity given or stated by a data file: simulation unscaled',
} as const satisfies Record<string, string>;

export type NoticeCode = keyof typeof NOTICES;

/** The registry's entry of a code, undefined for a code it does not list. */
export function errorEntry(code: string): ErrorEntry | undefined {
  return Object.hasOwn(ERRORS, code) ? ERRORS[code as ErrorCode] : undefined;
}

/** The HTTP status of a code: the registry's; an unlisted one is taken for a mistake in the request (400). */
export function httpStatus(code: string): number {
  return errorEntry(code)?.status ?? 400;
}

/**
 * The facts of one error as data (the field and column of a bad expression, the closest names, a limit), so that a
 * client can say it in its user's language: the service sends them beside the English message as `params`, and the
 * apps fill them into their own sentence for the code (apps/shared/errors.ts).
 */
export type ErrorParams = Record<string, string | number>;

export class OpenKeyError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  /** Process exit code the CLI uses: 1 for failures, 2 for usage and manifest errors. */
  readonly exitCode: 1 | 2;
  /** The error's facts for a translated message (empty when the code says it all). */
  readonly params: ErrorParams;

  /** Exit code and hint default to the registry's entry for `code` (ERRORS), then to 1 and none. */
  constructor(
    code: string,
    message: string,
    options: { hint?: string; exitCode?: 1 | 2; cause?: unknown; params?: ErrorParams } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OpenKeyError';
    this.code = code;
    const entry = errorEntry(code);
    this.hint = options.hint ?? entry?.hint;
    this.exitCode = options.exitCode ?? entry?.exitCode ?? 1;
    this.params = options.params ?? {};
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
