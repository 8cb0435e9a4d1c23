/** JSON schemas of the HTTP API: every route declares its request and response; unknown fields are a 400. */

const expression = { type: 'string', minLength: 1, maxLength: 10_000 } as const;

export const histogramSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.+-]*$' },
    expr: expression,
    bins: { type: 'integer', minimum: 1, maximum: 100_000 },
    min: { type: 'number' },
    max: { type: 'number' },
  },
  required: ['name', 'expr', 'bins', 'min', 'max'],
  additionalProperties: false,
} as const;

export const analysisRequestSchema = {
  type: 'object',
  properties: {
    dataset: { type: 'string', minLength: 1, maxLength: 200 },
    datasets: {
      type: 'array',
      items: { type: 'string', minLength: 1, maxLength: 200 },
      minItems: 1,
      maxItems: 64,
    },
    /** fb⁻¹, for a request over `datasets`; checked above 0 in samples.ts with a clear message. */
    luminosity: { type: 'number' },
    tree: { type: 'string', minLength: 1, maxLength: 200 },
    files: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 300 }, minItems: 1, maxItems: 10_000 },
    selection: { type: 'string', maxLength: 10_000 },
    weight: { type: 'string', maxLength: 10_000 },
    histograms: { type: 'array', items: histogramSchema, minItems: 1, maxItems: 32 },
    maxEntries: { type: 'integer', minimum: 1 },
  },
  required: ['histograms'],
  additionalProperties: false,
} as const;

const labels = { type: 'object', additionalProperties: true } as const;

const fileSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    size: { type: 'integer' },
    entries: { type: 'integer' },
    tree: { type: 'string' },
    labels,
    error: { type: 'string' },
  },
  required: ['name', 'size', 'entries', 'tree'],
} as const;

const datasetProperties = {
  id: { type: 'string' },
  title: { type: 'string' },
  description: { type: 'string' },
  licence: { type: 'string' },
  tree: { type: 'string' },
  entries: { type: 'integer' },
  files: { type: 'array', items: fileSchema },
} as const;

export const datasetSummarySchema = {
  type: 'object',
  properties: datasetProperties,
  required: ['id', 'title', 'entries', 'files'],
} as const;

export const datasetDetailSchema = {
  type: 'object',
  properties: {
    ...datasetProperties,
    branches: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, type: { type: 'string' }, isArray: { type: 'boolean' } },
        required: ['name', 'type', 'isArray'],
      },
    },
  },
  required: ['id', 'title', 'entries', 'files', 'branches'],
} as const;

const th1Map = { type: 'object', additionalProperties: { type: 'object', additionalProperties: true } } as const;

export const analysisViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    state: { type: 'string', enum: ['queued', 'running', 'done', 'failed', 'cancelled'] },
    progress: {
      type: 'object',
      properties: { entriesDone: { type: 'integer' }, entriesTotal: { type: 'integer' } },
      required: ['entriesDone', 'entriesTotal'],
    },
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
    result: {
      type: 'object',
      properties: {
        entries: { type: 'integer' },
        selected: { type: 'integer' },
        seconds: { type: 'number' },
        cached: { type: 'boolean' },
        bytesRead: { type: 'integer' },
        histograms: th1Map,
        byFile: { type: 'object', additionalProperties: th1Map },
        byFileOmitted: { type: 'boolean' },
        luminosityFb: { type: 'number' },
        warnings: { type: 'array', items: { type: 'string' } },
        samples: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              dataset: { type: 'string' },
              file: { type: 'string' },
              sample: { type: 'string' },
              process: { type: 'string' },
              role: { type: 'string', enum: ['data', 'simulation'] },
              signal: { type: 'boolean' },
              scale: { type: 'number' },
              normalised: { type: 'boolean' },
              histograms: th1Map,
            },
            required: ['dataset', 'file', 'sample', 'process', 'role', 'signal', 'scale', 'normalised', 'histograms'],
          },
        },
      },
      required: ['entries', 'selected', 'seconds', 'histograms', 'byFile'],
    },
  },
  required: ['id', 'state', 'progress'],
} as const;

export const errorSchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' },
    hint: { type: 'string' },
  },
  required: ['statusCode', 'code', 'error', 'message'],
} as const;

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['id'],
  additionalProperties: false,
} as const;

export const noQuery = { type: 'object', properties: {}, additionalProperties: false } as const;

export const presetSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    schema: { type: 'string' },
    datasets: { type: 'array', items: { type: 'string' } },
    samples: {
      type: 'object',
      properties: {
        main: { type: 'array', items: { type: 'string' } },
        data: { type: 'array', items: { type: 'string' } },
        simulation: { type: 'array', items: { type: 'string' } },
      },
      required: ['main', 'data', 'simulation'],
    },
    request: {
      type: 'object',
      properties: { ...analysisRequestSchema.properties },
      required: ['histograms'],
    },
  },
  required: ['id', 'title', 'description', 'schema', 'datasets', 'request'],
} as const;
