/**
 * The service's errors in the page's language. The service answers every failure with a stable `code` and its
 * facts as `params` (common/errors.ts: field and column of a bad expression, the closest names, a limit …) beside
 * an English `message`; the apps say it with their own sentence for the code (i18n/*.ts, keys `error.<CODE>`),
 * filled from the params, plus the optional pieces a code's params carry: where in which expression, "did you mean",
 * what was expected, the limit. `tests/apps/errors.test.ts` fails when a code of the registry has no sentence.
 */
import { ApiError } from './api.ts';
import { formatNumber, language, t, type MessageKey } from './i18n.ts';

/** Codes the apps make themselves, for failures that never reached the service. */
export const CLIENT_ERROR_CODES = ['E_NETWORK', 'E_HTTP'] as const;

export type Params = Record<string, string | number>;

export interface ErrorFacts {
  code: string | undefined;
  message: string;
  params: Params;
}

/** The expressions of the request that failed, so a position can be shown in the text it points into. */
export interface RequestText {
  selection?: string | undefined;
  weight?: string | undefined;
  histograms?: readonly { name: string; expr: string }[] | undefined;
}

function paramsOf(value: unknown): Params {
  if (typeof value !== 'object' || value === null) return {};
  const out: Params = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string' || typeof v === 'number') out[k] = v;
  return out;
}

/** Code, English message and params of whatever was thrown or reported: an ApiError, an analysis's error, a string. */
export function errorFacts(error: unknown): ErrorFacts {
  if (error instanceof ApiError) return { code: error.code, message: error.message, params: error.params };
  if (typeof error === 'string') return { code: undefined, message: error, params: {} };
  const e = error as { code?: unknown; message?: unknown; params?: unknown } | undefined;
  const message = error instanceof Error ? error.message : typeof e?.message === 'string' ? e.message : String(error);
  return { code: typeof e?.code === 'string' ? e.code : undefined, message, params: paramsOf(e?.params) };
}

const has = (key: string): key is MessageKey => t(key as MessageKey) !== key;

/** "selection" → "the selection"; "histograms[2].expr" → "the variable"; anything else as the service named it. */
function fieldName(field: string): string {
  if (field === 'selection') return t('error.field.selection');
  if (field === 'weight') return t('error.field.weight');
  if (/^histograms\[\d+\]/.test(field)) return t('error.field.histogram');
  return field;
}

/** The text of the field an expression error points into, with a marker at the column: `x ▸= 40`. */
function excerpt(field: string, column: number, request: RequestText | undefined): string | undefined {
  const index = /^histograms\[(\d+)\]\.expr$/.exec(field)?.[1];
  const text =
    field === 'selection'
      ? request?.selection
      : field === 'weight'
        ? request?.weight
        : index !== undefined
          ? request?.histograms?.[Number(index)]?.expr
          : undefined;
  if (text === undefined || text === '') return undefined;
  const at = Math.min(Math.max(column - 1, 0), text.length);
  const before = text.slice(Math.max(0, at - 30), at);
  const after = text.slice(at, at + 30);
  return `${at > 30 ? '…' : ''}${before}▸${after}${at + 30 < text.length ? '…' : ''}`;
}

function capitalise(text: string): string {
  return text.charAt(0).toLocaleUpperCase(language()) + text.slice(1);
}

/** A size in the language's number format: 1 MB, 1,5 GB. */
function bytes(n: number): string {
  const units = [t('error.unit.bytes'), 'kB', 'MB', 'GB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${formatNumber(value, 3)} ${units[unit]}`;
}

/** Numbers the sentence shows: sizes in bytes read as kB/MB, the rest in the language's format. */
function displayParams(params: Params): Params {
  const out: Params = { ...params };
  if (typeof params.limit === 'number' && params.unit === 'bytes') out.limit = bytes(params.limit);
  else if (typeof params.limit === 'number' && params.unit === 'entries')
    out.limit = `${formatNumber(params.limit)} ${t('error.unit.entries')}`;
  if (typeof params.field === 'string') out.field = fieldName(params.field);
  if (typeof params.suggestions === 'string')
    out.suggestions = params.suggestions
      .split(', ')
      .map((s) => t('error.quote', { text: s }))
      .join(', ');
  for (const [k, v] of Object.entries(out)) if (typeof v === 'number') out[k] = formatNumber(v);
  return out;
}

/** One code's sentence with its optional pieces; undefined for a code the apps do not know. */
function sentence(code: string, params: Params, request: RequestText | undefined): string | undefined {
  const key = `error.${code}`;
  if (!has(key)) return undefined;
  const shown = displayParams(params);
  const parts: string[] = [];
  const positioned = typeof params.field === 'string' && typeof params.column === 'number';
  if (positioned) parts.push(t('error.at', shown));
  const main =
    code === 'E_EXPR_SYNTAX' && (params.found === undefined || params.found === '')
      ? t('error.E_EXPR_SYNTAX.end')
      : t(key, shown);
  parts.push(positioned ? main : capitalise(main));
  if (!positioned && typeof params.field === 'string') parts.push(t('error.inField', { field: params.field }));
  if (typeof params.expected === 'string' && code === 'E_EXPR_SYNTAX') parts.push(t('error.expected', shown));
  if (typeof params.suggestion === 'string')
    parts.push(t('error.didYouMean', { suggestions: t('error.quote', { text: params.suggestion }) }));
  else if (typeof params.suggestions === 'string' && params.suggestions !== '')
    parts.push(t('error.didYouMean', shown));
  if (code === 'E_BAD_REQUEST' && typeof params.limit === 'number') parts.push(t('error.limit', shown));
  if (positioned) {
    const where = excerpt(params.field as string, params.column as number, request);
    if (where !== undefined) parts.push(`— ${where}`);
  }
  return parts.join(' ');
}

/** A result's notice (common/errors.ts NOTICES: a sample drawn unnormalised …) in the page's language. */
export function noticeText(code: string, params: Record<string, string | number>): string {
  const key = `notice.${code}`;
  return has(key) ? t(key, displayParams(params)) : code;
}

/**
 * What went wrong, in the page's language, with every detail the service gave (position, suggestion, limit);
 * for a code the apps do not know, the service's own English message.
 */
export function describeError(error: unknown, request?: RequestText): string {
  const { code, message, params } = errorFacts(error);
  if (code === undefined) return message;
  // A failure of one sample of several: which dataset, then that sample's own error.
  if (code === 'E_SAMPLES' && typeof params.cause === 'string') {
    const { cause, dataset, failures, ...rest } = params;
    const inner = sentence(cause, dataset === undefined ? rest : { ...rest, dataset }, request);
    if (inner !== undefined) {
      const parts = [t('error.inDataset', { dataset: dataset ?? '' }), inner];
      if (typeof failures === 'number' && failures > 1) parts.push(t('error.otherFailures', { failures }));
      return parts.join(' ');
    }
  }
  return sentence(code, params, request) ?? `${t('error.unknown', { code })} ${message}`;
}
