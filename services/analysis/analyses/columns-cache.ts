/**
 * The column cache (issue 13): decoded baskets ("pieces", rootio/read/pieces.ts) by (file, branch, basket) (a
 * pieceKey), in shared memory, least recently used out under a byte budget. The main thread keeps the books; every
 * worker keeps the same pieces by key (pool/tasks.ts WorkerStore): a worker sends back the pieces it decoded, the
 * cache tells all workers what to add and what to drop (`onDrop`), and a task names its files and ranges only. A
 * SharedArrayBuffer crosses to a worker without a copy, so every worker sees one copy and an analysis repeated with
 * another cut neither reads nor inflates again.
 */
import { freemem, totalmem } from 'node:os';
import type { Piece } from '../../../rootio/read/pieces.ts';
import type { NewPiece } from '../pool/protocol.ts';

/** The default budget: a quarter of the machine's memory (the unit may use 60 % before it is reclaimed). */
export const DEFAULT_CACHE_FRACTION = 0.25;

export function defaultColumnCacheBytes(): number {
  return Math.floor(totalmem() * DEFAULT_CACHE_FRACTION);
}

export interface ColumnCacheOptions {
  /** The budget in bytes; 0 turns the cache off. */
  maxBytes: number;
  /**
   * Memory the cache leaves free for everything else: when the system has less than this available, the cache
   * gives up its oldest pieces before it takes new ones (default: an eighth of the machine's memory).
   */
  reserveBytes?: number;
  /** The system's available memory (tests give their own). */
  freeBytes?: () => number;
}

/**
 * What the workers must do to hold what the cache holds: add these pieces, then drop these keys (`all`: every
 * piece). A worker already holds the pieces it decoded itself; the others get them from `add`.
 */
export type ChangeListener = (add: NewPiece[], drop: number[] | 'all') => void;

export class ColumnCache {
  readonly maxBytes: number;
  private readonly reserve: number;
  private readonly free: () => number;
  private readonly pieces = new Map<number, Piece>();
  private total = 0;
  /** Counters for health, tests and the benchmark. */
  hits = 0;
  misses = 0;
  evictions = 0;
  /** Told of every change (the manager forwards them to the workers). */
  onChange: ChangeListener | undefined;

  constructor(options: ColumnCacheOptions) {
    this.maxBytes = Math.max(0, Math.floor(options.maxBytes));
    this.reserve = options.reserveBytes ?? Math.floor(totalmem() / 8);
    this.free = options.freeBytes ?? freemem;
  }

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  /** Bytes held (values and offsets of every piece). */
  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.pieces.size;
  }

  /** The piece, now the most recently used one. */
  get(key: number): Piece | undefined {
    const piece = this.pieces.get(key);
    if (piece === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.pieces.delete(key);
    this.pieces.set(key, piece);
    return piece;
  }

  /**
   * Keeps the pieces, the least recently used ones out beyond the budget; one alone above the budget is not kept.
   * Under memory pressure (less than the reserve available) the budget shrinks to what the cache holds minus what
   * is missing, so the cache gives memory back before an analysis runs out of it. The system's available memory is
   * asked once per call (it costs a read of /proc/meminfo), so a worker's pieces come in one call.
   */
  setAll(fresh: readonly NewPiece[]): void {
    const limit = this.limit();
    const dropped: number[] = [];
    for (const { key, piece } of fresh) {
      this.remove(key);
      if (piece.bytes > limit) dropped.push(key);
      else {
        this.pieces.set(key, piece);
        this.total += piece.bytes;
      }
      this.evictTo(limit, dropped);
    }
    const add = fresh.filter(({ key, piece }) => this.pieces.get(key) === piece);
    if (add.length > 0 || dropped.length > 0) this.onChange?.(add, dropped);
  }

  set(key: number, piece: Piece): void {
    this.setAll([{ key, piece }]);
  }

  /** What the cache may hold now: its budget, less what the system lacks of its reserve. */
  limit(): number {
    const missing = this.reserve - this.free();
    return missing > 0 ? Math.max(0, Math.min(this.maxBytes, this.total - missing)) : this.maxBytes;
  }

  clear(): void {
    this.pieces.clear();
    this.total = 0;
    this.onChange?.([], 'all');
  }

  private evictTo(limit: number, dropped: number[]): void {
    while (this.total > limit) {
      const oldest = this.pieces.keys().next();
      if (oldest.done === true) break;
      this.remove(oldest.value);
      dropped.push(oldest.value);
      this.evictions++;
    }
  }

  private remove(key: number): void {
    const old = this.pieces.get(key);
    if (old === undefined) return;
    this.pieces.delete(key);
    this.total -= old.bytes;
  }
}
