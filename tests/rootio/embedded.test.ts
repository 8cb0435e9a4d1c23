/**
 * Files whose baskets ROOT streamed inside the TTree object (a tree written before its baskets were flushed, or
 * written whole from memory), with split objects, split std::vectors of objects and Double32_t ranges: every
 * readable branch equals jsroot's values, entry by entry.
 */
import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readColumn, type Column } from '../../rootio/read/columns.ts';
import { readTreeMeta } from '../../rootio/read/meta.ts';
import { openTree, SKHEP, TSelector, treeProcess } from '../service/jsroot-helpers.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function flat(value: unknown, out: number[]): void {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') out.push(Number(value));
  else if (value !== null && typeof value === 'object' && 'length' in (value as object))
    for (const item of Array.from(value as ArrayLike<unknown>)) flat(item, out);
  else throw new Error(`unexpected jsroot value ${String(value)}`);
}

/**
 * jsroot's values of many branches in one pass: numbers, flat arrays, or (for a collection's size branch) the
 * collection's size. A bool member inside a split collection comes from jsroot as its raw byte (78, 217 …); ROOT
 * and uproot read it as true, and so do we, so that one is compared as byte ≠ 0.
 */
async function jsrootValues(
  path: string,
  treeName: string,
  wanted: { name: string; size: boolean; bool: boolean }[],
): Promise<unknown[][]> {
  const { tree } = await openTree(path, treeName);
  const values: unknown[][] = wanted.map(() => []);
  const selector = new TSelector();
  // By the branch object: jsroot finds a split member's branch by name only from its parent.
  wanted.forEach((w, i) => selector.addBranch(jsrootBranch(tree, w.name), `v${i}`));
  selector.Process = function (this: Any) {
    wanted.forEach((w, i) => {
      const v = this.tgtobj[`v${i}`];
      if (w.size) values[i]!.push(v.length);
      else if (typeof v === 'object') {
        const out: number[] = [];
        flat(v, out);
        values[i]!.push(w.bool ? out.map((x) => (x !== 0 ? 1 : 0)) : out);
      } else values[i]!.push(w.bool ? (Number(v) !== 0 ? 1 : 0) : Number(v));
    });
  };
  await treeProcess(tree, selector);
  return values;
}

function perEvent(column: Column, events: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < events; i++) {
    if (column.kind === 'scalar') out.push(column.values[i]!);
    else out.push(Array.from(column.values.subarray(column.offsets[i], column.offsets[i + 1])));
  }
  return out;
}

/** jsroot's branch of one of ours: ours drops a member array's dimensions ("V0s.fInvMass[2]" → "V0s.fInvMass"). */
function jsrootBranch(tree: Any, name: string): Any {
  const all: Any[] = [];
  const walk = (bs: Any[]): void => {
    for (const b of bs) {
      all.push(b);
      walk(b.fBranches?.arr ?? []);
    }
  };
  walk(tree.fBranches.arr);
  return all.find((b) => b.fName === name) ?? all.find((b) => b.fName.replace(/(\[\d+\])+$/, '') === name);
}

const FILES = [
  { file: 'uproot-issue60.root', tree: 'nllscan', entries: 11535, branches: 17 },
  { file: 'uproot-issue-85.root', tree: 'Hyp3O2', entries: 39308, branches: 46 },
  { file: 'uproot-issue187.root', tree: 'fTreeV0', entries: 12230, branches: 50 },
];

describe('baskets kept inside the TTree object', () => {
  for (const { file, tree: treeName, entries, branches } of FILES) {
    it(`${file}: every branch equals jsroot`, async () => {
      const path = `${SKHEP}${file}`;
      const { tree } = await readTreeMeta(path, treeName);
      expect(tree!.entries).toBe(entries);
      const readable = tree!.branches.filter((b) => b.element !== undefined);
      expect(readable.map((b) => b.name)).toEqual(tree!.branches.map((b) => b.name));
      expect(readable.length).toBeGreaterThanOrEqual(branches);
      expect(readable.some((b) => b.baskets.embedded?.some((e) => e !== null))).toBe(true);
      const wanted = readable.map((b) => ({
        name: b.name,
        size: b.type === 'Int_t' && tree!.branches.some((c) => c.counter === b.name),
        bool: b.element === 'bool',
      }));
      // One jsroot pass for the members, one per collection size (jsroot reads the collection whole for those).
      const expected: unknown[][] = new Array(wanted.length);
      const members = wanted.map((w, i) => ({ w, i })).filter(({ w }) => !w.size);
      const memberValues = await jsrootValues(
        path,
        treeName,
        members.map(({ w }) => w),
      );
      members.forEach(({ i }, k) => (expected[i] = memberValues[k]!));
      for (const [i, w] of wanted.entries()) if (w.size) expected[i] = (await jsrootValues(path, treeName, [w]))[0]!;
      const fd = openSync(path, 'r');
      try {
        for (let i = 0; i < readable.length; i++) {
          const branch = readable[i]!;
          const column = await readColumn(fd, branch, 0, entries, { diskBytes: 0, dataBytes: 0 });
          expect({ branch: branch.name, values: perEvent(column, entries) }).toEqual({
            branch: branch.name,
            values: expected[i],
          });
        }
      } finally {
        closeSync(fd);
      }
    }, 120_000);
  }
});
