/**
 * The analysis service as a Fastify factory: buildApp(options) returns an app that tests drive with inject() and
 * server.ts makes listen. The routes are plugins (routes/), their schemas and types the contract (api.ts). The worker
 * pool and the analyses close with the app.
 */
import { availableParallelism } from 'node:os';
import { realpathSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { AnalysisManager } from './analyses/manager.ts';
import { DatasetStore } from './datasets.ts';
import { WorkerPool } from './pool/pool.ts';
import type { ColumnsLimits } from './columns.ts';
import { analysisRoutes } from './routes/analyses.ts';
import { columnsRoutes } from './routes/columns.ts';
import { archiveRoutes } from './routes/archives.ts';
import { dataRoutes } from './routes/data.ts';
import { datasetRoutes } from './routes/datasets.ts';
import { installErrorHandlers } from './routes/errors.ts';
import { healthRoutes } from './routes/health.ts';
import { jupyterRoutes } from './routes/jupyter.ts';
import type { ServiceParts } from './routes/parts.ts';
import { SampleAnalyses } from './samples.ts';

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
  /** Per-file histograms are left out beyond this many bins in all (default 200 k). */
  maxByFileCells?: number;
  /** Analyses one client address may have running or waiting (default 4); beyond, 429 E_CLIENT_BUSY. */
  maxPerClient?: number;
  /** Memory budgets: cached results (128 MiB) and the results of finished analyses kept for GET (256 MiB). */
  cacheBytes?: number;
  keepBytes?: number;
  /** The column cache's budget in bytes: decoded baskets kept between analyses (default a quarter of RAM; 0 off). */
  columnCacheBytes?: number;
  /** An event stream whose client has not read for this long is dropped (default 15 s). */
  sseStallMs?: number;
  /** The workers' nice value (default 10; benchmarks give 0 to compare at one priority, see PoolOptions.nice). */
  workerNice?: number;
  /** The pool's worker entry (tests run stand-in workers, for fault injection among others). */
  workerUrl?: URL;
  /** Bounds of POST /api/columns (entries scanned, bytes answered). */
  columnsLimits?: ColumnsLimits;
  /** The notebook server's status file (routes/jupyter.ts); the key's entry gives /run/openkey/jupyter.json. */
  jupyterStatus?: string;
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
  const pool = new WorkerPool({
    size: workers,
    ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}),
    ...(options.workerNice === undefined ? {} : { nice: options.workerNice }),
  });
  const single = new AnalysisManager({
    store,
    pool,
    ...(options.maxActive === undefined ? {} : { maxActive: options.maxActive }),
    ...(options.maxQueued === undefined ? {} : { maxQueued: options.maxQueued }),
    ...(options.maxByFileCells === undefined ? {} : { maxByFileCells: options.maxByFileCells }),
    ...(options.cacheBytes === undefined ? {} : { cacheBytes: options.cacheBytes }),
    ...(options.keepBytes === undefined ? {} : { keepBytes: options.keepBytes }),
    ...(options.columnCacheBytes === undefined ? {} : { columnCacheBytes: options.columnCacheBytes }),
  });
  // Requests over several datasets (data and simulation, normalised) are combined in samples.ts.
  const manager = new SampleAnalyses(single, store);
  const parts: ServiceParts = {
    store,
    pool,
    manager: single,
    analyses: manager,
    limits: { maxPerClient: options.maxPerClient ?? 4, sseStallMs: options.sseStallMs ?? 15_000 },
    streams: { open: 0, dropped: 0 },
    // Eagerly, so the first analysis pays neither the workers' start nor the files' metadata (issue 13).
    // The file tables go to the workers as well, so the first analysis's tasks carry none.
    ready: Promise.all([
      pool.ready(),
      store
        .list()
        .then((datasets) => single.prime(datasets))
        .catch(() => undefined),
    ]).then(() => undefined),
  };
  app.decorate('analysis', parts);
  // Before the server stops accepting: the server's close waits for open requests, and SSE streams and ?wait=1
  // requests only end when their analysis does, so the analyses are cancelled first.
  app.addHook('preClose', async () => manager.close());
  app.addHook('onClose', async () => {
    manager.close();
    await pool.close();
  });

  installErrorHandlers(app);
  await app.register(healthRoutes, parts);
  await app.register(
    jupyterRoutes,
    options.jupyterStatus === undefined ? {} : { jupyterStatus: options.jupyterStatus },
  );
  await app.register(datasetRoutes, parts);
  await app.register(analysisRoutes, parts);
  await app.register(dataRoutes, parts);
  await app.register(columnsRoutes, {
    ...parts,
    ...(options.columnsLimits === undefined ? {} : { columnsLimits: options.columnsLimits }),
  });
  await app.register(archiveRoutes, { ...parts, ...(options.apps === undefined ? {} : { apps: options.apps }) });

  if (options.apps !== undefined) {
    const root = resolve(options.apps);
    const realRoot = realpathSync(root);
    await app.register(fastifyStatic, {
      root,
      prefix: '/',
      index: ['index.html'],
      wildcard: true,
      // Nothing outside the apps folder, even through a symlink: a path whose real place is elsewhere is a 404.
      allowedPath: (path) => {
        try {
          const real = realpathSync(join(root, path));
          return real === realRoot || real.startsWith(realRoot + sep);
        } catch {
          return true; // does not exist: @fastify/static answers the 404
        }
      },
    });
  }
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    analysis: ServiceParts;
  }
}
