import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticFile } from '../../builder/synth/index.ts';
import { describe, expect, it } from 'vitest';
import { readColumn, type Column } from '../../rootio/read/columns.ts';
import { readTreeMeta } from '../../rootio/read/meta.ts';
import { ATLAS, COMPRESSIONS, jsrootValues, SKHEP } from './jsroot-helpers.ts';

function perEvent(column: Column, events: number): (number | number[])[] {
  const out: (number | number[])[] = [];
  for (let i = 0; i < events; i++) {
    if (column.kind === 'scalar') out.push(column.values[i]!);
    else out.push(Array.from(column.values.subarray(column.offsets[i], column.offsets[i + 1])));
  }
  return out;
}

async function compareFile(path: string, treeName: string, only?: (name: string) => boolean): Promise<number> {
  const { tree } = await readTreeMeta(path, treeName);
  expect(tree).toBeDefined();
  const fd = openSync(path, 'r');
  let compared = 0;
  try {
    for (const branch of tree!.branches) {
      if (branch.element === undefined || (only && !only(branch.name))) continue;
      const column = await readColumn(fd, branch, 0, tree!.entries, { diskBytes: 0, dataBytes: 0 });
      // jsroot reads a fixed Char_t array as a string; uproot's documented values for that branch are used instead.
      const expected =
        branch.name === 'ai1'
          ? Array.from({ length: tree!.entries }, (_, i) => [i - 14, i - 13, i - 12])
          : await jsrootValues(path, treeName, branch.name);
      const got = perEvent(column, tree!.entries);
      // Fixed-size arrays: jsroot gives arrays too; compare as flat lists per event.
      expect({ branch: branch.name, values: got }).toEqual({ branch: branch.name, values: expected });
      compared++;
    }
  } finally {
    closeSync(fd);
  }
  return compared;
}

describe('direct basket reader equals jsroot', () => {
  for (const c of COMPRESSIONS) {
    it(`uproot-HZZ${c}.root, every branch`, async () => {
      expect(await compareFile(`${SKHEP}uproot-HZZ${c}.root`, 'events')).toBeGreaterThan(40);
    });
    it(`uproot-Zmumu${c}.root, every numeric branch`, async () => {
      expect(await compareFile(`${SKHEP}uproot-Zmumu${c}.root`, 'events')).toBeGreaterThan(15);
    });
  }
  for (const f of ['5.30.00-zlib', '6.20.04-lz4', '6.20.04-lzma', '6.20.04-uncompressed', '6.20.04-zlib']) {
    it(`uproot-sample-${f}.root: every leaf type, fixed and counted arrays, many baskets`, async () => {
      expect(await compareFile(`${SKHEP}uproot-sample-${f}.root`, 'sample')).toBeGreaterThan(25);
    });
  }
  it('ATLAS 8 TeV mini: counted arrays, bools, unsigned', async () => {
    expect(await compareFile(`${ATLAS}mc_105986.ZZ.root`, 'mini')).toBe(46);
  });
});

describe('std::vector branches (the ATLAS 13 TeV mini layout, written by openkey synth)', () => {
  it('every branch equals jsroot, over several clusters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openkey-vector-'));
    try {
      const path = join(dir, 'zz4l.root');
      await writeSyntheticFile({ schema: 'atlas13-mini', process: 'zz4l', events: 3000, seed: 7 }, path, {
        autoFlush: 700,
      });
      const { tree } = await readTreeMeta(path, 'mini');
      expect(tree!.branches.find((b) => b.name === 'lep_pt')).toMatchObject({
        type: 'vector<float>',
        layout: 'vector',
      });
      expect(tree!.branches.find((b) => b.name === 'lep_pt')!.baskets.seek.length).toBeGreaterThan(3);
      expect(await compareFile(path, 'mini')).toBeGreaterThan(50);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
