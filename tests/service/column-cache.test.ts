/**
 * The column cache and its decoded baskets ("pieces") against the reader they replace: on every real file in
 * ../shared/data, the values a kernel sees through pieces equal readColumn's float64 to the bit, and histograms
 * filled from pieces (read here, shared, or handed back from the cache) equal, byte for byte, those the previous
 * worker loop filled from readColumn's columns in one batch. The budget holds and the memory stays near the
 * decompressed size.
 */
import { closeSync, mkdtempSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readColumn, type Column } from '../../rootio/read/columns.ts';
import { basketsOver, readPiece, type Piece } from '../../rootio/read/pieces.ts';
import { readTreeMeta } from '../../rootio/read/meta.ts';
import type { BranchMeta, TreeMeta } from '../../rootio/read/types.ts';
import { buildApp } from '../../services/analysis/app.ts';
import type { AnalysisView } from '../../services/analysis/api.ts';
import { ColumnCache } from '../../services/analysis/analyses/columns-cache.ts';
import { drawOf } from '../../services/analysis/analyses/plan.ts';
import { compileDraw, type DrawSpec } from '../../services/analysis/expr/index.ts';
import { WorkerPool } from '../../services/analysis/pool/pool.ts';
import { runTask, WorkerStore } from '../../services/analysis/pool/tasks.ts';
import {
  pieceKey,
  pieceKeyParts,
  STATS,
  type NewPiece,
  type Task,
  type TaskResult,
} from '../../services/analysis/pool/protocol.ts';
import { writeSyntheticFile } from '../../builder/synth/index.ts';
import { ATLAS, COMPRESSIONS, SKHEP } from './jsroot-helpers.ts';
import { linkInside } from './fixtures.ts';

const FILES: [string, string][] = [
  ...[
    'mc_105986.ZZ.root',
    'mc_110090.stop_tchan_top.root',
    'mc_110091.stop_tchan_antitop.root',
    'mc_110119.stop_schan.root',
    'mc_167746.WtaunuWithB.root',
    'mc_173045.DYtautauM08to15.root',
    'mc_173046.DYtautauM15to40.root',
  ].map((f): [string, string] => [`${ATLAS}${f}`, 'mini']),
  ...COMPRESSIONS.flatMap((c): [string, string][] => [
    [`${SKHEP}uproot-HZZ${c}.root`, 'events'],
    [`${SKHEP}uproot-Zmumu${c}.root`, 'events'],
  ]),
  ...['5.30.00-zlib', '6.20.04-lz4', '6.20.04-lzma', '6.20.04-uncompressed', '6.20.04-zlib'].map(
    (f): [string, string] => [`${SKHEP}uproot-sample-${f}.root`, 'sample'],
  ),
  [`${SKHEP}uproot-small-flat-tree.root`, 'tree'],
  [`${SKHEP}uproot-issue60.root`, 'nllscan'],
  [`${SKHEP}uproot-issue-85.root`, 'Hyp3O2'],
  [`${SKHEP}uproot-issue187.root`, 'fTreeV0'],
];

async function tree(path: string, name: string): Promise<TreeMeta> {
  const { tree } = await readTreeMeta(path, name);
  if (tree === undefined) throw new Error(`${path} has no tree ${name}`);
  return tree;
}

const bits = (a: ArrayLike<number>): Buffer => Buffer.from(Float64Array.from(a).buffer);

/** A branch's pieces laid end to end as readColumn lays out its column. */
function joined(branch: BranchMeta, pieces: Piece[]): { values: number[]; offsets?: number[] } {
  const values: number[] = [];
  const offsets: number[] = [0];
  for (const p of pieces) {
    const base = values.length;
    for (const v of p.values) values.push(v);
    if (p.offsets) for (let k = 1; k <= p.entries; k++) offsets.push(base + p.offsets[k]!);
    else if (branch.layout === 'fixed')
      for (let k = 1; k <= p.entries; k++) offsets.push(base + k * branch.fixedLength);
  }
  return branch.layout === 'scalar' ? { values } : { values, offsets };
}

/** Compares every readable branch's pieces with readColumn; the number of branches compared. */
async function comparePieces(path: string, name: string): Promise<number> {
  const t = await tree(path, name);
  const fd = openSync(path, 'r');
  let compared = 0;
  try {
    for (const branch of t.branches) {
      if (branch.element === undefined) continue;
      const column: Column = await readColumn(fd, branch, 0, t.entries, { diskBytes: 0, dataBytes: 0 });
      const pieces: Piece[] = [];
      for (let j = 0; j < branch.baskets.seek.length; j++) pieces.push(await readPiece(fd, branch, j, j % 2 === 0));
      const got = joined(branch, pieces);
      expect({ branch: branch.name, bits: bits(got.values).equals(bits(column.values)) }).toEqual({
        branch: branch.name,
        bits: true,
      });
      if (column.kind === 'array') expect(got.offsets).toEqual(Array.from(column.offsets));
      compared++;
    }
  } finally {
    closeSync(fd);
  }
  return compared;
}

describe('pieces hold exactly the values readColumn reads', () => {
  for (const [path, name] of FILES) {
    it(`${path.split('/').pop()}: every readable branch, bit for bit`, async () => {
      expect(await comparePieces(path, name)).toBeGreaterThan(0);
    });
  }
  it('std::vector branches (openkey synth, several clusters), and histograms over them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openkey-pieces-'));
    try {
      const path = join(dir, 'zz4l.root');
      await writeSyntheticFile({ schema: 'atlas13-mini', process: 'zz4l', events: 3000, seed: 7 }, path, {
        autoFlush: 700,
      });
      expect(await comparePieces(path, 'mini')).toBeGreaterThan(50);
      await compareDraw({
        path,
        tree: 'mini',
        draw: { expressions: ['lep_pt/1000', 'Sum$(lep_E)/1000', 'lep_n'], selection: 'lep_pt[0] > 20000' },
        histograms: [H(100, 0, 200), H(100, 0, 1000), H(6, 0, 6)],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The worker loop before the cache (issue 13): readColumn's float64 columns, one batch, the same fill. */
async function previousLoop(path: string, tree: TreeMeta, task: Task): Promise<TaskResult> {
  const infos = new Map(task.branchInfo.map((b) => [b.name, b]));
  const prog = compileDraw(task.draw, infos);
  const nh = task.histograms.length;
  const sumw = task.histograms.map((h) => new Float64Array(h.bins + 2));
  const sumw2 = task.histograms.map((h) => new Float64Array(h.bins + 2));
  const stats = new Float64Array(nh * STATS);
  const fd = openSync(path, 'r');
  const columns = new Map<string, Column>();
  try {
    for (const name of prog.branches) {
      const meta = tree.branches.find((b) => b.name === name)!;
      columns.set(name, await readColumn(fd, meta, task.first, task.last, { diskBytes: 0, dataBytes: 0 }));
    }
  } finally {
    closeSync(fd);
  }
  prog.processBatch({ events: task.last - task.first, columns }, (h, x, w) => {
    if (w === 0) return;
    const { bins: n, min, max } = task.histograms[h]!;
    let bin = Number.isFinite(x) ? Math.floor((x - min) * (n / (max - min))) : n + 1;
    bin = bin < 0 ? 0 : bin >= n ? n + 1 : bin + 1;
    const sw = sumw[h]!;
    const sw2 = sumw2[h]!;
    sw[bin] = sw[bin]! + w;
    sw2[bin] = sw2[bin]! + w * w;
    const s = h * STATS;
    stats[s]! += 1;
    if (bin > 0 && bin <= n) {
      stats[s + 1]! += w;
      stats[s + 2]! += w * w;
      stats[s + 3]! += w * x;
      stats[s + 4]! += w * x * x;
    }
  });
  return { entries: task.last - task.first, sumw, sumw2, stats, diskBytes: 0, dataBytes: 0 };
}

const sums = (r: TaskResult): Buffer =>
  Buffer.concat([...r.sumw, ...r.sumw2, r.stats].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));

interface DrawCase {
  path: string;
  tree: string;
  draw: DrawSpec;
  histograms: { bins: number; min: number; max: number }[];
}

const ATLAS_WEIGHT = 'mcWeight*scaleFactor_PILEUP*scaleFactor_ELE*scaleFactor_MUON*scaleFactor_TRIGGER';
const ZLL =
  'lep_n==2 && lep_charge[0]*lep_charge[1]<0 && lep_type[0]==lep_type[1] && lep_pt[0]>25000 && lep_pt[1]>25000';
const MLL = 'sqrt(2*lep_pt[0]*lep_pt[1]*(cosh(lep_eta[0]-lep_eta[1])-cos(lep_phi[0]-lep_phi[1])))/1000';
const H = (bins: number, min: number, max: number) => ({ bins, min, max });

const DRAWS: DrawCase[] = [
  ...['mc_105986.ZZ.root', 'mc_173046.DYtautauM15to40.root', 'mc_110090.stop_tchan_top.root'].map((f) => ({
    path: `${ATLAS}${f}`,
    tree: 'mini',
    draw: drawOf({
      dataset: 'x',
      selection: ZLL,
      weight: ATLAS_WEIGHT,
      histograms: [
        { name: 'm', expr: MLL, bins: 60, min: 60, max: 120 },
        { name: 'pt', expr: 'lep_pt/1000', bins: 100, min: 0, max: 200 },
        { name: 'j', expr: 'Sum$(jet_pt)/1000 + Length$(jet_pt)', bins: 50, min: 0, max: 500 },
        { name: 'met', expr: 'met_et/1000', bins: 40, min: 0, max: 200 },
      ],
    }),
    histograms: [H(60, 60, 120), H(100, 0, 200), H(50, 0, 500), H(40, 0, 200), H(1, 0, 2)],
  })),
  {
    path: `${ATLAS}mc_105986.ZZ.root`,
    tree: 'mini',
    draw: { expressions: ['lep_eta', 'trigE + 2*trigM', 'runNumber % 7'], selection: 'lep_pt > 25000' },
    histograms: [H(50, -3, 3), H(4, 0, 4), H(7, 0, 7)],
  },
  ...COMPRESSIONS.map((c) => ({
    path: `${SKHEP}uproot-HZZ${c}.root`,
    tree: 'events',
    draw: {
      expressions: ['sqrt(Muon_Px*Muon_Px + Muon_Py*Muon_Py)', 'Max$(Jet_E)', 'NMuon'],
      selection: 'NMuon >= 1',
      weight: 'EventWeight',
    },
    histograms: [H(100, 0, 100), H(50, 0, 500), H(6, 0, 6)],
  })),
  {
    path: `${SKHEP}uproot-Zmumu.root`,
    tree: 'events',
    draw: { expressions: ['M', 'px1*px2'], selection: 'Q1 != Q2' },
    histograms: [H(120, 0, 120), H(100, -2000, 2000)],
  },
  ...['5.30.00-zlib', '6.20.04-lz4', '6.20.04-uncompressed'].map((f) => ({
    path: `${SKHEP}uproot-sample-${f}.root`,
    tree: 'sample',
    draw: { expressions: ['ai4 + af8[1]', 'Sum$(Af8)', 'n + b', 'Ab[0]'] },
    histograms: [H(60, -30, 30), H(100, -100, 100), H(20, 0, 20), H(2, 0, 2)],
  })),
  {
    path: `${SKHEP}uproot-issue187.root`,
    tree: 'fTreeV0',
    draw: { expressions: ['MCparticles.fPt', 'V0s.fV0CosPA', 'fXvtx', 'MCparticles.fHyperCandidate'] },
    histograms: [H(100, 0, 10), H(100, 0.9, 1), H(100, -1, 1), H(2, 0, 2)],
  },
  {
    path: `${SKHEP}uproot-small-flat-tree.root`,
    tree: 'tree',
    draw: { expressions: ['ArrayFloat32 + Int64', 'SliceUInt64', 'Max$(ArrayInt64) - UInt32'] },
    histograms: [H(100, -100, 100), H(100, 0, 100), H(100, -100, 100)],
  },
];

/** Entry ranges as the planner cuts them, and some cut anywhere (inside baskets) as misaligned files get. */
function rangesOf(entries: number): [number, number][] {
  const third = Math.floor(entries / 3);
  return [
    [0, entries],
    [0, third],
    [third, entries - 7],
    [entries - 7, entries],
  ];
}

/** One draw over several entry ranges: the worker loop reading, keeping and given pieces vs the previous loop. */
async function compareDraw(c: DrawCase): Promise<void> {
  const t = await tree(c.path, c.tree);
  const branchInfo = t.branches
    .filter((b) => b.element !== undefined)
    .map((b) => ({ name: b.name, isArray: b.isArray }));
  const prog = compileDraw(c.draw, new Map(branchInfo.map((b) => [b.name, b])));
  let fills = 0;
  for (const [first, last] of rangesOf(t.entries)) {
    const task: Task = {
      fileId: 1,
      file: 'f.root',
      first,
      last,
      files: [{ id: 1, path: c.path, branches: t.branches }],
      branchInfo,
      draw: c.draw,
      histograms: c.histograms,
    };
    const before = await previousLoop(c.path, t, task);
    const read = await runTask(task, new WorkerStore());
    expect(read.pieces).toBeUndefined();
    const store = new WorkerStore();
    const kept = await runTask({ ...task, keep: true }, store);
    // Every basket of the range once, kept by the worker that decoded it …
    const baskets = prog.branches.reduce((n, name) => {
      const { from, to } = basketsOver(
        t.branches.find((b) => b.name === name)!,
        first,
        last,
      );
      return n + to - from;
    }, 0);
    expect([kept.pieces?.length, store.pieceCount]).toEqual([baskets, baskets]);
    const again = await runTask(task, store);
    // … and by another worker told of them, as the cache tells every worker: nothing is read any more.
    const other = new WorkerStore();
    other.update(kept.pieces!, []);
    const shared = await runTask(task, other);
    for (const r of [again, shared]) expect([r.diskBytes, r.pieces]).toEqual([0, undefined]);
    for (const r of [read, kept, again, shared]) expect(sums(r).equals(sums(before))).toBe(true);
    // Dropped pieces are read again, with the same sums.
    other.update([], 'all');
    const reread = await runTask(task, other);
    expect(reread.diskBytes).toBe(read.diskBytes);
    expect(sums(reread).equals(sums(before))).toBe(true);
    for (let h = 0; h < c.histograms.length; h++) fills += before.stats[h * STATS]!;
  }
  expect(fills).toBeGreaterThan(100);
}

describe('histograms from pieces equal the previous loop byte for byte', () => {
  for (const c of DRAWS) {
    it(`${c.path.split('/').pop()}: ${c.draw.expressions.join(', ')}`, async () => {
      await compareDraw(c);
    });
  }
});

describe('ColumnCache', () => {
  const piece = (bytes: number): Piece => ({
    entries: 1,
    values: new Float64Array(bytes / 8),
    bytes,
    diskBytes: 0,
    dataBytes: bytes,
  });

  const [A, B, C, D, E, F, BIG] = [1, 2, 3, 4, 5, 6, 7];

  it('keeps pieces under the budget, the least recently used out first', () => {
    const cache = new ColumnCache({ maxBytes: 3000, freeBytes: () => 2 ** 40 });
    cache.set(A, piece(1000));
    cache.set(B, piece(1000));
    cache.set(C, piece(1000));
    expect(cache.get(A)).toBeDefined(); // now B is the oldest
    cache.set(D, piece(1000));
    expect([cache.get(B), cache.bytes, cache.size, cache.evictions]).toEqual([undefined, 3000, 3, 1]);
    expect([A, C, D].every((k) => cache.get(k) !== undefined)).toBe(true);
    cache.set(BIG, piece(4000)); // alone above the budget: not kept, nothing else lost
    expect([cache.get(BIG), cache.size]).toEqual([undefined, 3]);
  });

  it('tells the workers what to add and drop, so they hold what it holds', () => {
    const cache = new ColumnCache({ maxBytes: 3000, freeBytes: () => 2 ** 40 });
    const worker = new WorkerStore();
    const told: [number[], number[] | 'all'][] = [];
    cache.onChange = (add, drop) => {
      told.push([add.map((p) => p.key), drop]);
      worker.update(add, drop);
    };
    const fresh = (keys: number[]): NewPiece[] => keys.map((key) => ({ key, piece: piece(1000) }));
    cache.setAll(fresh([A, B]));
    // D pushes out A (the oldest); E alone above the budget is not kept and drops nothing else.
    cache.setAll([...fresh([C, D]), { key: E, piece: piece(5000) }]);
    expect(told).toEqual([
      [[A, B], []],
      [
        [C, D],
        [A, E],
      ],
    ]);
    expect([A, B, C, D, E].map((k) => worker.piece(k) !== undefined)).toEqual([false, true, true, true, false]);
    cache.clear();
    expect([told.at(-1), worker.pieceCount]).toEqual([[[], 'all'], 0]);
  });

  it('gives memory back under memory pressure before taking more', () => {
    let free = 2 ** 40;
    const cache = new ColumnCache({ maxBytes: 10_000, reserveBytes: 5000, freeBytes: () => free });
    for (const k of [A, B, C, D]) cache.set(k, piece(2000));
    expect(cache.bytes).toBe(8000);
    free = 1000; // 4000 bytes short of the reserve: the cache shrinks by that much, the oldest out
    cache.set(E, piece(2000));
    expect(cache.bytes).toBeLessThanOrEqual(8000 - 4000);
    expect([cache.get(A), cache.get(B), cache.get(C)]).toEqual([undefined, undefined, undefined]);
    expect(cache.get(E)).toBeDefined();
    free = 0; // nothing left: the cache lets go of everything
    cache.set(F, piece(2000));
    expect([cache.bytes, cache.size]).toEqual([0, 0]);
  });

  it('is off with a budget of 0', () => {
    const cache = new ColumnCache({ maxBytes: 0 });
    cache.set(A, piece(8));
    expect([cache.enabled, cache.size]).toEqual([false, 0]);
  });

  it('packs a piece key and unpacks it', () => {
    for (const [file, branch, basket] of [
      [1, 0, 0],
      [2 ** 21 - 1, 4095, 2 ** 20 - 1],
      [77, 12, 3456],
    ] as const)
      expect(pieceKeyParts(pieceKey(file, branch, basket))).toEqual({ file, branch, basket });
  });
});

describe('file tables sent ahead', () => {
  it('a worker given a table at start-up answers tasks that name the file only; an unknown id is a clear error', async () => {
    const path = `${ATLAS}mc_105986.ZZ.root`;
    const t = await tree(path, 'mini');
    const pool = new WorkerPool({ size: 1 });
    try {
      await pool.ready();
      pool.sendFiles([{ id: 7, path, branches: t.branches }]);
      const task = (fileId: number): Task => ({
        fileId,
        file: 'ZZ.root',
        first: 0,
        last: t.entries,
        branchInfo: [{ name: 'lep_n', isArray: false }],
        draw: { expressions: ['lep_n'] },
        histograms: [H(6, 0, 6)],
      });
      const result = await pool.run(task(7), 'a');
      expect(result.stats[0]).toBe(t.entries);
      await expect(pool.run(task(8), 'b')).rejects.toThrow('ZZ.root: the worker was not sent the table of file 8');
    } finally {
      await pool.close();
    }
  });
});

describe('the service with its column cache', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'openkey-colcache-'));
    const dir = join(root, 'zll');
    mkdirSync(dir);
    for (const f of ['mc_105986.ZZ.root', 'mc_110090.stop_tchan_top.root', 'mc_173046.DYtautauM15to40.root'])
      linkInside(root, `${ATLAS}${f}`, dir, f);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const request = (cut: number, name = 'm') => ({
    dataset: 'zll',
    selection: ZLL.replaceAll('25000', String(cut)),
    weight: ATLAS_WEIGHT,
    histograms: [
      { name, expr: MLL, bins: 60, min: 60, max: 120 },
      { name: `${name}-pt`, expr: 'lep_pt/1000', bins: 100, min: 0, max: 200 },
    ],
  });

  /** The requests in turn; the cache is emptied after the requests whose index is in `clearAfter`. */
  async function run(columnCacheBytes: number, cuts: number[], clearAfter: number[] = []) {
    const app = await buildApp({ datasets: root, workers: 2, columnCacheBytes });
    const parts = app.analysis;
    const views: AnalysisView[] = [];
    const held: number[] = [];
    try {
      for (const cut of cuts) {
        const res = await app.inject({ method: 'POST', url: '/api/analyses?wait=1', payload: request(cut) });
        views.push(res.json<AnalysisView>());
        held.push(parts.manager.columns.bytes);
        if (clearAfter.includes(views.length - 1)) parts.manager.columns.clear();
      }
    } finally {
      await app.close();
    }
    return { views, held, cache: parts.manager.columns };
  }

  it('answers a changed cut from memory with the same histograms as without a cache', async () => {
    const cuts = [25000, 30000, 25000];
    const off = await run(0, cuts);
    const on = await run(1 << 30, cuts);
    for (const v of [...off.views, ...on.views]) expect(v.state).toBe('done');
    for (let i = 0; i < cuts.length; i++) {
      expect(on.views[i]!.result!.histograms).toEqual(off.views[i]!.result!.histograms);
      expect(on.views[i]!.result!.byFile).toEqual(off.views[i]!.result!.byFile);
      expect(on.views[i]!.result!.selected).toBe(off.views[i]!.result!.selected);
    }
    const bytesRead = on.views.map((v) => v.result!.bytesRead);
    expect(bytesRead[0]).toBeGreaterThan(5e5);
    expect(bytesRead[1]).toBe(0); // the second cut read nothing
    expect(off.views[1]!.result!.bytesRead).toBe(bytesRead[0]);
    expect(on.cache.hits).toBeGreaterThan(0);
    // At most 1.1 × the decompressed size of the baskets the analysis read (entry data and offset tables).
    const decompressed = await decompressedBytes(
      root,
      ['mc_105986.ZZ.root', 'mc_110090.stop_tchan_top.root', 'mc_173046.DYtautauM15to40.root'],
      on.cache,
    );
    expect(on.held[0]).toBeGreaterThan(0);
    expect(on.held[0]).toBeLessThanOrEqual(1.1 * decompressed);
    expect(on.held[2]).toBe(on.held[0]);
  });

  it('emptied, it empties every worker: the next cut reads every basket again', async () => {
    const { views } = await run(1 << 30, [25000, 30000, 35000], [0]);
    const bytesRead = views.map((v) => v.result!.bytesRead);
    expect(bytesRead[0]).toBeGreaterThan(5e5);
    expect(bytesRead).toEqual([bytesRead[0], bytesRead[0], 0]);
  });

  it('never holds more than its budget, and still answers the same', async () => {
    const cuts = [25000, 30000];
    const off = await run(0, cuts);
    const small = await run(1_000_000, cuts);
    for (let i = 0; i < cuts.length; i++)
      expect(small.views[i]!.result!.histograms).toEqual(off.views[i]!.result!.histograms);
    expect(Math.max(...small.held)).toBeLessThanOrEqual(1_000_000);
    expect(small.held[0]).toBeGreaterThan(0);
    expect(small.cache.evictions).toBeGreaterThan(0);
  });
});

/** The decompressed bytes of the baskets of the branches the Z→ℓℓ request reads, by the cache's own count. */
async function decompressedBytes(root: string, files: string[], cache: ColumnCache): Promise<number> {
  void cache;
  const names = [
    'lep_n',
    'lep_charge',
    'lep_type',
    'lep_pt',
    'lep_eta',
    'lep_phi',
    'mcWeight',
    'scaleFactor_PILEUP',
    'scaleFactor_ELE',
    'scaleFactor_MUON',
    'scaleFactor_TRIGGER',
  ];
  let total = 0;
  for (const f of files) {
    const path = join(root, 'zll', f);
    const t = await tree(path, 'mini');
    const fd = openSync(path, 'r');
    try {
      for (const b of t.branches.filter((x) => names.includes(x.name)))
        for (let j = 0; j < b.baskets.seek.length; j++) total += (await readPiece(fd, b, j, false)).dataBytes;
    } finally {
      closeSync(fd);
    }
  }
  return total;
}
