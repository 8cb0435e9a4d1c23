/**
 * Tree metadata through jsroot (the baseline reader): keys, the TTree object, its branches, leaves and basket tables.
 * jsroot parses the streamers; we copy out plain data (TreeMeta) that workers use to read baskets directly.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { FileProxy, openFile } from 'jsroot/io';
import { OpenKeyError } from '../../common/errors.ts';
import { leafKindOf, VECTOR_ELEMENT_TYPES, LEAF_KINDS } from '../types.ts';
import type { BranchMeta, TreeMeta } from './types.ts';
import '../compression/zstd.ts'; // jsroot reads zstd-compressed TTree objects with fzstd

/** jsroot's view of the objects we read; only the fields used here. */
interface JsLeaf {
  _typename: string;
  fName: string;
  fLen: number;
  fIsUnsigned?: boolean;
  fLeafCount?: { fName: string } | null;
  fType?: number;
}
interface JsBranch {
  _typename: string;
  fName: string;
  fTitle: string;
  fClassName?: string;
  fEntries: number;
  fEntryOffsetLen: number;
  fWriteBasket: number;
  fBasketSeek: ArrayLike<number>;
  fBasketEntry: ArrayLike<number>;
  fBasketBytes: ArrayLike<number>;
  fLeaves: { arr: JsLeaf[] };
  fBranches: { arr: JsBranch[] };
  fBaskets?: { arr: ({ fNevBuf?: number } | null)[] };
}
interface JsTree {
  fName: string;
  fEntries: number;
  fBranches: { arr: JsBranch[] };
}
interface JsKey {
  fName: string;
  fClassName: string;
  fCycle: number;
}
interface JsFile {
  fKeys: JsKey[];
  readObject(name: string): Promise<unknown>;
  delete?(): void;
}

/** Reads through our own file handle so it is closed when we are done and short reads name the file. */
class NodeFileProxy extends FileProxy {
  private handle: FileHandle | undefined;
  private size = 0;

  constructor(private readonly path: string) {
    super();
  }

  override async openFile(): Promise<boolean> {
    this.handle = await open(this.path, 'r');
    this.size = (await this.handle.stat()).size;
    return true;
  }

  override getFileName(): string {
    return basename(this.path);
  }

  override getFileSize(): number {
    return this.size;
  }

  override async readBuffer(pos: number, len: number): Promise<DataView> {
    if (this.handle === undefined) throw new Error('file is closed');
    if (pos < 0 || len < 0 || pos + len > this.size)
      throw new Error(`read of ${len} bytes at ${pos} beyond the end of the file (${this.size} bytes)`);
    const buffer = Buffer.alloc(len);
    const { bytesRead } = await this.handle.read(buffer, 0, len, pos);
    if (bytesRead !== len) throw new Error(`short read at ${pos}: ${bytesRead} of ${len} bytes`);
    return new DataView(buffer.buffer, buffer.byteOffset, len);
  }

  override closeFile(): void {
    void this.handle?.close();
    this.handle = undefined;
  }
}

function basketTable(branch: JsBranch): BranchMeta['baskets'] {
  const n = branch.fWriteBasket;
  const seek: number[] = [];
  const bytes: number[] = [];
  const entry: number[] = [];
  for (let i = 0; i < n; i++) {
    seek.push(Number(branch.fBasketSeek[i]));
    bytes.push(Number(branch.fBasketBytes[i]));
    entry.push(Number(branch.fBasketEntry[i]));
  }
  entry.push(n > 0 ? Number(branch.fBasketEntry[n] ?? branch.fEntries) : 0);
  return { seek, bytes, entry };
}

/** Entries held in a basket that was still in memory when the tree was written (not supported by our reader). */
function embeddedEntries(branch: JsBranch): number {
  const written = Number(branch.fBasketEntry[branch.fWriteBasket] ?? 0);
  return Math.max(0, branch.fEntries - written);
}

function describeBranch(branch: JsBranch, prefix: string): BranchMeta {
  const name = prefix + branch.fName;
  const baskets = basketTable(branch);
  const base = { name, baskets, fixedLength: 1 };
  const leaves = branch.fLeaves?.arr ?? [];
  const unreadable = (type: string): BranchMeta => ({ ...base, type, isArray: false, layout: 'scalar' });
  if (embeddedEntries(branch) > 0) return unreadable('unsupported (basket kept in the TTree)');

  if (branch._typename === 'TBranch') {
    if (leaves.length !== 1) return unreadable('leaf list');
    const leaf = leaves[0]!;
    if (leaf._typename === 'TLeafC') return unreadable('string');
    const kind = leafKindOf(leaf._typename, leaf.fIsUnsigned === true);
    if (kind === undefined) return unreadable(leaf._typename.replace(/^TLeaf/, '') || 'unknown');
    const { element, rootType: type } = kind;
    if (leaf.fLeafCount) {
      return {
        ...base,
        type: `${type}[${leaf.fLeafCount.fName}]`,
        isArray: true,
        element,
        layout: 'counted',
        counter: leaf.fLeafCount.fName,
      };
    }
    if (leaf.fLen > 1) {
      const dims = /(\[\d+\])+/.exec(branch.fTitle)?.[0] ?? `[${leaf.fLen}]`;
      return { ...base, type: type + dims, isArray: true, element, layout: 'fixed', fixedLength: leaf.fLen };
    }
    return { ...base, type, isArray: false, element, layout: 'scalar' };
  }

  const className = (branch.fClassName ?? '').trim();
  const vector = /^(?:std::)?vector<\s*([\w ]+?)\s*>$/.exec(className);
  if (branch._typename === 'TBranchElement' && vector && (branch.fBranches?.arr.length ?? 0) === 0) {
    const rootType = VECTOR_ELEMENT_TYPES[vector[1]!];
    const element = rootType === undefined ? undefined : LEAF_KINDS[rootType].element;
    if (element !== undefined && branch.fEntryOffsetLen > 0)
      return { ...base, type: `vector<${vector[1]}>`, isArray: true, element, layout: 'vector' };
  }
  return unreadable(className || branch._typename);
}

function collectBranches(branches: JsBranch[], prefix: string, out: BranchMeta[]): void {
  for (const branch of branches) {
    const children = branch.fBranches?.arr ?? [];
    if (children.length > 0 && branch._typename === 'TBranchElement') {
      // A split object: its members are the readable leaves; names like "Muon.fPt" are written in full already.
      collectBranches(children, '', out);
      continue;
    }
    out.push(describeBranch(branch, prefix));
  }
}

export interface RootFileSummary {
  /** Names of the TTree keys, highest cycle only, in file order. */
  trees: string[];
  /** The requested (or first) tree, when the file has one. */
  tree?: TreeMeta;
}

function corrupt(path: string, error: unknown): OpenKeyError {
  const detail = error instanceof Error ? error.message : String(error);
  return new OpenKeyError('E_ROOT_CORRUPT', `${basename(path)}: not a readable ROOT file (${detail})`, {
    hint: 'the file may be truncated or damaged; copy it again from its source',
  });
}

/** Opens a ROOT file with jsroot and describes one tree (by name, else the first TTree in the file). */
export async function readTreeMeta(path: string, treeName?: string): Promise<RootFileSummary> {
  const proxy = new NodeFileProxy(path);
  let file: JsFile | null = null;
  try {
    file = (await openFile(proxy)) as JsFile | null;
    if (!file || !Array.isArray(file.fKeys)) throw new Error('no keys list');
    const trees: string[] = [];
    for (const key of file.fKeys) if (key.fClassName === 'TTree' && !trees.includes(key.fName)) trees.push(key.fName);
    const wanted = treeName ?? trees[0];
    if (wanted === undefined || !trees.includes(wanted)) return { trees };
    const tree = (await file.readObject(wanted)) as JsTree | null;
    if (!tree || !tree.fBranches) throw new Error(`cannot read tree ${wanted}`);
    const branches: BranchMeta[] = [];
    collectBranches(tree.fBranches.arr, '', branches);
    return { trees, tree: { name: wanted, entries: Number(tree.fEntries), branches } };
  } catch (error) {
    if (error instanceof OpenKeyError) throw error;
    throw corrupt(path, error);
  } finally {
    if (file?.delete) file.delete();
    else proxy.closeFile();
  }
}
