import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RootFileWriter, datimeFromDate } from '../../rootio/write/file.ts';
import { classChecksum } from '../../rootio/write/streamers.ts';
import { ROOT_CLASSES } from '../../rootio/write/streamer-table.ts';
import { TreeWriter, type BranchSpec, type ScalarType, type TreeOptions } from '../../rootio/write/tree.ts';
import type { Compression } from '../../rootio/format.ts';
import { readColumn } from '../../rootio/read/columns.ts';
import { readTreeMeta } from '../../rootio/read/meta.ts';
import { openTree, readRows, REFERENCE_DATA, tempDir, type Any, type Cell } from './helpers.ts';

const dir = tempDir();
afterAll(() => dir.remove());

const ZLIB: Compression = { algorithm: 'zlib', level: 1 };
const NONE: Compression = { algorithm: 'none', level: 0 };

/** Every supported branch form: each scalar type, counted and fixed C arrays, the four std::vector types. */
const SPECS: BranchSpec[] = [
  { name: 'i', type: 'Int_t' },
  { name: 'u', type: 'UInt_t' },
  { name: 'f', type: 'Float_t' },
  { name: 'd', type: 'Double_t' },
  { name: 'o', type: 'Bool_t' },
  { name: 'l', type: 'Long64_t' },
  { name: 'ul', type: 'ULong64_t' },
  { name: 'n', type: 'Int_t' },
  { name: 'arr_f', type: 'Float_t', count: 'n' },
  { name: 'arr_d', type: 'Double_t', count: 'n' },
  { name: 'm', type: 'UInt_t' },
  { name: 'arr_i', type: 'Int_t', count: 'm' },
  { name: 'fix', type: 'Double_t', length: 3 },
  { name: 'vf', vector: 'float' },
  { name: 'vi', vector: 'int' },
  { name: 'vu', vector: 'unsigned int' },
  { name: 'vb', vector: 'bool' },
];

/** Entry i: vector lengths cycle 0, 1, many (up to 7); values cover signs, fractions and large integers. */
function entry(i: number): (number | bigint | boolean | number[] | boolean[] | bigint[])[] {
  const n = i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : 2 + (i % 6);
  const m = (i * 7) % 5;
  const seq = (k: number, f: (j: number) => number) => Array.from({ length: k }, (_, j) => f(j));
  return [
    i % 2 === 0 ? -i * 1000 : i * 1000,
    (i * 2654435761) >>> 0,
    i * 0.1 - 50.3,
    Math.PI * i + 1e-9,
    i % 3 === 1,
    // Negative and with a low word >= 2^31: jsroot's ntoi8 misreads negative 64-bit values whose low word is below it.
    -(BigInt(i) << 32n) - 1n - BigInt(i),
    BigInt(i) * 1_000_000_007n + 18_000_000_000_000_000_000n,
    n,
    seq(n, (j) => i + j * 0.25),
    seq(n, (j) => -i / (j + 1)),
    m,
    seq(m, (j) => j - i),
    [i, i / 7, -i],
    seq(n, (j) => (i * 13.7 + j) * 1000),
    seq(n, (j) => (j % 2 === 0 ? 1 : -1) * (i + j)),
    seq(n, (j) => 4_000_000_000 - i - j),
    seq(n, (j) => ((i + j) % 2 === 0 ? 1 : 0)),
  ];
}

/** What jsroot should give back for entry i: floats through float32, booleans as 0/1. */
function expected(i: number): Record<string, Cell> {
  const values = entry(i);
  const out: Record<string, Cell> = {};
  SPECS.forEach((spec, k) => {
    const value = values[k]!;
    const float = ('type' in spec && spec.type === 'Float_t') || ('vector' in spec && spec.vector === 'float');
    const conv = (x: number | bigint | boolean): number | bigint =>
      typeof x === 'bigint' ? x : typeof x === 'boolean' ? (x ? 1 : 0) : float ? Math.fround(x) : x;
    out[spec.name] = Array.isArray(value) ? (value as (number | bigint | boolean)[]).map(conv) : conv(value);
  });
  return out;
}

async function writeTree(
  name: string,
  entries: number,
  compression: Compression,
  options: TreeOptions = {},
  bigFileThreshold?: number,
): Promise<string> {
  const path = join(dir.path, name);
  const file = await RootFileWriter.open(path, {
    compression,
    datime: datimeFromDate(new Date('2020-07-30T00:00:00Z')),
    uuid: new Uint8Array(16).fill(0x42),
    ...(bigFileThreshold === undefined ? {} : { bigFileThreshold }),
  });
  const tree = new TreeWriter(file, 'mini', SPECS, options);
  for (let i = 0; i < entries; i++) {
    const wait = tree.fill(entry(i));
    if (wait) await wait;
  }
  await tree.close();
  return path;
}

function comparable(row: Record<string, Cell>): Record<string, unknown> {
  // bigint and number compare by value; normalise both sides to strings for 64-bit leaves.
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      k,
      typeof v === 'bigint' ? v.toString() : Array.isArray(v) ? v.map(String) : String(v),
    ]),
  );
}

async function expectRoundTrip(path: string, entries: number): Promise<void> {
  const rows = await readRows(path);
  expect(rows).toHaveLength(entries);
  for (let i = 0; i < entries; i++) expect(comparable(rows[i]!), `entry ${i}`).toEqual(comparable(expected(i)));
}

describe('ROOT TTree writer, read back by jsroot', () => {
  it('round-trips every branch type, vectors of length 0, 1 and many, in one compressed basket', async () => {
    const path = await writeTree('one-basket.root', 60, ZLIB);
    await expectRoundTrip(path, 60);
    const { tree } = await openTree(path);
    expect(tree.fEntries).toBe(60);
    for (const branch of tree.fBranches.arr as Any[]) expect(branch.fWriteBasket, branch.fName).toBe(1);
  });

  it('round-trips uncompressed baskets', async () => {
    const path = await writeTree('uncompressed.root', 60, NONE);
    await expectRoundTrip(path, 60);
    const { file } = await openTree(path);
    expect(file.fCompress).toBe(0);
  });

  for (const [algorithm, code, tag] of [
    ['lz4', 4, 'L4'],
    ['zstd', 5, 'ZS'],
    ['lzma', 2, 'XZ'],
  ] as const) {
    it(`round-trips ${algorithm} baskets (fCompress ${code}05), several per branch`, async () => {
      const path = await writeTree(`${algorithm}.root`, 400, { algorithm, level: 5 }, { basketSize: 2000 });
      await expectRoundTrip(path, 400);
      const { file, tree } = await openTree(path);
      expect(file.fCompress).toBe(code * 100 + 5);
      const branch = (tree.fBranches.arr as Any[]).find((b) => b.fName === 'vf');
      expect(branch.fWriteBasket).toBeGreaterThan(2);
      const bytes = readFileSync(path);
      const seek = Number(branch.fBasketSeek[0]);
      const keylen = bytes.readInt16BE(seek + 14);
      expect(bytes.toString('latin1', seek + keylen, seek + keylen + 2)).toBe(tag);
      // Our reader, which verifies every checksum, agrees with jsroot.
      const meta = (await readTreeMeta(path, 'mini')).tree!;
      const fd = openSync(path, 'r');
      try {
        for (const b of meta.branches) {
          const column = await readColumn(fd, b, 0, 400, { diskBytes: 0, dataBytes: 0 });
          expect(column.values.length, b.name).toBeGreaterThanOrEqual(b.isArray ? 0 : 400);
        }
      } finally {
        closeSync(fd);
      }
    });
  }

  it('writes several baskets per branch and clusters of fAutoFlush entries, every cluster starting a basket', async () => {
    const entries = 500;
    const path = await writeTree('clusters.root', entries, ZLIB, { basketSize: 600, autoFlush: 120 });
    await expectRoundTrip(path, entries);
    const { tree } = await openTree(path);
    expect(tree.fAutoFlush).toBe(120);
    let mostBaskets = 0;
    for (const branch of tree.fBranches.arr as Any[]) {
      const nb = branch.fWriteBasket as number;
      mostBaskets = Math.max(mostBaskets, nb);
      const starts = Array.from(branch.fBasketEntry as ArrayLike<number>).slice(0, nb + 1);
      expect(nb, branch.fName).toBeGreaterThanOrEqual(5);
      for (const boundary of [0, 120, 240, 360, 480])
        expect(starts, `${branch.fName} cluster at ${boundary}`).toContain(boundary);
      expect(starts[nb]).toBe(entries);
      expect(branch.fEntries).toBe(entries);
    }
    // Full baskets are written mid-cluster too: the wider branches hold many more baskets than clusters.
    expect(mostBaskets).toBeGreaterThan(20);
  });

  it('closes the first cluster by compressed bytes, as ROOT does with a negative fAutoFlush', async () => {
    const path = await writeTree('first-cluster.root', 400, ZLIB, { basketSize: 2000, autoFlush: -3000 });
    await expectRoundTrip(path, 400);
    const { tree } = await openTree(path);
    expect(tree.fAutoFlush).toBeGreaterThan(0);
    expect(tree.fFlushedBytes).toBeGreaterThan(3000);
    expect(tree.fZipBytes).toBeGreaterThanOrEqual(tree.fFlushedBytes);
  });

  it('bounds the open baskets by basketMemory once OptimizeBaskets has sized them, every cluster starting a basket', async () => {
    const entries = 3000;
    const options = { basketSize: 2000, autoFlush: -3000 };
    const free = await writeTree('unbounded.root', entries, ZLIB, options);
    const bounded = await writeTree('bounded.root', entries, ZLIB, { ...options, basketMemory: 8192 });
    await expectRoundTrip(bounded, entries);
    const sizes = async (path: string) =>
      ((await openTree(path)).tree.fBranches.arr as Any[]).map((b) => b.fBasketSize as number);
    const before = await sizes(free);
    const after = await sizes(bounded);
    // ROOT's sizes exceed the bound here; bounded, each is scaled down (never below 512 or one entry's bytes).
    expect(before.reduce((a, b) => a + b, 0)).toBeGreaterThan(8192);
    expect(after.every((size, i) => size <= Math.max(before[i]!, 512) && size >= 512)).toBe(true);
    expect(after.reduce((a, b) => a + b, 0)).toBeLessThan(before.reduce((a, b) => a + b, 0));
    const { tree } = await openTree(bounded);
    const cluster = tree.fAutoFlush as number;
    expect(cluster).toBeGreaterThan(0);
    let more = 0;
    for (const branch of tree.fBranches.arr as Any[]) {
      const nb = branch.fWriteBasket as number;
      const starts = Array.from(branch.fBasketEntry as ArrayLike<number>).slice(0, nb + 1);
      for (let boundary = 0; boundary < entries; boundary += cluster)
        expect(starts, `${branch.fName} cluster at ${boundary}`).toContain(boundary);
      more = Math.max(more, nb - Math.ceil(entries / cluster));
    }
    // The heavy branches now write baskets inside clusters too.
    expect(more).toBeGreaterThan(0);
  });

  it('reads back the 64-bit forms (keys, header, directory, free list) used past 2 GB', async () => {
    const path = await writeTree('big-forms.root', 200, ZLIB, { basketSize: 800, autoFlush: 50 }, 0);
    await expectRoundTrip(path, 200);
    const { file } = await openTree(path);
    expect(file.fVersion).toBeGreaterThan(1_000_000);
    expect(file.fKeys.find((key: Any) => key.fName === 'mini').fVersion).toBe(1004);
  });

  it('stores counter maxima and leaf counts as ROOT needs them to size its buffers', async () => {
    const path = await writeTree('counters.root', 30, ZLIB);
    const { tree } = await openTree(path);
    const leaf = (name: string) => (tree.fLeaves.arr as Any[]).find((l) => l.fName === name);
    expect(leaf('n').fIsRange).toBe(true);
    expect(leaf('n').fMaximum).toBe(7);
    expect(leaf('m').fMaximum).toBe(4);
    expect(leaf('arr_f').fLeafCount.fName).toBe('n');
    expect(leaf('arr_f').fTitle).toBe('arr_f[n]');
    const vf = (tree.fBranches.arr as Any[]).find((b) => b.fName === 'vf');
    expect(vf._typename).toBe('TBranchElement');
    expect(vf.fClassName).toBe('vector<float>');
    expect(vf.fLeaves.arr[0]._typename).toBe('TLeafElement');
  });

  it('refuses a counted array whose counter is not an earlier integer branch, and a length that disagrees', async () => {
    const file = RootFileWriter.create(join(dir.path, 'bad.root'), {
      compression: ZLIB,
      datime: 0,
      uuid: new Uint8Array(16),
    });
    expect(() => new TreeWriter(file, 't', [{ name: 'x', type: 'Float_t', count: 'n' }])).toThrow(
      'branch x: its counter n must be an earlier Int_t or UInt_t branch',
    );
    const tree = new TreeWriter(file, 't', [
      { name: 'n', type: 'Int_t' },
      { name: 'x', type: 'Float_t', count: 'n' },
    ]);
    expect(() => tree.fill([2, [1]])).toThrow('branch x: 1 values but n = 2');
    file.abort();
    expect(readdirSync(dir.path).filter((f) => f.includes('bad.root'))).toEqual([]);
  });

  it('leaves nothing under the final name until the file is closed', async () => {
    const path = join(dir.path, 'pending.root');
    const file = RootFileWriter.create(path, { compression: ZLIB, datime: 0, uuid: new Uint8Array(16) });
    const tree = new TreeWriter(file, 't', [{ name: 'x', type: 'Int_t' }]);
    tree.fill([1]);
    expect(existsSync(path)).toBe(false);
    await tree.close();
    expect(existsSync(path)).toBe(true);
    expect(readdirSync(dir.path).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });
});

describe('basket layout, against a tree ROOT 6.20 wrote with 100-byte baskets', () => {
  const REFERENCE = `${REFERENCE_DATA}scikit-hep-testdata/uproot-sample-6.20.04-uncompressed.root`;
  const TYPES: Record<string, ScalarType> = {
    I: 'Int_t',
    i: 'UInt_t',
    L: 'Long64_t',
    l: 'ULong64_t',
    F: 'Float_t',
    D: 'Double_t',
    O: 'Bool_t',
  };

  it('closes baskets at the same entries, with the same sizes and entry-offset lengths, for every shared leaf type', async () => {
    const { tree: theirs } = await openTree(REFERENCE, 'sample');
    // The branches our writer supports: x/T, ax[3]/T and Ax[n]/T for the types above (not /B, /S, /C).
    const reference = (theirs.fBranches.arr as Any[]).filter(
      (b) => TYPES[(b.fTitle as string).split('/')[1]!] !== undefined,
    );
    expect(reference.length).toBeGreaterThan(15);
    const specs: BranchSpec[] = reference.map((b) => {
      const [leaf, letter] = (b.fTitle as string).split('/') as [string, string];
      const type = TYPES[letter]!;
      if (leaf.endsWith('[n]')) return { name: b.fName, type, count: 'n' };
      if (leaf.endsWith('[3]')) return { name: b.fName, type, length: 3 };
      return { name: b.fName, type };
    });
    const path = join(dir.path, 'like-root.root');
    const file = RootFileWriter.create(path, { compression: NONE, datime: 0, uuid: new Uint8Array(16) });
    const tree = new TreeWriter(file, 'sample', specs, { basketSize: 100 });
    for (let i = 0; i < 30; i++) {
      const n = i % 5;
      tree.fill(
        specs.map((spec) => {
          const big = 'type' in spec && spec.type.endsWith('64_t');
          const one = big ? BigInt(i) : i % 2;
          if (spec.name === 'n') return n;
          if ('count' in spec) return new Array(n).fill(one);
          if ('length' in spec) return new Array(3).fill(one);
          return one;
        }),
      );
    }
    await tree.close();
    const { tree: ours } = await openTree(path, 'sample');
    for (const expectedBranch of reference) {
      const branch = (ours.fBranches.arr as Any[]).find((b) => b.fName === expectedBranch.fName);
      const layout = (b: Any) => ({
        title: b.fTitle,
        baskets: b.fWriteBasket,
        entries: Array.from(b.fBasketEntry as ArrayLike<number>).slice(0, b.fWriteBasket + 1),
        bytes: Array.from(b.fBasketBytes as ArrayLike<number>).slice(0, b.fWriteBasket),
        entryOffsetLen: b.fEntryOffsetLen,
        maxBaskets: b.fMaxBaskets,
        totBytes: b.fTotBytes,
      });
      expect(layout(branch), expectedBranch.fName).toEqual(layout(expectedBranch));
      // Every basket's key and TBasket header are byte-identical but for fDatime and fSeekKey.
      const mask = (bytes: Buffer) => {
        const copy = Buffer.from(bytes);
        copy.fill(0, 10, 14);
        copy.fill(0, 18, 26);
        return copy.toString('hex');
      };
      for (let k = 0; k < expectedBranch.fWriteBasket; k++) {
        const keylen = 34 + 8 + 1 + expectedBranch.fName.length + 7 + 19;
        const read = (file: string, seek: number) => readFileSync(file).subarray(seek, seek + keylen);
        expect(mask(read(path, branch.fBasketSeek[k])), `${expectedBranch.fName} basket ${k}`).toBe(
          mask(read(REFERENCE, expectedBranch.fBasketSeek[k])),
        );
      }
    }
  });
});

describe('streamer infos', () => {
  it('reproduce the checksum of every class ROOT 6.20 recorded (TSeqCollection, a version-0 class, excepted)', () => {
    const known = new Map(ROOT_CLASSES.filter((c) => c.checksum !== undefined).map((c) => [c.name, c.checksum!]));
    for (const def of ROOT_CLASSES) {
      if (def.checksum === undefined || def.name === 'TSeqCollection') continue;
      expect(
        classChecksum(def, (name) => known.get(name)!),
        def.name,
      ).toBe(def.checksum);
    }
  });

  it('describe TTree, TBranch, the leaves and the collections exactly as a ROOT 6.20 file does', async () => {
    const ours = await openTree(await writeTree('infos.root', 3, ZLIB));
    const theirs = await openTree(
      `${REFERENCE_DATA}scikit-hep-testdata/uproot-sample-6.20.04-uncompressed.root`,
      'sample',
    );
    const describe = (info: Any) => ({
      version: info.fClassVersion,
      checksum: info.fCheckSum,
      elements: (info.fElements.arr as Any[]).map((e) => ({
        class: e._typename,
        name: e.fName,
        title: e.fTitle,
        type: e.fType,
        size: e.fSize,
        typeName: e.fTypeName,
        maxIndex: Array.from(e.fMaxIndex as ArrayLike<number>),
        extra: [e.fBaseVersion, e.fCountName, e.fCountClass, e.fCountVersion, e.fSTLtype, e.fCtype],
      })),
    });
    const reference = new Map(
      (theirs.file.fStreamerInfos.arr as Any[]).filter((i) => i.fElements).map((i) => [i.fName, describe(i)]),
    );
    const names: string[] = [];
    for (const info of ours.file.fStreamerInfos.arr as Any[]) {
      if (!info.fElements || !reference.has(info.fName)) continue;
      names.push(info.fName);
      expect(describe(info), info.fName).toEqual(reference.get(info.fName));
    }
    expect(names).toEqual(
      expect.arrayContaining([
        'TTree',
        'TBranch',
        'TLeaf',
        'TLeafI',
        'TLeafF',
        'TLeafD',
        'TLeafO',
        'TLeafL',
        'TObjArray',
        'ROOT::TIOFeatures',
      ]),
    );
    const extra = (ours.file.fStreamerInfos.arr as Any[]).map((i) => i.fName ?? i.name);
    expect(extra).toEqual(
      expect.arrayContaining([
        'TBranchElement',
        'TLeafElement',
        'vector<float>',
        'vector<int>',
        'vector<unsigned int>',
        'vector<bool>',
        'listOfRules',
      ]),
    );
  });
});
