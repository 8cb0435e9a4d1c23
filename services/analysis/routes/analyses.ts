/**
 * POST /api/analyses (?wait=1), GET and DELETE /api/analyses/:id, and GET /api/analyses/:id/events: the events of
 * the contract (ANALYSIS_EVENTS), `progress` while it runs and one `result` at the end.
 */
import type { FastifyPluginAsync } from 'fastify';
import { OpenKeyError } from '../../../common/errors.ts';
import {
  analysisRequestSchema,
  analysisViewResponseSchema,
  errorSchema,
  idParamsSchema,
  isTerminal,
  noQuerySchema,
  submitQuerySchema,
  submittedSchema,
  type AnalysisEventName,
  type AnalysisEvents,
  type AnalysisRequest,
  type AnalysisView,
  type IdParams,
  type SubmitQuery,
} from '../api.ts';
import type { ServiceParts } from './parts.ts';

/** One Server-Sent Event of the contract. */
export function sseFrame<E extends AnalysisEventName>(event: E, data: AnalysisEvents[E]): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const analysisRoutes: FastifyPluginAsync<ServiceParts> = async (app, { analyses: manager }) => {
  const errors = { 400: errorSchema, 404: errorSchema, 503: errorSchema };

  const find = (id: string) => {
    const a = manager.get(id);
    if (a === undefined) {
      throw new OpenKeyError('E_UNKNOWN_ANALYSIS', `unknown analysis "${id}"`);
    }
    return a;
  };

  app.post<{ Body: AnalysisRequest; Querystring: SubmitQuery }>(
    '/api/analyses',
    {
      schema: {
        body: analysisRequestSchema,
        querystring: submitQuerySchema,
        response: { 200: analysisViewResponseSchema, 202: submittedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const analysis = await manager.submit(request.body);
      const wait = request.query.wait === '1' || request.query.wait === 'true';
      if (!wait) return reply.code(202).send({ id: analysis.id });
      await manager.wait(analysis);
      return reply.code(200).send(manager.view(analysis));
    },
  );

  app.get<{ Params: IdParams }>(
    '/api/analyses/:id',
    {
      schema: {
        params: idParamsSchema,
        querystring: noQuerySchema,
        response: { 200: analysisViewResponseSchema, ...errors },
      },
    },
    async (request) => manager.view(find(request.params.id)),
  );

  app.delete<{ Params: IdParams }>(
    '/api/analyses/:id',
    {
      schema: {
        params: idParamsSchema,
        querystring: noQuerySchema,
        response: { 200: analysisViewResponseSchema, ...errors },
      },
    },
    async (request) => {
      const a = find(request.params.id);
      manager.cancel(a);
      return manager.view(a);
    },
  );

  app.get<{ Params: IdParams }>(
    '/api/analyses/:id/events',
    { schema: { params: idParamsSchema, querystring: noQuerySchema } },
    async (request, reply) => {
      const a = find(request.params.id);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      const progress = (v: AnalysisView) => sseFrame('progress', { id: v.id, state: v.state, progress: v.progress });
      const view = manager.view(a);
      if (isTerminal(view.state)) {
        raw.end(sseFrame('result', view));
        return reply;
      }
      raw.write(progress(view));
      const unsubscribe = manager.subscribe(a, (v) => {
        if (isTerminal(v.state)) {
          raw.end(sseFrame('result', v));
          unsubscribe();
        } else {
          raw.write(progress(v));
        }
      });
      raw.on('close', unsubscribe);
      return reply;
    },
  );
};
