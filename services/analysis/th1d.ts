/**
 * A TH1D as JSON from summed typed arrays: jsroot's object (its template, made once on the main thread by
 * histogram.ts) with our contents. Free of jsroot so the analysis workers can write results too.
 */
import { STATS, type HistSpec } from './pool/protocol.ts';

/** Histograms' sums: per histogram, bins + 2 sums of weights and of their squares; STATS values per histogram. */
export interface Sums {
  sumw: Float64Array[];
  sumw2: Float64Array[];
  stats: Float64Array;
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

/** Histogram h of `sums` as a TH1D made from `template` (jsroot's createHistogram('TH1D', 1) as plain JSON). */
export function th1d(
  template: TH1D,
  spec: HistSpec,
  sums: Sums,
  h: number,
  name: string,
  title: string,
  axisTitle: string,
): TH1D {
  const s = h * STATS;
  const t = template;
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
    fEntries: sums.stats[s]!,
    fTsumw: sums.stats[s + 1]!,
    fTsumw2: sums.stats[s + 2]!,
    fTsumwx: sums.stats[s + 3]!,
    fTsumwx2: sums.stats[s + 4]!,
    // Plain arrays: typed arrays would serialise as objects keyed by index.
    fArray: plainArray(sums.sumw[h]!),
    fSumw2: plainArray(sums.sumw2[h]!),
  };
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
