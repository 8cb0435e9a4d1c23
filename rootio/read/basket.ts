/**
 * Direct basket reading: TKey header → TBasket header → (de)compressed payload → entry data and, for variable-size
 * entries, the entry offsets. This is the fast path that replaces jsroot's per-event objects in the workers.
 */
import { readSync } from 'node:fs';
import { OpenKeyError } from '../../common/errors.ts';
import { ChecksumError } from '../compression/envelope.ts';
import { decompress } from '../compression/decode.ts';
import { readBasketFields, readKeyHeader } from '../key.ts';
import type { EmbeddedBasket } from './types.ts';

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
  let key;
  let fields;
  try {
    key = readKeyHeader(view, 0);
    fields = readBasketFields(view, key.end);
  } catch {
    throw new Error('basket header is truncated');
  }
  const { nbytes, objlen, keylen } = key;
  const { nevbuf, last } = fields;
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

/** Where a basket is, for error messages: "basket 3 of Muon_Px (at byte 123456)". */
export interface BasketPlace {
  branch: string;
  index: number;
}

/** A damaged basket: E_ROOT_CORRUPT with the basket named (the caller adds the file's name). */
export function basketCorrupt(place: BasketPlace, seek: number, error: unknown): OpenKeyError {
  const detail = error instanceof Error ? error.message : String(error);
  const what = error instanceof ChecksumError ? 'fails its checksum' : 'is damaged';
  return new OpenKeyError(
    'E_ROOT_CORRUPT',
    `basket ${place.index} of ${place.branch} (at byte ${seek}) ${what}: ${detail}`,
    {
      hint: 'the file is damaged; copy it again from its source',
      cause: error,
    },
  );
}

/** Splits an uncompressed basket buffer into entry data and entry offsets. */
export function basketFromBuffer(
  buffer: Uint8Array,
  header: { keylen: number; nevbuf: number; last: number },
  withOffsets: boolean,
  diskBytes: number,
): Basket {
  const { keylen, nevbuf, last } = header;
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
  return { data: buffer.subarray(0, border), entries: nevbuf, offsets, diskBytes };
}

/** A basket kept inside the TTree object (already uncompressed), checked like one read from disk. */
export function embeddedBasket(kept: EmbeddedBasket, withOffsets: boolean, place: BasketPlace): Basket {
  const { data, entries } = kept;
  let offsets: Int32Array | undefined;
  if (withOffsets) {
    offsets = new Int32Array(entries + 1);
    // jsroot's rule: a one-entry basket may come without offsets.
    const given = kept.offsets ?? (entries <= 1 ? new Int32Array([0]) : undefined);
    for (let i = 0; i < entries; i++) {
      const o = given?.[i];
      if (o === undefined || o < 0 || o > data.length || (i > 0 && o < offsets[i - 1]!))
        throw basketCorrupt(place, -1, new Error('entry offsets of the basket kept in the TTree are damaged'));
      offsets[i] = o;
    }
    offsets[entries] = data.length;
  }
  return { data, entries, offsets, diskBytes: 0 };
}

/** Reads one basket; `withOffsets` when entries have variable size (counted arrays, vectors). */
export async function readBasket(
  fd: number,
  seek: number,
  bytes: number,
  withOffsets: boolean,
  place: BasketPlace = { branch: '?', index: 0 },
): Promise<Basket> {
  try {
    const header = parseBasketHeader(readAt(fd, seek, bytes));
    const { raw, keylen, objlen } = header;
    const payload = raw.subarray(keylen);
    const buffer = payload.length === objlen ? payload : await decompress(payload, objlen);
    return basketFromBuffer(buffer, header, withOffsets, bytes);
  } catch (error) {
    if (error instanceof Error && /^file ends before/.test(error.message)) throw error;
    throw basketCorrupt(place, seek, error);
  }
}
