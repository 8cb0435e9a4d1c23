/** GET /api/datasets, /api/datasets/:id (with the branches) and /api/presets (with the datasets they apply to). */
import type { FastifyPluginAsync } from 'fastify';
import {
  datasetDetailResponseSchema,
  datasetSummaryResponseSchema,
  errorSchema,
  idParamsSchema,
  noQuerySchema,
  presetSchema,
  type DatasetDetail,
  type DatasetSummary,
  type IdParams,
  type Preset,
} from '../api.ts';
import type { Dataset } from '../datasets.ts';
import { PRESETS } from '../presets.ts';
import { presetSamples } from '../samples.ts';
import type { ServiceParts } from './parts.ts';

function summary(d: Dataset): DatasetSummary {
  const out: DatasetSummary = {
    id: d.id,
    title: d.title,
    entries: d.entries,
    files: d.files.map((f) => {
      const file: DatasetSummary['files'][number] = { name: f.name, size: f.size, entries: f.entries, tree: f.tree };
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

export const datasetRoutes: FastifyPluginAsync<ServiceParts> = async (app, { store }) => {
  const errors = { 400: errorSchema, 404: errorSchema, 503: errorSchema };

  app.get(
    '/api/datasets',
    {
      schema: { querystring: noQuerySchema, response: { 200: { type: 'array', items: datasetSummaryResponseSchema } } },
    },
    async () => (await store.list()).map(summary),
  );

  app.get<{ Params: IdParams }>(
    '/api/datasets/:id',
    {
      schema: {
        params: idParamsSchema,
        querystring: noQuerySchema,
        response: { 200: datasetDetailResponseSchema, ...errors },
      },
    },
    async (request): Promise<DatasetDetail> => {
      const d = await store.get(request.params.id);
      const reference = d.files.find((f) => f.meta !== undefined)?.meta;
      const branches = (reference?.branches ?? []).map((b) => ({ name: b.name, type: b.type, isArray: b.isArray }));
      return { ...summary(d), branches };
    },
  );

  app.get(
    '/api/presets',
    { schema: { querystring: noQuerySchema, response: { 200: { type: 'array', items: presetSchema } } } },
    async (): Promise<Preset[]> => {
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
        const request: Preset['request'] = { ...p.request };
        if (matching[0] !== undefined) request.dataset = matching[0];
        const out: Preset = {
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
};
