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
export interface TaskPart {
  path: string;
  /** The file's name as users know it, for error messages. */
  file: string;
  first: number;
  last: number;
  /** Metadata of the branches the expressions read. */
  branches: BranchMeta[];
  /**
   * The column cache's pieces for this range, per branch of `branches` and basket of its table (null: not cached,
   * the worker reads it). Their memory is shared (SharedArrayBuffer), so this costs no copy.
   */
  pieces?: (Piece | null)[][];
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
  /** Decode baskets into shared memory and send the new pieces back, for the cache. */
  keep?: boolean;
  /** Further ranges run in the same task, each with sums of its own (TaskResult.more). */
  more?: TaskPart[];
}

/** A piece the worker decoded for the cache: which part (0 the task, k its more[k - 1]), branch and basket. */
export interface NewPiece {
  part: number;
  branch: number;
  basket: number;
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

/** `cancel` skips a task still waiting in the worker, which then answers it with an E_CANCELLED error. */
export type ToWorker = { type: 'task'; id: number; task: Task } | { type: 'cancel'; id: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: TaskResult }
  | { type: 'error'; id: number; code: string; message: string; params?: Record<string, string | number> };
