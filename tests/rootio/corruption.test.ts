/**
 * The corruption suite: seeded bit flips in the shared ROOT files, in every compression. Each run either fails
 * cleanly (an error that names the damage: E_ROOT_CORRUPT from the reader, or a reader error with a message; never a
 * TypeError, RangeError or a hang) or gives exactly the values of the clean file. Flips go into basket payloads
 * (what a checksum covers), into basket key headers, and anywhere in the file.
 */
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readColumn } from '../../rootio/read/columns.ts';
import { readTreeMeta } from '../../rootio/read/meta.ts';
import type { BranchMeta, TreeMeta } from '../../rootio/read/types.ts';
import { SKHEP } from '../service/jsroot-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'openkey-corrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** xorshift32: the same flips on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

async function values(path: string, tree: TreeMeta, branches: readonly BranchMeta[]): Promise<number[][]> {
  const fd = openSync(path, 'r');
  try {
    const out: number[][] = [];
    for (const b of branches) {
      const column = await readColumn(fd, b, 0, tree.entries, { diskBytes: 0, dataBytes: 0 });
      out.push(column.kind === 'scalar' ? Array.from(column.values) : [...column.offsets, ...column.values]);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

type Outcome = { kind: 'clean' } | { kind: 'failed'; message: string } | { kind: 'wrong'; what: string };

async function outcome(
  path: string,
  treeName: string,
  names: readonly string[] | 'all',
  clean: Map<string, number[]>,
): Promise<Outcome> {
  try {
    const { tree } = await readTreeMeta(path, treeName);
    if (!tree) return { kind: 'failed', message: 'no tree' };
    const branches = tree.branches.filter(
      (b) => b.element !== undefined && (names === 'all' || names.includes(b.name)),
    );
    const got = await values(path, tree, branches);
    for (const [i, b] of branches.entries()) {
      const want = clean.get(b.name);
      if (want === undefined) return { kind: 'wrong', what: `branch ${b.name} appeared` };
      const have = got[i]!;
      if (have.length !== want.length || have.some((v, k) => !Object.is(v, want[k])))
        return { kind: 'wrong', what: `branch ${b.name} differs` };
    }
    if (names === 'all' && branches.length !== clean.size) return { kind: 'wrong', what: 'branches went missing' };
    return { kind: 'clean' };
  } catch (error) {
    // A clean failure names what is wrong; a TypeError or RangeError would be a reader bug.
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name, String(error)).not.toMatch(/^(TypeError|RangeError|ReferenceError)$/);
    return { kind: 'failed', message: (error as Error).message };
  }
}

const FILES = [
  { compression: 'zlib', file: 'uproot-HZZ-zlib.root' },
  { compression: 'lz4', file: 'uproot-HZZ-lz4.root' },
  { compression: 'zstd', file: 'uproot-HZZ-zstd.root' },
  { compression: 'lzma', file: 'uproot-HZZ-lzma.root' },
  { compression: 'zlib', file: 'uproot-sample-6.20.04-zlib.root', tree: 'sample' },
];
const PAYLOAD_FLIPS = 14;
const HEADER_FLIPS = 3;
const ANYWHERE_FLIPS = 3;

/** Byte ranges [from, to) of basket payloads that no checksum covers. */
function uncheckedRanges(bytes: Buffer, branches: readonly BranchMeta[]): [number, number][] {
  const out: [number, number][] = [];
  for (const b of branches)
    for (let k = 0; k < b.baskets.seek.length; k++) {
      const seek = b.baskets.seek[k]!;
      const nbytes = b.baskets.bytes[k]!;
      const keylen = bytes.readInt16BE(seek + 14);
      const objlen = bytes.readInt32BE(seek + 6);
      const zstd = bytes.toString('latin1', seek + keylen, seek + keylen + 2) === 'ZS';
      if (nbytes - keylen === objlen || zstd) out.push([seek + keylen, seek + nbytes]);
    }
  return out;
}

describe('seeded bit flips: every run fails cleanly or gives exactly the clean answer', () => {
  for (const [n, { compression, file, tree: treeName = 'events' }] of FILES.entries()) {
    it(`${file} (${compression})`, async () => {
      const source = `${SKHEP}${file}`;
      const original = readFileSync(source);
      const { tree } = await readTreeMeta(source, treeName);
      const readable = tree!.branches.filter((b) => b.element !== undefined && b.baskets.seek.length > 0);
      const cleanValues = await values(source, tree!, readable);
      const clean = new Map(readable.map((b, i) => [b.name, cleanValues[i]!]));
      const random = rng(0x9e3779b9 ^ (n + 1));
      const unchecked = uncheckedRanges(original, readable);
      const results: { where: string; checked: boolean; result: Outcome }[] = [];
      for (let run = 0; run < PAYLOAD_FLIPS + HEADER_FLIPS + ANYWHERE_FLIPS; run++) {
        const bytes = Buffer.from(original);
        const branch = readable[Math.floor(random() * readable.length)]!;
        const k = Math.floor(random() * branch.baskets.seek.length);
        const seek = branch.baskets.seek[k]!;
        const nbytes = branch.baskets.bytes[k]!;
        const keylen = bytes.readInt16BE(seek + 14);
        let at: number;
        let names: readonly string[] | 'all' = [branch.name];
        if (run < PAYLOAD_FLIPS) at = seek + keylen + Math.floor(random() * (nbytes - keylen));
        else if (run < PAYLOAD_FLIPS + HEADER_FLIPS) at = seek + Math.floor(random() * keylen);
        else {
          at = Math.floor(random() * bytes.length);
          names = 'all';
        }
        bytes[at]! ^= 1 << Math.floor(random() * 8);
        const path = join(dir, `${run}-${file}`);
        writeFileSync(path, bytes);
        results.push({
          where: `byte ${at} (${branch.name} basket ${k})`,
          checked: !unchecked.some(([from, to]) => at >= from && at < to),
          result: await outcome(path, treeName, names, clean),
        });
        rmSync(path);
      }
      const wrong = results.filter((r) => r.result.kind === 'wrong' && r.checked);
      expect(wrong, JSON.stringify(wrong)).toEqual([]);
      // Most flips into checked payloads are caught (a flip can also land where it changes nothing).
      const checked = results.slice(0, PAYLOAD_FLIPS).filter((r) => r.checked);
      const caught = checked.filter((r) => r.result.kind === 'failed');
      expect(caught.length).toBeGreaterThanOrEqual(Math.floor(checked.length / 2));
      if (compression !== 'zstd') expect(checked.length).toBeGreaterThan(0);
    }, 120_000);
  }
});
