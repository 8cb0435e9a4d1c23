/**
 * The analysis service as a Fastify factory: buildApp(options) returns an app that tests drive with inject() and
 * server.ts makes listen. The worker pool and the analyses close with the app.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import pkg from '../../package.json' with { type: 'json' };
import { isOpenKeyError, OpenKeyError } from '../../common/errors.ts';
import { AnalysisManager, type AnalysisView } from './analyses.ts';
import { DatasetStore, type Dataset } from './datasets.ts';
import { WorkerPool } from './pool/pool.ts';
import { PRESETS } from './presets.ts';
import { presetSamples } from './samples.ts';
import { registerDataRoutes } from './routes/data.ts';
import { SampleAnalyses, type SamplesRequest } from './samples.ts';
import {
  analysisRequestSchema,
  analysisViewSchema,
  datasetDetailSchema,
  datasetSummarySchema,
  errorSchema,
  idParams,
  noQuery,
  presetSchema,
} from './schemas.ts';

export interface AppOptions {
  /** Folder whose subfolders are the datasets. */
  datasets: string;
  /** Folder of the web apps, served at /. */
  apps?: string;
  /** Worker threads; one per core by default. */
  workers?: number;
  /** Analyses running at once (default 4) and waiting beyond them (default 16) before 503. */
  maxActive?: number;
  maxQueued?: number;
  /** Fastify's logger option; off by default (tests), server.ts turns it on. */
  logger?: FastifyServerOptions['logger'];
  /** Serve dataset.json's per-file `truth` (teachers' copies). */
  exposeTruth?: boolean;
  /** Fault injection for tests: tasks on a file of this name crash their worker. */
  crashWorkerOnFile?: string;
  /** Per-file histograms are left out beyond this many bins in all (default 5 M). */
  maxByFileCells?: number;
  workerUrl?: URL;
}

const STATUS: Record<string, number> = {
  E_UNKNOWN_DATASET: 404,
  E_UNKNOWN_FILE: 404,
  E_UNKNOWN_TREE: 404,
  E_UNKNOWN_BRANCH: 404,
  E_UNKNOWN_ANALYSIS: 404,
  E_NOT_FOUND: 404,
  E_QUEUE_FULL: 503,
  E_SHUTTING_DOWN: 503,
  E_DATASETS_DIR: 500,
};

const PHRASE: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Every other OpenKeyError reaching a route is a mistake in the request (E_EXPR_*, E_BAD_*, …). */
function statusOf(code: string): number {
  return STATUS[code] ?? 400;
}

function summary(d: Dataset) {
  const out: Record<string, unknown> = {
    id: d.id,
    title: d.title,
    entries: d.entries,
    files: d.files.map((f) => {
      const file: Record<string, unknown> = { name: f.name, size: f.size, entries: f.entries, tree: f.tree };
      if (f.labels) file.labels = f.labels;
      if (f.error) file.error = f.error;
      return file;
    }),
  };
  if (d.description !== undefined) out.description = d.description;
  if (d.licence !== undefined) out.licence = d.licence;
  if (d.tree !== undefined) out.tree = d.tree;
  return out;
}

function terminal(state: AnalysisView['state']): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 1 << 20,
    // Strict validation: unknown fields are errors (not dropped) and types are not coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
  });
  const store = new DatasetStore(resolve(options.datasets), options.exposeTruth ? { exposeTruth: true } : {});
  const workers = options.workers ?? availableParallelism();
  const pool = new WorkerPool({ size: workers, ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}) });
  const single = new AnalysisManager({
    store,
    pool,
    ...(options.maxActive === undefined ? {} : { maxActive: options.maxActive }),
    ...(options.maxQueued === undefined ? {} : { maxQueued: options.maxQueued }),
    ...(options.crashWorkerOnFile === undefined ? {} : { crashOnFile: options.crashWorkerOnFile }),
    ...(options.maxByFileCells === undefined ? {} : { maxByFileCells: options.maxByFileCells }),
  });
  // Requests over several datasets (data and simulation, normalised) are combined in samples.ts.
  const manager = new SampleAnalyses(single, store);
  app.decorate('analysis', { store, pool, manager: single });
  // Before the server stops accepting: the server's close waits for open requests, and SSE streams and ?wait=1
  // requests only end when their analysis does, so the analyses are cancelled first.
  app.addHook('preClose', async () => manager.close());
  app.addHook('onClose', async () => {
    manager.close();
    await pool.close();
  });

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
      status = statusOf(error.code);
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
    if (status === 503) reply.header('Retry-After', '5');
    const body: Record<string, unknown> = {
      statusCode: status,
      code,
      error: PHRASE[status] ?? 'Error',
      message: status === 500 ? `internal error: ${message}` : message,
    };
    if (hint !== undefined) body.hint = hint;
    return reply.code(status).send(body);
  });

  const errors = { 400: errorSchema, 404: errorSchema, 503: errorSchema };

  app.get(
    '/api/health',
    {
      schema: {
        querystring: noQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              version: { type: 'string' },
              workers: { type: 'integer' },
              analyses: {
                type: 'object',
                properties: { active: { type: 'integer' }, queued: { type: 'integer' } },
              },
            },
            required: ['status', 'version', 'workers'],
          },
        },
      },
    },
    async () => ({ status: 'ok', version: pkg.version, workers: pool.size, analyses: manager.counts }),
  );

  app.get(
    '/api/datasets',
    { schema: { querystring: noQuery, response: { 200: { type: 'array', items: datasetSummarySchema } } } },
    async () => (await store.list()).map(summary),
  );

  app.get<{ Params: { id: string } }>(
    '/api/datasets/:id',
    { schema: { params: idParams, querystring: noQuery, response: { 200: datasetDetailSchema, ...errors } } },
    async (request) => {
      const d = await store.get(request.params.id);
      const reference = d.files.find((f) => f.meta !== undefined)?.meta;
      const branches = (reference?.branches ?? []).map((b) => ({ name: b.name, type: b.type, isArray: b.isArray }));
      return { ...summary(d), branches };
    },
  );

  app.get(
    '/api/presets',
    { schema: { querystring: noQuery, response: { 200: { type: 'array', items: presetSchema } } } },
    async () => {
      const datasets = await store.list();
      return PRESETS.map((p) => {
        const matching = datasets
          .filter((d) => {
            const meta = d.files.find((f) => f.meta?.name === p.tree)?.meta;
            if (!meta) return false;
            const names = new Set(meta.branches.map((b) => b.name));
            return p.needs.every((n) => names.has(n));
          })
          .map((d) => d.id);
        const request: Record<string, unknown> = { ...p.request };
        if (matching[0] !== undefined) request.dataset = matching[0];
        const out: Record<string, unknown> = {
          id: p.id,
          title: p.title,
          description: p.description,
          schema: p.schema,
          datasets: matching,
          request,
        };
        if (p.samples) out.samples = presetSamples(p.samples, datasets, matching);
        return out;
      });
    },
  );

  app.post<{ Body: SamplesRequest; Querystring: { wait?: string } }>(
    '/api/analyses',
    {
      schema: {
        body: analysisRequestSchema,
        querystring: {
          type: 'object',
          properties: { wait: { type: 'string', enum: ['0', '1', 'true', 'false'] } },
          additionalProperties: false,
        },
        response: {
          200: analysisViewSchema,
          202: { type: 'object', properties: { id: { type: 'string' } } },
          ...errors,
        },
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

  const find = (id: string) => {
    const a = manager.get(id);
    if (a === undefined) {
      throw new OpenKeyError('E_UNKNOWN_ANALYSIS', `unknown analysis "${id}"`, {
        hint: 'analyses are kept in memory until the service restarts; POST /api/analyses starts a new one',
      });
    }
    return a;
  };

  app.get<{ Params: { id: string } }>(
    '/api/analyses/:id',
    { schema: { params: idParams, querystring: noQuery, response: { 200: analysisViewSchema, ...errors } } },
    async (request) => manager.view(find(request.params.id)),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/analyses/:id',
    { schema: { params: idParams, querystring: noQuery, response: { 200: analysisViewSchema, ...errors } } },
    async (request) => {
      const a = find(request.params.id);
      manager.cancel(a);
      return manager.view(a);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/analyses/:id/events',
    { schema: { params: idParams, querystring: noQuery } },
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
      const send = (event: string, data: unknown) => raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const progress = (v: AnalysisView) => ({ id: v.id, state: v.state, progress: v.progress });
      const view = manager.view(a);
      if (terminal(view.state)) {
        send('result', view);
        raw.end();
        return reply;
      }
      send('progress', progress(view));
      const unsubscribe = manager.subscribe(a, (v) => {
        if (terminal(v.state)) {
          send('result', v);
          raw.end();
          unsubscribe();
        } else {
          send('progress', progress(v));
        }
      });
      raw.on('close', unsubscribe);
      return reply;
    },
  );

  registerDataRoutes(app, store);

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      statusCode: 404,
      code: 'E_NOT_FOUND',
      error: 'Not Found',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
    });
  });

  if (options.apps !== undefined) {
    await app.register(fastifyStatic, {
      root: resolve(options.apps),
      prefix: '/',
      index: ['index.html'],
      wildcard: true,
    });
  }
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    analysis: { store: DatasetStore; pool: WorkerPool; manager: AnalysisManager };
  }
}
