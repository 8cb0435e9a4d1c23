/** The analysis service's HTTP API (issue 4), as the apps consume it. Browser code: fetch only, no node:*. */

export interface Health {
  status: 'ok';
  version: string;
  workers: number;
}

/** Per-file labels from the dataset's dataset.json; every field is optional. */
export interface FileLabels {
  sample?: string;
  process?: string;
  /** "data" or "simulation" (some datasets say "mc"). */
  kind?: string;
  /** Cross-section in pb, when the dataset gives one. */
  xsec?: number;
  [key: string]: unknown;
}

export interface DatasetFile {
  name: string;
  size: number;
  entries: number;
  tree: string;
  labels?: FileLabels;
}

export interface DatasetSummary {
  id: string;
  title: string;
  entries: number;
  files: DatasetFile[];
  description?: string;
  licence?: string;
}

export interface Branch {
  name: string;
  type: string;
  isArray: boolean;
}

export interface DatasetDetail extends DatasetSummary {
  branches: Branch[];
}

// The request is the service's own type: one definition for both ends of the API (type-only, erased in the bundle).
import type { AnalysisRequest, HistogramRequest as HistogramSpec } from '../../services/analysis/analyses.ts';
export type { AnalysisRequest, HistogramSpec };

/** The JSON of a ROOT TH1D as JSROOT draws it; only the fields the apps read. */
export interface TH1DJson {
  _typename: string;
  fName?: string;
  fTitle?: string;
  fXaxis: { fNbins: number; fXmin: number; fXmax: number; fTitle?: string };
  /** fNbins + 2 values: underflow, the bins, overflow. */
  fArray: number[];
  /** Sum of squared weights per bin (same layout), empty when unweighted. */
  fSumw2?: number[];
  fEntries: number;
}

export interface AnalysisResult {
  entries: number;
  selected: number;
  seconds: number;
  histograms: Record<string, TH1DJson>;
  byFile: Record<string, Record<string, TH1DJson>>;
}

export type AnalysisState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Analysis {
  id: string;
  state: AnalysisState;
  progress: { entriesDone: number; entriesTotal: number };
  error?: string | { code?: string; message: string };
  result?: AnalysisResult;
}

/** A named analysis for a known schema; `request` is a request body the user may edit. */
export interface Preset {
  id: string;
  title: string;
  description?: string;
  /** The datasets the service found this preset applies to (their tree has every branch it reads). */
  datasets?: string[];
  request: Omit<AnalysisRequest, 'dataset'> & { dataset?: string };
}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** A client for the service whose root (where /api and /data live) is `root`, an absolute URL ending in '/'. */
export class Api {
  readonly root: URL;

  constructor(root: URL) {
    this.root = root;
  }

  url(path: string): string {
    return new URL(path, this.root).href;
  }

  async json<T>(path: string, init?: RequestInit): Promise<T> {
    const response = await fetch(this.url(path), init);
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    if (!response.ok)
      throw new ApiError(response.status, errorMessage(body) ?? `${response.status} ${response.statusText}`);
    return body as T;
  }

  health(): Promise<Health> {
    return this.json('api/health');
  }

  datasets(): Promise<DatasetSummary[]> {
    return this.json('api/datasets');
  }

  dataset(id: string): Promise<DatasetDetail> {
    return this.json(`api/datasets/${encodeURIComponent(id)}`);
  }

  async presets(): Promise<Preset[]> {
    return normalisePresets(await this.json<unknown>('api/presets'));
  }

  submit(request: AnalysisRequest): Promise<{ id: string }> {
    return this.json('api/analyses', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  }

  analysis(id: string): Promise<Analysis> {
    return this.json(`api/analyses/${encodeURIComponent(id)}`);
  }

  async cancel(id: string): Promise<void> {
    await fetch(this.url(`api/analyses/${encodeURIComponent(id)}`), { method: 'DELETE' });
  }

  eventsUrl(id: string): string {
    return this.url(`api/analyses/${encodeURIComponent(id)}/events`);
  }

  dataUrl(dataset: string, file: string): string {
    return this.url(`data/${encodeURIComponent(dataset)}/${encodeURIComponent(file)}`);
  }
}

export function errorMessage(body: unknown): string | undefined {
  if (typeof body === 'string' && body !== '') return body;
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const message = typeof b.message === 'string' ? b.message : undefined;
  const hint = typeof b.hint === 'string' ? ` (${b.hint})` : '';
  if (message !== undefined) return message + hint;
  if (typeof b.error === 'string') return b.error;
  if (typeof b.error === 'object' && b.error !== null) return errorMessage(b.error);
  return undefined;
}

/** Accepts presets as an array or as an object keyed by id, with the request inline or under `request`. */
export function normalisePresets(body: unknown): Preset[] {
  const items: [string | undefined, unknown][] = Array.isArray(body)
    ? body.map((p) => [undefined, p])
    : typeof body === 'object' && body !== null
      ? Object.entries((body as Record<string, unknown>).presets ?? body)
      : [];
  const presets: Preset[] = [];
  for (const [key, item] of items) {
    if (typeof item !== 'object' || item === null) continue;
    const p = item as Record<string, unknown>;
    const id = typeof p.id === 'string' ? p.id : typeof p.name === 'string' ? p.name : key;
    const request = (typeof p.request === 'object' && p.request !== null ? p.request : p) as Record<string, unknown>;
    if (id === undefined || !Array.isArray(request.histograms)) continue;
    const body: Preset['request'] = { histograms: request.histograms as HistogramSpec[] };
    for (const field of ['dataset', 'tree', 'selection', 'weight'] as const) {
      const v = request[field];
      if (typeof v === 'string') body[field] = v;
    }
    if (body.tree === undefined && typeof p.tree === 'string') body.tree = p.tree;
    if (Array.isArray(request.files)) body.files = request.files as string[];
    if (typeof request.maxEntries === 'number') body.maxEntries = request.maxEntries;
    const preset: Preset = { id, title: typeof p.title === 'string' ? p.title : id, request: body };
    if (typeof p.description === 'string') preset.description = p.description;
    if (Array.isArray(p.datasets)) preset.datasets = p.datasets.filter((d): d is string => typeof d === 'string');
    presets.push(preset);
  }
  return presets;
}
