/**
 * The column cache (issue 13): decoded baskets ("pieces", rootio/read/pieces.ts) by (file, branch, basket), kept
 * on the main thread in shared memory, least recently used out under a byte budget. A task carries the pieces the
 * cache has (a SharedArrayBuffer crosses to a worker without a copy) and brings back the ones its worker decoded, so
 * every worker sees one copy and an analysis repeated with another cut neither reads nor inflates again.
 */
import { freemem, totalmem } from 'node:os';
import type { Piece } from '../../../rootio/read/pieces.ts';

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

export class ColumnCache {
  readonly maxBytes: number;
  private readonly reserve: number;
  private readonly free: () => number;
  private readonly pieces = new Map<string, Piece>();
  private total = 0;
  /** Counters for health, tests and the benchmark. */
  hits = 0;
  misses = 0;
  evictions = 0;

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

  /** The key of basket `entryStart` (its first entry identifies it) of `branch` in a file of this size and mtime. */
  static key(path: string, size: number, mtimeMs: number, branch: string, entryStart: number): string {
    return `${path}\0${size}\0${mtimeMs}\0${branch}\0${entryStart}`;
  }

  /** The piece, now the most recently used one. */
  get(key: string): Piece | undefined {
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
   * Keeps the piece, the least recently used ones out beyond the budget; one alone above the budget is not kept.
   * Under memory pressure (less than the reserve available) the budget shrinks to what the cache holds minus what
   * is missing, so the cache gives memory back before an analysis runs out of it.
   */
  set(key: string, piece: Piece): void {
    this.remove(key);
    const limit = this.limit();
    if (piece.bytes > limit) {
      this.evictTo(limit);
      return;
    }
    this.pieces.set(key, piece);
    this.total += piece.bytes;
    this.evictTo(limit);
  }

  /** What the cache may hold now: its budget, less what the system lacks of its reserve. */
  limit(): number {
    const missing = this.reserve - this.free();
    return missing > 0 ? Math.max(0, Math.min(this.maxBytes, this.total - missing)) : this.maxBytes;
  }

  clear(): void {
    this.pieces.clear();
    this.total = 0;
  }

  private evictTo(limit: number): void {
    while (this.total > limit) {
      const oldest = this.pieces.keys().next();
      if (oldest.done === true) break;
      this.remove(oldest.value);
      this.evictions++;
    }
  }

  private remove(key: string): void {
    const old = this.pieces.get(key);
    if (old === undefined) return;
    this.pieces.delete(key);
    this.total -= old.bytes;
  }
}
