/** Messages between the main thread and the analysis workers: plain data in, transferable typed arrays out. */
import type { Piece } from '../../../rootio/read/pieces.ts';
import type { BranchMeta } from '../../../rootio/read/types.ts';

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

/** One entry range of one file. */
export interface Task {
  path: string;
  /** The file's name as users know it, for error messages. */
  file: string;
  first: number;
  last: number;
  /** Metadata of the branches the expressions read. */
  branches: BranchMeta[];
  /** Every readable branch of the tree (name, isArray), what the expressions compile against. */
  branchInfo: { name: string; isArray: boolean }[];
  draw: DrawText;
  histograms: HistSpec[];
  /**
   * The column cache's pieces for this task, per branch of `branches` and basket of its table (null: not cached,
   * the worker reads it). Their memory is shared (SharedArrayBuffer), so this costs no copy.
   */
  pieces?: (Piece | null)[][];
  /** Decode baskets into shared memory and send the new pieces back, for the cache. */
  keep?: boolean;
}

/** A piece the worker decoded for the cache: which branch of the task's `branches`, which basket of its table. */
export interface NewPiece {
  branch: number;
  basket: number;
  piece: Piece;
}

/** Per histogram: fills, Σw, Σw², Σwx, Σwx² (ROOT's fEntries, fTsumw, fTsumw2, fTsumwx, fTsumwx2). */
export const STATS = 5;

export interface TaskResult {
  entries: number;
  /** Per histogram: bins + 2 sums of weights (underflow, bins, overflow). */
  sumw: Float64Array[];
  sumw2: Float64Array[];
  /** STATS values per histogram. */
  stats: Float64Array;
  diskBytes: number;
  dataBytes: number;
  /** Pieces decoded for the cache (when the task asked to `keep` them). */
  pieces?: NewPiece[];
}

/** `cancel` skips a task still waiting in the worker, which then answers it with an E_CANCELLED error. */
export type ToWorker = { type: 'task'; id: number; task: Task } | { type: 'cancel'; id: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: TaskResult }
  | { type: 'error'; id: number; code: string; message: string; params?: Record<string, string | number> };
