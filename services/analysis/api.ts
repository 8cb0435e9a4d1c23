/**
 * The HTTP contract of the analysis service, written once: the JSON schemas the routes validate and serialise with,
 * the TypeScript types derived from them, and the Server-Sent Events the server really sends. The apps import this
 * module (apps/shared/api.ts) and nothing else of the service, so it holds only plain data: no node:*, no Fastify.
 *
 * Types come from the schemas through json-schema-to-ts's FromSchema (compile time only, nothing lands in a bundle):
 * the schemas stay the plain JSON Schema objects that Fastify hands to ajv, so what is validated and what is typed
 * cannot drift apart. Extending the request (more datasets, samples) means adding a property to
 * `analysisRequestProperties`; the type follows.
 */
import type { FromSchema } from 'json-schema-to-ts';

// ---------------------------------------------------------------------------------------------------------------
// Requests

const expression = { type: 'string', minLength: 1, maxLength: 10_000 } as const;

/** The most bins one histogram may have. */
export const MAX_BINS = 100_000;
/** The most histograms one request may ask for. */
export const MAX_HISTOGRAMS = 32;
/**
 * The most bins one request may ask for over all its histograms: what one analysis may make the workers and the
 * result hold (each bin is two doubles per task in flight, per file and in the total).
 */
export const MAX_TOTAL_BINS = 1_000_000;

export const histogramRequestSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.+-]*$' },
    expr: expression,
    bins: { type: 'integer', minimum: 1, maximum: MAX_BINS },
    min: { type: 'number' },
    max: { type: 'number' },
  },
  required: ['name', 'expr', 'bins', 'min', 'max'],
  additionalProperties: false,
} as const;

/** The request's fields, apart so that a new field is one line here (and the preset's request follows). */
export const analysisRequestProperties = {
  /** One dataset, or several in `datasets` (data and simulation, combined in samples.ts); one of the two. */
  dataset: { type: 'string', minLength: 1, maxLength: 200 },
  datasets: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 200 }, minItems: 1, maxItems: 64 },
  /** fb⁻¹, for a request over `datasets`; checked above 0 in samples.ts with a clear message. */
  luminosity: { type: 'number' },
  tree: { type: 'string', minLength: 1, maxLength: 200 },
  files: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 300 }, minItems: 1, maxItems: 10_000 },
  selection: { type: 'string', maxLength: 10_000 },
  weight: { type: 'string', maxLength: 10_000 },
  histograms: { type: 'array', items: histogramRequestSchema, minItems: 1, maxItems: MAX_HISTOGRAMS },
  maxEntries: { type: 'integer', minimum: 1 },
} as const;

export const analysisRequestSchema = {
  type: 'object',
  properties: analysisRequestProperties,
  required: ['histograms'],
  additionalProperties: false,
} as const;

/** `?wait=1` on POST /api/analyses answers when the analysis has ended. */
export const submitQuerySchema = {
  type: 'object',
  properties: { wait: { type: 'string', enum: ['0', '1', 'true', 'false'] } },
  additionalProperties: false,
} as const;

export const idParamsSchema = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['id'],
  additionalProperties: false,
} as const;

export const noQuerySchema = { type: 'object', properties: {}, additionalProperties: false } as const;

export const dataParamsSchema = {
  type: 'object',
  properties: { dataset: { type: 'string' }, file: { type: 'string' } },
  required: ['dataset', 'file'],
  additionalProperties: false,
} as const;

/** JSROOT in a browser adds ?stamp=<time> against caching; nothing else is accepted on /data. */
export const dataQuerySchema = {
  type: 'object',
  properties: { stamp: { type: 'string', pattern: '^[0-9]{1,20}$' } },
  additionalProperties: false,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Responses

export const healthSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', const: 'ok' },
    version: { type: 'string' },
    workers: { type: 'integer' },
    analyses: {
      type: 'object',
      properties: { active: { type: 'integer' }, queued: { type: 'integer' } },
      required: ['active', 'queued'],
    },
  },
  required: ['status', 'version', 'workers'],
} as const;

/**
 * GET /api/jupyter: the key's notebook server as the portal needs it. `state` none: this service was told of no
 * status file or none was written yet (the server is starting, or the key has no Jupyter); starting: the status file
 * says it started but its port does not answer yet; stopped, failed: the unit is not running (the portal says so
 * instead of linking a dead server). The token (single) or the class password (hub) come only to a client that may
 * use them: one on the key itself, or any client when the server listens on the LAN.
 */
export const jupyterStateSchema = {
  type: 'object',
  properties: {
    state: { enum: ['none', 'starting', 'running', 'stopped', 'failed'] },
    mode: { enum: ['single', 'hub'] },
    port: { type: 'integer' },
    lan: { type: 'boolean' },
    token: { type: 'string' },
    classPassword: { type: 'string' },
  },
  required: ['state'],
  additionalProperties: false,
} as const;

/**
 * Per-file labels from dataset.json (cross-section in pb also as xsec; `truth` is not served). The teacher's file is
 * served as written, so the routes pass labels through (labelsPassThrough); this schema is what the apps may expect.
 */
export const labelsSchema = {
  type: 'object',
  properties: {
    sample: { type: 'string' },
    process: { type: 'string' },
    /** "data" or "simulation" (some datasets say "mc"). */
    kind: { type: 'string' },
    crossSection: { type: 'number' },
    xsec: { type: 'number' },
  },
  additionalProperties: true,
} as const;

const labelsPassThrough = { type: 'object', additionalProperties: true } as const;

function datasetSchemasWith<L extends object>(labels: L) {
  const file = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      size: { type: 'integer' },
      entries: { type: 'integer' },
      tree: { type: 'string' },
      labels,
      /** Why the file cannot be read, when it cannot. */
      error: { type: 'string' },
    },
    required: ['name', 'size', 'entries', 'tree'],
    additionalProperties: false,
  } as const;
  const properties = {
    id: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    licence: { type: 'string' },
    tree: { type: 'string' },
    entries: { type: 'integer' },
    files: { type: 'array', items: file },
  } as const;
  const summary = {
    type: 'object',
    properties,
    required: ['id', 'title', 'entries', 'files'],
    additionalProperties: false,
  } as const;
  const detail = {
    type: 'object',
    properties: { ...properties, branches: { type: 'array', items: branchSchema } },
    required: ['id', 'title', 'entries', 'files', 'branches'],
    additionalProperties: false,
  } as const;
  return { file, summary, detail };
}

export const branchSchema = {
  type: 'object',
  properties: { name: { type: 'string' }, type: { type: 'string' }, isArray: { type: 'boolean' } },
  required: ['name', 'type', 'isArray'],
  additionalProperties: false,
} as const;

const datasetSchemas = datasetSchemasWith(labelsSchema);
const datasetResponses = datasetSchemasWith(labelsPassThrough);
export const datasetFileSchema = datasetSchemas.file;
export const datasetSummarySchema = datasetSchemas.summary;
export const datasetDetailSchema = datasetSchemas.detail;
/** What the routes serialise datasets with (labels as they are). */
export const datasetSummaryResponseSchema = datasetResponses.summary;
export const datasetDetailResponseSchema = datasetResponses.detail;

/**
 * A ROOT TH1D as JSON, in the layout of jsroot's createHistogram('TH1D'), so JSROOT draws it as it is: the fields
 * the apps read are typed, the rest of jsroot's object passes through.
 */
export const th1dSchema = {
  type: 'object',
  properties: {
    _typename: { type: 'string', const: 'TH1D' },
    fName: { type: 'string' },
    fTitle: { type: 'string' },
    fNcells: { type: 'integer' },
    fXaxis: {
      type: 'object',
      properties: {
        _typename: { type: 'string', const: 'TAxis' },
        fNbins: { type: 'integer' },
        fXmin: { type: 'number' },
        fXmax: { type: 'number' },
        fTitle: { type: 'string' },
      },
      required: ['_typename', 'fNbins', 'fXmin', 'fXmax', 'fTitle'],
      additionalProperties: true,
    },
    /** fNbins + 2 sums of weights: underflow, the bins, overflow. */
    fArray: { type: 'array', items: { type: 'number' } },
    /** Sums of squared weights, same layout. */
    fSumw2: { type: 'array', items: { type: 'number' } },
    fEntries: { type: 'number' },
    fTsumw: { type: 'number' },
    fTsumw2: { type: 'number' },
    fTsumwx: { type: 'number' },
    fTsumwx2: { type: 'number' },
  },
  required: [
    '_typename',
    'fName',
    'fTitle',
    'fNcells',
    'fXaxis',
    'fArray',
    'fSumw2',
    'fEntries',
    'fTsumw',
    'fTsumw2',
    'fTsumwx',
    'fTsumwx2',
  ],
  additionalProperties: true,
} as const;

/**
 * What the routes serialise a TH1D with: as it is (JSON.stringify). A NaN weight gives NaN sums, which
 * JSON.stringify writes as null where a typed schema's serialiser would throw; th1dSchema is what it must match.
 */
const th1dPassThrough = { type: 'object', additionalProperties: true } as const;

/**
 * An error's facts as data (field, column, closest names, limits …: common/errors.ts ErrorParams), so a client can
 * say it in its user's language; `message` says the same in English.
 */
const errorParamsSchema = {
  type: 'object',
  additionalProperties: { type: ['string', 'number'] },
} as const;

function resultSchemaWith<H extends object>(histogram: H) {
  const map = { type: 'object', additionalProperties: histogram } as const;
  return {
    type: 'object',
    properties: {
      entries: { type: 'integer' },
      /** Events with a non-zero selection × weight; for a per-element selection, events with one such element. */
      selected: { type: 'integer' },
      seconds: { type: 'number' },
      /** True when the result came from the cache. */
      cached: { type: 'boolean' },
      /** Compressed bytes read from disk. */
      bytesRead: { type: 'integer' },
      histograms: map,
      byFile: { type: 'object', additionalProperties: map },
      /** Set when there were too many bins in all to give per-file histograms. */
      byFileOmitted: { type: 'boolean' },
      /** For a request over `datasets`: the luminosity simulation was scaled to, the samples, what the plot must say. */
      luminosityFb: { type: 'number' },
      warnings: { type: 'array', items: { type: 'string' } },
      /** The warnings as codes with params (common/errors.ts NOTICES), for a client that translates them. */
      notices: {
        type: 'array',
        items: {
          type: 'object',
          properties: { code: { type: 'string' }, params: errorParamsSchema },
          required: ['code', 'params'],
          additionalProperties: false,
        },
      },
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
            histograms: map,
          },
          required: ['dataset', 'file', 'sample', 'process', 'role', 'signal', 'scale', 'normalised', 'histograms'],
          additionalProperties: false,
        },
      },
    },
    required: ['entries', 'selected', 'seconds', 'cached', 'bytesRead', 'histograms', 'byFile'],
    additionalProperties: false,
  } as const;
}

export const analysisStates = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;

const progressSchema = {
  type: 'object',
  properties: { entriesDone: { type: 'integer' }, entriesTotal: { type: 'integer' } },
  required: ['entriesDone', 'entriesTotal'],
  additionalProperties: false,
} as const;

const analysisErrorSchema = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' }, params: errorParamsSchema },
  required: ['code', 'message'],
  additionalProperties: false,
} as const;

function analysisViewSchemaWith<H extends object>(histogram: H) {
  return {
    type: 'object',
    properties: {
      id: { type: 'string' },
      state: { type: 'string', enum: analysisStates },
      progress: progressSchema,
      error: analysisErrorSchema,
      result: resultSchemaWith(histogram),
    },
    required: ['id', 'state', 'progress'],
    additionalProperties: false,
  } as const;
}

/** The full contract of an analysis, histograms included (what tests validate answers against). */
export const analysisViewSchema = analysisViewSchemaWith(th1dSchema);
/** The same for the routes' serialiser (histograms passed through as they are, see th1dPassThrough). */
export const analysisViewResponseSchema = analysisViewSchemaWith(th1dPassThrough);

export const submittedSchema = {
  type: 'object',
  properties: { id: { type: 'string' } },
  required: ['id'],
  additionalProperties: false,
} as const;

export const errorSchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' },
    hint: { type: 'string' },
    params: errorParamsSchema,
  },
  required: ['statusCode', 'code', 'error', 'message'],
  additionalProperties: false,
} as const;

export const presetSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    /** Which tree and release the preset is written for. */
    schema: { type: 'string' },
    /** The datasets whose tree has every branch the preset reads. */
    datasets: { type: 'array', items: { type: 'string' } },
    /** The datasets holding its samples: `main` (its first simulation process, which opens it), data, simulation. */
    samples: {
      type: 'object',
      properties: {
        main: { type: 'array', items: { type: 'string' } },
        data: { type: 'array', items: { type: 'string' } },
        simulation: { type: 'array', items: { type: 'string' } },
      },
      required: ['main', 'data', 'simulation'],
      additionalProperties: false,
    },
    /** A request body; `dataset` is the first matching dataset, when there is one. */
    request: {
      type: 'object',
      properties: analysisRequestProperties,
      required: ['histograms'],
      additionalProperties: false,
    },
  },
  required: ['id', 'title', 'description', 'schema', 'datasets', 'request'],
  additionalProperties: false,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Server-Sent Events of GET /api/analyses/:id/events

export const progressEventSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, state: { type: 'string', enum: analysisStates }, progress: progressSchema },
  required: ['id', 'state', 'progress'],
  additionalProperties: false,
} as const;

/**
 * The events the server sends, in order: `progress` at once and then at most every 100 ms while the analysis runs,
 * then one `result` (the analysis as GET /api/analyses/:id answers it, in any end state), and the stream ends.
 * A client that does not read its stream is dropped (the connection closed); it can GET the analysis instead.
 */
/** POST /api/columns: branches of the events passing a selection, answered as a binary column stream. */
export const columnsRequestSchema = {
  type: 'object',
  properties: {
    dataset: { type: 'string', minLength: 1, maxLength: 200 },
    columns: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 200 }, minItems: 1, maxItems: 64 },
    selection: { type: 'string', maxLength: 10_000 },
    entryStart: { type: 'integer', minimum: 0 },
    entryStop: { type: 'integer', minimum: 0 },
    files: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 300 }, minItems: 1, maxItems: 10_000 },
  },
  required: ['dataset', 'columns'],
  additionalProperties: false,
} as const;

export const ANALYSIS_EVENTS = ['progress', 'result'] as const;

// ---------------------------------------------------------------------------------------------------------------
// Types

export type HistogramRequest = FromSchema<typeof histogramRequestSchema>;
/** The body of POST /api/analyses: one dataset, or several (`datasets`). */
export type AnalysisRequest = FromSchema<typeof analysisRequestSchema>;
/** A request over one dataset, as the analysis manager runs it. */
export type DatasetRequest = Omit<AnalysisRequest, 'dataset' | 'datasets' | 'luminosity'> & { dataset: string };
export type SubmitQuery = FromSchema<typeof submitQuerySchema>;
export type IdParams = FromSchema<typeof idParamsSchema>;
export type DataParams = FromSchema<typeof dataParamsSchema>;
export type Health = FromSchema<typeof healthSchema>;
export type JupyterState = FromSchema<typeof jupyterStateSchema>;
export type FileLabels = FromSchema<typeof labelsSchema>;
export type DatasetFile = FromSchema<typeof datasetFileSchema>;
export type DatasetSummary = FromSchema<typeof datasetSummarySchema>;
export type Branch = FromSchema<typeof branchSchema>;
export type DatasetDetail = FromSchema<typeof datasetDetailSchema>;
export type TH1DJson = FromSchema<typeof th1dSchema>;
export type AnalysisState = (typeof analysisStates)[number];
export type AnalysisView = FromSchema<typeof analysisViewSchema>;
export type AnalysisResult = NonNullable<AnalysisView['result']>;
export type AnalysisError = NonNullable<AnalysisView['error']>;
export type SampleResult = NonNullable<AnalysisResult['samples']>[number];
export type Submitted = FromSchema<typeof submittedSchema>;
export type ApiErrorBody = FromSchema<typeof errorSchema>;
export type Preset = FromSchema<typeof presetSchema>;
export type ProgressEvent = FromSchema<typeof progressEventSchema>;
export type ColumnsRequest = FromSchema<typeof columnsRequestSchema>;
export type AnalysisEventName = (typeof ANALYSIS_EVENTS)[number];
/** The data of each event, by name. */
export interface AnalysisEvents {
  progress: ProgressEvent;
  result: AnalysisView;
}

export function isTerminal(state: AnalysisState): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}
