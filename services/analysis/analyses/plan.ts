/**
 * Planning an analysis, before anything runs: the request checked (binning, dataset, files, tree), the expressions
 * compiled once against the tree (400/404 naming the field), and each file's entries cut into ranges aligned to the
 * baskets of the branches it reads. Pure apart from reading the files' metadata through the dataset store.
 */
import { OpenKeyError } from '../../../common/errors.ts';
import { MAX_BINS, MAX_TOTAL_BINS, type DatasetRequest } from '../api.ts';
import type { Dataset, DatasetStore, FileInfo } from '../datasets.ts';
import { compileDraw, ExpressionError, type BranchInfo } from '../expr/index.ts';
import type { DrawText, HistSpec } from '../pool/protocol.ts';
import type { BranchMeta, TreeMeta } from '../../../rootio/read/types.ts';
import { nearestNames } from '../../../common/suggest.ts';
import { badRequest, expressionError, PlannedFailure } from './errors.ts';

export interface Plan {
  dataset: Dataset;
  files: { info: FileInfo; meta: TreeMeta; ranges: [number, number][] }[];
  branchInfo: BranchInfo[];
  branches: string[];
  /** The request's histograms, then the hidden one that counts selected events. */
  specs: HistSpec[];
  draw: DrawText;
  entriesTotal: number;
  /** Entries per task: about entries / (4 × workers), 20 k to 500 k. */
  target: number;
  cacheKey: string;
}

const SELECTED_SPEC: HistSpec = { bins: 1, min: 0, max: 2 };

/** The expressions the workers run: a hidden last histogram of '1', filled once per event that passes (`selected`). */
export function drawOf(request: DatasetRequest): DrawText {
  return {
    expressions: [...request.histograms.map((h) => h.expr), '1'],
    eventCount: true,
    ...(request.selection === undefined ? {} : { selection: request.selection }),
    ...(request.weight === undefined ? {} : { weight: request.weight }),
  };
}

/** Entry ranges over [0, entries) cut only where every branch read starts a basket, merged to about `target`. */
export function planRanges(branches: BranchMeta[], entries: number, target: number): [number, number][] {
  if (entries <= 0) return [];
  let points: number[];
  if (branches.length === 0) {
    points = [];
    for (let e = 0; e < entries; e += target) points.push(e);
  } else {
    const counts = new Map<number, number>();
    for (const b of branches) for (const e of new Set(b.baskets.entry)) counts.set(e, (counts.get(e) ?? 0) + 1);
    points = [...counts].filter(([, n]) => n === branches.length).map(([e]) => e);
    // Misaligned baskets leave few common cuts; then cut where the heaviest branch starts a basket (the others'
    // straddling baskets are read twice, which costs less than losing the parallelism).
    const sorted = [...points, entries].sort((a, b) => a - b);
    const widest = sorted.reduce((w, p, i) => (i === 0 ? w : Math.max(w, p - sorted[i - 1]!)), sorted[0] ?? 0);
    if (widest > 4 * target) {
      const heaviest = branches.reduce((a, b) =>
        b.baskets.bytes.reduce((s, x) => s + x, 0) > a.baskets.bytes.reduce((s, x) => s + x, 0) ? b : a,
      );
      points.push(...heaviest.baskets.entry);
    }
  }
  const cuts = [...new Set(points.filter((p) => p > 0 && p < entries))].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  let start = 0;
  for (const p of cuts) {
    if (p - start >= target) {
      ranges.push([start, p]);
      start = p;
    }
  }
  ranges.push([start, entries]);
  return ranges;
}

function checkHistograms(request: DatasetRequest): void {
  const names = new Set<string>();
  request.histograms.forEach((h, i) => {
    const where = `histograms[${i}]`;
    if (names.has(h.name))
      throw badRequest('E_BAD_HISTOGRAM', `${where}.name: "${h.name}" is used twice`, undefined, { name: h.name });
    names.add(h.name);
    if (!Number.isInteger(h.bins) || h.bins < 1 || h.bins > MAX_BINS)
      throw badRequest('E_BAD_BINNING', `${where}.bins: ${h.bins} bins; use 1 to ${MAX_BINS}`, undefined, {
        name: h.name,
        bins: h.bins,
        limit: MAX_BINS,
      });
    if (!Number.isFinite(h.min) || !Number.isFinite(h.max) || !(h.min < h.max))
      throw badRequest('E_BAD_BINNING', `${where}: min ${h.min} must be below max ${h.max}`, 'swap min and max', {
        name: h.name,
        min: h.min,
        max: h.max,
        limit: MAX_BINS,
      });
  });
  const total = request.histograms.reduce((n, h) => n + h.bins, 0);
  if (total > MAX_TOTAL_BINS)
    throw badRequest(
      'E_TOO_MANY_BINS',
      `histograms: ${total} bins in all; one analysis may have at most ${MAX_TOTAL_BINS}`,
      'use fewer bins or histograms',
      { bins: total, limit: MAX_TOTAL_BINS },
    );
}

/**
 * The files a request names (all of `available` when it names none): unknown names are a 404 with the closest
 * ones, a name twice a 400. Shared by analyses and POST /api/columns.
 */
export function selectFiles(
  datasetId: string,
  available: FileInfo[],
  names: readonly string[] | undefined,
): FileInfo[] {
  let files = available;
  if (names !== undefined) {
    const byName = new Map(available.map((f) => [f.name, f]));
    files = names.map((name) => {
      const f = byName.get(name);
      if (f) return f;
      const near = nearestNames(name, byName.keys());
      throw new OpenKeyError('E_UNKNOWN_FILE', `dataset "${datasetId}" has no file "${name}"`, {
        hint: `closest: ${near.join(', ')}`,
        params: { dataset: datasetId, file: name, suggestions: near.join(', ') },
      });
    });
    if (new Set(names).size !== names.length) throw badRequest('E_BAD_REQUEST', 'files: a file is listed twice');
  }
  if (files.length === 0)
    throw badRequest('E_NO_FILES', `dataset "${datasetId}" has no ROOT files`, undefined, { dataset: datasetId });
  return files;
}

/**
 * Checks and plans a request. Throws OpenKeyError for a bad request (4xx), PlannedFailure for a valid request whose
 * files cannot be analysed. `workers` sizes the ranges: about entries / (4 × workers), 20 k to 500 k.
 */
export async function planAnalysis(store: DatasetStore, request: DatasetRequest, workers: number): Promise<Plan> {
  checkHistograms(request);
  const dataset = await store.get(request.dataset);
  const files = selectFiles(dataset.id, dataset.files, request.files);

  // Tree metadata per file: the dataset's tree, or the one the request names.
  const metas: { info: FileInfo; meta?: TreeMeta; error?: string; trees?: string[] }[] = [];
  for (const info of files) {
    if (request.tree === undefined || request.tree === info.tree) {
      metas.push(info.meta ? { info, meta: info.meta } : { info, error: info.error ?? 'unreadable' });
      continue;
    }
    try {
      const { trees, tree } = await store.treeMeta(info.path, info.size, info.mtimeMs, request.tree);
      metas.push(tree ? { info, meta: tree } : { info, trees, error: `no tree "${request.tree}"` });
    } catch (error) {
      metas.push({ info, error: (error as Error).message });
    }
  }
  const first = metas.find((m) => m.meta !== undefined);
  if (first === undefined) {
    const withTrees = metas.find((m) => m.trees !== undefined);
    if (request.tree !== undefined && withTrees) {
      throw new OpenKeyError('E_UNKNOWN_TREE', `no tree "${request.tree}" in dataset "${dataset.id}"`, {
        hint: `the files have: ${withTrees.trees!.join(', ') || 'no trees'}`,
        params: { dataset: dataset.id, tree: request.tree, suggestions: withTrees.trees!.join(', ') },
      });
    }
  }
  const reference = first?.meta;
  const branchInfo: BranchInfo[] = (reference?.branches ?? [])
    .filter((b) => b.element !== undefined)
    .map((b) => ({ name: b.name, isArray: b.isArray }));
  const infos = new Map(branchInfo.map((b) => [b.name, b]));
  const draw = drawOf(request);
  let branches: string[] = [];
  if (reference) {
    try {
      branches = compileDraw(draw, infos).branches;
    } catch (error) {
      if (error instanceof ExpressionError) throw expressionError(error, reference);
      throw error;
    }
  }
  // A file that cannot be read fails the analysis with its name (the request itself is fine).
  const broken = metas.find((m) => m.meta === undefined);
  if (broken) {
    const why = broken.error ?? 'cannot be read';
    throw new PlannedFailure(
      'E_ROOT_CORRUPT',
      why.startsWith(`${broken.info.name}:`) ? why : `${broken.info.name}: ${why}`,
      { dataset: dataset.id, file: broken.info.name },
    );
  }
  for (const m of metas) {
    const have = new Set(m.meta!.branches.filter((b) => b.element !== undefined).map((b) => b.name));
    const missing = branches.find((b) => !have.has(b));
    if (missing)
      throw new PlannedFailure('E_MISSING_BRANCH', `${m.info.name}: has no readable branch "${missing}"`, {
        dataset: dataset.id,
        file: m.info.name,
        name: missing,
      });
  }

  const specs: HistSpec[] = [
    ...request.histograms.map((h) => ({ bins: h.bins, min: h.min, max: h.max })),
    SELECTED_SPEC,
  ];
  const totalEntries = metas.reduce((n, m) => n + m.meta!.entries, 0);
  const target = Math.min(500_000, Math.max(20_000, Math.ceil(totalEntries / (workers * 4))));
  let remaining = request.maxEntries ?? Infinity;
  const planned: Plan['files'] = [];
  for (const m of metas) {
    const meta = m.meta!;
    const readBranches = branches.map((n) => meta.branches.find((b) => b.name === n)!);
    const ranges: [number, number][] = [];
    for (const [a, b] of planRanges(readBranches, meta.entries, target)) {
      if (remaining <= 0) break;
      const end = Math.min(b, a + remaining);
      ranges.push([a, end]);
      remaining -= end - a;
    }
    planned.push({ info: m.info, meta, ranges });
  }
  const entriesTotal = planned.reduce((n, f) => n + f.ranges.reduce((m, [a, b]) => m + b - a, 0), 0);
  const cacheKey = JSON.stringify({
    dataset: dataset.id,
    tree: request.tree ?? null,
    files: files.map((f) => [f.name, f.size, f.mtimeMs]),
    selection: request.selection ?? null,
    weight: request.weight ?? null,
    histograms: request.histograms,
    maxEntries: request.maxEntries ?? null,
  });
  // Workers compile against the branches read only: names resolve exactly, so the kernel is the same, and each
  // task carries a dozen names instead of the whole tree's.
  const read = new Set(branches);
  return {
    dataset,
    files: planned,
    branchInfo: branchInfo.filter((b) => read.has(b.name)),
    branches,
    specs,
    draw,
    entriesTotal,
    target,
    cacheKey,
  };
}
