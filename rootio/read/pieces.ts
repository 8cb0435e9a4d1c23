/**
 * One basket decoded once into native typed arrays (a "piece"), the unit the analysis service's column cache keeps
 * and the workers share: values in the machine's byte order, in the element's own width (Float32Array for Float_t),
 * so a cached basket costs what its uncompressed data does, not twice that as float64 would. The expression kernel
 * reads the typed arrays directly; every value it sees equals what readColumn (columns.ts) gives for the same entry.
 */
import { embeddedBasket, readBasket, type Basket } from './basket.ts';
import { ELEMENT_SIZE, type BranchMeta, type ElementType } from './types.ts';

export type Values =
  Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

export interface Piece {
  /** Entries of the basket. */
  entries: number;
  /** The basket's values in entry order: bool as 0/1, 64-bit integers and ranged Double32_t as float64. */
  values: Values;
  /** Counted arrays and vectors: index in `values` of each entry's first value, entries + 1 values. */
  offsets?: Uint32Array;
  /** Bytes of `values` and `offsets`, what the cache counts. */
  bytes: number;
  /** Bytes read from disk for it (0 for a basket kept in the TTree). */
  diskBytes: number;
  /**
   * The basket's uncompressed size: its entry data and, for variable-size entries, the entry-offset table that
   * follows it (a count and one int32 per entry), as ROOT's fObjlen counts them.
   */
  dataBytes: number;
}

type Ctor = new (buffer: ArrayBufferLike, offset?: number, length?: number) => Values;

/** Native arrays per element type; 64-bit integers become float64 (Number(), as readColumn does). */
const NATIVE: Record<ElementType, { ctor: Ctor; size: number }> = {
  i8: { ctor: Int8Array, size: 1 },
  u8: { ctor: Uint8Array, size: 1 },
  bool: { ctor: Uint8Array, size: 1 },
  i16: { ctor: Int16Array, size: 2 },
  u16: { ctor: Uint16Array, size: 2 },
  i32: { ctor: Int32Array, size: 4 },
  u32: { ctor: Uint32Array, size: 4 },
  f32: { ctor: Float32Array, size: 4 },
  i64: { ctor: Float64Array, size: 8 },
  u64: { ctor: Float64Array, size: 8 },
  f64: { ctor: Float64Array, size: 8 },
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Memory for a piece: shared between threads (the cache hands the same bytes to every worker) or private. */
function allocate(bytes: number, shared: boolean): ArrayBufferLike {
  return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/**
 * Big-endian values → native ones, in place: Node's Buffer swap16/32/64 are native byte swaps, many times faster
 * than a DataView loop, and keep every bit (NaN payloads included).
 */
function toNative(bytes: Uint8Array, size: number): void {
  if (!LITTLE_ENDIAN || size === 1 || bytes.length === 0) return;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (size === 2) b.swap16();
  else if (size === 4) b.swap32();
  else b.swap64();
}

/** `count` big-endian values of `element` from `src` → a native typed array of their own (shared or not). */
function nativeValues(
  runs: { src: Uint8Array; from: number; bytes: number }[],
  count: number,
  element: ElementType,
  shared: boolean,
): Values {
  const size = ELEMENT_SIZE[element];
  const raw = new Uint8Array(allocate(count * size, shared));
  let at = 0;
  for (const { src, from, bytes } of runs) {
    raw.set(src.subarray(from, from + bytes), at);
    at += bytes;
  }
  if (element === 'i64' || element === 'u64') {
    // Number() of each 64-bit integer, exactly as decodeValues does (float64 holds the result in the same 8 bytes).
    const view = new DataView(raw.buffer, 0, raw.length);
    const out = new Float64Array(raw.buffer, 0, count);
    for (let k = 0; k < count; k++)
      out[k] = Number(element === 'i64' ? view.getBigInt64(8 * k, false) : view.getBigUint64(8 * k, false));
    return out;
  }
  if (element === 'bool') {
    for (let k = 0; k < count; k++) raw[k] = raw[k] !== 0 ? 1 : 0;
    return raw;
  }
  toNative(raw, size);
  const { ctor } = NATIVE[element];
  return new ctor(raw.buffer, 0, count);
}

/** Applies a Double32_t/Float16_t range (raw · factor + min) as readColumn does, into float64. */
function scaled(values: Values, scale: { factor: number; min: number }, shared: boolean): Float64Array {
  const out = new Float64Array(allocate(values.length * 8, shared));
  const { factor, min } = scale;
  for (let k = 0; k < values.length; k++) out[k] = values[k]! * factor + min;
  return out;
}

/** Decodes one basket of `branch` (index `i` of its table) to a piece; the checks are readColumn's. */
export function pieceFromBasket(branch: BranchMeta, i: number, basket: Basket, shared: boolean): Piece {
  const element = branch.element;
  if (element === undefined) throw new Error(`branch ${branch.name} has type ${branch.type}, which cannot be read`);
  const size = ELEMENT_SIZE[element];
  const start = branch.baskets.entry[i]!;
  const end = branch.baskets.entry[i + 1]!;
  const entries = end - start;
  if (basket.entries !== entries)
    throw new Error(`basket ${i} of ${branch.name} holds ${basket.entries} entries, the tree says ${entries}`);
  const data = basket.data;
  let values: Values;
  let offsets: Uint32Array | undefined;
  if (branch.layout === 'scalar' || branch.layout === 'fixed') {
    const bytes = entries * size * branch.fixedLength;
    if (bytes > data.length) throw new Error(`basket of ${branch.name} is too short`);
    values = nativeValues([{ src: data, from: 0, bytes }], entries * branch.fixedLength, element, shared);
  } else {
    const header = branch.layout === 'vector' ? 10 : 0;
    const off = basket.offsets!;
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    offsets = new Uint32Array(allocate(4 * (entries + 1), shared));
    let total = 0;
    for (let k = 0; k < entries; k++) {
      const bytes = off[k + 1]! - off[k]! - header;
      if (bytes < 0 || bytes % size !== 0) throw new Error(`entry ${start + k} of ${branch.name} is damaged`);
      // A vector entry also states its length after the 6-byte object header: both must agree.
      if (header > 0 && view.getInt32(off[k]! + 6, false) !== bytes / size)
        throw new Error(`entry ${start + k} of ${branch.name} is not a plain std::vector`);
      total += bytes / size;
      offsets[k + 1] = total;
    }
    // Entries are contiguous inside a basket: one run for counted arrays, one per entry for vectors.
    const runs =
      header === 0
        ? [{ src: data, from: off[0]!, bytes: total * size }]
        : Array.from({ length: entries }, (_, k) => ({
            src: data,
            from: off[k]! + header,
            bytes: off[k + 1]! - off[k]! - header,
          }));
    values = nativeValues(runs, total, element, shared);
  }
  if (branch.scale) values = scaled(values, branch.scale, shared);
  return {
    entries,
    values,
    ...(offsets === undefined ? {} : { offsets }),
    bytes: values.byteLength + (offsets?.byteLength ?? 0),
    diskBytes: basket.diskBytes,
    dataBytes: data.length + (basket.offsets === undefined ? 0 : 4 * (entries + 1)),
  };
}

/** Reads and decodes basket `i` of `branch` from the open file `fd` (or from the TTree when it is kept there). */
export async function readPiece(fd: number, branch: BranchMeta, i: number, shared: boolean): Promise<Piece> {
  const variable = branch.layout === 'counted' || branch.layout === 'vector';
  const place = { branch: branch.name, index: i };
  const kept = branch.baskets.embedded?.[i];
  const basket = kept
    ? embeddedBasket(kept, variable, place)
    : await readBasket(fd, branch.baskets.seek[i]!, branch.baskets.bytes[i]!, variable, place);
  return pieceFromBasket(branch, i, basket, shared);
}

/**
 * The baskets of `branch` that hold entries of [first, last): indices `from` to `to` (exclusive) of its table,
 * found by bisection (a big file's branch has thousands of baskets, and every task asks).
 */
export function basketsOver(branch: BranchMeta, first: number, last: number): { from: number; to: number } {
  const entry = branch.baskets.entry;
  const count = branch.baskets.seek.length;
  // The last basket starting at or before `first`, then the first one starting at or after `last`.
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entry[mid + 1]! <= first) lo = mid + 1;
    else hi = mid;
  }
  const from = lo;
  hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entry[mid]! < last) lo = mid + 1;
    else hi = mid;
  }
  return { from, to: lo };
}
