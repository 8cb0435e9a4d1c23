import { deflate, deflateSync } from 'node:zlib';

/**
 * ROOT's record compression (R__zipMultipleAlgorithm with zlib): the payload is cut into blocks of at most
 * 0xffffff bytes; each block is a 9-byte header ('Z' 'L', method 8, compressed size and uncompressed size as
 * 3-byte little-endian numbers) followed by a zlib stream. When compression does not shrink the payload, ROOT
 * stores it raw and readers recognise that by fNbytes == fKeylen + fObjlen.
 */

/** ROOT's fCompress setting: 100 * algorithm + level; zlib is algorithm 1, level 0 means uncompressed. */
export interface Compression {
  algorithm: 'zlib' | 'none';
  /** 1 (fast) … 9 (small); ignored for 'none'. */
  level: number;
}

export const ROOT_DEFAULT_COMPRESSION: Compression = { algorithm: 'zlib', level: 1 };

export function compressionSetting(compression: Compression): number {
  return compression.algorithm === 'none' || compression.level <= 0 ? 0 : 100 + compression.level;
}

const MAX_BLOCK = 0xffffff;
const HEADER = 9;

function header(target: Uint8Array, at: number, compressedSize: number, rawSize: number): void {
  target[at] = 0x5a; // Z
  target[at + 1] = 0x4c; // L
  target[at + 2] = 8; // Z_DEFLATED
  target[at + 3] = compressedSize & 0xff;
  target[at + 4] = (compressedSize >>> 8) & 0xff;
  target[at + 5] = (compressedSize >>> 16) & 0xff;
  target[at + 6] = rawSize & 0xff;
  target[at + 7] = (rawSize >>> 8) & 0xff;
  target[at + 8] = (rawSize >>> 16) & 0xff;
}

/** A compressed payload as a list of parts (block headers and zlib streams), ready to append without copying. */
export interface Packed {
  parts: Uint8Array[];
  size: number;
}

function pack(blocks: Uint8Array[], raw: Uint8Array): Packed | null {
  let size = 0;
  for (const block of blocks) size += HEADER + block.length;
  if (size >= raw.length) return null;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const block of blocks) {
    const rawSize = Math.min(MAX_BLOCK, raw.length - offset);
    const head = new Uint8Array(HEADER);
    header(head, 0, block.length, rawSize);
    parts.push(head, block);
    offset += rawSize;
  }
  return { parts, size };
}

/** Compresses `raw` as ROOT does; null means "store it uncompressed" (level 0, or no gain). */
export function rootCompressSync(raw: Uint8Array, compression: Compression): Packed | null {
  if (compressionSetting(compression) === 0 || raw.length === 0) return null;
  const blocks: Uint8Array[] = [];
  for (let offset = 0; offset < raw.length; offset += MAX_BLOCK) {
    blocks.push(
      deflateSync(raw.subarray(offset, Math.min(raw.length, offset + MAX_BLOCK)), { level: compression.level }),
    );
  }
  return pack(blocks, raw);
}

function deflateAsync(data: Uint8Array, level: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    deflate(data, { level }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** The same bytes as rootCompressSync, computed on libuv's thread pool so the caller's thread keeps working. */
export async function rootCompress(raw: Uint8Array, compression: Compression): Promise<Packed | null> {
  if (compressionSetting(compression) === 0 || raw.length === 0) return null;
  const jobs: Promise<Uint8Array>[] = [];
  for (let offset = 0; offset < raw.length; offset += MAX_BLOCK) {
    jobs.push(deflateAsync(raw.subarray(offset, Math.min(raw.length, offset + MAX_BLOCK)), compression.level));
  }
  return pack(await Promise.all(jobs), raw);
}
