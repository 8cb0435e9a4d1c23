/**
 * Z→ℓℓ benchmark of the analysis service against JSROOT (issue 4; scripts/bench-analysis prints it,
 * tests/service/bench-zll.test.ts runs it small). Over the ATLAS 8 TeV files in ../shared/data, repeated (symlinks
 * in a temp dataset) to at least `events` events, it measures events/s and MB/s for:
 *   - JSROOT on one thread: TSelector + treeProcess, the event loop written in JS (the baseline);
 *   - the service with 1 worker, and with one worker per core (POST /api/analyses?wait=1 through inject()), each
 *     request another one over the same branches, so its baskets come from the column cache (issue 13);
 *   - the service with one worker per core and no column cache (every request inflates its baskets again);
 *   - the floor: the shared envelope decoder (node:zlib inflate) of the same baskets, nothing else;
 * then the first analysis after a start against the same request on the started service (column cache emptied),
 * and what the column cache holds against the decompressed size of the baskets read.
 * The workers run at nice 0 here, as the baselines on the main thread do (the service's default is 10, which on a
 * machine shared with busy processes would measure the other processes).
 * MB are the compressed bytes of the baskets of the branches the analysis reads. The configurations take turns for
 * `repeat` rounds and each keeps its best: the machine may be shared. A new row is one more Configuration in
 * `configurations()`.
 */
import { closeSync, openSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { openFile } from 'jsroot/io';
import { TSelector, treeProcess } from 'jsroot/tree';
import { bestOfRounds, parseBenchArgs, ratio, wholeNumber } from '../../../common/bench.ts';
import { decompress } from '../../../rootio/compression/decode.ts';
import { parseBasketHeader, readAt } from '../../../rootio/read/basket.ts';
import { readTreeMeta } from '../../../rootio/read/meta.ts';
import type { AnalysisView } from '../api.ts';
import { buildApp } from '../app.ts';
import type { FastifyInstance } from 'fastify';
import { repeatedDataset } from './dataset.ts';

export const USAGE = 'scripts/bench-analysis [--events N] [--repeat N] [--data DIR] [--skip-jsroot]';
export const DEFAULT_DATA = resolve(import.meta.dirname, '../../../../shared/data/atlas-8tev-mc');

export interface ZllOptions {
  /** At least this many events: the source files are repeated until there are. */
  events: number;
  /** Rounds each configuration takes in turn; each keeps its best. */
  repeat: number;
  /** The folder of ATLAS 8 TeV `mini` files. */
  data: string;
  skipJsroot: boolean;
  /** Worker counts of the service rows; by default 1 and one per core. */
  workers?: number[];
  /** Iterations of the spin loop that measures the cores this process gets (tests make it short). */
  spinIterations?: number;
}

/** The command line of scripts/bench-analysis; a bad one is a UsageError with the exact complaint. */
export function parseZllArgs(argv: string[]): ZllOptions {
  const { values } = parseBenchArgs(
    argv,
    {
      events: { type: 'string', default: '1000000' },
      repeat: { type: 'string', default: '3' },
      data: { type: 'string', default: DEFAULT_DATA },
      'skip-jsroot': { type: 'boolean', default: false },
    },
    USAGE,
  );
  return {
    events: wholeNumber(values.events, '--events', 1),
    repeat: wholeNumber(values.repeat, '--repeat', 1),
    data: values.data,
    skipJsroot: values['skip-jsroot'],
  };
}

export const SELECTION =
  'lep_n==2 && lep_charge[0]*lep_charge[1]<0 && lep_type[0]==lep_type[1] && lep_pt[0]>25000 && lep_pt[1]>25000';
export const WEIGHT = 'mcWeight*scaleFactor_PILEUP*scaleFactor_ELE*scaleFactor_MUON*scaleFactor_TRIGGER';
export const MASS = 'sqrt(2*lep_pt[0]*lep_pt[1]*(cosh(lep_eta[0]-lep_eta[1])-cos(lep_phi[0]-lep_phi[1])))/1000';
const BINS = 60;
const MIN = 60;
const MAX = 120;
export const BRANCHES = [
  'lep_n',
  'lep_pt',
  'lep_eta',
  'lep_phi',
  'lep_charge',
  'lep_type',
  'mcWeight',
  'scaleFactor_PILEUP',
  'scaleFactor_ELE',
  'scaleFactor_MUON',
  'scaleFactor_TRIGGER',
];

/** One configuration's best round. */
export interface Row {
  name: string;
  seconds: number;
  /** CPU seconds of the whole process (all threads) during the run. */
  cpu?: number;
  /** The Z→ℓℓ histogram's bins (underflow first, overflow last), to compare with the baseline's. */
  hist?: number[];
}

/** What the figures are computed over. */
export interface Workload {
  events: number;
  /** Compressed bytes of the baskets read, over all passes. */
  basketBytes: number;
}

/** The first analysis after a start, and the column cache's memory. */
export interface ColdStart {
  /** buildApp until the app is ready (as listen() waits), the workers started and the metadata read. */
  startSeconds: number;
  /** The first analysis on the started service. */
  firstSeconds: number;
  /** The same request again on that service, its column cache emptied (only start-up work is then warm). */
  warmSeconds: number;
  /** What the column cache held after the first analysis, and the decompressed bytes of the baskets read. */
  cacheBytes: number;
  decompressedBytes: number;
  budgetBytes: number;
}

/** The goal lines of issue 13: a changed cut against the zlib floor, the first answer, the cache's memory. */
export function formatGoals(rows: readonly Row[], work: Workload, cold: ColdStart | undefined): string[] {
  const lines = [''];
  const floor = rows.find((r) => r.name.startsWith('floor'));
  for (const r of rows.filter((x) => x.name.endsWith('cached columns'))) {
    const eps = work.events / r.seconds / 1e6;
    const times = floor ? ` = ${(floor.seconds / r.seconds).toFixed(2)}× the zlib floor` : '';
    lines.push(`${r.name}: ${eps.toFixed(1)} M events/s${times} (goal ≥ 20 M events/s, ≥ 4× the floor)`);
  }
  if (cold) {
    const mb = (n: number) => (n / 1e6).toFixed(1);
    lines.push(
      `start-up (workers started, metadata read)  ${cold.startSeconds.toFixed(3)} s`,
      `first analysis after the start             ${cold.firstSeconds.toFixed(3)} s`,
      `the same request, started service          ${cold.warmSeconds.toFixed(3)} s (column cache emptied)`,
      `first analysis: ${cold.firstSeconds.toFixed(2)} s = ${(cold.firstSeconds / cold.warmSeconds).toFixed(2)}× the ` +
        `started service's (goal ≤ 1.0 s, ≤ 1.3×)`,
      `column cache ${mb(cold.cacheBytes)} MB = ${(cold.cacheBytes / cold.decompressedBytes).toFixed(3)}× the ` +
        `${mb(cold.decompressedBytes)} MB of decompressed baskets read (goal ≤ 1.1×; budget ${mb(cold.budgetBytes)} MB)`,
    );
  }
  return lines;
}

/** One row as printed: seconds, M events/s, MB/s and CPU seconds, aligned. */
export function formatRow(row: Row, work: Workload): string {
  const eps = work.events / row.seconds;
  const mbs = work.basketBytes / 1e6 / row.seconds;
  return (
    `${row.name.padEnd(34)} ${row.seconds.toFixed(3).padStart(8)} s ${(eps / 1e6).toFixed(3).padStart(8)} M events/s ` +
    `${mbs.toFixed(1).padStart(8)} MB/s ${row.cpu === undefined ? '' : `${row.cpu.toFixed(3).padStart(8)} s CPU`}`
  );
}

/** The largest relative difference between two histograms' bins. */
export function maxRelativeDifference(hist: readonly number[], base: readonly number[]): number {
  return Math.max(...hist.map((v, i) => Math.abs(v - base[i]!) / Math.max(1e-12, Math.abs(base[i]!))));
}

/**
 * The comparison with the baseline (the JSROOT row, the first): each later row's speed as a ratio, then how far
 * each histogram is from JSROOT's. Nothing without a JSROOT row.
 */
export function formatComparison(rows: readonly Row[]): string[] {
  const base = rows.find((r) => r.name.startsWith('JSROOT'));
  if (!base) return [];
  const lines = [''];
  for (const r of rows.slice(1)) lines.push(`${r.name.padEnd(34)} ${(base.seconds / r.seconds).toFixed(2)}× JSROOT`);
  for (const r of rows.filter((x) => x.hist && x !== base))
    lines.push(
      `${r.name}: histogram max relative difference from JSROOT ${maxRelativeDifference(r.hist!, base.hist!).toExponential(2)}`,
    );
  return lines;
}

interface ZllEvent {
  lep_pt: number[];
  lep_eta: number[];
  lep_phi: number[];
  lep_charge: number[];
  lep_type: number[];
  mcWeight: number;
  scaleFactor_PILEUP: number;
  scaleFactor_ELE: number;
  scaleFactor_MUON: number;
  scaleFactor_TRIGGER: number;
}

/** The JSROOT baseline: one thread, TSelector + treeProcess, the Z→ℓℓ logic in JS per event. */
export async function jsrootZll(paths: readonly string[]): Promise<number[]> {
  const hist = new Array<number>(BINS + 2).fill(0);
  const k = BINS / (MAX - MIN);
  for (const path of paths) {
    const file = await openFile(path);
    const tree = await file.readObject('mini');
    const selector = new TSelector();
    // jsroot refuses a counter together with its counted array; the arrays carry their length anyway.
    for (const b of BRANCHES) if (b !== 'lep_n') selector.addBranch(b);
    selector.Process = function () {
      const e = this.tgtobj as unknown as ZllEvent;
      const pt = e.lep_pt;
      if (pt.length !== 2) return;
      const q = e.lep_charge;
      const t = e.lep_type;
      if (!(q[0]! * q[1]! < 0 && t[0] === t[1] && pt[0]! > 25000 && pt[1]! > 25000)) return;
      const eta = e.lep_eta;
      const phi = e.lep_phi;
      const w = e.mcWeight * e.scaleFactor_PILEUP * e.scaleFactor_ELE * e.scaleFactor_MUON * e.scaleFactor_TRIGGER;
      if (w === 0) return;
      const m = Math.sqrt(2 * pt[0]! * pt[1]! * (Math.cosh(eta[0]! - eta[1]!) - Math.cos(phi[0]! - phi[1]!))) / 1000;
      let bin = Number.isFinite(m) ? Math.floor((m - MIN) * k) : BINS + 1;
      bin = bin < 0 ? 0 : bin >= BINS ? BINS + 1 : bin + 1;
      hist[bin] = hist[bin]! + w;
    };
    await treeProcess(tree, selector);
  }
  return hist;
}

const body = (name: string) => ({
  dataset: 'zll',
  selection: SELECTION,
  weight: WEIGHT,
  histograms: [{ name, expr: MASS, bins: BINS, min: MIN, max: MAX }],
});

/**
 * How many cores this process really gets now: the same spin loop on 1 thread, then on `n` at once. On a shared
 * machine the answer can be well below `n`, and the N-worker figure can only scale that far.
 */
export async function effectiveCores(n: number, iterations = 2e8): Promise<number> {
  const spin = async (threads: number) => {
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: threads }, async () => {
        const w = new Worker(
          `let x = 0; for (let i = 0; i < ${iterations}; i++) x += i % 7; require("node:worker_threads").parentPort.postMessage(x);`,
          { eval: true },
        );
        await new Promise((resolve) => w.once('message', resolve));
        await w.terminate();
      }),
    );
    return performance.now() - t0;
  };
  let one = Infinity;
  let all = Infinity;
  for (let round = 0; round < 3; round++) {
    one = Math.min(one, await spin(1));
    all = Math.min(all, await spin(n));
  }
  return (n * one) / all;
}

export interface ZllResult extends Workload {
  rows: Row[];
  cold?: ColdStart;
  /** Each row's speed against JSROOT (JSROOT's seconds over the row's); undefined without a JSROOT row. */
  ratios: Record<string, number | undefined>;
}

/** A row's measurement; `cpu` is added around it. */
type Configuration = { name: string; run: () => Promise<Omit<Row, 'cpu'>>; close?: () => Promise<void> };

/** One Z→ℓℓ request (histogram `name`) and how long it took. */
async function analyse(
  app: FastifyInstance,
  name: string,
): Promise<{ seconds: number; hist: number[]; view: AnalysisView }> {
  const t0 = performance.now();
  const res = await app.inject({ method: 'POST', url: '/api/analyses?wait=1', payload: body(name) });
  const seconds = (performance.now() - t0) / 1000;
  const view = res.json<AnalysisView>();
  if (view.state !== 'done') throw new Error(`analysis ${view.state}: ${JSON.stringify(view.error)}`);
  return { seconds, hist: Object.values(view.result!.histograms)[0]!.fArray, view };
}

/**
 * The first analysis after a start (best of `repeat` starts): a new service, its start-up awaited, then the
 * request; then the same request on that started service with its column cache emptied, so that only what a
 * start does (workers, metadata, JIT) differs between the two.
 */
async function coldStart(root: string, workers: number, repeat: number): Promise<ColdStart> {
  const best: ColdStart = {
    startSeconds: Infinity,
    firstSeconds: Infinity,
    warmSeconds: Infinity,
    cacheBytes: 0,
    decompressedBytes: 0,
    budgetBytes: 0,
  };
  for (let round = 0; round < repeat; round++) {
    const t0 = performance.now();
    const app = await buildApp({ datasets: root, workers, workerNice: 0 });
    try {
      // What listen() does before a server takes requests (routes and their schemas compiled), then our start-up.
      await app.ready();
      await app.analysis.ready;
      best.startSeconds = Math.min(best.startSeconds, (performance.now() - t0) / 1000);
      const first = await analyse(app, 'first');
      const columns = app.analysis.manager.columns;
      best.firstSeconds = Math.min(best.firstSeconds, first.seconds);
      best.cacheBytes = columns.bytes;
      best.budgetBytes = columns.maxBytes;
      columns.clear();
      best.warmSeconds = Math.min(best.warmSeconds, (await analyse(app, 'again')).seconds);
    } finally {
      await app.close();
    }
  }
  return best;
}

/** Runs the benchmark, writing its lines (as scripts/bench-analysis prints them) to `write`. */
export async function benchZll(options: ZllOptions, write: (line: string) => void): Promise<ZllResult> {
  const originals = readdirSync(options.data)
    .filter((n) => n.endsWith('.root'))
    .sort()
    .map((n) => join(options.data, n));
  const metas = await Promise.all(originals.map((path) => readTreeMeta(path, 'mini')));
  const perPass = metas.reduce((n, m) => n + (m.tree?.entries ?? 0), 0);
  const passes = Math.ceil(options.events / perPass);
  const dataset = repeatedDataset('zll', originals, passes);
  try {
    const events = perPass * passes;
    // Compressed bytes of the baskets read, and the floor: inflating exactly those baskets.
    let onePass = 0;
    let decompressedPass = 0;
    const compressed: { payload: Buffer; objlen: number }[] = [];
    for (let i = 0; i < originals.length; i++) {
      const fd = openSync(originals[i]!, 'r');
      for (const b of metas[i]!.tree!.branches.filter((x) => BRANCHES.includes(x.name))) {
        for (let k = 0; k < b.baskets.seek.length; k++) {
          const header = parseBasketHeader(readAt(fd, b.baskets.seek[k]!, b.baskets.bytes[k]!));
          onePass += header.nbytes;
          decompressedPass += header.objlen;
          compressed.push({ payload: header.raw.subarray(header.keylen), objlen: header.objlen });
        }
      }
      closeSync(fd);
    }
    const work: Workload = { events, basketBytes: onePass * passes };
    const inflateAll = async () => {
      for (const { payload, objlen } of compressed) await decompress(payload, objlen);
    };

    const cores = availableParallelism();
    write(
      `Z→ℓℓ over ${originals.length} ATLAS 8 TeV files × ${passes} = ${dataset.files.length} files, ${events} events, ` +
        `${(work.basketBytes / 1e6).toFixed(1)} MB of baskets in ${BRANCHES.length} branches; ${cores} cores\n`,
    );
    const gets = await effectiveCores(cores, options.spinIterations);
    write(`cores this process gets right now: ${gets.toFixed(2)} of ${cores}\n`);

    const configurations: Configuration[] = [];
    if (!options.skipJsroot) {
      await jsrootZll(dataset.files.slice(0, originals.length)); // warm-up: JIT and jsroot's lazy modules
      configurations.push({
        name: 'JSROOT 1 thread (baseline)',
        run: async () => {
          const t0 = performance.now();
          const hist = await jsrootZll(dataset.files);
          return { name: 'JSROOT 1 thread (baseline)', seconds: (performance.now() - t0) / 1000, hist };
        },
      });
    }
    const service = async (workers: number, columnCacheBytes: number | undefined, label: string) => {
      const app = await buildApp({
        datasets: dataset.root,
        workers,
        workerNice: 0,
        ...(columnCacheBytes === undefined ? {} : { columnCacheBytes }),
      });
      // warm-up: metadata cache, worker start-up, JIT (and the column cache, when there is one)
      await app.analysis.ready;
      await analyse(app, 'warm');
      let serial = 0;
      const name = `service, ${workers} worker${workers === 1 ? '' : 's'}, ${label}`;
      configurations.push({
        name,
        close: () => app.close(),
        run: async () => {
          // A new histogram name each time, so the result cache misses: another request over the same branches.
          const { seconds, hist } = await analyse(app, `mll${serial++}`);
          return { name, seconds, hist };
        },
      });
    };
    for (const workers of options.workers ?? [1, cores]) await service(workers, undefined, 'cached columns');
    await service(options.workers?.at(-1) ?? cores, 0, 'no column cache');
    configurations.push({
      name: 'floor: node:zlib inflate, 1 thread',
      run: async () => {
        const t0 = performance.now();
        for (let p = 0; p < passes; p++) await inflateAll();
        return { name: 'floor: node:zlib inflate, 1 thread', seconds: (performance.now() - t0) / 1000 };
      },
    });
    await inflateAll();

    let rows: Row[];
    try {
      rows = await bestOfRounds(
        options.repeat,
        configurations.map((c) => async () => {
          const c0 = process.cpuUsage();
          const row: Row = await c.run();
          const c1 = process.cpuUsage(c0);
          row.cpu = (c1.user + c1.system) / 1e6;
          return row;
        }),
      );
    } finally {
      for (const c of configurations) await c.close?.();
    }
    for (const row of rows) write(formatRow(row, work));
    for (const line of formatComparison(rows)) write(line);
    const cold = await coldStart(dataset.root, options.workers?.at(-1) ?? cores, options.repeat);
    cold.decompressedBytes = decompressedPass * passes;
    for (const line of formatGoals(rows, work, cold)) write(line);
    const base = rows.find((r) => r.name.startsWith('JSROOT'));
    const ratios = Object.fromEntries(
      rows.filter((r) => r !== base).map((r) => [r.name, ratio(base?.seconds, r.seconds)]),
    );
    return { ...work, rows, cold, ratios };
  } finally {
    dataset.dispose();
  }
}
