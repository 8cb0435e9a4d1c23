/**
 * POST /api/columns: the selected events' branch values as a binary column stream (see ../columns.ts), for the
 * Python client (openkey.arrays) and notebooks. Bounded per request: too many entries or bytes is a 413 naming the
 * limit, before the answer is sent.
 */
import type { FastifyPluginAsync } from 'fastify';
import { columnsRequestSchema, noQuerySchema, type ColumnsRequest } from '../api.ts';
import { DEFAULT_COLUMNS_LIMITS, readColumns, type ColumnsLimits } from '../columns.ts';
import type { ServiceParts } from './parts.ts';

export const columnsRoutes: FastifyPluginAsync<ServiceParts & { columnsLimits?: ColumnsLimits }> = async (
  app,
  { store, columnsLimits },
) => {
  app.post<{ Body: ColumnsRequest }>(
    '/api/columns',
    { schema: { body: columnsRequestSchema, querystring: noQuerySchema } },
    async (request, reply) => {
      const dataset = await store.get(request.body.dataset);
      const stream = await readColumns(dataset, request.body, columnsLimits ?? DEFAULT_COLUMNS_LIMITS);
      return reply.type('application/octet-stream').header('cache-control', 'no-store').send(stream);
    },
  );
};
