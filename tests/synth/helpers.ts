/** Reading trees back with jsroot, the independent reader every check in this folder trusts. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFile, TSelector, treeProcess } from 'jsroot';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;
export type Cell = number | bigint | (number | bigint)[];

export const REFERENCE_DATA = new URL('../../../shared/data/', import.meta.url).pathname;

export async function openTree(path: string, name = 'mini'): Promise<{ file: Any; tree: Any }> {
  const file = await openFile(path);
  return { file, tree: await file.readObject(name) };
}

function normalise(value: unknown): Cell {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return value;
  return Array.from(value as ArrayLike<unknown>, (x) => (typeof x === 'bigint' ? x : Number(x)));
}

/** Every entry of the given branches (all by default) as jsroot reads them. */
export async function readRows(
  path: string,
  branches?: readonly string[],
  name = 'mini',
): Promise<Record<string, Cell>[]> {
  const { tree } = await openTree(path, name);
  const names: string[] = branches ? [...branches] : tree.fBranches.arr.map((b: Any) => b.fName as string);
  const selector = new TSelector();
  for (const branch of names) selector.addBranch(branch, branch);
  const rows: Record<string, Cell>[] = [];
  selector.Process = function (this: Any) {
    const row: Record<string, Cell> = {};
    for (const branch of names) row[branch] = normalise(this.tgtobj[branch]);
    rows.push(row);
  };
  await treeProcess(tree, selector);
  return rows;
}

export function tempDir(prefix = 'openkey-synth-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Invariant mass (GeV) of objects given as pt, eta, phi, E arrays in MeV. */
export function mass(pt: number[], eta: number[], phi: number[], e: number[], indices: readonly number[]): number {
  let E = 0;
  let px = 0;
  let py = 0;
  let pz = 0;
  for (const i of indices) {
    E += e[i]!;
    px += pt[i]! * Math.cos(phi[i]!);
    py += pt[i]! * Math.sin(phi[i]!);
    pz += pt[i]! * Math.sinh(eta[i]!);
  }
  return Math.sqrt(Math.max(0, E * E - px * px - py * py - pz * pz)) / 1000;
}
