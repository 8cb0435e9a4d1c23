/**
 * The one error handler and 404: every failure answers { statusCode, code, error, message, hint? }. Validation
 * errors name the unknown field; an OpenKeyError's status comes from the error registry (common/errors.ts);
 * anything else is a 500 and is logged.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { httpStatus, isOpenKeyError } from '../../../common/errors.ts';
import type { ApiErrorBody } from '../api.ts';

const PHRASE: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let status: number;
    let code: string;
    let hint: string | undefined;
    let params: Record<string, string | number> = {};
    let message = error.message;
    if (error.validation) {
      status = 400;
      code = 'E_BAD_REQUEST';
      const first = error.validation[0];
      const unknown = (first?.params as { additionalProperty?: unknown } | undefined)?.additionalProperty;
      const where = `${error.validationContext ?? 'body'}${first?.instancePath ?? ''}`.replace(/\//g, '.');
      params = { field: where };
      if (first?.keyword === 'additionalProperties' && typeof unknown === 'string') {
        message = `${where}: unknown field "${unknown}"`;
        hint = 'remove it; the schema allows no other fields';
        params.field = `${where}.${unknown}`;
      }
      // A bound the value broke (maximum, maxItems, maxLength …): the limit, for the translated message.
      const limit = (first?.params as { limit?: unknown } | undefined)?.limit;
      if (typeof limit === 'number') params.limit = limit;
    } else if (isOpenKeyError(error)) {
      status = httpStatus(error.code);
      code = error.code;
      hint = error.hint;
      params = error.params;
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      code = 'E_TOO_LARGE';
      params = { limit: app.initialConfig.bodyLimit ?? 1_048_576, unit: 'bytes' };
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      code = error.code?.startsWith('FST_ERR_CTP') ? 'E_BAD_BODY' : (error.code ?? 'E_BAD_REQUEST');
    } else {
      request.log.error(error);
      status = 500;
      code = 'E_INTERNAL';
    }
    if (status === 503 || status === 429) reply.header('Retry-After', '5');
    const body: ApiErrorBody = {
      statusCode: status,
      code,
      error: PHRASE[status] ?? 'Error',
      message: status === 500 ? `internal error: ${message}` : message,
    };
    if (hint !== undefined) body.hint = hint;
    if (Object.keys(params).length > 0) body.params = params;
    return reply.code(status).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const body: ApiErrorBody = {
      statusCode: 404,
      code: 'E_NOT_FOUND',
      error: 'Not Found',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
      params: { path: request.url.split('?')[0] ?? '' },
    };
    reply.code(404).send(body);
  });
}
