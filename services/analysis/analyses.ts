/**
 * Analyses: validate a request (dataset, files, tree, binning, expressions compiled once here), plan entry ranges
 * aligned to the baskets of the branches it reads, run them on the worker pool, merge the partial histograms, and
 * keep the result (cached by the files' size and mtime and the request). A bounded queue admits analyses.
 */
import { randomUUID } from 'node:crypto';
import { OpenKeyError } from '../../common/errors.ts';
import type { Dataset, DatasetStore, FileInfo } from './datasets.ts';
import { compileDraw, ExpressionError, type BranchInfo } from './expr/index.ts';
import { HistogramSet, type TH1D } from './histogram.ts';
import { TaskError, type WorkerPool } from './pool/pool.ts';
import type { HistSpec, Task, TaskResult } from './pool/protocol.ts';
import type { BranchMeta, TreeMeta } from '../../rootio/read/types.ts';
import { nearestNames } from '../../common/suggest.ts';

export interface HistogramRequest {
  name: string;
  expr: string;
  bins: number;
  min: number;
  max: number;
}

export interface AnalysisRequest {
  dataset: string;
  tree?: string;
  files?: string[];
  selection?: string;
  weight?: string;
  histograms: HistogramRequest[];
  maxEntries?: number;
}

export type AnalysisState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface AnalysisResult {
  entries: number;
  /** Events with a non-zero selection × weight; for a per-element selection, events with one such element. */
  selected: number;
  seconds: number;
  /** True when the result came from the cache. */
  cached: boolean;
  /** Compressed bytes read from disk. */
  bytesRead: number;
  histograms: Record<string, TH1D>;
  byFile: Record<string, Record<string, TH1D>>;
  /** Set when there were too many bins in all to give per-file histograms. */
  byFileOmitted?: boolean;
}

export interface AnalysisView {
  id: string;
  state: AnalysisState;
  progress: { entriesDone: number; entriesTotal: number };
  error?: { code: string; message: string };
  result?: AnalysisResult;
}

interface Plan {
  dataset: Dataset;
  files: { info: FileInfo; meta: TreeMeta; ranges: [number, number][] }[];
  branchInfo: BranchInfo[];
  branches: string[];
  specs: HistSpec[];
  cacheKey: string;
}

interface Analysis {
  id: string;
  request: AnalysisRequest;
  state: AnalysisState;
  progress: { entriesDone: number; entriesTotal: number };
  error?: { code: string; message: string };
  result?: AnalysisResult;
  plan?: Plan;
  listeners: Set<(view: AnalysisView) => void>;
  finished: Promise<void>;
  settle: () => void;
  lastNotify: number;
}

export interface ManagerOptions {
  store: DatasetStore;
  pool: WorkerPool;
  /** Analyses running at once; more wait in the queue. */
  maxActive?: number;
  /** Analyses waiting; beyond this a submit is refused with E_QUEUE_FULL (503). */
  maxQueued?: number;
  cacheSize?: number;
  /** Finished analyses kept for GET. */
  keep?: number;
  /** Fault injection for tests: a task on a file with this name crashes its worker. */
  crashOnFile?: string;
  /** Per-file histograms are left out beyond this many bins in all (files × Σ(bins + 2)); default 5 M. */
  maxByFileCells?: number;
}

const MAX_BINS = 100_000;
const SELECTED_SPEC: HistSpec = { bins: 1, min: 0, max: 2 };

function badRequest(code: string, message: string, hint?: string): OpenKeyError {
  return new OpenKeyError(code, message, { exitCode: 2, ...(hint === undefined ? {} : { hint }) });
}

/** Entry ranges over [0, entries) cut only where every branch read starts a basket, merged to about `target`. */
export function planRanges(branches: BranchMeta[], entries: number, target: number): [number, number][] {
  if (entries <= 0) return [];
  let points: number[];
  if (branches.length === 0) {
    points = [];
    for (let e = 0; e < entries; e += target) points.push(e);
  } else {
    const counts = new Map<number, number>();
    for (const b of branches) for (const e of new Set(b.baskets.entry)) counts.set(e, (counts.get(e) ?? 0) + 1);
    points = [...counts].filter(([, n]) => n === branches.length).map(([e]) => e);
    // Misaligned baskets leave few common cuts; then cut where the heaviest branch starts a basket (the others'
    // straddling baskets are read twice, which costs less than losing the parallelism).
    const sorted = [...points, entries].sort((a, b) => a - b);
    const widest = sorted.reduce((w, p, i) => (i === 0 ? w : Math.max(w, p - sorted[i - 1]!)), sorted[0] ?? 0);
    if (widest > 4 * target) {
      const heaviest = branches.reduce((a, b) =>
        b.baskets.bytes.reduce((s, x) => s + x, 0) > a.baskets.bytes.reduce((s, x) => s + x, 0) ? b : a,
      );
      points.push(...heaviest.baskets.entry);
    }
  }
  const cuts = [...new Set(points.filter((p) => p > 0 && p < entries))].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  let start = 0;
  for (const p of cuts) {
    if (p - start >= target) {
      ranges.push([start, p]);
      start = p;
    }
  }
  ranges.push([start, entries]);
  return ranges;
}

/** The branch with its basket table cut down to the baskets that overlap entries [first, last). */
export function basketsIn(branch: BranchMeta, first: number, last: number): BranchMeta {
  const { seek, bytes, entry } = branch.baskets;
  let a = 0;
  while (a < seek.length && entry[a + 1]! <= first) a++;
  let b = a;
  while (b < seek.length && entry[b]! < last) b++;
  return { ...branch, baskets: { seek: seek.slice(a, b), bytes: bytes.slice(a, b), entry: entry.slice(a, b + 1) } };
}

export class AnalysisManager {
  private readonly store: DatasetStore;
  private readonly pool: WorkerPool;
  private readonly maxActive: number;
  private readonly maxQueued: number;
  private readonly cacheSize: number;
  private readonly keep: number;
  private readonly crashOnFile: string | undefined;
  private readonly maxByFileCells: number;
  private readonly analyses = new Map<string, Analysis>();
  private readonly waiting: Analysis[] = [];
  private active = 0;
  /** Analyses holding a place among the maxActive, until released. */
  private readonly running = new Set<Analysis>();
  /** Set by close(): nothing starts any more. */
  private closing = false;
  private readonly cache = new Map<string, AnalysisResult>();

  constructor(options: ManagerOptions) {
    this.store = options.store;
    this.pool = options.pool;
    this.maxActive = options.maxActive ?? 4;
    this.maxQueued = options.maxQueued ?? 16;
    this.cacheSize = options.cacheSize ?? 64;
    this.keep = options.keep ?? 256;
    this.crashOnFile = options.crashOnFile;
    this.maxByFileCells = options.maxByFileCells ?? 5_000_000;
  }

  get counts(): { active: number; queued: number } {
    return { active: this.active, queued: this.waiting.length };
  }

  /** Validates and plans the request (throws OpenKeyError for a 4xx), then queues or runs it. */
  async submit(request: AnalysisRequest): Promise<Analysis> {
    let plan: Plan;
    try {
      plan = await this.plan(request);
    } catch (error) {
      if (!(error instanceof PlannedFailure)) throw error;
      const failed = this.create(request);
      this.end(failed, 'failed', { error: { code: error.code, message: error.message } });
      return failed;
    }
    const analysis = this.create(request);
    analysis.plan = plan;
    analysis.progress.entriesTotal = plan.files.reduce((n, f) => n + f.ranges.reduce((m, [a, b]) => m + b - a, 0), 0);
    const cached = this.cache.get(plan.cacheKey);
    if (cached) {
      this.cache.delete(plan.cacheKey);
      this.cache.set(plan.cacheKey, cached);
      analysis.progress.entriesDone = analysis.progress.entriesTotal;
      this.end(analysis, 'done', { result: { ...cached, cached: true } });
      return analysis;
    }
    if (this.closing) {
      this.analyses.delete(analysis.id);
      throw new OpenKeyError('E_SHUTTING_DOWN', 'the service is shutting down', { hint: 'retry once it is back' });
    }
    if (this.active < this.maxActive) {
      this.start(analysis);
    } else if (this.waiting.length < this.maxQueued) {
      this.waiting.push(analysis);
    } else {
      this.analyses.delete(analysis.id);
      throw new OpenKeyError('E_QUEUE_FULL', `the analysis queue is full (${this.maxQueued} waiting)`, {
        hint: 'retry in a few seconds',
      });
    }
    return analysis;
  }

  get(id: string): Analysis | undefined {
    return this.analyses.get(id);
  }

  view(a: Analysis): AnalysisView {
    const v: AnalysisView = { id: a.id, state: a.state, progress: { ...a.progress } };
    if (a.error) v.error = a.error;
    if (a.result) v.result = a.result;
    return v;
  }

  subscribe(a: Analysis, listener: (view: AnalysisView) => void): () => void {
    a.listeners.add(listener);
    return () => a.listeners.delete(listener);
  }

  async wait(a: Analysis): Promise<void> {
    await a.finished;
  }

  cancel(a: Analysis): void {
    if (a.state === 'done' || a.state === 'failed' || a.state === 'cancelled') return;
    const index = this.waiting.indexOf(a);
    if (index >= 0) this.waiting.splice(index, 1);
    const wasRunning = a.state === 'running';
    this.end(a, 'cancelled', {});
    this.pool.cancel(a.id);
    if (wasRunning) this.release(a);
  }

  /** Cancels everything; the waiting ones first, so that cancelling a running one does not start them. */
  close(): void {
    this.closing = true;
    for (const a of this.waiting.splice(0)) this.end(a, 'cancelled', {});
    for (const a of [...this.analyses.values()]) this.cancel(a);
  }

  private create(request: AnalysisRequest): Analysis {
    let settle = () => {};
    const finished = new Promise<void>((resolve) => (settle = resolve));
    const a: Analysis = {
      id: randomUUID(),
      request,
      state: 'queued',
      progress: { entriesDone: 0, entriesTotal: 0 },
      listeners: new Set(),
      finished,
      settle,
      lastNotify: 0,
    };
    this.analyses.set(a.id, a);
    this.trim();
    return a;
  }

  private trim(): void {
    if (this.analyses.size <= this.keep) return;
    for (const [id, a] of this.analyses) {
      if (this.analyses.size <= this.keep) break;
      if (a.state === 'done' || a.state === 'failed' || a.state === 'cancelled') this.analyses.delete(id);
    }
  }

  private notify(a: Analysis, force: boolean): void {
    const now = Date.now();
    if (!force && now - a.lastNotify < 100) return;
    a.lastNotify = now;
    const view = this.view(a);
    for (const listener of a.listeners) listener(view);
  }

  private end(a: Analysis, state: AnalysisState, extra: { error?: Analysis['error']; result?: AnalysisResult }): void {
    a.state = state;
    if (extra.error) a.error = extra.error;
    if (extra.result) a.result = extra.result;
    delete a.plan;
    this.notify(a, true);
    a.listeners.clear();
    a.settle();
  }

  /** Frees the running analysis's place (once, however it ended) and starts the next waiting one. */
  private release(a: Analysis): void {
    if (!this.running.delete(a)) return;
    this.active--;
    if (this.closing) return;
    const next = this.waiting.shift();
    if (next) this.start(next);
  }

  private start(a: Analysis): void {
    this.active++;
    this.running.add(a);
    a.state = 'running';
    this.notify(a, true);
    this.execute(a)
      .catch((error: unknown) => {
        if (a.state !== 'running') return;
        const message = error instanceof Error ? error.message : String(error);
        this.end(a, 'failed', { error: { code: 'E_INTERNAL', message: `internal error (a bug): ${message}` } });
      })
      .finally(() => {
        if (a.state === 'running')
          this.end(a, 'failed', { error: { code: 'E_INTERNAL', message: 'analysis ended early' } });
        this.release(a);
      });
  }

  private async execute(a: Analysis): Promise<void> {
    const plan = a.plan!;
    const started = performance.now();
    const total = new HistogramSet(plan.specs);
    const perFile = new Map<string, HistogramSet>();
    let bytesRead = 0;
    const draw = {
      // A hidden last histogram of '1', filled once per event that passes: its fills are `selected`.
      expressions: [...a.request.histograms.map((h) => h.expr), '1'],
      eventCount: true,
      ...(a.request.selection === undefined ? {} : { selection: a.request.selection }),
      ...(a.request.weight === undefined ? {} : { weight: a.request.weight }),
    };
    const jobs: Promise<void>[] = [];
    for (const { info, meta, ranges } of plan.files) {
      const set = new HistogramSet(plan.specs);
      perFile.set(info.name, set);
      const byName = new Map(meta.branches.map((b) => [b.name, b]));
      const branches = plan.branches.map((n) => byName.get(n)!);
      for (const [first, last] of ranges) {
        const task: Task = {
          path: info.path,
          file: info.name,
          first,
          last,
          // Only the baskets of this range: a task is cloned to its worker, and big files have thousands.
          branches: branches.map((b) => basketsIn(b, first, last)),
          branchInfo: plan.branchInfo,
          draw,
          histograms: plan.specs,
          ...(this.crashOnFile !== undefined && info.name === this.crashOnFile ? { crash: true } : {}),
        };
        jobs.push(
          this.pool.run(task, a.id).then((result: TaskResult) => {
            if (a.state !== 'running') return;
            total.add(result);
            set.add(result);
            bytesRead += result.diskBytes;
            a.progress.entriesDone += result.entries;
            this.notify(a, false);
          }),
        );
      }
    }
    try {
      await Promise.all(jobs);
    } catch (error) {
      if (a.state !== 'running') return; // cancelled: the pool rejected its tasks
      const e = error instanceof TaskError ? error : new TaskError('E_INTERNAL', String(error));
      this.pool.cancel(a.id);
      this.end(a, 'failed', { error: { code: e.code, message: e.message } });
      this.release(a);
      return;
    } finally {
      await Promise.allSettled(jobs);
    }
    if (a.state !== 'running') return;
    const n = a.request.histograms.length;
    const toJson = (set: HistogramSet): Record<string, TH1D> => {
      const out: Record<string, TH1D> = {};
      a.request.histograms.forEach((h, i) => (out[h.name] = set.toTH1D(i, h.name, h.name, h.expr)));
      return out;
    };
    // Per-file histograms let the apps stack samples; past a few million bins in all they would only bloat the
    // answer (and the main thread building it), so they are left out and the result says so.
    const byFile: Record<string, Record<string, TH1D>> = {};
    const cells = perFile.size * plan.specs.reduce((n, h) => n + h.bins + 2, 0);
    const byFileOmitted = cells > this.maxByFileCells;
    if (!byFileOmitted) for (const [name, set] of perFile) byFile[name] = toJson(set);
    const result: AnalysisResult = {
      entries: a.progress.entriesDone,
      selected: total.fills(n),
      seconds: (performance.now() - started) / 1000,
      cached: false,
      bytesRead,
      histograms: toJson(total),
      byFile,
      ...(byFileOmitted ? { byFileOmitted: true } : {}),
    };
    this.cache.set(plan.cacheKey, result);
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.end(a, 'done', { result });
    this.release(a);
  }

  private async plan(request: AnalysisRequest): Promise<Plan> {
    const names = new Set<string>();
    request.histograms.forEach((h, i) => {
      const where = `histograms[${i}]`;
      if (names.has(h.name)) throw badRequest('E_BAD_HISTOGRAM', `${where}.name: "${h.name}" is used twice`);
      names.add(h.name);
      if (!Number.isInteger(h.bins) || h.bins < 1 || h.bins > MAX_BINS)
        throw badRequest('E_BAD_BINNING', `${where}.bins: ${h.bins} bins; use 1 to ${MAX_BINS}`);
      if (!Number.isFinite(h.min) || !Number.isFinite(h.max) || !(h.min < h.max))
        throw badRequest('E_BAD_BINNING', `${where}: min ${h.min} must be below max ${h.max}`, 'swap min and max');
    });
    const dataset = await this.store.get(request.dataset);
    let files = dataset.files;
    if (request.files !== undefined) {
      const byName = new Map(dataset.files.map((f) => [f.name, f]));
      files = request.files.map((name) => {
        const f = byName.get(name);
        if (f) return f;
        const near = nearestNames(name, byName.keys());
        throw new OpenKeyError('E_UNKNOWN_FILE', `dataset "${dataset.id}" has no file "${name}"`, {
          hint: `closest: ${near.join(', ')}`,
        });
      });
      if (new Set(request.files).size !== request.files.length)
        throw badRequest('E_BAD_REQUEST', 'files: a file is listed twice');
    }
    if (files.length === 0) throw badRequest('E_NO_FILES', `dataset "${dataset.id}" has no ROOT files`);

    // Tree metadata per file: the dataset's tree, or the one the request names.
    const metas: { info: FileInfo; meta?: TreeMeta; error?: string; trees?: string[] }[] = [];
    for (const info of files) {
      if (request.tree === undefined || request.tree === info.tree) {
        metas.push(info.meta ? { info, meta: info.meta } : { info, error: info.error ?? 'unreadable' });
        continue;
      }
      try {
        const { trees, tree } = await this.store.treeMeta(info.path, info.size, info.mtimeMs, request.tree);
        metas.push(tree ? { info, meta: tree } : { info, trees, error: `no tree "${request.tree}"` });
      } catch (error) {
        metas.push({ info, error: (error as Error).message });
      }
    }
    const first = metas.find((m) => m.meta !== undefined);
    if (first === undefined) {
      const withTrees = metas.find((m) => m.trees !== undefined);
      if (request.tree !== undefined && withTrees) {
        throw new OpenKeyError('E_UNKNOWN_TREE', `no tree "${request.tree}" in dataset "${dataset.id}"`, {
          hint: `the files have: ${withTrees.trees!.join(', ') || 'no trees'}`,
        });
      }
    }
    const reference = first?.meta;
    const branchInfo: BranchInfo[] = (reference?.branches ?? [])
      .filter((b) => b.element !== undefined)
      .map((b) => ({ name: b.name, isArray: b.isArray }));
    const infos = new Map(branchInfo.map((b) => [b.name, b]));
    const spec = {
      expressions: [...request.histograms.map((h) => h.expr), '1'],
      ...(request.selection === undefined ? {} : { selection: request.selection }),
      ...(request.weight === undefined ? {} : { weight: request.weight }),
    };
    let branches: string[] = [];
    if (reference) {
      try {
        branches = compileDraw(spec, infos).branches;
      } catch (error) {
        if (error instanceof ExpressionError) throw this.expressionError(error, reference);
        throw error;
      }
    }
    // A file that cannot be read fails the analysis with its name (the request itself is fine).
    const broken = metas.find((m) => m.meta === undefined);
    if (broken) {
      const why = broken.error ?? 'cannot be read';
      throw new PlannedFailure(
        'E_ROOT_CORRUPT',
        why.startsWith(`${broken.info.name}:`) ? why : `${broken.info.name}: ${why}`,
      );
    }
    for (const m of metas) {
      const have = new Set(m.meta!.branches.filter((b) => b.element !== undefined).map((b) => b.name));
      const missing = branches.find((b) => !have.has(b));
      if (missing) throw new PlannedFailure('E_MISSING_BRANCH', `${m.info.name}: has no readable branch "${missing}"`);
    }

    const specs: HistSpec[] = [
      ...request.histograms.map((h) => ({ bins: h.bins, min: h.min, max: h.max })),
      SELECTED_SPEC,
    ];
    const totalEntries = metas.reduce((n, m) => n + m.meta!.entries, 0);
    const target = Math.min(500_000, Math.max(20_000, Math.ceil(totalEntries / (this.pool.size * 4))));
    let remaining = request.maxEntries ?? Infinity;
    const planned: Plan['files'] = [];
    for (const m of metas) {
      const meta = m.meta!;
      const readBranches = branches.map((n) => meta.branches.find((b) => b.name === n)!);
      const ranges: [number, number][] = [];
      for (const [a, b] of planRanges(readBranches, meta.entries, target)) {
        if (remaining <= 0) break;
        const end = Math.min(b, a + remaining);
        ranges.push([a, end]);
        remaining -= end - a;
      }
      planned.push({ info: m.info, meta, ranges });
    }
    const cacheKey = JSON.stringify({
      dataset: dataset.id,
      tree: request.tree ?? null,
      files: files.map((f) => [f.name, f.size, f.mtimeMs]),
      selection: request.selection ?? null,
      weight: request.weight ?? null,
      histograms: request.histograms,
      maxEntries: request.maxEntries ?? null,
    });
    return { dataset, files: planned, branchInfo, branches, specs, cacheKey };
  }

  private expressionError(error: ExpressionError, tree: TreeMeta): OpenKeyError {
    const field = error.field.replace(/^histograms\[(\d+)\]\.expr$/, (_, i: string) => `histograms[${i}].expr`);
    if (error.code === 'E_EXPR_UNKNOWN_BRANCH') {
      const unreadable = tree.branches.find((b) => b.element === undefined && error.message.includes(`"${b.name}"`));
      if (unreadable)
        return badRequest(
          'E_UNSUPPORTED_BRANCH',
          `${field}: branch "${unreadable.name}" has type ${unreadable.type}, which the service cannot read`,
        );
      const near = error.suggestions.length > 0 ? error.suggestions : [];
      return new OpenKeyError('E_UNKNOWN_BRANCH', error.message, {
        hint:
          near.length > 0
            ? `closest branches: ${near.join(', ')}`
            : `tree ${tree.name} has ${tree.branches.length} branches; GET /api/datasets/:id lists them`,
      });
    }
    return badRequest(error.code, error.message, error.hint);
  }
}

/** A request that is valid but whose files cannot be analysed: the analysis is created and fails at once. */
export class PlannedFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
