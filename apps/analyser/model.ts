/**
 * The analyser's arithmetic, free of DOM and JSROOT so unit tests pin it: histograms from the service's TH1D JSON,
 * grouping files into samples from dataset labels, rebinning, the S/√B window and the CSV export.
 */
import type { DatasetFile, SampleJson, TH1DJson } from '../shared/api.ts';

/** A 1-D histogram; `values` and `sumw2` have nbins + 2 entries: underflow, the bins, overflow. */
export interface Hist {
  nbins: number;
  min: number;
  max: number;
  values: number[];
  sumw2: number[];
}

export type SampleKind = 'data' | 'simulation';

export interface Sample {
  name: string;
  kind: SampleKind;
  files: string[];
  hist: Hist;
  /** The signal of S/√B, from the sample's labels. */
  signal?: boolean;
  /** Drawn without normalisation because its labels lack a cross-section. */
  unnormalised?: boolean;
}

export function fromTH1(json: TH1DJson): Hist {
  const nbins = json.fXaxis.fNbins;
  const values = Array.from({ length: nbins + 2 }, (_, i) => json.fArray[i] ?? 0);
  // ROOT leaves fSumw2 empty for unweighted fills: the variance of a count is the count itself.
  const sumw2 =
    json.fSumw2 !== undefined && json.fSumw2.length === nbins + 2
      ? json.fSumw2.slice()
      : values.map((v) => Math.abs(v));
  return { nbins, min: json.fXaxis.fXmin, max: json.fXaxis.fXmax, values, sumw2 };
}

export function emptyLike(h: Hist): Hist {
  return { nbins: h.nbins, min: h.min, max: h.max, values: h.values.map(() => 0), sumw2: h.sumw2.map(() => 0) };
}

export function addInto(target: Hist, h: Hist): void {
  if (h.nbins !== target.nbins) throw new Error(`cannot add histograms of ${h.nbins} and ${target.nbins} bins`);
  for (let i = 0; i < target.values.length; i++) {
    target.values[i] = (target.values[i] ?? 0) + (h.values[i] ?? 0);
    target.sumw2[i] = (target.sumw2[i] ?? 0) + (h.sumw2[i] ?? 0);
  }
}

/** The rebin factors that divide nbins, so every new bin is made of whole old bins. */
export function rebinFactors(nbins: number): number[] {
  return [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 50].filter((f) => f <= nbins && nbins % f === 0);
}

export function rebin(h: Hist, factor: number): Hist {
  if (factor === 1) return h;
  if (!Number.isInteger(factor) || factor < 1 || h.nbins % factor !== 0)
    throw new Error(`rebin factor ${factor} does not divide ${h.nbins} bins`);
  const nbins = h.nbins / factor;
  const values = [h.values[0] ?? 0];
  const sumw2 = [h.sumw2[0] ?? 0];
  for (let b = 0; b < nbins; b++) {
    let v = 0;
    let e = 0;
    for (let k = 1 + b * factor; k <= (b + 1) * factor; k++) {
      v += h.values[k] ?? 0;
      e += h.sumw2[k] ?? 0;
    }
    values.push(v);
    sumw2.push(e);
  }
  values.push(h.values[h.nbins + 1] ?? 0);
  sumw2.push(h.sumw2[h.nbins + 1] ?? 0);
  return { nbins, min: h.min, max: h.max, values, sumw2 };
}

/** Sum over every bin including underflow and overflow: the total weight the service filled. */
export function total(h: Hist): number {
  return h.values.reduce((a, b) => a + b, 0);
}

export function binEdges(h: Hist, bin: number): [number, number] {
  const width = (h.max - h.min) / h.nbins;
  return [h.min + (bin - 1) * width, h.min + bin * width];
}

/** Sum of the bins whose centre lies in [lo, hi]. */
export function windowSum(h: Hist, lo: number, hi: number): number {
  let sum = 0;
  for (let b = 1; b <= h.nbins; b++) {
    const [a, z] = binEdges(h, b);
    const centre = (a + z) / 2;
    if (centre >= lo && centre <= hi) sum += h.values[b] ?? 0;
  }
  return sum;
}

export interface Significance {
  s: number;
  b: number;
  /** S/√B; NaN when B ≤ 0. */
  z: number;
}

export function significance(samples: Sample[], signal: ReadonlySet<string>, lo: number, hi: number): Significance {
  let s = 0;
  let b = 0;
  for (const sample of samples) {
    if (sample.kind !== 'simulation') continue;
    const sum = windowSum(sample.hist, lo, hi);
    if (signal.has(sample.name)) s += sum;
    else b += sum;
  }
  return { s, b, z: b > 0 ? s / Math.sqrt(b) : Number.NaN };
}

/** Labels say what a file is; without them, the file name does ("data…" is data, mc_123.ZZ.root is sample ZZ). */
export function classify(file: DatasetFile): { sample: string; kind: SampleKind } {
  const labels = file.labels ?? {};
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const stem = file.name.replace(/\.root$/i, '');
  const sample = str(labels.sample) ?? str(labels.process) ?? stem.match(/^mc\d*_\d+\.(.+)$/)?.[1] ?? stem;
  const kindLabel = (str(labels.kind) ?? str(labels.type) ?? '').toLowerCase();
  const isData =
    labels.data === true ||
    kindLabel === 'data' ||
    (kindLabel === '' && labels.data === undefined && /^data/i.test(file.name));
  return { sample: isData ? 'Data' : sample, kind: isData ? 'data' : 'simulation' };
}

/** Groups per-file histograms into samples (files with the same sample label add up), data last. */
export function groupSamples(
  files: DatasetFile[],
  byFile: Record<string, Record<string, TH1DJson>>,
  histName: string,
): Sample[] {
  const samples = new Map<string, Sample>();
  for (const file of files) {
    const json = byFile[file.name]?.[histName];
    if (json === undefined) continue;
    const { sample, kind } = classify(file);
    const h = fromTH1(json);
    const existing = samples.get(sample);
    if (existing === undefined) samples.set(sample, { name: sample, kind, files: [file.name], hist: h });
    else {
      addInto(existing.hist, h);
      existing.files.push(file.name);
    }
  }
  const list = [...samples.values()];
  return [...list.filter((s) => s.kind === 'simulation'), ...list.filter((s) => s.kind === 'data')];
}

/**
 * Samples of a request over several datasets (already scaled by the service), grouped by their name: background
 * first, the signal on top of the stack, data last.
 */
export function fromSampleResults(results: SampleJson[], histName: string): Sample[] {
  const samples = new Map<string, Sample>();
  for (const r of results) {
    const json = r.histograms[histName];
    if (json === undefined) continue;
    const kind: SampleKind = r.role === 'data' ? 'data' : 'simulation';
    const name = kind === 'data' ? 'Data' : r.sample;
    const key = `${kind}:${name}`;
    const h = fromTH1(json);
    const existing = samples.get(key);
    if (existing === undefined) {
      const sample: Sample = { name, kind, files: [`${r.dataset}/${r.file}`], hist: h, signal: r.signal };
      if (kind === 'simulation' && !r.normalised) sample.unnormalised = true;
      samples.set(key, sample);
    } else {
      addInto(existing.hist, h);
      existing.files.push(`${r.dataset}/${r.file}`);
      if (kind === 'simulation' && !r.normalised) existing.unnormalised = true;
    }
  }
  const list = [...samples.values()];
  return [
    ...list.filter((s) => s.kind === 'simulation' && s.signal !== true),
    ...list.filter((s) => s.kind === 'simulation' && s.signal === true),
    ...list.filter((s) => s.kind === 'data'),
  ];
}

/** The sum of the simulation samples (the top of the stack). */
export function simulationTotal(samples: Sample[]): Hist | undefined {
  const sim = samples.filter((s) => s.kind === 'simulation');
  const first = sim[0];
  if (first === undefined) return undefined;
  const sum = emptyLike(first.hist);
  for (const s of sim) addInto(sum, s.hist);
  return sum;
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One row per bin (underflow and overflow included, with ±inf edges), one column per sample, then totals. */
export function toCsv(samples: Sample[], rebinFactor = 1): string {
  const hists = samples.map((s) => rebin(s.hist, rebinFactor));
  const first = hists[0];
  if (first === undefined) return 'bin,low,high\n';
  const sim = samples.map((s) => s.kind === 'simulation');
  const data = samples.map((s) => s.kind === 'data');
  const header = ['bin', 'low', 'high', ...samples.map((s) => s.name)];
  if (sim.some(Boolean)) header.push('simulation', 'simulation_err');
  if (data.some(Boolean)) header.push('data_err');
  const lines = [header.map(csvField).join(',')];
  for (let b = 0; b <= first.nbins + 1; b++) {
    const [low, high] =
      b === 0 ? [-Infinity, first.min] : b === first.nbins + 1 ? [first.max, Infinity] : binEdges(first, b);
    const row: (string | number)[] = [b, low, high, ...hists.map((h) => h.values[b] ?? 0)];
    if (sim.some(Boolean)) {
      let v = 0;
      let e = 0;
      hists.forEach((h, i) => {
        if (sim[i]) {
          v += h.values[b] ?? 0;
          e += h.sumw2[b] ?? 0;
        }
      });
      row.push(v, Math.sqrt(e));
    }
    if (data.some(Boolean)) {
      let e = 0;
      hists.forEach((h, i) => {
        if (data[i]) e += h.sumw2[b] ?? 0;
      });
      row.push(Math.sqrt(e));
    }
    lines.push(row.map((v) => (typeof v === 'number' ? String(v).replace('Infinity', 'inf') : csvField(v))).join(','));
  }
  return lines.join('\n') + '\n';
}
