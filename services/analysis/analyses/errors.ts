/**
 * How failures become what the API says: a bad request is an OpenKeyError (a 4xx through the error handler); a
 * valid request whose files cannot be analysed is a PlannedFailure (the analysis is created and fails at once); a
 * failure while running becomes the analysis's { code, message }.
 */
import { OpenKeyError, type ErrorParams } from '../../../common/errors.ts';
import type { AnalysisError } from '../api.ts';
import type { ExpressionError } from '../expr/index.ts';
import { TaskError } from '../pool/pool.ts';
import type { TreeMeta } from '../../../rootio/read/types.ts';

export function badRequest(code: string, message: string, hint?: string, params?: ErrorParams): OpenKeyError {
  return new OpenKeyError(code, message, {
    exitCode: 2,
    ...(hint === undefined ? {} : { hint }),
    ...(params === undefined ? {} : { params }),
  });
}

/** A request that is valid but whose files cannot be analysed: the analysis is created and fails at once. */
export class PlannedFailure extends Error {
  readonly code: string;
  readonly params: ErrorParams;
  constructor(code: string, message: string, params: ErrorParams = {}) {
    super(message);
    this.code = code;
    this.params = params;
  }
}

/** An expression that does not compile against the tree: which field, and the closest branches for a typo. */
export function expressionError(error: ExpressionError, tree: TreeMeta): OpenKeyError {
  const field = error.field.replace(/^histograms\[(\d+)\]\.expr$/, (_, i: string) => `histograms[${i}].expr`);
  if (error.code === 'E_EXPR_UNKNOWN_BRANCH') {
    const unreadable = tree.branches.find((b) => b.element === undefined && error.message.includes(`"${b.name}"`));
    if (unreadable)
      return badRequest(
        'E_UNSUPPORTED_BRANCH',
        `${field}: branch "${unreadable.name}" has type ${unreadable.type}, which the service cannot read`,
        undefined,
        { ...error.params, name: unreadable.name, type: unreadable.type },
      );
    const near = error.suggestions.length > 0 ? error.suggestions : [];
    return new OpenKeyError('E_UNKNOWN_BRANCH', error.message, {
      params: error.params,
      hint:
        near.length > 0
          ? `closest branches: ${near.join(', ')}`
          : `tree ${tree.name} has ${tree.branches.length} branches; GET /api/datasets/:id lists them`,
    });
  }
  return badRequest(error.code, error.message, error.hint, error.params);
}

/** A task's failure as the analysis reports it; anything but a TaskError is a bug of ours. */
export function runFailure(error: unknown): AnalysisError {
  if (error instanceof TaskError)
    return Object.keys(error.params).length > 0
      ? { code: error.code, message: error.message, params: error.params }
      : { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'E_INTERNAL', message: `internal error (a bug): ${message}` };
}
