/**
 * POST /api/analyses (?wait=1), GET and DELETE /api/analyses/:id, and GET /api/analyses/:id/events: the events of
 * the contract (ANALYSIS_EVENTS), `progress` while it runs and one `result` at the end.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
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
import { viewJson } from '../result-json.ts';
import { EventStream } from './events.ts';
import type { ServiceParts } from './parts.ts';

/** One Server-Sent Event of the contract. */
export function sseFrame<E extends AnalysisEventName>(event: E, data: AnalysisEvents[E]): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Result frames by view: every stream following an analysis gets the same view, its JSON made once (around the
 * worker's bytes, or in slices: a result may hold a million numbers, and the other requests must not wait for all).
 */
const resultFrames = new WeakMap<AnalysisView, Promise<Buffer>>();
function resultFrame(view: AnalysisView): Promise<Buffer> {
  let frame = resultFrames.get(view);
  if (frame === undefined) {
    frame = viewJson(view satisfies AnalysisEvents['result']).then((json) =>
      Buffer.concat([
        Buffer.from('event: result\ndata: '),
        typeof json === 'string' ? Buffer.from(json) : json,
        Buffer.from('\n\n'),
      ]),
    );
    resultFrames.set(view, frame);
  }
  return frame;
}

/** A view as the response's JSON, made like the result frames (the response schema describes it). */
async function sendView(reply: FastifyReply, view: AnalysisView): Promise<FastifyReply> {
  return reply.type('application/json; charset=utf-8').send(await viewJson(view));
}

/**
 * Analyses running or waiting per client address: beyond `max`, a submit is a 429 (E_CLIENT_BUSY), so one client of
 * a classroom cannot take every place. A request over several datasets counts once.
 */
export class ClientLimit {
  private readonly max: number;
  private readonly open = new Map<string, number>();

  constructor(max: number) {
    this.max = max;
  }

  take(client: string): void {
    const n = this.open.get(client) ?? 0;
    if (n >= this.max)
      throw new OpenKeyError(
        'E_CLIENT_BUSY',
        `this client already has ${n} analyses running or waiting (at most ${this.max})`,
        { params: { open: n, limit: this.max } },
      );
    this.open.set(client, n + 1);
  }

  give(client: string): void {
    const n = (this.open.get(client) ?? 1) - 1;
    if (n <= 0) this.open.delete(client);
    else this.open.set(client, n);
  }
}

export const analysisRoutes: FastifyPluginAsync<ServiceParts> = async (app, { analyses: manager, limits, streams }) => {
  const perClient = new ClientLimit(limits.maxPerClient);
  const errors = { 400: errorSchema, 404: errorSchema, 503: errorSchema };

  const find = (id: string) => {
    const a = manager.get(id);
    if (a === undefined) {
      throw new OpenKeyError('E_UNKNOWN_ANALYSIS', `unknown analysis "${id}"`, { params: { id } });
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
      const client = request.ip;
      perClient.take(client);
      let analysis;
      try {
        analysis = await manager.submit(request.body);
      } catch (error) {
        perClient.give(client);
        throw error;
      }
      void manager.wait(analysis).then(() => perClient.give(client));
      const wait = request.query.wait === '1' || request.query.wait === 'true';
      if (!wait) return reply.code(202).send({ id: analysis.id });
      await manager.wait(analysis);
      return sendView(reply.code(200), manager.view(analysis));
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
    async (request, reply) => sendView(reply, manager.view(find(request.params.id))),
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
    async (request, reply) => {
      const a = find(request.params.id);
      manager.cancel(a);
      return sendView(reply, manager.view(a));
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
      const stream = new EventStream(raw, { stallMs: limits.sseStallMs, stats: streams });
      const progress = (v: AnalysisView) => sseFrame('progress', { id: v.id, state: v.state, progress: v.progress });
      const view = manager.view(a);
      if (isTerminal(view.state)) {
        stream.end(await resultFrame(view));
        return reply;
      }
      stream.progress(progress(view));
      const unsubscribe = manager.subscribe(a, (v) => {
        if (isTerminal(v.state)) {
          void resultFrame(v).then((frame) => stream.end(frame));
          unsubscribe();
        } else {
          stream.progress(progress(v));
        }
      });
      stream.onClose(unsubscribe);
      return reply;
    },
  );
};
