/**
 * Analyses over several samples: one request names `datasets: [id, …]` (data and simulation); each file's role,
 * process and normalisation come from its dataset.json labels, simulation is scaled by
 *   crossSectionPb × kFactor × filterEfficiency × luminosity (pb⁻¹) / sumOfWeights,
 * and the result lists every sample's histograms with its role, process and the scale applied.
 *
 * It runs as one single-dataset analysis per (dataset, subsample selection) on the AnalysisManager, so the
 * planning, the pool, the cache and the limits stay in one place; this module only splits, scales and adds.
 */
import { randomUUID } from 'node:crypto';
import { OpenKeyError, type ErrorParams, type NoticeCode } from '../../common/errors.ts';
import type { AnalysisManager } from './analyses/manager.ts';
import type { AnalysisResult, AnalysisState, AnalysisView, DatasetRequest as AnalysisRequest } from './api.ts';
import type { Dataset, DatasetStore, FileInfo, FileLabels } from './datasets.ts';
import type { TH1D } from './histogram.ts';

export type SampleRole = 'data' | 'simulation';

/** What a request over several samples may add to a single-dataset request. */
export interface SamplesRequest extends Omit<AnalysisRequest, 'dataset'> {
  dataset?: string;
  datasets?: string[];
  /** fb⁻¹; without it, the luminosity the data files state. */
  luminosity?: number;
}

/** One sample of the result: a file (or the part of it a subsample selection keeps), already scaled. */
export interface SampleResult {
  dataset: string;
  file: string;
  sample: string;
  process: string;
  role: SampleRole;
  /** The signal of S/√B (labelled `signal: true`); the other simulation samples are background. */
  signal: boolean;
  /** The factor the histograms were multiplied by (1 for data, and for simulation left unnormalised). */
  scale: number;
  normalised: boolean;
  histograms: Record<string, TH1D>;
}

export interface SamplesResult extends AnalysisResult {
  luminosityFb?: number;
  samples: SampleResult[];
  /** Things the plot must say: a simulation sample drawn unnormalised, no luminosity known. */
  warnings: string[];
  /** The same as codes with params (common/errors.ts NOTICES), for a client that says them in its language. */
  notices: { code: NoticeCode; params: ErrorParams }[];
}

/** A part of the work: the files of one dataset, with the extra selection of a subsample (or none). */
export interface SamplePart {
  dataset: string;
  file: string;
  sample: string;
  process: string;
  role: SampleRole;
  signal: boolean;
  selection?: string;
  /** Cross-section × k-factor × filter efficiency / Σ weights, in pb; undefined when the labels lack one. */
  perLuminosity?: number;
  missing?: string[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** data, or simulation, from `role` (or the older `kind`, or a file name starting with "data"). */
export function roleOf(name: string, labels: FileLabels | undefined): SampleRole {
  const role = (str(labels?.role) ?? str(labels?.kind) ?? '').toLowerCase();
  if (role === 'data') return 'data';
  if (role !== '') return 'simulation';
  return /^data/i.test(name) ? 'data' : 'simulation';
}

/** Cross-section × k × ε / Σw in pb, or the names of the labels that are missing or not positive. */
export function perLuminosity(labels: Record<string, unknown> | undefined): { value?: number; missing: string[] } {
  const xs = num(labels?.crossSectionPb) ?? num(labels?.crossSection) ?? num(labels?.xsec);
  const k = labels?.kFactor === undefined ? 1 : num(labels.kFactor);
  const eff = labels?.filterEfficiency === undefined ? 1 : num(labels.filterEfficiency);
  const sumw = num(labels?.sumOfWeights);
  const missing: string[] = [];
  if (xs === undefined || xs < 0) missing.push('crossSectionPb');
  if (k === undefined || k <= 0) missing.push('kFactor');
  if (eff === undefined || eff <= 0 || eff > 1) missing.push('filterEfficiency');
  if (sumw === undefined || sumw === 0) missing.push('sumOfWeights');
  if (missing.length > 0) return { missing };
  return { value: (xs! * k! * eff!) / sumw!, missing };
}

/** The parts of one dataset's files: a file, or each of its labelled subsamples. */
export function partsOf(dataset: string, files: Pick<FileInfo, 'name' | 'labels'>[]): SamplePart[] {
  const parts: SamplePart[] = [];
  for (const f of files) {
    const labels = f.labels;
    const role = roleOf(f.name, labels);
    const process = str(labels?.process) ?? str(labels?.sample) ?? f.name.replace(/\.root$/i, '');
    const sample = role === 'data' ? 'Data' : (str(labels?.sample) ?? process);
    const subsamples = Array.isArray(labels?.subsamples) ? (labels.subsamples as Record<string, unknown>[]) : [];
    if (role === 'simulation' && subsamples.length > 0) {
      for (const s of subsamples) {
        const n = perLuminosity(s);
        const part: SamplePart = {
          dataset,
          file: f.name,
          sample: str(s.sample) ?? str(s.process) ?? sample,
          process: str(s.process) ?? process,
          role,
          signal: s.signal === true,
          missing: n.missing,
        };
        const selection = str(s.selection);
        if (selection !== undefined) part.selection = selection;
        if (n.value !== undefined) part.perLuminosity = n.value;
        parts.push(part);
      }
      continue;
    }
    const part: SamplePart = { dataset, file: f.name, sample, process, role, signal: labels?.signal === true };
    if (role === 'simulation') {
      const n = perLuminosity(labels);
      part.missing = n.missing;
      if (n.value !== undefined) part.perLuminosity = n.value;
    }
    parts.push(part);
  }
  return parts;
}

/** The data's luminosity in fb⁻¹: the sum over data files of the `luminosityFb` they state. */
export function dataLuminosity(files: Pick<FileInfo, 'name' | 'labels'>[]): number | undefined {
  let total = 0;
  let any = false;
  for (const f of files) {
    if (roleOf(f.name, f.labels) !== 'data') continue;
    const l = num(f.labels?.luminosityFb);
    if (l !== undefined && l > 0) {
      total += l;
      any = true;
    }
  }
  return any ? total : undefined;
}

export function scaleTH1(h: TH1D, factor: number): TH1D {
  if (factor === 1) return h;
  const f2 = factor * factor;
  return {
    ...h,
    fArray: h.fArray.map((v) => v * factor),
    fSumw2: (h.fSumw2.length > 0 ? h.fSumw2 : h.fArray).map((v) => v * f2),
    fTsumw: h.fTsumw * factor,
    fTsumw2: h.fTsumw2 * f2,
    fTsumwx: h.fTsumwx * factor,
    fTsumwx2: h.fTsumwx2 * factor,
  };
}

export function addTH1(a: TH1D | undefined, b: TH1D): TH1D {
  if (a === undefined) return { ...b, fArray: b.fArray.slice(), fSumw2: b.fSumw2.slice() };
  const sumw2 = b.fSumw2.length > 0 ? b.fSumw2 : b.fArray;
  const aw2 = a.fSumw2.length > 0 ? a.fSumw2 : a.fArray;
  return {
    ...a,
    fArray: a.fArray.map((v, i) => v + (b.fArray[i] ?? 0)),
    fSumw2: aw2.map((v, i) => v + (sumw2[i] ?? 0)),
    fEntries: a.fEntries + b.fEntries,
    fTsumw: a.fTsumw + b.fTsumw,
    fTsumw2: a.fTsumw2 + b.fTsumw2,
    fTsumwx: a.fTsumwx + b.fTsumwx,
    fTsumwx2: a.fTsumwx2 + b.fTsumwx2,
  };
}

/**
 * A preset's samples as dataset ids: the datasets (among those whose tree fits) holding a file of each process it
 * names; `main` are those of its first simulation process, which open the preset.
 */
export function presetSamples(
  samples: { data: string[]; simulation: string[] },
  datasets: Pick<Dataset, 'id' | 'files'>[],
  fitting: string[],
): { main: string[]; data: string[]; simulation: string[] } {
  // In the preset's order of processes: the main one first, as the plot stacks them.
  const having = (processes: string[]) =>
    processes.flatMap((process) =>
      datasets
        .filter((d) => fitting.includes(d.id))
        .filter((d) => d.files.some((f) => String(f.labels?.process ?? '') === process))
        .map((d) => d.id),
    );
  return {
    main: having(samples.simulation.slice(0, 1)),
    data: having(samples.data),
    simulation: having(samples.simulation),
  };
}

function badRequest(code: string, message: string, hint?: string, params?: ErrorParams): OpenKeyError {
  return new OpenKeyError(code, message, {
    exitCode: 2,
    ...(hint === undefined ? {} : { hint }),
    ...(params === undefined ? {} : { params }),
  });
}

type Inner = NonNullable<ReturnType<AnalysisManager['get']>>;

interface Combined {
  id: string;
  state: AnalysisState;
  progress: { entriesDone: number; entriesTotal: number };
  error?: { code: string; message: string };
  result?: SamplesResult;
  inner: { part: SamplePart[]; analysis: Inner }[];
  listeners: Set<(view: AnalysisView) => void>;
  finished: Promise<void>;
}

type Handle = Inner | Combined;

const isCombined = (a: Handle): a is Combined => 'inner' in a;

/**
 * The manager's interface (submit, get, view, subscribe, wait, cancel, close, counts) for requests of one dataset
 * (handed to the manager as they are) and of several (combined here).
 */
export class SampleAnalyses {
  private readonly combined = new Map<string, Combined>();

  constructor(
    readonly manager: AnalysisManager,
    private readonly store: DatasetStore,
  ) {}

  get counts(): { active: number; queued: number } {
    return this.manager.counts;
  }

  async submit(request: SamplesRequest): Promise<Handle> {
    if (request.datasets === undefined) {
      if (request.dataset === undefined)
        throw badRequest('E_BAD_REQUEST', 'body: give "dataset" or "datasets"', 'for example "datasets": ["data"]');
      if (request.luminosity !== undefined)
        throw badRequest('E_BAD_REQUEST', 'body.luminosity: only with "datasets"', 'normalising needs samples');
      return this.manager.submit(request as AnalysisRequest);
    }
    return this.submitSamples(request);
  }

  get(id: string): Handle | undefined {
    return this.combined.get(id) ?? this.manager.get(id);
  }

  view(a: Handle): AnalysisView {
    if (!isCombined(a)) return this.manager.view(a);
    const v: AnalysisView = { id: a.id, state: a.state, progress: { ...a.progress } };
    if (a.error) v.error = a.error;
    if (a.result) v.result = a.result;
    return v;
  }

  subscribe(a: Handle, listener: (view: AnalysisView) => void): () => void {
    if (!isCombined(a)) return this.manager.subscribe(a, listener);
    a.listeners.add(listener);
    return () => a.listeners.delete(listener);
  }

  async wait(a: Handle): Promise<void> {
    if (!isCombined(a)) return this.manager.wait(a);
    await a.finished;
  }

  cancel(a: Handle): void {
    if (!isCombined(a)) return this.manager.cancel(a);
    for (const { analysis } of a.inner) this.manager.cancel(analysis);
  }

  close(): void {
    this.manager.close();
  }

  private async submitSamples(request: SamplesRequest): Promise<Combined> {
    const ids = [...(request.dataset === undefined ? [] : [request.dataset]), ...(request.datasets ?? [])];
    if (ids.length === 0) throw badRequest('E_BAD_REQUEST', 'body.datasets: name at least one dataset');
    if (new Set(ids).size !== ids.length) throw badRequest('E_BAD_REQUEST', 'body.datasets: a dataset is listed twice');
    if (request.files !== undefined)
      throw badRequest('E_BAD_REQUEST', 'body.files: not with "datasets"', 'each dataset is read whole');
    if (request.luminosity !== undefined && !(request.luminosity > 0))
      throw badRequest(
        'E_BAD_LUMINOSITY',
        `body.luminosity: ${request.luminosity} fb⁻¹; a luminosity must be above 0`,
        'for example 10',
        { luminosity: request.luminosity },
      );
    const datasets = await Promise.all(ids.map((id) => this.store.get(id)));
    const allFiles = datasets.flatMap((d) => d.files);
    const luminosityFb = request.luminosity ?? dataLuminosity(allFiles);
    const parts = datasets.flatMap((d) => partsOf(d.id, d.files));
    const warnings: string[] = [];
    const notices: SamplesResult['notices'] = [];
    const unnormalised = parts.filter((p) => p.role === 'simulation' && p.perLuminosity === undefined);
    for (const p of unnormalised) {
      warnings.push(
        `${p.dataset}/${p.file}${p.selection ? ` (${p.sample})` : ''}: no ${p.missing?.join(', ')} in dataset.json, drawn unnormalised`,
      );
      notices.push({
        code: 'W_UNNORMALISED',
        params: { dataset: p.dataset, file: p.file, sample: p.sample, missing: p.missing?.join(', ') ?? '' },
      });
    }
    if (luminosityFb === undefined && parts.some((p) => p.role === 'simulation')) {
      warnings.push('no luminosity: give "luminosity" in fb⁻¹ or a data file with luminosityFb; simulation unscaled');
      notices.push({ code: 'W_NO_LUMINOSITY', params: {} });
    }

    // One analysis of the manager per (dataset, subsample selection), over the files that share it.
    const groups = new Map<string, SamplePart[]>();
    for (const p of parts) {
      const key = JSON.stringify([p.dataset, p.selection ?? null]);
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    const submitted: { part: SamplePart[]; analysis: Inner }[] = [];
    const failures: string[] = [];
    // The first failure's facts, for a translated message: its dataset, its own code (`cause`) and params.
    let firstFailure: ErrorParams | undefined;
    for (const group of groups.values()) {
      const first = group[0]!;
      const selection = [request.selection, first.selection].filter((s): s is string => s !== undefined && s !== '');
      const sub: AnalysisRequest = {
        dataset: first.dataset,
        files: [...new Set(group.map((p) => p.file))],
        histograms: request.histograms,
      };
      if (request.tree !== undefined) sub.tree = request.tree;
      if (selection.length > 0)
        sub.selection = selection.length === 1 ? selection[0]! : `(${selection.join(') && (')})`;
      if (request.weight !== undefined) sub.weight = request.weight;
      if (request.maxEntries !== undefined) sub.maxEntries = request.maxEntries;
      try {
        const analysis = await this.manager.submit(sub);
        submitted.push({ part: group, analysis });
      } catch (error) {
        if (!(error instanceof OpenKeyError)) throw error;
        if (error.code === 'E_QUEUE_FULL' || error.code === 'E_SHUTTING_DOWN') {
          for (const s of submitted) this.manager.cancel(s.analysis);
          throw error;
        }
        failures.push(`dataset "${first.dataset}": ${error.message}`);
        firstFailure ??= { ...error.params, dataset: first.dataset, cause: error.code };
      }
    }
    // A sample whose tree lacks a branch fails before anything is drawn: never a plot missing a sample.
    const planned = submitted.filter((s) => s.analysis.state === 'failed');
    for (const s of planned) {
      failures.push(`dataset "${s.part[0]!.dataset}": ${s.analysis.error?.message ?? 'failed'}`);
      firstFailure ??= {
        ...s.analysis.error?.params,
        dataset: s.part[0]!.dataset,
        cause: s.analysis.error?.code ?? 'E_INTERNAL',
      };
    }
    if (failures.length > 0) {
      for (const s of submitted) this.manager.cancel(s.analysis);
      throw badRequest(
        'E_SAMPLES',
        [...new Set(failures)].join('; '),
        'every dataset of an analysis must have the branches its expressions read',
        { ...firstFailure, failures: new Set(failures).size },
      );
    }

    let settle = () => {};
    const combined: Combined = {
      id: randomUUID(),
      state: 'running',
      progress: { entriesDone: 0, entriesTotal: 0 },
      inner: submitted,
      listeners: new Set(),
      finished: new Promise<void>((resolve) => (settle = resolve)),
    };
    this.combined.set(combined.id, combined);
    while (this.combined.size > 256) this.combined.delete(this.combined.keys().next().value!);
    const progress = () => {
      combined.progress = submitted.reduce(
        (p, s) => {
          const v = this.manager.view(s.analysis).progress;
          return { entriesDone: p.entriesDone + v.entriesDone, entriesTotal: p.entriesTotal + v.entriesTotal };
        },
        { entriesDone: 0, entriesTotal: 0 },
      );
      const view = this.view(combined);
      for (const l of combined.listeners) l(view);
    };
    for (const s of submitted) this.manager.subscribe(s.analysis, () => progress());
    void Promise.all(submitted.map((s) => this.manager.wait(s.analysis))).then(() => {
      const states = submitted.map((s) => s.analysis.state);
      const omitted = submitted.find((s) => s.analysis.result?.byFileOmitted === true);
      if (states.includes('cancelled')) combined.state = 'cancelled';
      else if (omitted !== undefined) {
        // Samples are made of per-file histograms: without them the plot would miss samples.
        combined.state = 'failed';
        combined.error = {
          code: 'E_TOO_MANY_BINS',
          message: `dataset "${omitted.part[0]!.dataset}": too many bins × files for per-sample histograms; use fewer bins`,
        };
      } else if (states.includes('failed')) {
        combined.state = 'failed';
        const bad = submitted.find((s) => s.analysis.state === 'failed')!;
        combined.error = {
          code: bad.analysis.error?.code ?? 'E_INTERNAL',
          message: `dataset "${bad.part[0]!.dataset}": ${bad.analysis.error?.message ?? 'failed'}`,
        };
      } else {
        combined.result = combine(request, submitted, luminosityFb, warnings, notices);
        combined.state = 'done';
      }
      progress();
      combined.listeners.clear();
      settle();
    });
    progress();
    return combined;
  }
}

/** Scales each part's per-file histograms and adds them up: samples, and the data (or simulation) total. */
function combine(
  request: SamplesRequest,
  submitted: { part: SamplePart[]; analysis: Inner }[],
  luminosityFb: number | undefined,
  warnings: string[],
  notices: SamplesResult['notices'],
): SamplesResult {
  const samples: SampleResult[] = [];
  let entries = 0;
  let selected = 0;
  let seconds = 0;
  let bytesRead = 0;
  let cached = true;
  const counted = new Set<string>();
  for (const { part, analysis } of submitted) {
    const r = analysis.result!;
    // Subsample selections read the same files again: count a dataset's events once.
    if (!counted.has(part[0]!.dataset)) entries += r.entries;
    counted.add(part[0]!.dataset);
    selected += r.selected;
    seconds = Math.max(seconds, r.seconds);
    bytesRead += r.bytesRead;
    cached &&= r.cached;
    for (const p of part) {
      const byFile = r.byFile[p.file];
      if (byFile === undefined) continue;
      const normalised = p.role === 'simulation' && p.perLuminosity !== undefined && luminosityFb !== undefined;
      // fb⁻¹ × 1000 = pb⁻¹, the unit cross-sections are given in.
      const scale = normalised ? p.perLuminosity! * luminosityFb * 1000 : 1;
      const histograms: Record<string, TH1D> = {};
      for (const h of request.histograms) if (byFile[h.name]) histograms[h.name] = scaleTH1(byFile[h.name]!, scale);
      samples.push({
        dataset: p.dataset,
        file: p.file,
        sample: p.sample,
        process: p.process,
        role: p.role,
        signal: p.signal,
        scale,
        normalised,
        histograms,
      });
    }
  }
  const hasData = samples.some((s) => s.role === 'data');
  const histograms: Record<string, TH1D> = {};
  for (const h of request.histograms) {
    let sum: TH1D | undefined;
    for (const s of samples)
      if ((s.role === 'data') === hasData && s.histograms[h.name]) sum = addTH1(sum, s.histograms[h.name]!);
    if (sum) histograms[h.name] = sum;
  }
  const result: SamplesResult = {
    entries,
    selected,
    seconds,
    cached,
    bytesRead,
    histograms,
    byFile: {},
    samples,
    warnings,
    notices,
  };
  if (luminosityFb !== undefined) result.luminosityFb = luminosityFb;
  return result;
}
