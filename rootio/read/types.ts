/**
 * Plain-data descriptions of a TTree and its branches: what the main thread learns from jsroot's metadata and hands
 * to the workers (structured-cloneable, no jsroot objects), so a worker reads baskets without parsing streamers.
 */

/** How one entry of a branch is laid out in its basket. */
export type BranchLayout =
  /** One value per entry (`x/F`). */
  | 'scalar'
  /** A fixed number of values per entry (`x[3]/F`), no entry offsets. */
  | 'fixed'
  /** A counted array (`x[n]/F`): the entry offsets give each entry's length. */
  | 'counted'
  /** A std::vector<T>: each entry is a 6-byte object header, an int32 size, then the values. */
  | 'vector';

import type { ElementType } from '../types.ts';

export { ELEMENT_SIZE, type ElementType } from '../types.ts';

export interface BasketTable {
  /** File offset of each basket's TKey. */
  seek: number[];
  /** Bytes of each basket on disk, key included. */
  bytes: number[];
  /** First entry of each basket; one more element than `seek`, the last is the branch's entry count. */
  entry: number[];
  /** Baskets stored inside the TTree object (their seek is -1 when they are not on disk), else null. */
  embedded?: (EmbeddedBasket | null)[];
}

/** A basket ROOT streamed inside the TTree object: its uncompressed entry data and entry offsets. */
export interface EmbeddedBasket {
  /** The entry data (what lies between the key and fLast). */
  data: Uint8Array;
  entries: number;
  /** Byte offset of each entry in `data`, for variable-size entries. */
  offsets?: Int32Array;
}

export interface BranchMeta {
  name: string;
  /** ROOT type as users read it: Float_t, Int_t, vector<float>, … */
  type: string;
  /** True when an entry holds a number of values (fixed, counted or vector). */
  isArray: boolean;
  /** Undefined when the branch cannot be read by the column decoder (strings, objects, leaf lists). */
  element?: ElementType;
  layout: BranchLayout;
  /** Values per entry for 'fixed'; 1 otherwise. */
  fixedLength: number;
  /** The counter branch of a counted array. */
  counter?: string;
  /** Double32_t/Float16_t with a range: stored as UInt_t, the value is raw · factor + min. */
  scale?: { factor: number; min: number };
  baskets: BasketTable;
}

export interface TreeMeta {
  name: string;
  entries: number;
  branches: BranchMeta[];
}
