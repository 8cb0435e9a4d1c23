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
    let message = error.message;
    if (error.validation) {
      status = 400;
      code = 'E_BAD_REQUEST';
      const first = error.validation[0];
      const unknown = (first?.params as { additionalProperty?: unknown } | undefined)?.additionalProperty;
      if (first?.keyword === 'additionalProperties' && typeof unknown === 'string') {
        const where = `${error.validationContext ?? 'body'}${first.instancePath}`.replace(/\//g, '.');
        message = `${where}: unknown field "${unknown}"`;
        hint = 'remove it; the schema allows no other fields';
      }
    } else if (isOpenKeyError(error)) {
      status = httpStatus(error.code);
      code = error.code;
      hint = error.hint;
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
    return reply.code(status).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const body: ApiErrorBody = {
      statusCode: 404,
      code: 'E_NOT_FOUND',
      error: 'Not Found',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
    };
    reply.code(404).send(body);
  });
}
