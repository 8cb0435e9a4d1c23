/**
 * Partial histograms (typed arrays from the workers) merged on the main thread, and their TH1D JSON: the object
 * jsroot's createHistogram('TH1D', n) builds, with our contents, so JSROOT draws it as it is.
 */
import { createHistogram } from 'jsroot/core';
import { STATS, type HistSpec, type TaskResult } from './pool/protocol.ts';

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

  add(part: Pick<TaskResult, 'sumw' | 'sumw2' | 'stats'>): void {
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
    const spec = this.specs[h]!;
    const s = h * STATS;
    const t = template();
    return {
      ...t,
      fName: name,
      fTitle: title,
      fNcells: spec.bins + 2,
      fXaxis: { ...t.fXaxis, fNbins: spec.bins, fXmin: spec.min, fXmax: spec.max, fTitle: axisTitle },
      fYaxis: { ...(t.fYaxis as object) },
      fZaxis: { ...(t.fZaxis as object) },
      fFunctions: { ...(t.fFunctions as object), arr: [], opt: [] },
      fContour: [],
      fBuffer: [],
      fEntries: this.stats[s]!,
      fTsumw: this.stats[s + 1]!,
      fTsumw2: this.stats[s + 2]!,
      fTsumwx: this.stats[s + 3]!,
      fTsumwx2: this.stats[s + 4]!,
      // Plain arrays: typed arrays would serialise as objects keyed by index.
      fArray: plainArray(this.sumw[h]!),
      fSumw2: plainArray(this.sumw2[h]!),
    };
  }
}

/**
 * A typed array's values as a plain array. Array.from goes through the iterator: 20 to 30 times slower, and on the
 * main thread (100 000 bins: 20 to 40 ms, what made /api/health wait under load).
 */
function plainArray(values: Float64Array): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]!;
  return out;
}

let cached: TH1D | undefined;

/** jsroot's TH1D as plain JSON, made once: jsroot's create() is too slow to call per histogram of every file. */
function template(): TH1D {
  cached ??= JSON.parse(JSON.stringify(createHistogram('TH1D', 1))) as TH1D;
  return cached;
}

export interface TH1D {
  _typename: 'TH1D';
  fName: string;
  fTitle: string;
  fNcells: number;
  fXaxis: { _typename: 'TAxis'; fNbins: number; fXmin: number; fXmax: number; fTitle: string; [k: string]: unknown };
  fArray: number[];
  fSumw2: number[];
  fEntries: number;
  fTsumw: number;
  fTsumw2: number;
  fTsumwx: number;
  fTsumwx2: number;
  [k: string]: unknown;
}
