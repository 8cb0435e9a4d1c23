/**
 * The analysis service's HTTP API as the apps consume it. Every type and event name comes from the service's one
 * contract (services/analysis/api.ts: plain data and types, nothing else of the service). Browser code: fetch and
 * EventSource only, no node:*.
 */
import {
  ANALYSIS_EVENTS,
  type AnalysisEvents,
  type AnalysisRequest,
  type AnalysisView,
  type Health,
  type JupyterState,
  type DatasetSummary,
  type DatasetDetail,
  type HistogramRequest,
  type Preset as ServicePreset,
  type SampleResult,
  type TH1DJson as ServiceTH1D,
} from '../../services/analysis/api.ts';

export { ANALYSIS_EVENTS, isTerminal } from '../../services/analysis/api.ts';
export type {
  AnalysisEvents,
  AnalysisRequest,
  AnalysisResult,
  AnalysisState,
  Branch,
  DatasetDetail,
  DatasetFile,
  DatasetSummary,
  FileLabels,
  Health,
  JupyterState,
  ProgressEvent,
} from '../../services/analysis/api.ts';

export type HistogramSpec = HistogramRequest;

/**
 * A TH1D as the apps read it: the contract's fields they need; the others may be absent (a histogram that JSROOT
 * read from a file, or one the apps build themselves).
 */
export type TH1DJson = Pick<ServiceTH1D, '_typename' | 'fArray' | 'fEntries'> &
  Partial<Pick<ServiceTH1D, 'fName' | 'fTitle' | 'fSumw2'>> & {
    fXaxis: Pick<ServiceTH1D['fXaxis'], 'fNbins' | 'fXmin' | 'fXmax'> & Partial<Pick<ServiceTH1D['fXaxis'], 'fTitle'>>;
  };

/** An analysis as GET /api/analyses/:id answers it. */
export type Analysis = AnalysisView;

/**
 * A preset as the apps use it: the service's, read leniently (normalisePresets), so only id, title and the request
 * are sure to be there.
 */
export type Preset = Pick<ServicePreset, 'id' | 'title'> &
  Partial<Pick<ServicePreset, 'description' | 'datasets' | 'samples'>> & { request: ServicePreset['request'] };

/** One sample of a request over several datasets, already scaled (services/analysis/samples.ts). */
export type SampleJson = Omit<SampleResult, 'histograms'> & { histograms: Record<string, TH1DJson> };

export class ApiError extends Error {
  readonly status: number;
  /** The service's stable error code (E_UNKNOWN_BRANCH …), which the apps translate (shared/errors.ts). */
  readonly code: string | undefined;
  /** The error's facts (field, column, suggestions, limit …) for the translated sentence. */
  readonly params: Record<string, string | number>;
  constructor(status: number, message: string, code?: string, params: Record<string, string | number> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.params = params;
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
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url(path), init);
      text = await response.text();
    } catch (error) {
      // fetch rejects only when no answer came: the service or the network is down (E_NETWORK, the apps' own code).
      throw new ApiError(0, `cannot reach the service: ${(error as Error).message}`, 'E_NETWORK');
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    if (!response.ok) {
      const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      const params: Record<string, string | number> = {};
      if (typeof fields.params === 'object' && fields.params !== null)
        for (const [k, v] of Object.entries(fields.params))
          if (typeof v === 'string' || typeof v === 'number') params[k] = v;
      // An answer without our code (a proxy's 502, a captive portal's page) is E_HTTP with its status.
      const code = typeof fields.code === 'string' ? fields.code : 'E_HTTP';
      if (code === 'E_HTTP') params.status = response.status;
      throw new ApiError(
        response.status,
        errorMessage(body) ?? `${response.status} ${response.statusText}`,
        code,
        params,
      );
    }
    return body as T;
  }

  health(): Promise<Health> {
    return this.json('api/health');
  }

  /** The key's notebook server: running, starting, stopped or failed, with this boot's token or class password. */
  jupyter(): Promise<JupyterState> {
    return this.json('api/jupyter');
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

  /** Submits and waits for the end (POST ?wait=1): the linked view's many small analyses. */
  run(request: AnalysisRequest): Promise<Analysis> {
    return this.json('api/analyses?wait=1', {
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

  /**
   * Follows an analysis's Server-Sent Events: the handler of each event the service sends (ANALYSIS_EVENTS, no
   * other). The stream ends after `result`; on an error the source is closed (EventSource would reconnect) and
   * `onClosed` runs. Returns the source, undefined where the browser has no EventSource.
   */
  follow(
    id: string,
    handlers: { [E in keyof AnalysisEvents]: (data: AnalysisEvents[E]) => void } & { onClosed?: () => void },
  ): EventSource | undefined {
    if (typeof EventSource !== 'function') return undefined;
    const source = new EventSource(this.eventsUrl(id));
    for (const name of ANALYSIS_EVENTS) {
      source.addEventListener(name, (event) => {
        let data: unknown;
        try {
          data = JSON.parse((event as MessageEvent<string>).data);
        } catch {
          return;
        }
        if (typeof data !== 'object' || data === null) return;
        if (name === 'result') source.close();
        (handlers[name] as (d: unknown) => void)(data);
      });
    }
    source.onerror = () => {
      source.close();
      handlers.onClosed?.();
    };
    return source;
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
    const ids = (v: unknown) => (Array.isArray(v) ? v.filter((d): d is string => typeof d === 'string') : []);
    if (typeof p.samples === 'object' && p.samples !== null) {
      const s = p.samples as Record<string, unknown>;
      preset.samples = { main: ids(s.main), data: ids(s.data), simulation: ids(s.simulation) };
    }
    presets.push(preset);
  }
  return presets;
}
