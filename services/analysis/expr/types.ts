/**
 * Values of a column: float64, or a basket's own element width (Float32Array for Float_t …) as the column cache keeps
 * them; the kernel reads every kind alike, each element as the float64 it converts to.
 */
export type Values =
  Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

/** One column of a batch of consecutive events (bool → 0/1; ULong64 loses precision > 2^53). */
export type Column =
  | { kind: 'scalar'; values: Values } // values[i] is event i's value
  | { kind: 'array'; offsets: Uint32Array; values: Values }; // event i's elements: values[offsets[i] .. offsets[i+1])

export interface Batch {
  events: number;
  columns: ReadonlyMap<string, Column>;
}

/** isArray: per-event array (counted, fixed or std::vector). */
export interface BranchInfo {
  name: string;
  isArray: boolean;
}

/** One expression per histogram. */
export interface DrawSpec {
  selection?: string;
  weight?: string;
  expressions: string[];
  /**
   * The last expression is filled at most once per event, with its first instance that passes the selection: its
   * fill count is then the number of selected events even when the selection is per array element.
   */
  eventCount?: boolean;
}

/** Per histogram: fills, Σw, Σw², Σwx, Σwx² (ROOT's fEntries, fTsumw, fTsumw2, fTsumwx, fTsumwx2). */
export const STATS = 5;

/**
 * Histograms a kernel fills in place: for histogram h, `bins[h]` bins of width 1 / `scale[h]` from `min[h]`;
 * `sumw[h]` and `sumw2[h]` hold bins + 2 sums (underflow first, overflow last) and `stats` STATS values per
 * histogram. The binning is jsroot's TDrawSelector's (floor((x - min) · scale), NaN and ±∞ to the overflow), the
 * statistics ROOT's TH1::Fill's (the fill count counts every fill, the sums only values in range).
 */
export interface Accumulators {
  min: readonly number[];
  scale: readonly number[];
  bins: readonly number[];
  sumw: readonly Float64Array[];
  sumw2: readonly Float64Array[];
  stats: Float64Array;
}

export interface DrawProgram {
  /** Branch names the expressions read; the reader loads only these. */
  branches: string[];
  /** For every event of the batch, TTree::Draw semantics: calls fill(h, value, weight) for each value of histogram h
   *  (an array expression without an index fills once per element); weight = selection × weight, 0 means no fill. */
  processBatch(batch: Batch, fill: (histogram: number, value: number, weight: number) => void): void;
  /** The same, the fills generated inline in the kernel (no call per value): what the workers run. */
  fillBatch(batch: Batch, into: Accumulators): void;
}
