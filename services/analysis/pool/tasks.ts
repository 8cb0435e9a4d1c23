/**
 * What an analysis worker does with a task: reads only the branches the expressions use over the task's entry
 * range, evaluates the compiled program, fills partial histograms in typed arrays and transfers them back. Kept free
 * of Fastify and jsroot's tree code so the bundler emits the worker as a small separate file.
 */
import { closeSync, openSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { workerData, type MessagePort } from 'node:worker_threads';
import { compileDraw, type Accumulators, type BranchInfo, type Column, type DrawProgram } from '../expr/index.ts';
import type { ReadStats } from '../../../rootio/read/columns.ts';
import { basketsOver, readPiece, type Piece } from '../../../rootio/read/pieces.ts';
import { resultBodyBytes } from '../result-json.ts';
import type { BranchMeta } from '../../../rootio/read/types.ts';
import {
  pieceKey,
  STATS,
  type FileTable,
  type FromWorker,
  type NewPiece,
  type PartSums,
  type Task,
  type TaskPart,
  type TaskResult,
  type ToWorker,
} from './protocol.ts';

const programs = new Map<string, DrawProgram>();

function program(task: Task): DrawProgram {
  const key = JSON.stringify([task.draw, task.branchInfo]);
  let p = programs.get(key);
  if (p === undefined) {
    const infos = new Map<string, BranchInfo>(task.branchInfo.map((b) => [b.name, b]));
    p = compileDraw(task.draw, infos);
    if (programs.size > 64) programs.clear();
    programs.set(key, p);
  }
  return p;
}

/** One branch's baskets over a range: `pieces[k]` is basket `from + k` of `meta`'s table. */
export interface BranchPieces {
  meta: BranchMeta;
  from: number;
  pieces: readonly Piece[];
}

/**
 * Runs `prog` over entries [first, last) of decoded baskets. The range is cut where any branch changes basket, and
 * each stretch is one batch of views into the pieces, so nothing is copied or converted; events are filled in the
 * same order as one batch over readColumn's float64 columns would, so the sums are the same to the last bit.
 */
export function runOverPieces(
  prog: DrawProgram,
  branches: readonly BranchPieces[],
  first: number,
  last: number,
  into: Accumulators,
): void {
  const cuts = new Set<number>([first, last]);
  for (const { meta, from, pieces } of branches)
    for (let j = from + 1; j < from + pieces.length; j++) cuts.add(meta.baskets.entry[j]!);
  const points = [...cuts].sort((a, b) => a - b);
  const at = branches.map(() => 0);
  // Fixed-size arrays have no offsets in their baskets: one table of k · n serves every stretch.
  let longest = 0;
  for (let s = 0; s + 1 < points.length; s++) longest = Math.max(longest, points[s + 1]! - points[s]!);
  const fixedOffsets = new Map<number, Uint32Array>();
  for (const { meta } of branches) {
    if (meta.layout !== 'fixed' || fixedOffsets.has(meta.fixedLength)) continue;
    const table = new Uint32Array(longest + 1);
    for (let k = 0; k <= longest; k++) table[k] = k * meta.fixedLength;
    fixedOffsets.set(meta.fixedLength, table);
  }
  const columns = new Map<string, Column>();
  for (let s = 0; s + 1 < points.length; s++) {
    const a = points[s]!;
    const z = points[s + 1]!;
    branches.forEach(({ meta, from, pieces }, i) => {
      const entry = meta.baskets.entry;
      let k = at[i]!;
      while (entry[from + k + 1]! <= a) k++;
      at[i] = k;
      const piece = pieces[k]!;
      const start = entry[from + k]!;
      const lo = a - start;
      const hi = z - start;
      if (meta.layout === 'scalar') {
        columns.set(meta.name, { kind: 'scalar', values: piece.values.subarray(lo, hi) });
      } else if (meta.layout === 'fixed') {
        const n = meta.fixedLength;
        const offsets = fixedOffsets.get(n)!.subarray(0, hi - lo + 1);
        columns.set(meta.name, { kind: 'array', offsets, values: piece.values.subarray(lo * n, hi * n) });
      } else {
        columns.set(meta.name, { kind: 'array', offsets: piece.offsets!.subarray(lo, hi + 1), values: piece.values });
      }
    });
    prog.fillBatch({ events: z - a, columns }, into);
  }
}

/** A reader error in one part of a task, carrying that part's file for the message. */
class PartError extends Error {
  readonly file: string;
  readonly code: string | undefined;
  readonly params: unknown;
  constructor(file: string, error: unknown) {
    const e = error as { code?: unknown; message?: unknown; params?: unknown };
    super(typeof e?.message === 'string' ? e.message : String(error), { cause: error });
    this.file = file;
    this.code = typeof e?.code === 'string' ? e.code : undefined;
    this.params = e?.params;
  }
}

interface KeptFile {
  table: FileTable;
  branchIndex: Map<string, number>;
}

/**
 * What a worker keeps between tasks: the file tables it was sent and the decoded baskets ("pieces") the column cache
 * holds, by pieceKey. The cache decides (ToWorker `pieces`); a piece this worker decodes is kept at once, until the
 * cache's word on it arrives. A piece missing here is simply read again, so the cache and the workers never need to
 * agree for an answer to be right.
 */
export class WorkerStore {
  private readonly files = new Map<number, KeptFile>();
  private readonly pieces = new Map<number, Piece>();

  addFiles(tables: readonly FileTable[]): void {
    for (const table of tables)
      if (!this.files.has(table.id))
        this.files.set(table.id, { table, branchIndex: new Map(table.branches.map((b, i) => [b.name, i])) });
  }

  file(id: number): KeptFile | undefined {
    return this.files.get(id);
  }

  piece(key: number): Piece | undefined {
    return this.pieces.get(key);
  }

  keep(key: number, piece: Piece): void {
    this.pieces.set(key, piece);
  }

  /** The column cache's word: what to add, then what to drop. */
  update(add: readonly NewPiece[], drop: readonly number[] | 'all'): void {
    for (const { key, piece } of add) this.pieces.set(key, piece);
    if (drop === 'all') this.pieces.clear();
    else for (const key of drop) this.pieces.delete(key);
  }

  get pieceCount(): number {
    return this.pieces.size;
  }
}

/** The worker thread's own store (tests give runTask one of their own). */
const ownStore = new WorkerStore();

/** Reads (or takes from the store) the baskets one part needs; new pieces go to `fresh`. */
async function partPieces(
  prog: DrawProgram,
  part: TaskPart,
  store: WorkerStore,
  keep: boolean,
  read: ReadStats,
  fresh: NewPiece[],
): Promise<BranchPieces[]> {
  const kept = store.file(part.fileId);
  if (kept === undefined) throw new Error(`the worker was not sent the table of file ${part.fileId}`);
  const { table, branchIndex } = kept;
  const out: BranchPieces[] = [];
  let fd: number | undefined;
  try {
    for (const name of prog.branches) {
      const b = branchIndex.get(name);
      const meta = b === undefined ? undefined : table.branches[b];
      if (b === undefined || meta === undefined) throw new Error(`branch ${name} is not in the file's table`);
      const { entry } = meta.baskets;
      if (entry.length < 2 || entry[0]! > part.first || entry.at(-1)! < part.last)
        throw new Error(`branch ${name} has no basket for some entries in ${part.first}..${part.last}`);
      const { from, to } = basketsOver(meta, part.first, part.last);
      const pieces: Piece[] = [];
      for (let j = from; j < to; j++) {
        const key = pieceKey(table.id, b, j);
        let piece = store.piece(key);
        if (piece === undefined) {
          fd ??= openSync(table.path, 'r');
          piece = await readPiece(fd, meta, j, keep);
          read.diskBytes += piece.diskBytes;
          if (keep) {
            store.keep(key, piece);
            fresh.push({ key, piece });
          }
        }
        read.dataBytes += piece.dataBytes;
        pieces.push(piece);
      }
      out.push({ meta, from, pieces });
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return out;
}

export async function runTask(task: Task, store: WorkerStore = ownStore): Promise<TaskResult> {
  if (task.files !== undefined) store.addFiles(task.files);
  const prog = program(task);
  const nh = task.histograms.length;
  const min = task.histograms.map((h) => h.min);
  const scale = task.histograms.map((h) => h.bins / (h.max - h.min));
  const bins = task.histograms.map((h) => h.bins);
  const read: ReadStats = { diskBytes: 0, dataBytes: 0 };
  const keep = task.keep === true;
  const fresh: NewPiece[] = [];
  const parts: TaskPart[] = [task, ...(task.more ?? [])];
  // Every part's sums are views of one buffer, transferred back at once: a transfer costs more than a small copy,
  // and a task of ten small files has sixty arrays.
  const perPart = task.histograms.reduce((n, h) => n + 2 * (h.bins + 2), 0) + nh * STATS;
  const memory = new Float64Array(perPart * parts.length);
  let at = 0;
  const take = (length: number): Float64Array => memory.subarray(at, (at += length));
  const sums: PartSums[] = [];
  for (const part of parts) {
    let data;
    try {
      data = await partPieces(prog, part, store, keep, read, fresh);
    } catch (error) {
      throw new PartError(part.file, error);
    }
    const sumw = task.histograms.map((h) => take(h.bins + 2));
    const sumw2 = task.histograms.map((h) => take(h.bins + 2));
    const stats = take(nh * STATS);
    // The kernel fills these in place (binning and statistics: Accumulators in expr/types.ts).
    runOverPieces(prog, data, part.first, part.last, { min, scale, bins, sumw, sumw2, stats });
    sums.push({ entries: part.last - part.first, sumw, sumw2, stats });
  }
  const [own, ...more] = sums;
  return {
    ...own!,
    diskBytes: read.diskBytes,
    dataBytes: read.dataBytes,
    ...(fresh.length > 0 ? { pieces: fresh } : {}),
    ...(more.length > 0 ? { more } : {}),
  };
}

function errorOf(
  error: unknown,
  task: Task,
): { code: string; message: string; params?: Record<string, string | number> } {
  const e = error as { code?: unknown; message?: unknown; params?: unknown };
  const code = typeof e?.code === 'string' && e.code.startsWith('E_') ? e.code : 'E_ROOT_READ';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const params =
    typeof e?.params === 'object' && e.params !== null ? (e.params as Record<string, string | number>) : {};
  // Reader errors get the file named here; expression errors already say which field is wrong.
  const named = code === 'E_ROOT_READ' || code === 'E_ROOT_CORRUPT';
  const file = error instanceof PartError ? error.file : task.file;
  return named
    ? { code, message: `${file}: ${message}`, params: { ...params, file } }
    : Object.keys(params).length > 0
      ? { code, message, params }
      : { code, message };
}

/** The buffer a result hands over without a copy: the one all its sums are views of (pieces are shared memory). */
function transferList(result: TaskResult): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const p of [result, ...(result.more ?? [])])
    for (const a of [...p.sumw, ...p.sumw2, p.stats]) buffers.add(a.buffer as ArrayBuffer);
  return [...buffers];
}

/** The workers' nice value unless the pool says otherwise (PoolOptions.nice). */
export const WORKER_NICE = 10;

/**
 * Linux nice values are per thread: lowering this worker's priority keeps the main thread (HTTP, health checks)
 * responsive when the workers fill every core. Best effort; elsewhere it is a no-op.
 */
function lowerPriority(nice: number): void {
  if (nice === 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // not Linux, or not allowed
  }
}

/**
 * Answers the pool's messages on `port` with `run` (runTask; a test worker wraps it to inject faults): tasks one at
 * a time in arrival order, the next one sent ahead by the pool.
 */
export function serveTasks(port: MessagePort, run: (task: Task) => Promise<TaskResult> = runTask): void {
  const nice = (workerData as { nice?: unknown } | null)?.nice;
  lowerPriority(typeof nice === 'number' ? nice : WORKER_NICE);
  const queue: Extract<ToWorker, { type: 'task' | 'result' }>[] = [];
  let running = false;
  const drain = async (): Promise<void> => {
    running = true;
    for (let message = queue.shift(); message !== undefined; message = queue.shift()) {
      const { id } = message;
      if (message.type === 'result') {
        try {
          const bytes = resultBodyBytes(message.job);
          port.postMessage({ type: 'json', id, bytes } satisfies FromWorker, [bytes.buffer as ArrayBuffer]);
        } catch (error) {
          port.postMessage({ type: 'error', id, code: 'E_INTERNAL', message: String(error) } satisfies FromWorker);
        }
        continue;
      }
      const { task } = message;
      try {
        const result = await run(task);
        port.postMessage({ type: 'done', id, result } satisfies FromWorker, transferList(result));
      } catch (error) {
        port.postMessage({ type: 'error', id, ...errorOf(error, task) } satisfies FromWorker);
      }
    }
    running = false;
  };
  port.on('message', (message: ToWorker) => {
    if (message.type === 'pieces') {
      ownStore.update(message.add, message.drop);
      return;
    }
    if (message.type === 'files') {
      ownStore.addFiles(message.files);
      return;
    }
    if (message.type === 'cancel') {
      // A task not started yet is skipped; one already running or done has answered or will answer normally.
      const index = queue.findIndex((m) => m.id === message.id);
      if (index < 0) return;
      queue.splice(index, 1);
      port.postMessage({
        type: 'error',
        id: message.id,
        code: 'E_CANCELLED',
        message: 'cancelled',
      } satisfies FromWorker);
      return;
    }
    // Tables are taken on arrival, not when the task runs: a later task may need them even if this one is skipped.
    if (message.type === 'task' && message.task.files !== undefined) ownStore.addFiles(message.task.files);
    queue.push(message);
    if (!running) void drain();
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}
