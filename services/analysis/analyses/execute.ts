/**
 * Running a planned analysis: one task per entry range on the worker pool, the partial sums merged per file and in
 * total as they come back (progress published as they do), then the result with its TH1D histograms.
 */
import type { AnalysisResult, TH1DJson } from '../api.ts';
import { HistogramSet } from '../histogram.ts';
import { TaskError, type WorkerPool } from '../pool/pool.ts';
import type { Task, TaskResult } from '../pool/protocol.ts';
import { basketsIn, type Plan } from './plan.ts';
import type { Analysis } from './publish.ts';

export interface ExecuteOptions {
  /** Per-file histograms are left out beyond this many bins in all (files × Σ(bins + 2)). */
  maxByFileCells: number;
}

export class Executor {
  private readonly pool: WorkerPool;
  private readonly options: ExecuteOptions;

  constructor(pool: WorkerPool, options: ExecuteOptions) {
    this.pool = pool;
    this.options = options;
  }

  /**
   * The result, or undefined when the analysis stopped running meanwhile (cancelled). A failed task cancels the
   * analysis's other tasks and rejects with its TaskError.
   */
  async run(a: Analysis, plan: Plan): Promise<AnalysisResult | undefined> {
    const started = performance.now();
    const total = new HistogramSet(plan.specs);
    const perFile = new Map<string, HistogramSet>();
    let bytesRead = 0;
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
          draw: plan.draw,
          histograms: plan.specs,
        };
        jobs.push(
          this.pool.run(task, a.id).then((result: TaskResult) => {
            if (a.state !== 'running') return;
            total.add(result);
            set.add(result);
            bytesRead += result.diskBytes;
            a.progress.entriesDone += result.entries;
            a.notify(false);
          }),
        );
      }
    }
    try {
      await Promise.all(jobs);
    } catch (error) {
      if (a.state !== 'running') {
        await Promise.allSettled(jobs);
        return undefined; // cancelled: the pool rejected its tasks
      }
      // Failed at once, while the analysis's other tasks are still being cancelled.
      this.pool.cancel(a.id);
      throw error instanceof TaskError ? error : new TaskError('E_INTERNAL', String(error));
    }
    if (a.state !== 'running') return undefined;
    const histograms = a.request.histograms;
    const toJson = (set: HistogramSet): Record<string, TH1DJson> => {
      const out: Record<string, TH1DJson> = {};
      histograms.forEach((h, i) => (out[h.name] = set.toTH1D(i, h.name, h.name, h.expr)));
      return out;
    };
    // Per-file histograms let the apps stack samples; past a few million bins in all they would only bloat the
    // answer (and the main thread building it), so they are left out and the result says so.
    const byFile: Record<string, Record<string, TH1DJson>> = {};
    const cells = perFile.size * plan.specs.reduce((n, h) => n + h.bins + 2, 0);
    const byFileOmitted = cells > this.options.maxByFileCells;
    if (!byFileOmitted) for (const [name, set] of perFile) byFile[name] = toJson(set);
    return {
      entries: a.progress.entriesDone,
      selected: total.fills(histograms.length),
      seconds: (performance.now() - started) / 1000,
      cached: false,
      bytesRead,
      histograms: toJson(total),
      byFile,
      ...(byFileOmitted ? { byFileOmitted: true } : {}),
    };
  }
}
