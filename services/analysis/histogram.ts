/**
 * Partial histograms (typed arrays from the workers) merged on the main thread, and their TH1D JSON: the object
 * jsroot's createHistogram('TH1D', n) builds, with our contents, so JSROOT draws it as it is.
 */
import { createHistogram } from 'jsroot/core';
import { STATS, type HistSpec, type TaskResult } from './pool/protocol.ts';
import { th1d, type TH1D } from './th1d.ts';

export type { TH1D };

export class HistogramSet {
  readonly specs: HistSpec[];
  readonly sumw: Float64Array[];
  readonly sumw2: Float64Array[];
  readonly stats: Float64Array;

  constructor(specs: HistSpec[]) {
    this.specs = specs;
    this.sumw = specs.map((h) => new Float64Array(h.bins + 2));
    this.sumw2 = specs.map((h) => new Float64Array(h.bins + 2));
    this.stats = new Float64Array(specs.length * STATS);
  }

  /** No part added yet: the first one is copied, not added (0 + x is x: a worker's sums, begun at 0, hold no -0). */
  private empty = true;

  add(part: Pick<TaskResult, 'sumw' | 'sumw2' | 'stats'>): void {
    if (this.empty) {
      this.empty = false;
      this.sumw.forEach((a, h) => a.set(part.sumw[h]!));
      this.sumw2.forEach((a, h) => a.set(part.sumw2[h]!));
      this.stats.set(part.stats);
      return;
    }
    for (let h = 0; h < this.specs.length; h++) {
      const a = this.sumw[h]!;
      const b = part.sumw[h]!;
      const a2 = this.sumw2[h]!;
      const b2 = part.sumw2[h]!;
      for (let i = 0; i < a.length; i++) {
        a[i] = a[i]! + b[i]!;
        a2[i] = a2[i]! + b2[i]!;
      }
    }
    for (let i = 0; i < this.stats.length; i++) this.stats[i] = this.stats[i]! + part.stats[i]!;
  }

  /** Fills (all values, under/overflow included) of histogram h. */
  fills(h: number): number {
    return this.stats[h * STATS]!;
  }

  /** Σw over all bins of histogram h, under/overflow included. */
  total(h: number): number {
    return this.sumw[h]!.reduce((s, v) => s + v, 0);
  }

  toTH1D(h: number, name: string, title: string, axisTitle: string): TH1D {
    return th1d(template(), this.specs[h]!, this, h, name, title, axisTitle);
  }
}

let cached: TH1D | undefined;

/** jsroot's TH1D as plain JSON, made once: jsroot's create() is too slow to call per histogram of every file. */
export function template(): TH1D {
  cached ??= JSON.parse(JSON.stringify(createHistogram('TH1D', 1))) as TH1D;
  return cached;
}
