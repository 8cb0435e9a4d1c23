/**
 * Direct basket reading: TKey header → TBasket header → (de)compressed payload → entry data and, for variable-size
 * entries, the entry offsets. This is the fast path that replaces jsroot's per-event objects in the workers.
 */
import { readSync } from 'node:fs';
import { decompress } from './decompress.ts';

export interface Basket {
  /** Uncompressed entry data (everything before fLast), big-endian. */
  data: Uint8Array;
  /** Entries in this basket. */
  entries: number;
  /** Byte offset of each entry in `data`, entries + 1 values; undefined for fixed-size entries. */
  offsets: Int32Array | undefined;
  /** Bytes read from disk. */
  diskBytes: number;
}

/** Reads exactly `length` bytes at `position` or throws. */
export function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const got = readSync(fd, buffer, done, length - done, position + done);
    if (got === 0)
      throw new Error(`file ends before byte ${position + length} (wanted ${length} bytes at ${position})`);
    done += got;
  }
  return buffer;
}

function skipString(view: DataView, pos: number): number {
  const n = view.getUint8(pos);
  return n === 255 ? pos + 5 + view.getUint32(pos + 1, false) : pos + 1 + n;
}

export interface RawBasket {
  raw: Buffer;
  keylen: number;
  objlen: number;
  nbytes: number;
  nevbuf: number;
  last: number;
}

/** Parses the key and basket headers of the bytes read at a basket's seek position. */
export function parseBasketHeader(raw: Buffer): RawBasket {
  if (raw.length < 40) throw new Error('basket header is truncated');
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const nbytes = view.getInt32(0, false);
  const version = view.getInt16(4, false);
  const objlen = view.getInt32(6, false);
  const keylen = view.getInt16(14, false);
  let pos = 18 + (version > 1000 ? 16 : 8);
  pos = skipString(view, pos); // class name
  pos = skipString(view, pos); // name
  pos = skipString(view, pos); // title
  if (pos + 19 > raw.length) throw new Error('basket header is truncated');
  pos += 2; // TBasket version
  pos += 4; // fBufferSize
  pos += 4; // fNevBufSize
  const nevbuf = view.getInt32(pos, false);
  const last = view.getInt32(pos + 4, false);
  // 512 MiB: far above any real basket, low enough that a damaged length cannot exhaust a worker's memory.
  if (
    nbytes !== raw.length ||
    keylen <= 0 ||
    keylen > nbytes ||
    objlen < 0 ||
    objlen > 1 << 29 ||
    nevbuf < 0 ||
    last < keylen
  )
    throw new Error(`basket header is damaged (fNbytes ${nbytes}, fKeylen ${keylen}, fObjLen ${objlen})`);
  return { raw, keylen, objlen, nbytes, nevbuf, last };
}

/** Reads one basket; `withOffsets` when entries have variable size (counted arrays, vectors). */
export async function readBasket(fd: number, seek: number, bytes: number, withOffsets: boolean): Promise<Basket> {
  const header = parseBasketHeader(readAt(fd, seek, bytes));
  const { raw, keylen, objlen, nevbuf, last } = header;
  const payload = raw.subarray(keylen);
  const buffer = payload.length === objlen ? payload : await decompress(payload, objlen);
  const border = last - keylen;
  if (border > buffer.length) throw new Error('basket data is shorter than its header says');
  let offsets: Int32Array | undefined;
  if (withOffsets) {
    // After fLast: int32 count, then count entry offsets measured from the key start (ROOT writes one spare).
    if (border + 4 + 4 * nevbuf > buffer.length) throw new Error('basket entry offsets are missing');
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
    offsets = new Int32Array(nevbuf + 1);
    for (let i = 0; i < nevbuf; i++) {
      const o = view.getInt32(border + 4 + 4 * i, false) - keylen;
      if (o < 0 || o > border || (i > 0 && o < offsets[i - 1]!)) throw new Error('basket entry offsets are damaged');
      offsets[i] = o;
    }
    offsets[nevbuf] = border;
  }
  return { data: buffer.subarray(0, border), entries: nevbuf, offsets, diskBytes: bytes };
}
