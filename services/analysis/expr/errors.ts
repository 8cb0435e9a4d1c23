import { OpenKeyError, type ErrorParams } from '../../../common/errors.ts';

export type ExpressionErrorCode =
  | 'E_EXPR_SYNTAX'
  | 'E_EXPR_UNKNOWN_BRANCH'
  | 'E_EXPR_UNKNOWN_FUNCTION'
  | 'E_EXPR_ARITY'
  | 'E_EXPR_TOO_DEEP'
  | 'E_EXPR_TOO_LONG'
  | 'E_EXPR_NOT_ARRAY'
  | 'E_EXPR_INDEX';

/**
 * A mistake in a user's selection, weight or histogram expression. The message always reads
 * `<field>: column <n>: <detail>` so the service can return it as it is in a 400.
 */
export class ExpressionError extends OpenKeyError {
  /** 'selection' | 'weight' | 'histograms[2].expr' */
  readonly field: string;
  /** 1-based column in that field's text. */
  readonly column: number;
  /** Closest branch or function names, for unknown ones; empty otherwise. */
  readonly suggestions: string[];
  /** The message without the field and column prefix. */
  readonly detail: string;

  constructor(
    code: ExpressionErrorCode,
    field: string,
    column: number,
    detail: string,
    options: { suggestions?: string[]; hint?: string; params?: ErrorParams } = {},
  ) {
    super(code, `${field}: column ${column}: ${detail}`, {
      exitCode: 2,
      ...(options.hint === undefined ? {} : { hint: options.hint }),
      // The facts a translated message needs: where, and what the code's sentence names (see common/errors.ts).
      params: {
        field,
        column,
        ...(options.suggestions?.length ? { suggestions: options.suggestions.join(', ') } : {}),
        ...options.params,
      },
    });
    this.name = 'ExpressionError';
    this.field = field;
    this.column = column;
    this.suggestions = options.suggestions ?? [];
    this.detail = detail;
  }
}
