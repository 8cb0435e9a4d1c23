/**
 * Entry ranges: cut where the branches read start baskets, and a histogram filled range by range (partial baskets
 * at both ends, baskets read twice where they straddle) equals the one filled in a single pass.
 */
import { describe, expect, it } from 'vitest';
import { planRanges } from '../../services/analysis/analyses/plan.ts';
import { HistogramSet } from '../../services/analysis/histogram.ts';
import { runTask, WorkerStore } from '../../services/analysis/pool/tasks.ts';
import type { Task } from '../../services/analysis/pool/protocol.ts';
import { readTreeMeta } from '../../rootio/read/meta.ts';
import { basketsOver } from '../../rootio/read/pieces.ts';
import type { BranchMeta } from '../../rootio/read/types.ts';
import { SKHEP } from './jsroot-helpers.ts';

const FILE = `${SKHEP}uproot-sample-6.20.04-zlib.root`;

/** A task over the whole file, and the metadata of the branches `names`. */
async function sampleTask(names: string[], expressions: string[]): Promise<{ task: Task; branches: BranchMeta[] }> {
  const tree = (await readTreeMeta(FILE, 'sample')).tree!;
  const task: Task = {
    fileId: 1,
    file: 'uproot-sample-6.20.04-zlib.root',
    first: 0,
    last: tree.entries,
    files: [{ id: 1, path: FILE, branches: tree.branches }],
    branchInfo: tree.branches.filter((b) => b.element !== undefined).map((b) => ({ name: b.name, isArray: b.isArray })),
    draw: { expressions },
    histograms: expressions.map(() => ({ bins: 40, min: -20, max: 20 })),
  };
  return { task, branches: names.map((n) => tree.branches.find((b) => b.name === n)!) };
}

describe('entry ranges', () => {
  it('cut only where every branch read starts a basket, else at the heaviest branch', async () => {
    const [i4, ai8, af8] = (await sampleTask(['i4', 'Ai8', 'af8'], [])).branches;
    // i4 starts baskets at 0,7,14,21,28; the others elsewhere: no common cut but 0, so the heaviest decides.
    expect(planRanges([i4!], 30, 1)).toEqual([
      [0, 7],
      [7, 14],
      [14, 21],
      [21, 28],
      [28, 30],
    ]);
    expect(planRanges([i4!], 30, 10)).toEqual([
      [0, 14],
      [14, 28],
      [28, 30],
    ]);
    const mixed = planRanges([i4!, ai8!, af8!], 30, 1);
    expect(mixed[0]![0]).toBe(0);
    expect(mixed.at(-1)![1]).toBe(30);
    for (let i = 1; i < mixed.length; i++) expect(mixed[i]![0]).toBe(mixed[i - 1]![1]);
    expect(mixed.length).toBeGreaterThan(3);
    expect(planRanges([], 100, 30)).toEqual([
      [0, 30],
      [30, 60],
      [60, 90],
      [90, 100],
    ]);
  });

  it('a range reads only the baskets that hold its entries', async () => {
    const i4 = (await sampleTask(['i4'], [])).branches[0]!; // baskets start at 0, 7, 14, 21, 28
    expect(i4.baskets.entry).toEqual([0, 7, 14, 21, 28, 30]);
    expect(basketsOver(i4, 8, 20)).toEqual({ from: 1, to: 3 });
    expect(basketsOver(i4, 7, 14)).toEqual({ from: 1, to: 2 });
    expect(basketsOver(i4, 0, 30)).toEqual({ from: 0, to: 5 });
    expect(basketsOver(i4, 28, 30)).toEqual({ from: 4, to: 5 });
    expect(basketsOver(i4, 6, 8)).toEqual({ from: 0, to: 2 });
  });

  it('filling range by range equals one pass, for scalars, fixed and counted arrays', async () => {
    const expressions = ['i4', 'Ai8', 'af8[1]', 'Sum$(ai2)', 'Length$(Af4)'];
    const { task, branches } = await sampleTask(['i4', 'Ai8', 'af8', 'ai2', 'Af4'], expressions);
    const whole = new HistogramSet(task.histograms);
    whole.add(await runTask(task, new WorkerStore()));
    for (const target of [1, 3, 8]) {
      const parts = new HistogramSet(task.histograms);
      const store = new WorkerStore();
      for (const [first, last] of planRanges(branches, 30, target))
        parts.add(await runTask({ ...task, first, last }, store));
      expect(parts.sumw).toEqual(whole.sumw);
      // Σwx and Σwx² are summed in another order: equal to rounding.
      parts.stats.forEach((v, i) => expect(v).toBeCloseTo(whole.stats[i]!, 9));
    }
    expect(whole.fills(0)).toBe(30);
  });
});
