/** Messages between the main thread and the analysis workers: plain data in, transferable typed arrays out. */
import type { Piece } from '../../../rootio/read/pieces.ts';
import type { BranchMeta } from '../../../rootio/read/types.ts';
import type { ResultJob } from '../result-json.ts';

export interface HistSpec {
  bins: number;
  min: number;
  max: number;
}

export interface DrawText {
  selection?: string;
  weight?: string;
  expressions: string[];
  /** The last expression counts selected events (see DrawSpec.eventCount). */
  eventCount?: boolean;
}

/**
 * A file as a worker keeps it between tasks: its path and its tree's branches (basket tables). The pool sends each
 * table to a worker once (Task.files); later tasks name the file by `id` only, so a request over a hundred files
 * clones no basket table.
 */
export interface FileTable {
  /** Unique per (path, size, mtime): a changed file gets a new id, so nothing cached for the old one is used. */
  id: number;
  path: string;
  branches: BranchMeta[];
}

/** One entry range of one file. */
export interface TaskPart {
  /** The file's FileTable id (sent with this task or an earlier one). */
  fileId: number;
  /** The file's name as users know it, for error messages. */
  file: string;
  first: number;
  last: number;
}

/**
 * One entry range of one file, and maybe more ranges of other (small) files behind it: a task costs a message each
 * way and some set-up, which over a hundred files of ten thousand events would cost more than the events.
 */
export interface Task extends TaskPart {
  /** The branches the expressions read (name, isArray), what the worker compiles them against. */
  branchInfo: { name: string; isArray: boolean }[];
  draw: DrawText;
  histograms: HistSpec[];
  /**
   * Decode baskets into shared memory, keep them, and send the new pieces back for the column cache, which tells
   * every worker what it keeps (ToWorker `pieces`).
   */
  keep?: boolean;
  /** Further ranges run in the same task, each with sums of its own (TaskResult.more). */
  more?: TaskPart[];
  /** The tables of the files the parts read; the pool leaves out those the worker already has. */
  files?: FileTable[];
}

/**
 * A decoded basket's place: basket `basket` of branch `branch` (its index in the FileTable) of file `file` (its id),
 * packed into one number so the cache's map and the messages stay cheap: 21 bits of file id, 12 of branch, 20 of
 * basket (2^53 in all).
 */
export function pieceKey(file: number, branch: number, basket: number): number {
  return (file * 4096 + branch) * 1048576 + basket;
}

/** The parts of a pieceKey. */
export function pieceKeyParts(key: number): { file: number; branch: number; basket: number } {
  const basket = key % 1048576;
  const rest = (key - basket) / 1048576;
  const branch = rest % 4096;
  return { file: (rest - branch) / 4096, branch, basket };
}

/** A piece the worker decoded for the cache, by its pieceKey. */
export interface NewPiece {
  key: number;
  piece: Piece;
}

/** The sums of one part. */
export interface PartSums {
  entries: number;
  /** Per histogram: bins + 2 sums of weights (underflow, bins, overflow). */
  sumw: Float64Array[];
  sumw2: Float64Array[];
  /** STATS values per histogram. */
  stats: Float64Array;
}

export { STATS } from '../expr/types.ts';

/** The task's own part's sums, and those of its `more` parts in order. */
export interface TaskResult extends PartSums {
  diskBytes: number;
  dataBytes: number;
  /** Pieces decoded for the cache (when the task asked to `keep` them). */
  pieces?: NewPiece[];
  more?: PartSums[];
}

/**
 * `task` reads and sums; `result` writes a finished analysis's JSON (result-json.ts), answered with its UTF-8 bytes.
 * `cancel` skips a task still waiting in the worker, which then answers it with an E_CANCELLED error. `pieces` is
 * the column cache's word on what every worker keeps: pieces to add (shared memory, no copy), keys to drop (`all`:
 * every piece), in the order the cache decided them, so each worker ends up holding what the cache holds. `files`
 * gives a worker file tables ahead of any task (at start-up, for every dataset file).
 */
export type Work = { type: 'task'; task: Task } | { type: 'result'; job: ResultJob };
export type ToWorker =
  | (Work & { id: number })
  | { type: 'cancel'; id: number }
  | { type: 'pieces'; add: NewPiece[]; drop: number[] | 'all' }
  | { type: 'files'; files: FileTable[] };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: TaskResult }
  | { type: 'json'; id: number; bytes: Uint8Array }
  | { type: 'error'; id: number; code: string; message: string; params?: Record<string, string | number> };
