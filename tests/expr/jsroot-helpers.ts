/**
 * Reference machinery for the expression tests: jsroot reads the real ROOT files in ../shared/data, builds the
 * engine's Batch (one TSelector pass copying each event's branch values into columns), draws with JSROOT's own
 * treeDraw, or runs a hand-written per-event loop.
 */
import { fileURLToPath } from 'node:url';
import { openFile, treeDraw, treeProcess, TSelector } from 'jsroot';
import type { Batch, BranchInfo, Column } from '../../services/analysis/expr/index.ts';

export const DATA_DIR = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

interface JsrootLeaf {
  fName: string;
  fLen: number;
  fLeafCount?: { fName: string } | null;
}
interface JsrootBranch {
  fName: string;
  fLeaves: { arr: JsrootLeaf[] };
}
export interface JsrootTree {
  fEntries: number;
  fBranches: { arr: JsrootBranch[] };
}

export interface OpenedTree {
  tree: JsrootTree;
  branches: Map<string, BranchInfo>;
  /** Branches that count the elements of other branches (lep_n for lep_pt[lep_n]). */
  counters: Set<string>;
}

const opened = new Map<string, Promise<OpenedTree>>();

export function openTree(relativePath: string, treeName: string): Promise<OpenedTree> {
  const key = `${relativePath}#${treeName}`;
  let result = opened.get(key);
  if (result === undefined) {
    result = (async () => {
      const file = await openFile(DATA_DIR + relativePath);
      const tree = (await file.readObject(treeName)) as JsrootTree;
      const branches = new Map<string, BranchInfo>();
      const counters = new Set<string>();
      for (const branch of tree.fBranches.arr) {
        const leaf = branch.fLeaves.arr[0]!;
        const isArray = Boolean(leaf.fLeafCount) || leaf.fLen > 1;
        if (leaf.fLeafCount) counters.add(leaf.fLeafCount.fName);
        branches.set(branch.fName, { name: branch.fName, isArray });
      }
      return { tree, branches, counters };
    })();
    opened.set(key, result);
  }
  return result;
}

export type EventValues = Record<string, number | number[]>;

/**
 * Calls `each` with every event's values, as jsroot's TSelector reads them (booleans as 0/1). A counter branch is
 * added before the arrays it counts: jsroot refuses it afterwards ("Branch lep_n already configured for reading").
 */
export async function eachEvent(opened: OpenedTree, names: readonly string[], each: (event: EventValues) => void) {
  const ordered = [...names].sort((a, b) => Number(opened.counters.has(b)) - Number(opened.counters.has(a)));
  const selector = new TSelector();
  for (const name of ordered) selector.addBranch(name);
  selector.Process = function (this: { tgtobj: Record<string, unknown> }) {
    const event: EventValues = {};
    for (const name of ordered) {
      const value = this.tgtobj[name];
      if (ArrayBuffer.isView(value) || Array.isArray(value)) {
        event[name] = Array.from(value as ArrayLike<number | boolean>, Number);
      } else {
        event[name] = Number(value);
      }
    }
    each(event);
  };
  await treeProcess(opened.tree, selector);
}

/** The engine's input: every event of the tree, for the given branches, in columns. */
export async function readBatch(opened: OpenedTree, names: readonly string[]): Promise<Batch> {
  const scalars = new Map<string, number[]>();
  const arrays = new Map<string, { counts: number[]; values: number[] }>();
  for (const name of names) {
    if (opened.branches.get(name)?.isArray) arrays.set(name, { counts: [], values: [] });
    else scalars.set(name, []);
  }
  let events = 0;
  if (names.length > 0) {
    await eachEvent(opened, names, (event) => {
      events++;
      for (const [name, column] of scalars) column.push(event[name] as number);
      for (const [name, column] of arrays) {
        const values = event[name] as number[];
        column.counts.push(values.length);
        for (const value of values) column.values.push(value);
      }
    });
  } else {
    events = opened.tree.fEntries;
  }
  const columns = new Map<string, Column>();
  for (const [name, values] of scalars) columns.set(name, { kind: 'scalar', values: Float64Array.from(values) });
  for (const [name, { counts, values }] of arrays) {
    const offsets = new Uint32Array(counts.length + 1);
    counts.forEach((count, i) => (offsets[i + 1] = offsets[i]! + count));
    columns.set(name, { kind: 'array', offsets, values: Float64Array.from(values) });
  }
  return { events, columns };
}

export interface Binning {
  bins: number;
  min: number;
  max: number;
}

/**
 * A 1-D histogram binned exactly as JSROOT's TDrawSelector does (floor((x - min) * bins / (max - min)), non-finite
 * values in the overflow), so a fill-for-fill equal input gives bit-identical bins.
 */
export class JsrootLikeHistogram {
  readonly array: Float64Array;
  readonly binning: Binning;
  private readonly k: number;
  fills = 0;

  constructor(binning: Binning) {
    this.binning = binning;
    this.array = new Float64Array(binning.bins + 2);
    this.k = binning.bins / (binning.max - binning.min);
  }

  fill(value: number, weight: number): void {
    const { bins, min } = this.binning;
    const bin = Number.isFinite(value) ? Math.floor((value - min) * this.k) : bins + 1;
    this.array[bin < 0 ? 0 : bin > bins ? bins + 1 : bin + 1]! += weight;
    this.fills++;
  }
}

/** JSROOT's own TTree::Draw of `expr` with cut `cut`, as a TH1D (so both sides sum in float64). */
export async function jsrootDraw(
  opened: OpenedTree,
  expr: string,
  cut: string,
  binning: Binning,
): Promise<Float64Array> {
  const { bins, min, max } = binning;
  const histogram = (await treeDraw(opened.tree, {
    expr: `${expr}>>htemp(${bins},${String(min)},${String(max)});htype:D`,
    cut,
  })) as { fArray: Float64Array };
  return histogram.fArray;
}
