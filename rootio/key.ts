/**
 * The TKey layout, read and written: fNbytes (4), fVersion (2), fObjLen (4), fDatime (4), fKeylen (2), fCycle (2),
 * fSeekKey and fSeekPdir (4 each, or 8 each when fVersion > 1000), then class name, name and title as TStrings.
 * A TBasket key carries 19 more bytes: version (2), fBufferSize, fNevBufSize, fNevBuf, fLast (4 each), a flag (1).
 */
import type { WBuffer } from './write/buffer.ts';
import { BIG_KEY_VERSION } from './format.ts';

export interface KeyFields {
  className: string;
  name: string;
  title: string;
  cycle: number;
  /** True when fSeekKey/fSeekPdir are 8 bytes (key version 1004). */
  big: boolean;
}

/** The TBasket extension of a key header. */
export const BASKET_HEADER_EXTRA = 19;
/** Key version of a TBasket: TBasket's constructor adds 1000, so basket keys are always in the 64-bit form. */
export const BASKET_KEY_VERSION = 1004;
/** Offsets of the fixed fields of a key header. */
export const KEY_OFFSET = { nbytes: 0, version: 4, objlen: 6, datime: 10, keylen: 14, cycle: 16, seekKey: 18 } as const;

export function tstringLength(text: string): number {
  const n = Buffer.byteLength(text, 'latin1');
  return n < 255 ? 1 + n : 5 + n;
}

/** Length of a key header (without any class-specific extension such as TBasket's 19 bytes). */
export function keyLength(key: KeyFields): number {
  return (key.big ? 34 : 26) + tstringLength(key.className) + tstringLength(key.name) + tstringLength(key.title);
}

export function writeKeyHeader(
  buffer: WBuffer,
  key: KeyFields & {
    nbytes: number;
    objlen: number;
    datime: number;
    keylen: number;
    seekKey: number;
    seekPdir: number;
  },
): void {
  buffer.i32(key.nbytes);
  buffer.i16(key.big ? BIG_KEY_VERSION + 4 : 4);
  buffer.i32(key.objlen);
  buffer.u32(key.datime);
  buffer.i16(key.keylen);
  buffer.i16(key.cycle);
  if (key.big) {
    buffer.i64(key.seekKey);
    buffer.i64(key.seekPdir);
  } else {
    buffer.i32(key.seekKey);
    buffer.i32(key.seekPdir);
  }
  buffer.tstring(key.className);
  buffer.tstring(key.name);
  buffer.tstring(key.title);
}

export interface KeyHeader {
  nbytes: number;
  version: number;
  objlen: number;
  keylen: number;
  cycle: number;
  seekKey: number;
  /** Position just after the title: where a class-specific extension (TBasket's) starts. */
  end: number;
}

function skipString(view: DataView, pos: number): number {
  if (pos >= view.byteLength) throw new RangeError('key header is truncated');
  const n = view.getUint8(pos);
  return n === 255 ? pos + 5 + view.getUint32(pos + 1, false) : pos + 1 + n;
}

/** Reads a key header at `pos` of `view` (strings skipped, not decoded: the hot path does not need them). */
export function readKeyHeader(view: DataView, pos = 0): KeyHeader {
  if (pos + 26 > view.byteLength) throw new RangeError('key header is truncated');
  const version = view.getInt16(pos + KEY_OFFSET.version, false);
  const big = version > BIG_KEY_VERSION;
  const seekKey = big
    ? Number(view.getBigInt64(pos + KEY_OFFSET.seekKey, false))
    : view.getInt32(pos + KEY_OFFSET.seekKey, false);
  let end = pos + KEY_OFFSET.seekKey + (big ? 16 : 8);
  for (let i = 0; i < 3; i++) end = skipString(view, end); // class name, name, title
  return {
    nbytes: view.getInt32(pos + KEY_OFFSET.nbytes, false),
    version,
    objlen: view.getInt32(pos + KEY_OFFSET.objlen, false),
    keylen: view.getInt16(pos + KEY_OFFSET.keylen, false),
    cycle: view.getInt16(pos + KEY_OFFSET.cycle, false),
    seekKey,
    end,
  };
}

export interface BasketFields {
  bufferSize: number;
  nevbufSize: number;
  nevbuf: number;
  last: number;
}

/** The TBasket extension that follows a basket's key header at `pos`. */
export function readBasketFields(view: DataView, pos: number): BasketFields {
  if (pos + BASKET_HEADER_EXTRA > view.byteLength) throw new RangeError('basket header is truncated');
  return {
    bufferSize: view.getInt32(pos + 2, false),
    nevbufSize: view.getInt32(pos + 6, false),
    nevbuf: view.getInt32(pos + 10, false),
    last: view.getInt32(pos + 14, false),
  };
}
