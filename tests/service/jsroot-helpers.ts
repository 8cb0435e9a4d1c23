/** Reference values from jsroot itself (TSelector + treeProcess), the baseline our reader must equal. */
import { openFile } from 'jsroot/io';
import { TSelector, treeProcess, treeDraw } from 'jsroot/tree';

export const DATA = new URL('../../../shared/data/', import.meta.url).pathname;
export const ATLAS = `${DATA}atlas-8tev-mc/`;
export const SKHEP = `${DATA}scikit-hep-testdata/`;
export const COMPRESSIONS = ['', '-zlib', '-lzma', '-lz4', '-zstd', '-uncompressed'] as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export async function openTree(path: string, tree: string): Promise<{ file: Any; tree: Any }> {
  const file = await openFile(path);
  const t = await file.readObject(tree);
  return { file, tree: t };
}

/** Per-event values of one branch as jsroot reads them (numbers, or arrays of numbers). */
export async function jsrootValues(path: string, treeName: string, branch: string): Promise<(number | number[])[]> {
  const { tree } = await openTree(path, treeName);
  const values: (number | number[])[] = [];
  const selector = new TSelector();
  selector.addBranch(branch, 'v');
  selector.Process = function (this: Any) {
    const v = this.tgtobj.v;
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') values.push(Number(v));
    else values.push(Array.from(v as ArrayLike<number | boolean | bigint>, (x) => Number(x)));
  };
  await treeProcess(tree, selector);
  return values;
}

/** jsroot's treeDraw histogram: fArray with under/overflow, as numbers. */
export async function jsrootDraw(
  path: string,
  treeName: string,
  expr: string,
  bins: number,
  min: number,
  max: number,
  cut?: string,
): Promise<number[]> {
  const { tree } = await openTree(path, treeName);
  // htype:D: jsroot fills a TH1D (float64 sums, as ours) instead of its default TH1F.
  const args: Any = { expr: `${expr}>>h(${bins},${min},${max});htype:D` };
  if (cut !== undefined) args.cut = cut;
  const h = await treeDraw(tree, args);
  return Array.from(h.fArray as ArrayLike<number>);
}

export { treeProcess, TSelector };
