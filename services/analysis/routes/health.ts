/** GET /api/health: the service is up, its version, its workers and how many analyses run and wait. */
import type { FastifyPluginAsync } from 'fastify';
import pkg from '../../../package.json' with { type: 'json' };
import { healthSchema, noQuerySchema, type Health } from '../api.ts';
import type { ServiceParts } from './parts.ts';

export const healthRoutes: FastifyPluginAsync<ServiceParts> = async (app, { pool, manager }) => {
  app.get(
    '/api/health',
    { schema: { querystring: noQuerySchema, response: { 200: healthSchema } } },
    async (): Promise<Health> => ({ status: 'ok', version: pkg.version, workers: pool.size, analyses: manager.counts }),
  );
};
