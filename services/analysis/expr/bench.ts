/**
 * Micro-benchmark of the kernels on synthetic ATLAS-like batches (no I/O): events/s for the Z→ℓℓ selection, weight
 * and dilepton mass, with a fill call per value (processBatch) and with the fills inline (fillBatch, what the
 * workers run), against a hand-written JavaScript loop computing the same thing (the ceiling).
 *
 *   npx tsx services/analysis/expr/bench.ts [events=2000000] [batch=100000]
 */
import { compileDraw, STATS } from './index.ts';
import type { Batch, BranchInfo, Column } from './index.ts';

export const Z_SELECTION =
  'lep_n==2 && lep_charge[0]*lep_charge[1]<0 && lep_type[0]==lep_type[1] && lep_pt[0]>25000 && lep_pt[1]>25000';
export const Z_WEIGHT = 'mcWeight*scaleFactor_PILEUP*scaleFactor_ELE*scaleFactor_MUON*scaleFactor_TRIGGER';
export const Z_MASS = 'sqrt(2*lep_pt[0]*lep_pt[1]*(cosh(lep_eta[0]-lep_eta[1])-cos(lep_phi[0]-lep_phi[1])))/1000';

const SCALARS = [
  'lep_n',
  'mcWeight',
  'scaleFactor_PILEUP',
  'scaleFactor_ELE',
  'scaleFactor_MUON',
  'scaleFactor_TRIGGER',
];
const ARRAYS = ['lep_pt', 'lep_eta', 'lep_phi', 'lep_E', 'lep_charge', 'lep_type'];

export const SYNTHETIC_BRANCHES: ReadonlyMap<string, BranchInfo> = new Map(
  [...SCALARS.map((name) => ({ name, isArray: false })), ...ARRAYS.map((name) => ({ name, isArray: true }))].map(
    (info) => [info.name, info],
  ),
);

/** A deterministic pseudo-random batch shaped like the ATLAS 8 TeV `mini` tree (lep_* counted by lep_n). */
export function syntheticBatch(events: number, seed = 1): Batch {
  let state = seed >>> 0 || 1;
  const random = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const counts = new Uint32Array(events);
  let total = 0;
  for (let e = 0; e < events; e++) {
    const u = random();
    counts[e] = u < 0.05 ? 0 : u < 0.45 ? 1 : u < 0.9 ? 2 : u < 0.97 ? 3 : 4;
    total += counts[e]!;
  }
  const offsets = new Uint32Array(events + 1);
  for (let e = 0; e < events; e++) offsets[e + 1] = offsets[e]! + counts[e]!;
  const columns = new Map<string, Column>();
  const scalar = (make: (e: number) => number): Column => {
    const values = new Float64Array(events);
    for (let e = 0; e < events; e++) values[e] = make(e);
    return { kind: 'scalar', values };
  };
  const array = (make: () => number): Column => {
    const values = new Float64Array(total);
    for (let i = 0; i < total; i++) values[i] = make();
    return { kind: 'array', offsets, values };
  };
  const f32 = (x: number): number => Math.fround(x);
  columns.set(
    'lep_n',
    scalar((e) => counts[e]!),
  );
  columns.set(
    'mcWeight',
    scalar(() => (random() < 0.1 ? -1 : 1)),
  );
  for (const name of SCALARS.slice(2))
    columns.set(
      name,
      scalar(() => f32(0.9 + 0.2 * random())),
    );
  columns.set(
    'lep_pt',
    array(() => f32(10000 + 60000 * random())),
  );
  columns.set(
    'lep_eta',
    array(() => f32(5 * random() - 2.5)),
  );
  columns.set(
    'lep_phi',
    array(() => f32(2 * Math.PI * random() - Math.PI)),
  );
  columns.set(
    'lep_E',
    array(() => f32(20000 + 100000 * random())),
  );
  columns.set(
    'lep_charge',
    array(() => (random() < 0.5 ? -1 : 1)),
  );
  columns.set(
    'lep_type',
    array(() => (random() < 0.5 ? 11 : 13)),
  );
  return { events, columns };
}

/** The same analysis written by hand over the same columns: what a perfect compiler would produce. */
export function handWritten(batch: Batch, fill: (h: number, v: number, w: number) => void): void {
  const get = (name: string) => batch.columns.get(name)!;
  const n = get('lep_n').values;
  const col = (name: string) => get(name).values;
  const offsets = (get('lep_pt') as { offsets: Uint32Array }).offsets;
  const [pt, eta, phi, q, type] = ['lep_pt', 'lep_eta', 'lep_phi', 'lep_charge', 'lep_type'].map(col) as Float64Array[];
  const [w0, w1, w2, w3, w4] = ['mcWeight', ...SCALARS.slice(2)].map(col) as Float64Array[];
  for (let e = 0; e < batch.events; e++) {
    const b = offsets[e]!;
    if (n[e] !== 2 || offsets[e + 1]! - b < 2) continue;
    if (!(q![b]! * q![b + 1]! < 0) || type![b] !== type![b + 1] || !(pt![b]! > 25000) || !(pt![b + 1]! > 25000))
      continue;
    const w = w0![e]! * w1![e]! * w2![e]! * w3![e]! * w4![e]!;
    if (!w) continue;
    const m = Math.sqrt(
      2 * pt![b]! * pt![b + 1]! * (Math.cosh(eta![b]! - eta![b + 1]!) - Math.cos(phi![b]! - phi![b + 1]!)),
    );
    fill(0, m / 1000, w);
  }
}

export interface BenchResult {
  events: number;
  engineEventsPerSecond: number;
  inlineEventsPerSecond: number;
  handEventsPerSecond: number;
  filled: number;
}

export function runBenchmark(totalEvents = 2_000_000, batchSize = 100_000): BenchResult {
  const batches = Array.from({ length: Math.max(1, Math.round(totalEvents / batchSize)) }, (_, i) =>
    syntheticBatch(batchSize, i + 1),
  );
  const events = batches.length * batchSize;
  const program = compileDraw({ selection: Z_SELECTION, weight: Z_WEIGHT, expressions: [Z_MASS] }, SYNTHETIC_BRANCHES);
  const bins = new Float64Array(102);
  let filled = 0;
  const fill = (_h: number, value: number, weight: number): void => {
    const bin = value < 0 ? 0 : value >= 200 ? 101 : 1 + Math.floor(value / 2);
    bins[bin]! += weight;
    filled++;
  };
  const time = (run: (batch: Batch) => void): number => {
    for (const batch of batches.slice(0, 3)) run(batch); // warm-up, so the JIT has optimised the loop
    filled = 0;
    const start = process.hrtime.bigint();
    for (const batch of batches) run(batch);
    return events / (Number(process.hrtime.bigint() - start) / 1e9);
  };
  const best = (run: (batch: Batch) => void): number => Math.max(time(run), time(run), time(run));
  const engineEventsPerSecond = best((batch) => program.processBatch(batch, fill));
  const engineFilled = filled;
  const into = {
    min: [0],
    scale: [0.5],
    bins: [100],
    sumw: [new Float64Array(102)],
    sumw2: [new Float64Array(102)],
    stats: new Float64Array(STATS),
  };
  const inlineEventsPerSecond = best((batch) => program.fillBatch(batch, into));
  const handEventsPerSecond = best((batch) => handWritten(batch, fill));
  return { events, engineEventsPerSecond, inlineEventsPerSecond, handEventsPerSecond, filled: engineFilled };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const total = Number(process.argv[2] ?? 2_000_000);
  const batch = Number(process.argv[3] ?? 100_000);
  const result = runBenchmark(total, batch);
  const m = (x: number): string => (x / 1e6).toFixed(1);
  console.log(`processBatch, Z→ℓℓ selection + weight + dilepton mass, ${result.events} synthetic events:`);
  console.log(`  engine, fill calls   ${m(result.engineEventsPerSecond)} M events/s (${result.filled} fills)`);
  console.log(`  engine, inline fills ${m(result.inlineEventsPerSecond)} M events/s`);
  console.log(`  hand-written         ${m(result.handEventsPerSecond)} M events/s`);
}
