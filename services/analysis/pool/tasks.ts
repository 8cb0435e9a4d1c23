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
import { readPiece, type Piece } from '../../../rootio/read/pieces.ts';
import type { BranchMeta } from '../../../rootio/read/types.ts';
import {
  STATS,
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

/**
 * Runs `prog` over entries [first, last) of decoded baskets: `pieces[i][j]` is basket j of `branches[i]` (whose
 * tables are cut to the task's baskets). The range is cut where any branch changes basket, and each stretch is one
 * batch of views into the pieces, so nothing is copied or converted; events are filled in the same order as one
 * batch over readColumn's float64 columns would, so the sums are the same to the last bit.
 */
export function runOverPieces(
  prog: DrawProgram,
  branches: readonly BranchMeta[],
  pieces: readonly (readonly Piece[])[],
  first: number,
  last: number,
  into: Accumulators,
): void {
  const cuts = new Set<number>([first, last]);
  for (const b of branches) for (const e of b.baskets.entry) if (e > first && e < last) cuts.add(e);
  const points = [...cuts].sort((a, b) => a - b);
  const at = branches.map(() => 0);
  // Fixed-size arrays have no offsets in their baskets: one table of k · n serves every stretch.
  let longest = 0;
  for (let s = 0; s + 1 < points.length; s++) longest = Math.max(longest, points[s + 1]! - points[s]!);
  const fixedOffsets = new Map<number, Uint32Array>();
  for (const b of branches) {
    if (b.layout !== 'fixed' || fixedOffsets.has(b.fixedLength)) continue;
    const table = new Uint32Array(longest + 1);
    for (let k = 0; k <= longest; k++) table[k] = k * b.fixedLength;
    fixedOffsets.set(b.fixedLength, table);
  }
  const columns = new Map<string, Column>();
  for (let s = 0; s + 1 < points.length; s++) {
    const a = points[s]!;
    const z = points[s + 1]!;
    branches.forEach((b, i) => {
      const entry = b.baskets.entry;
      let j = at[i]!;
      while (entry[j + 1]! <= a) j++;
      at[i] = j;
      const piece = pieces[i]![j]!;
      const from = a - entry[j]!;
      const to = z - entry[j]!;
      if (b.layout === 'scalar') {
        columns.set(b.name, { kind: 'scalar', values: piece.values.subarray(from, to) });
      } else if (b.layout === 'fixed') {
        const n = b.fixedLength;
        const offsets = fixedOffsets.get(n)!.subarray(0, to - from + 1);
        columns.set(b.name, { kind: 'array', offsets, values: piece.values.subarray(from * n, to * n) });
      } else {
        columns.set(b.name, { kind: 'array', offsets: piece.offsets!.subarray(from, to + 1), values: piece.values });
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

/** Reads (or takes from the cache's pieces) the baskets one part needs; new pieces go to `fresh`. */
async function partPieces(
  prog: DrawProgram,
  part: TaskPart,
  index: number,
  keep: boolean,
  read: ReadStats,
  fresh: NewPiece[],
): Promise<{ branches: BranchMeta[]; pieces: Piece[][] }> {
  const branches: BranchMeta[] = [];
  const pieces: Piece[][] = [];
  let fd: number | undefined;
  try {
    for (const name of prog.branches) {
      const b = part.branches.findIndex((m) => m.name === name);
      const meta = part.branches[b];
      if (meta === undefined) throw new Error(`branch ${name} is not in the task`);
      const { entry } = meta.baskets;
      if (entry.length < 2 || entry[0]! > part.first || entry.at(-1)! < part.last)
        throw new Error(`branch ${name} has no basket for some entries in ${part.first}..${part.last}`);
      const list: Piece[] = [];
      for (let j = 0; j + 1 < entry.length; j++) {
        let piece = part.pieces?.[b]?.[j] ?? null;
        if (piece === null) {
          fd ??= openSync(part.path, 'r');
          piece = await readPiece(fd, meta, j, keep);
          read.diskBytes += piece.diskBytes;
          if (keep) fresh.push({ part: index, branch: b, basket: j, piece });
        }
        read.dataBytes += piece.dataBytes;
        list.push(piece);
      }
      branches.push(meta);
      pieces.push(list);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return { branches, pieces };
}

export async function runTask(task: Task): Promise<TaskResult> {
  const prog = program(task);
  const nh = task.histograms.length;
  const min = task.histograms.map((h) => h.min);
  const scale = task.histograms.map((h) => h.bins / (h.max - h.min));
  const bins = task.histograms.map((h) => h.bins);
  const read: ReadStats = { diskBytes: 0, dataBytes: 0 };
  const keep = task.keep === true;
  const fresh: NewPiece[] = [];
  const parts: TaskPart[] = [task, ...(task.more ?? [])];
  const sums: PartSums[] = [];
  for (const [index, part] of parts.entries()) {
    let data;
    try {
      data = await partPieces(prog, part, index, keep, read, fresh);
    } catch (error) {
      throw new PartError(part.file, error);
    }
    const sumw = task.histograms.map((h) => new Float64Array(h.bins + 2));
    const sumw2 = task.histograms.map((h) => new Float64Array(h.bins + 2));
    const stats = new Float64Array(nh * STATS);
    // The kernel fills these in place (binning and statistics: Accumulators in expr/types.ts).
    runOverPieces(prog, data.branches, data.pieces, part.first, part.last, { min, scale, bins, sumw, sumw2, stats });
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

/** Every buffer a result can hand over without a copy (the sums; pieces are shared memory, not transferred). */
function transferList(result: TaskResult): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const p of [result, ...(result.more ?? [])])
    for (const a of [...p.sumw, ...p.sumw2, p.stats]) out.push(a.buffer as ArrayBuffer);
  return out;
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
  const queue: Extract<ToWorker, { type: 'task' }>[] = [];
  let running = false;
  const drain = async (): Promise<void> => {
    running = true;
    for (let message = queue.shift(); message !== undefined; message = queue.shift()) {
      const { id, task } = message;
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
    queue.push(message);
    if (!running) void drain();
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}
