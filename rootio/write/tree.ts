import { WBuffer, type Streamable } from './buffer.ts';
import { compress, compressSync, type Packed } from '../compression/encode.ts';
import type { Compression } from '../format.ts';
import type { RootFileWriter } from './file.ts';
import { keyLength } from '../key.ts';
import { BYTE_COUNT_MASK } from '../format.ts';
import { LEAF_KINDS, VECTOR_ELEMENT_TYPES, type LeafKind } from '../types.ts';
import {
  checksumOf,
  STL_CLASS_VERSION,
  treeStreamerInfos,
  VECTOR_VALUE_TYPES,
  type VectorValueType,
} from './streamers.ts';

/**
 * A TTree writer that streams: each branch keeps one open basket in memory; a basket is compressed and appended
 * to the file as soon as it is full (ROOT's rule in TBranch::FillImpl), and at every cluster boundary all open
 * baskets are flushed (TTree::Fill's auto-flush, first by compressed bytes, then every fAutoFlush entries). The
 * tree record, with every basket's offset, is written when the tree is closed. Memory is therefore bounded by
 * the branches' basket sizes (at most `basketMemory` together) plus a short queue of baskets being compressed,
 * whatever the number of entries.
 */

export type ScalarType = 'Int_t' | 'UInt_t' | 'Float_t' | 'Double_t' | 'Bool_t' | 'Long64_t' | 'ULong64_t';

export type BranchSpec =
  /** A scalar leaf, e.g. `runNumber/I`. */
  | { name: string; type: ScalarType; title?: string }
  /** A C array counted by an earlier Int_t/UInt_t branch, e.g. `lep_pt[lep_n]/F`. */
  | { name: string; type: ScalarType; count: string; title?: string }
  /** A fixed-size C array, e.g. `p[4]/D`. */
  | { name: string; type: ScalarType; length: number; title?: string }
  /** A std::vector<T> (TBranchElement with a TLeafElement), as the ATLAS 2020 ntuples store collections. */
  | { name: string; vector: VectorValueType; title?: string };

export type Value = number | bigint | boolean;
export type ArrayValue = ArrayLike<number> | ArrayLike<boolean> | ArrayLike<bigint>;

export interface TreeOptions {
  title?: string;
  /** Initial basket size of every branch in bytes (ROOT's default 32000). */
  basketSize?: number;
  /**
   * Cluster size: a positive number of entries, or a negative number of compressed bytes after which the first
   * cluster closes and its entry count becomes the cluster size (ROOT's default -30000000).
   */
  autoFlush?: number;
  /** Uncompressed bytes allowed in flight to the compression thread pool before `fill` asks the caller to wait. */
  maxPendingBytes?: number;
  /**
   * The most the open baskets may hold together once OptimizeBaskets has sized them (default 8 MiB; see
   * optimizeBaskets). ROOT gives them the whole first cluster's uncompressed size, ~150 MB for the ATLAS mini tree.
   */
  basketMemory?: number;
}

/** TreeOptions.basketMemory's default. */
export const BASKET_MEMORY = 8 << 20;

/** The shared leaf kind (class, letter, size) and how the writer puts values of it. */
interface LeafType extends LeafKind {
  /** Writes one value at `at`. */
  put: (view: DataView, at: number, value: Value) => void;
  /** Writes `items[0..n)` from `at`, one value every `size` bytes (the hot loop, kept monomorphic per type). */
  putMany: (view: DataView, at: number, items: ArrayLike<Value>, n: number) => void;
  /** TLeafX::fMinimum/fMaximum as stored. */
  writeRange: (buffer: WBuffer, minimum: number, maximum: number) => void;
}

const toNumber = (value: Value): number => (typeof value === 'boolean' ? (value ? 1 : 0) : Number(value));
const toBigInt = (value: Value): bigint => (typeof value === 'bigint' ? value : BigInt(toNumber(value)));

const LEAF_TYPES: Record<ScalarType, LeafType> = {
  Int_t: {
    ...LEAF_KINDS.Int_t,
    put: (view, at, value) => view.setInt32(at, toNumber(value)),
    putMany: (view, at, items, n) => {
      for (let i = 0; i < n; i++) view.setInt32(at + 4 * i, items[i] as number);
    },
    writeRange: (b, min, max) => (b.i32(min), b.i32(max)),
  },
  UInt_t: {
    ...LEAF_KINDS.UInt_t,
    put: (view, at, value) => view.setUint32(at, toNumber(value)),
    putMany: (view, at, items, n) => {
      for (let i = 0; i < n; i++) view.setUint32(at + 4 * i, items[i] as number);
    },
    writeRange: (b, min, max) => (b.i32(min), b.i32(max)),
  },
  Float_t: {
    ...LEAF_KINDS.Float_t,
    put: (view, at, value) => view.setFloat32(at, toNumber(value)),
    putMany: (view, at, items, n) => {
      for (let i = 0; i < n; i++) view.setFloat32(at + 4 * i, items[i] as number);
    },
    writeRange: (b, min, max) => (b.f32(min), b.f32(max)),
  },
  Double_t: {
    ...LEAF_KINDS.Double_t,
    put: (view, at, value) => view.setFloat64(at, toNumber(value)),
    putMany: (view, at, items, n) => {
      for (let i = 0; i < n; i++) view.setFloat64(at + 8 * i, items[i] as number);
    },
    writeRange: (b, min, max) => (b.f64(min), b.f64(max)),
  },
  Bool_t: {
    ...LEAF_KINDS.Bool_t,
    put: (view, at, value) => view.setUint8(at, value ? 1 : 0),
    putMany: (view, at, items, n) => {
      for (let i = 0; i < n; i++) view.setUint8(at + i, items[i] ? 1 : 0);
    },
    writeRange: (b, min, max) => (b.bool(min !== 0), b.bool(max !== 0)),
  },
  Long64_t: {
    ...LEAF_KINDS.Long64_t,
    put: (view, at, value) => view.setBigInt64(at, toBigInt(value)),
    putMany: (view, at, items, n) => {
      for (let i = 0; i < n; i++) view.setBigInt64(at + 8 * i, toBigInt(items[i]!));
    },
    writeRange: (b, min, max) => (b.i64(min), b.i64(max)),
  },
  ULong64_t: {
    ...LEAF_KINDS.ULong64_t,
    put: (view, at, value) => view.setBigUint64(at, toBigInt(value)),
    putMany: (view, at, items, n) => {
      for (let i = 0; i < n; i++) view.setBigUint64(at + 8 * i, toBigInt(items[i]!));
    },
    writeRange: (b, min, max) => (b.i64(min), b.i64(max)),
  },
};

/** The collection frame's version word: TStreamerInfo's class version in the ROOT being imitated (9 until 6.35). */
const COLLECTION_VERSION = 9;
const BITS_OBJECT = 0x03000000;
const BITS_BRANCH = 0x03400000;
const BITS_TREE = 0x03000008;
const BITS_OWNER_ARRAY = 0x03004000;
const DEFAULT_ENTRY_OFFSET_LEN = 1000;
const IO_FEATURES_CHECKSUM = 0x1aa12f10;

function ioFeatures(buffer: WBuffer): void {
  // ROOT::TIOFeatures has no ClassDef: version word 0, then its checksum, then fIOBits.
  const at = buffer.reserveByteCount();
  buffer.i16(0);
  buffer.u32(IO_FEATURES_CHECKSUM);
  buffer.u8(0);
  buffer.setByteCount(at);
}

function objArray(buffer: WBuffer, items: readonly (Streamable | null)[], bits = BITS_OBJECT): void {
  const at = buffer.startObject(3);
  buffer.tobject(bits);
  buffer.tstring('');
  buffer.i32(items.length);
  buffer.i32(0);
  for (const item of items) buffer.writeObjectAny(item);
  buffer.setByteCount(at);
}

class Leaf implements Streamable {
  readonly className: string;
  isRange = false;
  maximum = 0;
  constructor(
    readonly branch: Branch,
    readonly type: LeafType,
    readonly element: boolean,
  ) {
    this.className = element ? 'TLeafElement' : type.leafClass;
  }
  stream(buffer: WBuffer): void {
    const b = this.branch;
    const at = buffer.startObject(1);
    const base = buffer.startObject(2);
    buffer.tnamed(b.name, this.element ? b.name : b.leafTitle, BITS_OBJECT);
    buffer.i32(b.fixedLength); // fLen
    buffer.i32(this.element ? 0 : this.type.size); // fLenType
    buffer.i32(0); // fOffset
    buffer.bool(this.isRange);
    buffer.bool(!this.element && this.type.unsigned);
    buffer.writeObjectAny(b.countBranch?.leaf ?? null);
    buffer.setByteCount(base);
    if (this.element) {
      buffer.i32(-1); // fID: the whole object
      buffer.i32(-1); // fType
    } else {
      this.type.writeRange(buffer, 0, this.maximum);
    }
    buffer.setByteCount(at);
  }
}

interface PendingBasket {
  branch: Branch;
  /** A pooled buffer holding the key header at [0, keylen) and the uncompressed payload after it. */
  record: Uint8Array;
  keylen: number;
  objlen: number;
  packed: Promise<Packed | null> | Packed | null;
}

/**
 * Reusable record buffers by power-of-two capacity. Baskets are allocated and dropped at a high rate; recycling
 * them keeps the process's memory flat instead of leaving it to the garbage collector's pace.
 */
class BufferPool {
  private readonly free = new Map<number, Uint8Array[]>();
  private bytes = 0;
  constructor(private readonly limitBytes: number) {}
  get(size: number): Uint8Array {
    let capacity = 4096;
    while (capacity < size) capacity *= 2;
    const buffer = this.free.get(capacity)?.pop();
    if (buffer !== undefined) {
      this.bytes -= buffer.length;
      return buffer;
    }
    return new Uint8Array(capacity);
  }
  release(buffer: Uint8Array): void {
    if (this.bytes + buffer.length > this.limitBytes) return;
    let list = this.free.get(buffer.length);
    if (list === undefined) this.free.set(buffer.length, (list = []));
    list.push(buffer);
    this.bytes += buffer.length;
  }
}

class Branch implements Streamable {
  readonly className: string;
  readonly name: string;
  readonly title: string;
  readonly leafTitle: string;
  readonly leaf: Leaf;
  readonly type: LeafType;
  readonly kind: 'scalar' | 'fixed' | 'counted' | 'vector';
  readonly fixedLength: number;
  readonly vectorType: VectorValueType | undefined;
  countBranch: Branch | undefined;
  /** Index in the row passed to fill(). */
  readonly column: number;

  basketSize: number;
  /**
   * TBasket::fBufferSize as ROOT records it: the basket object is reused from basket to basket, so the value
   * only grows (to fLast when an entry overflows it) until OptimizeBaskets resizes the basket.
   */
  bufferSize: number;
  entryOffsetLen: number;
  readonly keylen: number;
  /** The key's class name, object name and title as counted strings (constant for a branch). */
  private readonly keyStrings: Uint8Array;
  // The open basket.
  data: Uint8Array;
  view: DataView;
  length = 0;
  nevbuf = 0;
  nevbufSize = 0;
  offsets = new Int32Array(16);
  // Bookkeeping written into the TBranch record.
  entries = 0;
  writeBasket = 0;
  totBytes = 0;
  zipBytes = 0;
  basketBytes: number[] = [];
  basketEntry: number[] = [0];
  basketSeek: number[] = [];

  constructor(spec: BranchSpec, column: number, treeName: string, basketSize: number) {
    this.name = spec.name;
    this.column = column;
    if ('vector' in spec) {
      this.kind = 'vector';
      this.vectorType = spec.vector;
      this.type = LEAF_TYPES[VECTOR_ELEMENT_TYPES[spec.vector] as ScalarType];
      this.className = 'TBranchElement';
      this.title = spec.title ?? spec.name;
      this.leafTitle = spec.name;
      this.fixedLength = 1;
      this.entryOffsetLen = DEFAULT_ENTRY_OFFSET_LEN;
    } else {
      this.type = LEAF_TYPES[spec.type];
      this.className = 'TBranch';
      this.vectorType = undefined;
      let dims = '';
      if ('count' in spec) {
        this.kind = 'counted';
        dims = `[${spec.count}]`;
        this.fixedLength = 1;
        this.entryOffsetLen = DEFAULT_ENTRY_OFFSET_LEN;
      } else if ('length' in spec) {
        this.kind = 'fixed';
        dims = `[${spec.length}]`;
        this.fixedLength = spec.length;
        this.entryOffsetLen = 0;
      } else {
        this.kind = 'scalar';
        this.fixedLength = 1;
        this.entryOffsetLen = 0;
      }
      this.leafTitle = spec.name + dims;
      this.title = spec.title ?? `${spec.name}${dims}/${this.type.letter}`;
    }
    this.leaf = new Leaf(this, this.type, this.kind === 'vector');
    this.basketSize = basketSize;
    this.bufferSize = basketSize;
    // TBasket keys are always in the 64-bit form (TBasket's constructor adds 1000 to the key version).
    this.keylen = keyLength({ className: 'TBasket', name: this.name, title: treeName, cycle: 0, big: true }) + 19;
    const strings = new WBuffer(64);
    strings.tstring('TBasket');
    strings.tstring(this.name);
    strings.tstring(treeName);
    this.keyStrings = strings.result().slice();
    this.data = new Uint8Array(Math.max(basketSize, 256));
    this.view = new DataView(this.data.buffer);
    this.resetBasket();
  }

  private resetBasket(): void {
    this.length = 0;
    this.nevbuf = 0;
    this.nevbufSize = this.entryOffsetLen;
    // Keep the buffer at the basket size: after OptimizeBaskets a basket may be far larger (or smaller) than before.
    const target = Math.max(this.basketSize, 256);
    if (this.data.length < target || this.data.length > 2 * target) this.setCapacity(target);
  }

  private setCapacity(size: number): void {
    const next = new Uint8Array(size);
    next.set(this.data.subarray(0, this.length));
    this.data = next;
    this.view = new DataView(next.buffer);
  }

  private reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.data.length) return;
    const size = Math.max(need, Math.ceil(this.data.length * 1.25));
    const grown = new Uint8Array(size);
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
    this.view = new DataView(grown.buffer);
  }

  /** Appends one entry; returns true when ROOT would now write the basket out. */
  fill(value: Value | ArrayValue | undefined): boolean {
    const start = this.length;
    const size = this.type.size;
    if (this.entryOffsetLen > 0) {
      if (this.nevbuf >= this.offsets.length) {
        const grown = new Int32Array(this.offsets.length * 2);
        grown.set(this.offsets);
        this.offsets = grown;
      }
      this.offsets[this.nevbuf] = this.keylen + start;
      // TBasket::Update grows the offset table (and fNevBufSize with it) by doubling.
      while (this.nevbuf + 1 > this.nevbufSize) this.nevbufSize = Math.max(10, 2 * this.nevbufSize);
    }
    if (this.kind === 'scalar') {
      this.reserve(size);
      this.type.put(this.view, this.length, value as Value);
      this.length += size;
    } else {
      const items = value as ArrayLike<Value>;
      const n = items.length;
      if (this.kind === 'fixed' && n !== this.fixedLength) {
        throw new Error(`branch ${this.name}: expected ${this.fixedLength} values, got ${n}`);
      }
      if (this.kind === 'vector') {
        this.reserve(10 + n * size);
        this.view.setUint32(this.length, (6 + n * size) | BYTE_COUNT_MASK);
        this.view.setInt16(this.length + 4, COLLECTION_VERSION);
        this.view.setInt32(this.length + 6, n);
        this.length += 10;
      } else {
        this.reserve(n * size);
      }
      this.type.putMany(this.view, this.length, items, n);
      this.length += n * size;
    }
    this.nevbuf++;
    this.entries++;
    const nbytes = this.length - start;
    if (this.entryOffsetLen === 0 && this.nevbufSize === 0) this.nevbufSize = nbytes;
    const nsize = this.entryOffsetLen > 0 ? this.nevbuf * 4 : 0;
    return this.keylen + this.length + 2 * nsize + nbytes >= this.basketSize;
  }

  get hasEntries(): boolean {
    return this.nevbuf > 0;
  }

  /** Closes the open basket into a pooled record (key header + uncompressed payload) and starts a new one. */
  closeBasket(pool: BufferPool, datime: number, seekDir: number): PendingBasket {
    const withOffsets = this.entryOffsetLen > 0;
    const keylen = this.keylen;
    const objlen = this.length + (withOffsets ? 4 + 4 * (this.nevbuf + 1) : 0);
    const record = pool.get(keylen + objlen);
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    // Key (version 1004: 64-bit seeks); fNbytes and fSeekKey are filled in when the record is placed.
    view.setInt32(0, 0);
    view.setInt16(4, 1004);
    view.setInt32(6, objlen);
    view.setUint32(10, datime);
    view.setInt16(14, keylen);
    view.setInt16(16, this.writeBasket); // fCycle: the basket number
    view.setBigInt64(18, 0n);
    view.setBigInt64(26, BigInt(seekDir));
    record.set(this.keyStrings, 34);
    let at = 34 + this.keyStrings.length;
    const last = keylen + this.length;
    view.setInt16(at, 3); // TBasket version
    this.bufferSize = Math.max(this.bufferSize, last);
    view.setInt32(at + 2, this.bufferSize); // fBufferSize
    view.setInt32(at + 6, this.nevbufSize);
    view.setInt32(at + 10, this.nevbuf);
    view.setInt32(at + 14, last);
    record[at + 18] = 0; // flag: header only, the data follow in the same record
    record.set(this.data.subarray(0, this.length), keylen);
    if (withOffsets) {
      at = keylen + this.length;
      view.setInt32(at, this.nevbuf + 1);
      at += 4;
      for (let i = 0; i < this.nevbuf; i++, at += 4) view.setInt32(at, this.offsets[i]!);
      view.setInt32(at, 0); // the extra, never-read element ROOT leaves at 0
    }
    // TBranch::WriteBasketImpl adapts the offset table length to what this basket needed.
    const nevbuf = this.nevbuf;
    if (this.entryOffsetLen > 10 && 4 * nevbuf < this.entryOffsetLen)
      this.entryOffsetLen = nevbuf < 3 ? 10 : 4 * nevbuf;
    else if (this.entryOffsetLen > 0 && nevbuf > this.entryOffsetLen) this.entryOffsetLen = 2 * nevbuf;
    this.writeBasket++;
    this.basketEntry.push(this.entries);
    this.resetBasket();
    return { branch: this, record, keylen, objlen, packed: null };
  }

  recordWritten(nbytes: number, seek: number, objlen: number): void {
    this.basketBytes.push(nbytes);
    this.basketSeek.push(seek);
    this.totBytes += this.keylen + objlen;
    this.zipBytes += nbytes;
  }

  stream(buffer: WBuffer, compressSetting = 0): void {
    const outer = this.kind === 'vector' ? buffer.startObject(10) : -1;
    const at = buffer.startObject(13);
    buffer.tnamed(this.name, this.title, BITS_BRANCH);
    const fill = buffer.startObject(2);
    buffer.i16(0);
    buffer.i16(1001);
    buffer.setByteCount(fill);
    buffer.i32(compressSetting);
    buffer.i32(this.basketSize);
    buffer.i32(this.entryOffsetLen);
    buffer.i32(this.writeBasket);
    buffer.i64(this.entries); // fEntryNumber
    ioFeatures(buffer);
    buffer.i32(0); // fOffset
    const maxBaskets = Math.max(this.writeBasket + 1, 10);
    buffer.i32(maxBaskets);
    buffer.i32(this.kind === 'vector' ? 99 : 0); // fSplitLevel
    buffer.i64(this.entries);
    buffer.i64(0); // fFirstEntry
    buffer.i64(this.totBytes);
    buffer.i64(this.zipBytes);
    objArray(buffer, []); // fBranches
    objArray(buffer, [this.leaf]); // fLeaves
    objArray(buffer, new Array<null>(this.writeBasket + 1).fill(null)); // fBaskets: all on disk
    buffer.u8(1);
    for (let i = 0; i < maxBaskets; i++) buffer.i32(this.basketBytes[i] ?? 0);
    buffer.u8(1);
    for (let i = 0; i < maxBaskets; i++) buffer.i64(this.basketEntry[i] ?? 0);
    buffer.u8(1);
    for (let i = 0; i < maxBaskets; i++) buffer.i64(this.basketSeek[i] ?? 0);
    buffer.tstring(''); // fFileName
    buffer.setByteCount(at);
    if (this.kind === 'vector') {
      const className = `vector<${this.vectorType!}>`;
      buffer.tstring(className); // fClassName
      buffer.tstring(''); // fParentName
      buffer.tstring(''); // fClonesName
      buffer.u32(checksumOf(className));
      buffer.i16(STL_CLASS_VERSION);
      buffer.i32(-1); // fID: the whole collection in this branch
      buffer.i32(0); // fType: leaf node
      buffer.i32(-1); // fStreamerType
      buffer.i32(0); // fMaximum
      buffer.writeObjectAny(null); // fBranchCount
      buffer.writeObjectAny(null); // fBranchCount2
      buffer.setByteCount(outer);
    }
  }
}

/** The TTree record: every branch (and in it its leaf), then the tree's leaf list as references. */
class TreeRecord implements Streamable {
  readonly className = 'TTree';
  constructor(private readonly tree: TreeWriter) {}
  stream(buffer: WBuffer): void {
    const t = this.tree;
    const at = buffer.startObject(20);
    buffer.tnamed(t.name, t.title, BITS_TREE);
    let sub = buffer.startObject(2); // TAttLine
    buffer.i16(602);
    buffer.i16(1);
    buffer.i16(1);
    buffer.setByteCount(sub);
    sub = buffer.startObject(2); // TAttFill
    buffer.i16(0);
    buffer.i16(1001);
    buffer.setByteCount(sub);
    sub = buffer.startObject(2); // TAttMarker
    buffer.i16(1);
    buffer.i16(1);
    buffer.f32(1);
    buffer.setByteCount(sub);
    buffer.i64(t.entries);
    buffer.i64(t.totBytes);
    buffer.i64(t.zipBytes);
    buffer.i64(0); // fSavedBytes: no AutoSave
    buffer.i64(t.flushedBytes);
    buffer.f64(1); // fWeight
    buffer.i32(0); // fTimerInterval
    buffer.i32(25); // fScanField
    buffer.i32(0); // fUpdate
    buffer.i32(DEFAULT_ENTRY_OFFSET_LEN);
    buffer.i32(0); // fNClusterRange: one cluster size for the whole tree
    buffer.i64(1_000_000_000_000); // fMaxEntries
    buffer.i64(1_000_000_000_000); // fMaxEntryLoop
    buffer.i64(0); // fMaxVirtualSize
    buffer.i64(t.autoSave);
    buffer.i64(t.autoFlush);
    buffer.i64(1_000_000); // fEstimate
    buffer.u8(0); // fClusterRangeEnd: no closed ranges
    buffer.u8(0); // fClusterSize
    ioFeatures(buffer);
    const setting = t.file.compressionSetting;
    const branches: Streamable[] = t.branches.map((branch) => ({
      className: branch.className,
      stream: (b: WBuffer) => branch.stream(b, setting),
    }));
    // The leaf objects are the branches' own, so the tree's fLeaves are references to them.
    objArray(buffer, branches, BITS_OWNER_ARRAY);
    objArray(
      buffer,
      t.branches.map((branch) => branch.leaf),
    );
    for (let i = 0; i < 7; i++) buffer.i32(0); // fAliases, fIndexValues, fIndex, fTreeIndex, fFriends, fUserInfo, fBranchRef
    buffer.setByteCount(at);
  }
}

export class TreeWriter {
  readonly name: string;
  readonly title: string;
  readonly branches: Branch[];
  readonly file: RootFileWriter;
  entries = 0;
  totBytes = 0;
  zipBytes = 0;
  flushedBytes = 0;
  autoFlush: number;
  autoSave = -300_000_000;
  clusters = 0;
  private readonly compression: Compression;
  private readonly pending: PendingBasket[] = [];
  private readonly pool: BufferPool;
  private readonly maxPendingBytes: number;
  private readonly basketMemory: number;
  private pendingBytes = 0;
  private closed = false;

  constructor(file: RootFileWriter, name: string, specs: readonly BranchSpec[], options: TreeOptions = {}) {
    this.file = file;
    this.name = name;
    this.title = options.title ?? name;
    this.compression = file.compression;
    this.autoFlush = options.autoFlush ?? -30_000_000;
    if (this.autoFlush === 0) throw new Error('autoFlush must not be 0');
    this.maxPendingBytes = options.maxPendingBytes ?? 4 << 20;
    this.basketMemory = options.basketMemory ?? BASKET_MEMORY;
    this.pool = new BufferPool(4 << 20);
    const basketSize = options.basketSize ?? 32000;
    const seen = new Map<string, Branch>();
    this.branches = specs.map((spec, column) => {
      if (seen.has(spec.name)) throw new Error(`duplicate branch name ${spec.name}`);
      const branch = new Branch(spec, column, name, Math.max(basketSize, 100));
      if ('count' in spec) {
        const counter = seen.get(spec.count);
        if (
          counter === undefined ||
          counter.kind !== 'scalar' ||
          (counter.type !== LEAF_TYPES.Int_t && counter.type !== LEAF_TYPES.UInt_t)
        ) {
          throw new Error(`branch ${spec.name}: its counter ${spec.count} must be an earlier Int_t or UInt_t branch`);
        }
        branch.countBranch = counter;
        counter.leaf.isRange = true;
      }
      seen.set(spec.name, branch);
      return branch;
    });
  }

  /**
   * Adds one entry; `row` holds one value per branch, in the order the branches were declared (a number, bigint
   * or boolean for scalars, an array for arrays and vectors). Returns a promise only when the caller should wait
   * for compressed baskets to drain before filling more.
   */
  fill(row: ArrayLike<Value | ArrayValue>): Promise<void> | undefined {
    if (this.closed) throw new Error('tree already closed');
    const branches = this.branches;
    for (let i = 0; i < branches.length; i++) {
      const branch = branches[i]!;
      const value = row[i];
      if (branch.countBranch !== undefined) {
        const n = toNumber(row[branch.countBranch.column] as Value);
        if ((value as ArrayLike<Value>).length !== n) {
          throw new Error(
            `branch ${branch.name}: ${(value as ArrayLike<Value>).length} values but ${branch.countBranch.name} = ${n}`,
          );
        }
      } else if (branch.leaf.isRange) {
        const n = toNumber(value as Value);
        if (n > branch.leaf.maximum) branch.leaf.maximum = n;
      }
      if (branch.fill(value as Value | ArrayValue))
        this.queue(branch.closeBasket(this.pool, this.file.datime, this.file.seekDir));
    }
    this.entries++;
    this.maybeAutoFlush();
    if (this.pendingBytes > this.maxPendingBytes) return this.drain(this.maxPendingBytes >> 1);
    return undefined;
  }

  /** TTree::Fill's auto-flush: the first cluster by compressed bytes, then every fAutoFlush entries. */
  private maybeAutoFlush(): void {
    if (this.autoFlush < 0) {
      if (this.zipBytes <= -this.autoFlush) return;
      this.flushAll();
      this.optimizeBaskets();
      this.flushedBytes = this.zipBytes;
      const budget = -this.autoSave;
      this.autoFlush = this.entries;
      this.autoSave = Math.max(
        this.autoFlush,
        this.entries * Math.floor(Math.floor(budget / this.zipBytes) / this.entries),
      );
      return;
    }
    if (this.entries % this.autoFlush === 0) {
      this.flushAll();
      this.flushedBytes = this.zipBytes;
    }
  }

  private flushAll(): void {
    for (const branch of this.branches) {
      if (branch.hasEntries) this.queue(branch.closeBasket(this.pool, this.file.datime, this.file.seekDir));
    }
    this.clusters++;
  }

  private get firstCluster(): boolean {
    return this.autoFlush < 0;
  }

  private queue(basket: PendingBasket): void {
    const raw = basket.record.subarray(basket.keylen, basket.keylen + basket.objlen);
    if (this.firstCluster) {
      // The first cluster's end depends on compressed sizes, so those are computed here, in order.
      basket.packed = compressSync(raw, this.compression);
      this.pending.push(basket);
      this.pendingBytes += basket.objlen;
      this.writeReady();
      return;
    }
    basket.packed = compress(raw, this.compression);
    this.pending.push(basket);
    this.pendingBytes += basket.objlen;
  }

  /** Writes queued baskets whose compression is done, in queue order (which fixes their file offsets). */
  private writeReady(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      if (head.packed instanceof Promise) return;
      this.pending.shift();
      this.place(head, head.packed);
    }
  }

  private place(basket: PendingBasket, packed: Packed | null): void {
    const { record, keylen, objlen } = basket;
    const payloadSize = packed ? packed.size : objlen;
    const nbytes = keylen + payloadSize;
    const seek = this.file.end;
    const view = new DataView(record.buffer, record.byteOffset, keylen);
    view.setInt32(0, nbytes);
    view.setBigInt64(18, BigInt(seek));
    if (packed) this.file.append([record.subarray(0, keylen), ...packed.parts]);
    else this.file.append([record.subarray(0, keylen + objlen)]);
    basket.branch.recordWritten(nbytes, seek, objlen);
    this.pendingBytes -= objlen;
    this.totBytes += keylen + objlen;
    this.zipBytes += nbytes;
    this.pool.release(record);
  }

  /** Waits until at most `keepBytes` of baskets are still being compressed. */
  async drain(keepBytes = 0): Promise<void> {
    while (this.pending.length > 0 && this.pendingBytes > keepBytes) {
      const head = this.pending.shift()!;
      const packed = head.packed instanceof Promise ? await head.packed : head.packed;
      this.place(head, packed);
    }
  }

  /**
   * TTree::OptimizeBaskets(GetTotBytes(), 1), run once when the first cluster closes: every branch's basket size
   * becomes proportional to its share of the bytes, rounded up to 512 and bounded like ROOT bounds it.
   */
  private optimizeBaskets(): void {
    const maxMemory = this.totBytes;
    const nleaves = this.branches.length;
    if (nleaves === 0 || this.totBytes === 0) return;
    const aveSize = this.totBytes / nleaves;
    let bmin = 512;
    let bmax = 256000;
    let memFactor = 1;
    for (let pass = 0; pass < 2; pass++) {
      let newMemsize = 0;
      for (const branch of this.branches) {
        const totBytes = branch.totBytes;
        const idealFactor = totBytes / aveSize;
        const sizeOfOneEntry = branch.entries === 0 ? Math.floor(aveSize) : 1 + Math.floor(totBytes / branch.entries);
        let bsize = branch.basketSize * idealFactor * memFactor;
        if (bsize < 0 || bsize > bmax) bsize = bmax;
        let newBsize = Math.floor(bsize);
        if (pass === 1) {
          const clusterSize = this.autoFlush > 0 ? this.autoFlush : branch.entries;
          if (branch.entryOffsetLen > 0) newBsize += clusterSize * 4 * 2;
          newBsize = newBsize - (newBsize % 512) + 512;
        }
        if (newBsize < sizeOfOneEntry) newBsize = sizeOfOneEntry;
        if (newBsize < bmin) newBsize = bmin;
        if (newBsize > 10_000_000) newBsize = bmax;
        if (pass === 1) {
          // TBranch::SetBasketSize keeps room for the key and the offset table.
          const minimum = 100 + branch.name.length + branch.entryOffsetLen;
          branch.basketSize = Math.max(newBsize, minimum);
          branch.bufferSize = branch.basketSize; // TBasket::AdjustSize
        }
        newMemsize += newBsize;
      }
      memFactor = Math.min(100, maxMemory / newMemsize);
      const hardmax = 1024 * 1024 * 1024;
      const bminNew = bmin * memFactor;
      const bmaxNew = bmax * memFactor;
      bmin = bminNew > hardmax ? hardmax : bminNew < 8 ? 8 : Math.floor(bminNew);
      bmax = bmaxNew > hardmax ? bmin : Math.floor(bmaxNew);
    }
    this.boundBasketMemory();
  }

  /**
   * Where we leave ROOT on purpose (issue 13): its sizes let every branch hold a whole cluster in one basket, so the
   * open baskets hold the first cluster's uncompressed size (and as much again while they are compressed). Beyond
   * `basketMemory` all sizes shrink by one factor (multiples of 512, never below what an entry needs): the heavy
   * branches then write several baskets per cluster, as ROOT does when a basket fills before the cluster ends, and
   * every cluster still starts a basket of every branch.
   */
  private boundBasketMemory(): void {
    const total = this.branches.reduce((n, b) => n + b.basketSize, 0);
    if (total <= this.basketMemory) return;
    const factor = this.basketMemory / total;
    for (const branch of this.branches) {
      const sizeOfOneEntry = branch.entries === 0 ? 512 : 1 + Math.floor(branch.totBytes / branch.entries);
      const minimum = Math.max(512, sizeOfOneEntry, 100 + branch.name.length + branch.entryOffsetLen);
      const scaled = Math.floor((branch.basketSize * factor) / 512) * 512;
      branch.basketSize = Math.max(scaled, minimum);
      branch.bufferSize = branch.basketSize;
    }
  }

  /** Flushes every open basket, waits for compression, and writes the tree record and the file's trailer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const branch of this.branches) {
      if (branch.hasEntries) this.queue(branch.closeBasket(this.pool, this.file.datime, this.file.seekDir));
    }
    await this.drain(0);
    this.file.writeObject(new TreeRecord(this), this.name, this.title, true);
    const leafClasses = this.branches.filter((b) => b.kind !== 'vector').map((b) => b.type.leafClass);
    const vectorTypes = this.branches.filter((b) => b.vectorType !== undefined).map((b) => b.vectorType!);
    this.file.close(treeStreamerInfos(leafClasses, vectorTypes));
  }

  /** Bytes of compressed baskets written so far (for progress reports). */
  get bytesWritten(): number {
    return this.file.end;
  }
}

export { VECTOR_VALUE_TYPES };
