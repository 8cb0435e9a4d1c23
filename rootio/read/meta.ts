/**
 * Tree metadata through jsroot (the baseline reader): keys, the TTree object, its branches, leaves and basket tables.
 * jsroot parses the streamers; we copy out plain data (TreeMeta) that workers use to read baskets directly.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { FileProxy, openFile } from 'jsroot/io';
import { OpenKeyError } from '../../common/errors.ts';
import { leafKindOf, LEAF_KINDS, VECTOR_ELEMENT_TYPES, type ElementType, type RootTypeName } from '../types.ts';
import type { BranchMeta, EmbeddedBasket, TreeMeta } from './types.ts';
import { decompress } from '../compression/decode.ts';
import { ChecksumError } from '../compression/envelope.ts';
import { readKeyHeader } from '../key.ts';
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
  fBaskets?: { arr: (JsBasket | null)[] };
  /** TBranchElement: what the branch holds (0 a member, 4 an STL collection's size, 41 a member inside one …). */
  fType?: number;
  /** TBranchElement: the member's TStreamerInfo type code (5 float, 9 Double32_t, 25 float[n] …). */
  fStreamerType?: number;
  fID?: number;
  fClassVersion?: number;
  fCheckSum?: number;
  fBranchCount?: { fName: string } | null;
}
/** A basket still in memory when the tree was written, streamed inside the TTree object. */
interface JsBasket {
  fNevBuf: number;
  fKeylen: number;
  fLast: number;
  fEntryOffset?: ArrayLike<number>;
  fBufferRef?: { arr: DataView; length: number } | null;
}
interface JsStreamerElement {
  fTitle?: string;
  fFactor?: number;
  fXmin?: number;
  fArrayLength?: number;
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
  fSeekKey: number;
  fNbytes: number;
  fObjlen: number;
  fKeylen: number;
}
interface JsFile {
  fKeys: JsKey[];
  fSeekInfo?: number;
  fNbytesInfo?: number;
  findStreamerInfo?(
    className: string | undefined,
    version: number | undefined,
    checksum: number | undefined,
  ): { fElements?: { arr: JsStreamerElement[] } } | null;
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

/** The basket's bytes and entry offsets, copied out of jsroot's objects (plain data for the workers). */
function embeddedOf(basket: JsBasket | null | undefined): EmbeddedBasket | null {
  const ref = basket?.fBufferRef;
  if (!basket || !ref || basket.fNevBuf <= 0) return null;
  const data = new Uint8Array(ref.length);
  data.set(new Uint8Array(ref.arr.buffer, ref.arr.byteOffset, Math.min(ref.length, ref.arr.byteLength)));
  const offsets =
    basket.fEntryOffset === undefined
      ? undefined
      : Int32Array.from(Array.from(basket.fEntryOffset).slice(0, basket.fNevBuf), (o) => o - basket.fKeylen);
  return { data, entries: basket.fNevBuf, ...(offsets === undefined ? {} : { offsets }) };
}

/**
 * Every basket of a branch: those on disk (fBasketSeek) and those ROOT streamed inside the TTree object because
 * they were still in memory when the tree was written (the last one of each branch, or all of them for a tree
 * written whole from memory).
 */
function basketTable(branch: JsBranch): BranchMeta['baskets'] {
  const n = branch.fWriteBasket;
  const seek: number[] = [];
  const bytes: number[] = [];
  const entry: number[] = [];
  const embedded: (EmbeddedBasket | null)[] = [];
  const kept = branch.fBaskets?.arr ?? [];
  for (let i = 0; i < n; i++) {
    seek.push(Number(branch.fBasketSeek[i]));
    bytes.push(Number(branch.fBasketBytes[i]));
    entry.push(Number(branch.fBasketEntry[i]));
    embedded.push(embeddedOf(kept[i]));
  }
  const last = embeddedOf(kept[n]);
  if (last !== null) {
    seek.push(-1);
    bytes.push(0);
    entry.push(Number(branch.fBasketEntry[n] ?? 0));
    embedded.push(last);
  }
  entry.push(seek.length > 0 ? Number(branch.fEntries) : 0);
  return embedded.some((e) => e !== null) ? { seek, bytes, entry, embedded } : { seek, bytes, entry };
}

/** TStreamerInfo type codes of a member's basic type, to the leaf kind stored (kLong is 64-bit on disk). */
const STREAMER_KINDS: Record<number, RootTypeName> = {
  1: 'Char_t',
  2: 'Short_t',
  3: 'Int_t',
  4: 'Long64_t',
  5: 'Float_t',
  6: 'Int_t',
  8: 'Double_t',
  11: 'UChar_t',
  12: 'UShort_t',
  13: 'UInt_t',
  14: 'ULong64_t',
  15: 'UInt_t',
  16: 'Long64_t',
  17: 'ULong64_t',
  18: 'Bool_t',
};
const K_OFFSET_L = 20;
const K_DOUBLE32 = 9;
const K_FLOAT16 = 19;

type StreamerLookup = (branch: JsBranch) => JsStreamerElement | undefined;

/**
 * A member of a split object (fType 0, or 41/31 inside a split std::vector or TClonesArray): its basic type from
 * fStreamerType, a fixed array when it is kOffsetL + type, Double32_t/Float16_t with a range stored as a packed
 * UInt_t (value = raw / fFactor + fXmin, as jsroot and ROOT compute it).
 */
function describeMember(
  branch: JsBranch,
  base: Omit<BranchMeta, 'type' | 'isArray' | 'layout'>,
  element: JsStreamerElement | undefined,
): BranchMeta {
  const unreadable = (type: string): BranchMeta => ({ ...base, type, isArray: false, layout: 'scalar' });
  const code = branch.fStreamerType ?? -1;
  const fixed = code > K_OFFSET_L && code < 2 * K_OFFSET_L;
  const basic = fixed ? code - K_OFFSET_L : code;
  const length = fixed ? Math.max(1, element?.fArrayLength ?? branch.fLeaves?.arr[0]?.fLen ?? 1) : 1;
  let rootType: string;
  let elementType: ElementType;
  let scale: BranchMeta['scale'];
  if (basic === K_DOUBLE32 || basic === K_FLOAT16) {
    rootType = basic === K_DOUBLE32 ? 'Double32_t' : 'Float16_t';
    if (element?.fFactor) {
      elementType = 'u32';
      scale = { factor: 1 / element.fFactor, min: element.fXmin ?? 0 };
    } else if (basic === K_DOUBLE32 && !element?.fXmin) elementType = 'f32';
    else return unreadable(`${rootType} (truncated mantissa)`);
  } else {
    const kind = STREAMER_KINDS[basic];
    if (kind === undefined) return unreadable(`member of type code ${code}`);
    rootType = kind;
    elementType = LEAF_KINDS[kind].element;
  }
  const described = { ...base, element: elementType, ...(scale === undefined ? {} : { scale }) };
  const dims = fixed ? `[${length}]` : '';
  if (branch.fType === 41 || branch.fType === 31) {
    const counter = branch.fBranchCount?.fName;
    return {
      ...described,
      type: `${rootType}[${counter ?? ''}]${dims}`,
      isArray: true,
      layout: 'counted',
      ...(counter === undefined ? {} : { counter }),
    };
  }
  if (fixed) return { ...described, type: rootType + dims, isArray: true, layout: 'fixed', fixedLength: length };
  return { ...described, type: rootType, isArray: false, layout: 'scalar' };
}

function describeBranch(branch: JsBranch, prefix: string, lookup: StreamerLookup): BranchMeta {
  // A member array's branch is named with its dimensions ("V0s.fInvMass[2]"); expressions name it without.
  const name =
    prefix + (branch._typename === 'TBranchElement' ? branch.fName.replace(/(\[\d+\])+$/, '') : branch.fName);
  const baskets = basketTable(branch);
  const base = { name, baskets, fixedLength: 1 };
  const leaves = branch.fLeaves?.arr ?? [];
  const unreadable = (type: string): BranchMeta => ({ ...base, type, isArray: false, layout: 'scalar' });

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
  if (branch._typename === 'TBranchElement') {
    // The size branch of a split std::vector or TClonesArray: one Int_t per entry.
    if (branch.fType === 4 || branch.fType === 3)
      return { ...base, type: 'Int_t', isArray: false, element: 'i32', layout: 'scalar' };
    if ((branch.fStreamerType ?? -1) >= 0) return describeMember(branch, base, lookup(branch));
  }
  return unreadable(className || branch._typename);
}

function collectBranches(branches: JsBranch[], prefix: string, out: BranchMeta[], lookup: StreamerLookup): void {
  for (const branch of branches) {
    const children = branch.fBranches?.arr ?? [];
    if (children.length > 0 && branch._typename === 'TBranchElement') {
      // A split object: its members are the readable leaves; names like "Muon.fPt" are written in full already.
      // A split collection also stores its size per entry in the parent branch itself.
      if (branch.fType === 4 || branch.fType === 3) out.push(describeBranch(branch, prefix, lookup));
      collectBranches(children, '', out, lookup);
      continue;
    }
    out.push(describeBranch(branch, prefix, lookup));
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

/** Decompresses a keyed record with our decoder, which checks what the format's checksums cover. */
async function verifyRecord(proxy: NodeFileProxy, seek: number, nbytes: number, what: string): Promise<void> {
  const view = await proxy.readBuffer(seek, nbytes);
  const raw = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  try {
    const key = readKeyHeader(view, 0);
    if (key.nbytes !== nbytes || key.keylen <= 0 || key.keylen > nbytes) throw new Error('its key header is damaged');
    if (nbytes - key.keylen === key.objlen) return; // stored raw: ROOT keeps no checksum for it
    await decompress(raw.subarray(key.keylen), key.objlen);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(
      `the ${what} record (at byte ${seek}) ${error instanceof ChecksumError ? 'fails its checksum' : 'is damaged'}: ${detail}`,
      { cause: error },
    );
  }
}

/** Opens a ROOT file with jsroot and describes one tree (by name, else the first TTree in the file). */
export async function readTreeMeta(path: string, treeName?: string): Promise<RootFileSummary> {
  const proxy = new NodeFileProxy(path);
  let file: JsFile | null = null;
  try {
    file = (await openFile(proxy)) as unknown as JsFile | null;
    if (!file || !Array.isArray(file.fKeys)) throw new Error('no keys list');
    const trees: string[] = [];
    for (const key of file.fKeys) if (key.fClassName === 'TTree' && !trees.includes(key.fName)) trees.push(key.fName);
    const wanted = treeName ?? trees[0];
    if (wanted === undefined || !trees.includes(wanted)) return { trees };
    // jsroot's own inflate skips the checksums: verify the records it is about to trust with ours.
    if (file.fSeekInfo && file.fNbytesInfo) await verifyRecord(proxy, file.fSeekInfo, file.fNbytesInfo, 'StreamerInfo');
    const key = file.fKeys
      .filter((k) => k.fName === wanted && k.fClassName === 'TTree')
      .reduce((a, b) => (b.fCycle > a.fCycle ? b : a));
    await verifyRecord(proxy, key.fSeekKey, key.fNbytes, `TTree ${wanted}`);
    const tree = (await file.readObject(wanted)) as JsTree | null;
    if (!tree || !tree.fBranches) throw new Error(`cannot read tree ${wanted}`);
    const branches: BranchMeta[] = [];
    const info = file;
    const lookup: StreamerLookup = (branch) =>
      info.findStreamerInfo?.(branch.fClassName, branch.fClassVersion, branch.fCheckSum)?.fElements?.arr[
        branch.fID ?? -1
      ];
    collectBranches(tree.fBranches.arr, '', branches, lookup);
    return { trees, tree: { name: wanted, entries: Number(tree.fEntries), branches } };
  } catch (error) {
    if (error instanceof OpenKeyError) throw error;
    throw corrupt(path, error);
  } finally {
    if (file?.delete) file.delete();
    else proxy.closeFile();
  }
}
