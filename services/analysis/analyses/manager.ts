/**
 * The analyses of one service: each request is planned (plan.ts), answered from the cache (cache.ts) or given a
 * place (schedule.ts), run on the worker pool (execute.ts) and published to whoever follows it (publish.ts); failures
 * become what the API reports (errors.ts). This class only wires those parts together and keeps the analyses for GET.
 */
import type { DatasetRequest, AnalysisView } from '../api.ts';
import type { Dataset, DatasetStore } from '../datasets.ts';
import type { WorkerPool } from '../pool/pool.ts';
import { ResultCache, resultBytes } from './cache.ts';
import { ColumnCache, defaultColumnCacheBytes } from './columns-cache.ts';
import { PlannedFailure, runFailure } from './errors.ts';
import { Executor } from './execute.ts';
import { planAnalysis } from './plan.ts';
import { Analysis, type Listener } from './publish.ts';
import { Scheduler } from './schedule.ts';
import { withCached } from '../result-json.ts';

export interface ManagerOptions {
  store: DatasetStore;
  pool: WorkerPool;
  /** Analyses running at once; more wait in the queue. */
  maxActive?: number;
  /** Analyses waiting; beyond this a submit is refused with E_QUEUE_FULL (503). */
  maxQueued?: number;
  /** Results kept for repeated requests: at most this many (64) and this many bytes (128 MiB, by resultBytes). */
  cacheSize?: number;
  cacheBytes?: number;
  /** Finished analyses kept for GET: at most this many (256) holding at most this many bytes of results (256 MiB). */
  keep?: number;
  keepBytes?: number;
  /**
   * Per-file histograms are left out beyond this many bins in all (files × Σ(bins + 2)); default 200 k: a result is
   * built and serialised on the main thread (about 40 ms a million doubles here), and that wait is what every other
   * request, /api/health included, sees.
   */
  maxByFileCells?: number;
  /** The column cache: decoded baskets kept for the next analyses (default: a quarter of the memory; 0: off). */
  columnCacheBytes?: number;
}

export class AnalysisManager {
  private readonly store: DatasetStore;
  private readonly pool: WorkerPool;
  private readonly keep: number;
  private readonly keepBytes: number;
  private readonly analyses = new Map<string, Analysis>();
  /** Bytes of the results of finished analyses still kept, by id. */
  private readonly kept = new Map<string, number>();
  private keptTotal = 0;
  private readonly scheduler: Scheduler;
  private readonly cache: ResultCache;
  private readonly executor: Executor;
  /** Decoded baskets shared by the workers, kept between analyses. */
  readonly columns: ColumnCache;

  constructor(options: ManagerOptions) {
    this.store = options.store;
    this.pool = options.pool;
    this.keep = options.keep ?? 256;
    this.keepBytes = options.keepBytes ?? 256 * 2 ** 20;
    this.cache = new ResultCache({
      maxEntries: options.cacheSize ?? 64,
      maxBytes: options.cacheBytes ?? 128 * 2 ** 20,
    });
    this.columns = new ColumnCache({ maxBytes: options.columnCacheBytes ?? defaultColumnCacheBytes() });
    // Every worker holds what the cache holds, by key: tasks then name their files and ranges only.
    this.columns.onChange = (add, drop) => options.pool.broadcast({ type: 'pieces', add, drop });
    this.executor = new Executor(options.pool, {
      maxByFileCells: options.maxByFileCells ?? 200_000,
      columns: this.columns,
    });
    this.scheduler = new Scheduler({
      maxActive: options.maxActive ?? 4,
      maxQueued: options.maxQueued ?? 16,
      start: (a) => this.start(a),
    });
  }

  get counts(): { active: number; queued: number } {
    return this.scheduler.counts;
  }

  /** What the analyses hold: analyses kept, the bytes of their results, and the cache's. */
  get memory(): { analyses: number; resultBytes: number; cacheEntries: number; cacheBytes: number } {
    return {
      analyses: this.analyses.size,
      resultBytes: this.keptTotal,
      cacheEntries: this.cache.size,
      cacheBytes: this.cache.bytes,
    };
  }

  /** Validates and plans the request (throws OpenKeyError for a 4xx), then queues or runs it. */
  async submit(request: DatasetRequest): Promise<Analysis> {
    // A full queue refuses before planning: under a flood of submits a refusal lists no folder and reads no file.
    this.scheduler.checkRoom();
    let plan;
    try {
      plan = await planAnalysis(this.store, request, this.pool.size);
    } catch (error) {
      if (!(error instanceof PlannedFailure)) throw error;
      const failed = this.create(request);
      failed.end('failed', {
        error:
          Object.keys(error.params).length > 0
            ? { code: error.code, message: error.message, params: error.params }
            : { code: error.code, message: error.message },
      });
      return failed;
    }
    const analysis = this.create(request);
    analysis.plan = plan;
    analysis.progress.entriesTotal = plan.entriesTotal;
    const cached = this.cache.get(plan.cacheKey);
    if (cached) {
      analysis.progress.entriesDone = analysis.progress.entriesTotal;
      analysis.end('done', { result: withCached(cached, true) });
      return analysis;
    }
    try {
      this.scheduler.admit(analysis);
    } catch (error) {
      this.analyses.delete(analysis.id);
      throw error;
    }
    return analysis;
  }

  /** Start-up: every worker gets the tables of these datasets' files before any analysis asks (app.analysis.ready). */
  prime(datasets: readonly Dataset[]): void {
    this.executor.prime(datasets.flatMap((d) => d.files));
  }

  get(id: string): Analysis | undefined {
    return this.analyses.get(id);
  }

  view(a: Analysis): AnalysisView {
    return a.view();
  }

  subscribe(a: Analysis, listener: Listener): () => void {
    return a.subscribe(listener);
  }

  async wait(a: Analysis): Promise<void> {
    await a.finished;
  }

  cancel(a: Analysis): void {
    if (a.ended) return;
    this.scheduler.unqueue(a);
    const wasRunning = a.state === 'running';
    a.end('cancelled');
    this.pool.cancel(a.id);
    if (wasRunning) this.scheduler.release(a);
  }

  /** Cancels everything; the waiting ones first, so that cancelling a running one does not start them. */
  close(): void {
    for (const a of this.scheduler.close()) a.end('cancelled');
    for (const a of [...this.analyses.values()]) this.cancel(a);
  }

  private create(request: DatasetRequest): Analysis {
    const a = new Analysis(request);
    this.analyses.set(a.id, a);
    // The first listener: when the analysis ends, its result is counted against the budget.
    a.subscribe((v) => {
      if (!a.ended) return;
      const bytes = v.result === undefined ? 0 : resultBytes(v.result);
      this.kept.set(a.id, bytes);
      this.keptTotal += bytes;
      this.trim();
    });
    this.trim();
    return a;
  }

  /** Forgets the oldest finished analyses beyond `keep` analyses or `keepBytes` of results. */
  private trim(): void {
    if (this.analyses.size <= this.keep && this.keptTotal <= this.keepBytes) return;
    for (const [id, a] of this.analyses) {
      if (this.analyses.size <= this.keep && this.keptTotal <= this.keepBytes) break;
      if (!a.ended) continue;
      this.analyses.delete(id);
      this.keptTotal -= this.kept.get(id) ?? 0;
      this.kept.delete(id);
    }
  }

  /** Runs an analysis that got a place; its place is released however it ends. */
  private start(a: Analysis): void {
    const plan = a.plan!;
    a.state = 'running';
    a.notify(true);
    this.executor
      .run(a, plan)
      .then((result) => {
        if (result === undefined || a.state !== 'running') return;
        this.cache.set(plan.cacheKey, result);
        a.end('done', { result });
      })
      .catch((error: unknown) => {
        if (a.state === 'running') a.end('failed', { error: runFailure(error) });
      })
      .finally(() => {
        if (a.state === 'running') a.end('failed', { error: { code: 'E_INTERNAL', message: 'analysis ended early' } });
        this.scheduler.release(a);
      });
  }
}

export type { Analysis };
