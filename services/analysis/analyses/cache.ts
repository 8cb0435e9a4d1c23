/**
 * Finished results by cache key (the files' names, sizes and mtimes and the request), least recently used first out.
 */
import type { AnalysisResult } from '../api.ts';

export class ResultCache {
  private readonly entries = new Map<string, AnalysisResult>();
  private readonly maxEntries: number;

  constructor(options: { maxEntries: number }) {
    this.maxEntries = options.maxEntries;
  }

  /** The result, now the most recently used one. */
  get(key: string): AnalysisResult | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(key: string, result: AnalysisResult): void {
    this.entries.delete(key);
    this.entries.set(key, result);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
