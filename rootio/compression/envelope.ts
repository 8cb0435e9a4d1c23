/**
 * ROOT's compressed-block envelope, the one place it is written down: a payload is cut into blocks of at most
 * 0xffffff uncompressed bytes; each block is a 9-byte header (a 2-letter algorithm tag, a method byte, the
 * compressed and the uncompressed size as 3-byte little-endian numbers) followed by the algorithm's own stream:
 *
 *   ZL 8  a zlib stream (2-byte header, deflate, adler32 trailer)       ROOT's R__zipZLIB
 *   CS 8  raw deflate, no checksum (ROOT before 2003; read only)
 *   XZ 0  an xz stream (liblzma's easy encoder, CRC32 check)            R__zipLZMA
 *   L4 v  an 8-byte big-endian xxhash64 of the LZ4 block, then the block (v = LZ4's major version)   R__zipLZ4
 *   ZS v  a zstd frame (v = zstd's major version)                       R__zipZSTD
 *
 * A payload stored raw has no envelope: readers recognise it by fNbytes == fKeylen + fObjLen.
 */
import type { CompressionAlgorithm } from '../format.ts';

export const BLOCK_HEADER = 9;
export const MAX_BLOCK = 0xffffff;
/** Bytes of the xxhash64 that precedes an LZ4 block. */
export const LZ4_CHECKSUM = 8;

export interface BlockHeader {
  tag: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
}

/** The tag and method byte each algorithm writes. */
export const BLOCK_TAG: Record<Exclude<CompressionAlgorithm, 'none'>, { tag: string; method: number }> = {
  zlib: { tag: 'ZL', method: 8 },
  lzma: { tag: 'XZ', method: 0 },
  lz4: { tag: 'L4', method: 1 },
  zstd: { tag: 'ZS', method: 1 },
};

export function readBlockHeader(src: Uint8Array, pos: number): BlockHeader {
  return {
    tag: String.fromCharCode(src[pos]!, src[pos + 1]!),
    method: src[pos + 2]!,
    compressedSize: src[pos + 3]! | (src[pos + 4]! << 8) | (src[pos + 5]! << 16),
    uncompressedSize: src[pos + 6]! | (src[pos + 7]! << 8) | (src[pos + 8]! << 16),
  };
}

export function writeBlockHeader(target: Uint8Array, at: number, header: BlockHeader): void {
  target[at] = header.tag.charCodeAt(0);
  target[at + 1] = header.tag.charCodeAt(1);
  target[at + 2] = header.method;
  for (let i = 0; i < 3; i++) {
    target[at + 3 + i] = (header.compressedSize >>> (8 * i)) & 0xff;
    target[at + 6 + i] = (header.uncompressedSize >>> (8 * i)) & 0xff;
  }
}

/** A checksum the format carries disagrees with the data. */
export class ChecksumError extends Error {}
