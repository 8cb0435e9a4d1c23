/**
 * Running a planned analysis: one task per entry range on the worker pool, the partial sums merged per file and in
 * total as they come back (progress published as they do), then the result with its TH1D histograms.
 */
import type { AnalysisResult } from '../api.ts';
import { HistogramSet, template } from '../histogram.ts';
import { TaskError, type WorkerPool } from '../pool/pool.ts';
import {
  pieceKey,
  type FileTable,
  type PartSums,
  type Task,
  type TaskPart,
  type TaskResult,
} from '../pool/protocol.ts';
import { basketsOver } from '../../../rootio/read/pieces.ts';
import type { TreeMeta } from '../../../rootio/read/types.ts';
import type { FileInfo } from '../datasets.ts';
import type { ColumnCache } from './columns-cache.ts';
import type { Plan } from './plan.ts';
import { keepResultJson, resultBody, type ResultJob } from '../result-json.ts';
import type { Sums } from '../th1d.ts';
import type { Analysis } from './publish.ts';

/**
 * Entries of small files' ranges sent as one task: enough that a task's message and set-up (a fraction of a
 * millisecond) stay small beside its events, few enough that progress comes often.
 */
export const GROUP_ENTRIES = 100_000;

export interface ExecuteOptions {
  /** Per-file histograms are left out beyond this many bins in all (files × Σ(bins + 2)). */
  maxByFileCells: number;
  /** Decoded baskets kept between analyses (none when absent or off). */
  columns?: ColumnCache;
}

export class Executor {
  private readonly pool: WorkerPool;
  private readonly options: ExecuteOptions;

  /** File tables by (path, size, mtime, tree): the same file unchanged keeps its id, so its pieces stay usable. */
  private readonly tables = new Map<string, { table: FileTable; branchIndex: Map<string, number> }>();
  private nextFileId = 1;

  constructor(pool: WorkerPool, options: ExecuteOptions) {
    this.pool = pool;
    this.options = options;
  }

  /** Registers these files' tables and gives them to every worker now, so the first analysis sends none. */
  prime(files: readonly FileInfo[]): void {
    const tables = files.flatMap((f) => (f.meta === undefined ? [] : [this.table(f, f.meta).table]));
    if (tables.length > 0) this.pool.sendFiles(tables);
  }

  private table(info: FileInfo, meta: TreeMeta): { table: FileTable; branchIndex: Map<string, number> } {
    const key = `${info.path}\0${info.size}\0${info.mtimeMs}\0${meta.name}`;
    let known = this.tables.get(key);
    if (known === undefined || known.table.branches !== meta.branches) {
      const table: FileTable = { id: this.nextFileId++, path: info.path, branches: meta.branches };
      known = { table, branchIndex: new Map(meta.branches.map((b, i) => [b.name, i])) };
      this.tables.set(key, known);
    }
    return known;
  }

  /**
   * The result, or undefined when the analysis stopped running meanwhile (cancelled). A failed task cancels the
   * analysis's other tasks and rejects with its TaskError.
   */
  async run(a: Analysis, plan: Plan): Promise<AnalysisResult | undefined> {
    const started = performance.now();
    const total = new HistogramSet(plan.specs);
    const perFile = new Map<string, HistogramSet>();
    // Per-file histograms let the apps stack samples; past a few million bins in all they would only bloat the
    // answer (and the threads building it), so they are left out, and not even summed, and the result says so.
    const cells = plan.files.length * plan.specs.reduce((n, h) => n + h.bins + 2, 0);
    const byFileOmitted = cells > this.options.maxByFileCells;
    let bytesRead = 0;
    const jobs: Promise<void>[] = [];
    const cache = this.options.columns?.enabled === true ? this.options.columns : undefined;

    // Every entry range of every file, in the plan's order, with what it needs to be sent and merged. A part names
    // its file by id; the pool sends a worker each file's table once. The cache's pieces of the range are marked
    // used, so what a request reads stays in memory.
    interface Part {
      part: TaskPart;
      /** The file's sums, when the result has them. */
      set: HistogramSet | undefined;
      table: FileTable;
    }
    const parts: Part[] = [];
    for (const { info, meta, ranges } of plan.files) {
      const set = byFileOmitted ? undefined : new HistogramSet(plan.specs);
      if (set !== undefined) perFile.set(info.name, set);
      const { table, branchIndex } = this.table(info, meta);
      const read = plan.branches.map((n) => branchIndex.get(n)!);
      for (const [first, last] of ranges) {
        if (cache !== undefined)
          for (const b of read) {
            const { from, to } = basketsOver(table.branches[b]!, first, last);
            for (let j = from; j < to; j++) cache.get(pieceKey(table.id, b, j));
          }
        parts.push({ part: { fileId: table.id, file: info.name, first, last }, set, table });
      }
    }

    // Partial sums are added in the plan's order, whichever worker finishes first: floating-point addition is not
    // associative, and the same request must give the same histograms to the last bit (with or without the cache).
    const waiting: (PartSums | undefined)[] = [];
    let merged = 0;
    const merge = (): void => {
      for (let next = waiting[merged]; next !== undefined; next = waiting[merged]) {
        total.add(next);
        parts[merged]!.set?.add(next);
        waiting[merged++] = undefined;
      }
    };

    // Consecutive small ranges (small files) travel together up to the plan's range size, at most GROUP_ENTRIES:
    // progress still comes often, and a cancelled task is a short one.
    const bound = Math.min(plan.target, GROUP_ENTRIES);
    for (let from = 0; from < parts.length;) {
      let to = from + 1;
      let entries = parts[from]!.part.last - parts[from]!.part.first;
      while (to < parts.length && entries < bound) {
        const next = parts[to]!.part;
        if (entries + (next.last - next.first) > bound) break;
        entries += next.last - next.first;
        to++;
      }
      const group = parts.slice(from, to);
      const [head, ...rest] = group.map((p) => p.part);
      const task: Task = {
        ...head!,
        files: [...new Set(group.map((p) => p.table))],
        branchInfo: plan.branchInfo,
        draw: plan.draw,
        histograms: plan.specs,
        ...(cache === undefined ? {} : { keep: true }),
        ...(rest.length > 0 ? { more: rest } : {}),
      };
      const order = from;
      jobs.push(
        this.pool.run(task, a.id).then((result: TaskResult) => {
          if (cache !== undefined && result.pieces !== undefined) cache.setAll(result.pieces);
          if (a.state !== 'running') return;
          [result, ...(result.more ?? [])].forEach((sums, k) => (waiting[order + k] = sums));
          merge();
          bytesRead += result.diskBytes;
          a.progress.entriesDone += entries;
          a.notify(false);
        }),
      );
      from = to;
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
    const sums = (set: HistogramSet): Sums => ({ sumw: set.sumw, sumw2: set.sumw2, stats: set.stats });
    const job: ResultJob = {
      template: template(),
      specs: plan.specs,
      histograms: a.request.histograms.map((h) => ({ name: h.name, expr: h.expr })),
      entries: a.progress.entriesDone,
      seconds: (performance.now() - started) / 1000,
      bytesRead,
      total: sums(total),
      ...(byFileOmitted ? {} : { byFile: [...perFile].map(([name, set]): [string, Sums] => [name, sums(set)]) }),
    };
    const result: AnalysisResult = { cached: false, ...resultBody(job) };
    try {
      // The sums go to the worker (this thread keeps the result built above); their JSON comes back as bytes.
      keepResultJson(result, await this.pool.resultJson(job, a.id));
    } catch (error) {
      if (a.state !== 'running') return undefined;
      // A worker that died writing it: the routes write the JSON here, in slices, as before the workers did.
      if (!(error instanceof TaskError)) throw error;
    }
    return result;
  }
}
