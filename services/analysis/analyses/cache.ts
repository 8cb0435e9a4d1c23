/**
 * Finished results by cache key (the files' names, sizes and mtimes and the request), least recently used first out,
 * under a count and a byte budget (resultBytes estimates what a result holds in memory).
 */
import type { AnalysisResult, TH1DJson } from '../api.ts';

/** What one TH1D holds beyond its arrays: jsroot's object with its axes (measured: about 1 KB). */
const TH1D_OVERHEAD = 1024;

function histogramBytes(h: TH1DJson): number {
  // Arrays of doubles: 8 bytes a value.
  return TH1D_OVERHEAD + 8 * (h.fArray.length + h.fSumw2.length);
}

function mapBytes(map: Record<string, TH1DJson>): number {
  let n = 0;
  for (const h of Object.values(map)) n += histogramBytes(h);
  return n;
}

/** An estimate of the memory a result holds: its histograms (total, per file, per sample), a little for the rest. */
export function resultBytes(r: AnalysisResult): number {
  let n = 512 + mapBytes(r.histograms);
  for (const f of Object.values(r.byFile)) n += 128 + mapBytes(f);
  for (const s of r.samples ?? []) n += 256 + mapBytes(s.histograms);
  return n;
}

export class ResultCache {
  private readonly entries = new Map<string, { result: AnalysisResult; bytes: number }>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private total = 0;

  constructor(options: { maxEntries: number; maxBytes: number }) {
    this.maxEntries = options.maxEntries;
    this.maxBytes = options.maxBytes;
  }

  /** Bytes held, by resultBytes. */
  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The result, now the most recently used one. */
  get(key: string): AnalysisResult | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.result;
  }

  /** Keeps the result, evicting the least recently used ones beyond the budgets; one alone above them is not kept. */
  set(key: string, result: AnalysisResult, bytes = resultBytes(result)): void {
    this.delete(key);
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { result, bytes });
    this.total += bytes;
    while (this.entries.size > this.maxEntries || this.total > this.maxBytes)
      this.delete(this.entries.keys().next().value!);
  }

  private delete(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    this.total -= old.bytes;
  }
}
