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
    const hist = createHistogram('TH1D', spec.bins) as TH1D & { fArray: Float64Array; fSumw2: number[] };
    const s = h * STATS;
    hist.fName = name;
    hist.fTitle = title;
    hist.fXaxis.fXmin = spec.min;
    hist.fXaxis.fXmax = spec.max;
    hist.fXaxis.fTitle = axisTitle;
    hist.fEntries = this.stats[s]!;
    hist.fTsumw = this.stats[s + 1]!;
    hist.fTsumw2 = this.stats[s + 2]!;
    hist.fTsumwx = this.stats[s + 3]!;
    hist.fTsumwx2 = this.stats[s + 4]!;
    // Plain arrays: typed arrays would serialise as objects keyed by index.
    const out = hist as unknown as TH1D;
    out.fArray = Array.from(this.sumw[h]!);
    out.fSumw2 = Array.from(this.sumw2[h]!);
    return JSON.parse(JSON.stringify(out)) as TH1D;
  }
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
