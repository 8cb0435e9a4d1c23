/**
 * ROOT's compressed-block envelope: each block is a 9-byte header (2-letter algorithm, method byte, 3-byte
 * compressed size, 3-byte uncompressed size) followed by the payload. node:zlib inflates 'ZL' (and the old 'CS')
 * natively; LZ4 is decoded here, zstd ('ZS') by fzstd, LZMA ('XZ') by jsroot's own decoder.
 */
import { inflateRawSync } from 'node:zlib';
import { R__unzip } from 'jsroot/io';
import { zstdInto } from './zstd.ts';

const HEADER = 9;

/** LZ4 block format (no frame): sequences of literals and back-references. Returns the bytes written. */
export function lz4Block(input: Uint8Array, output: Uint8Array, outStart: number): number {
  let i = 0;
  let j = outStart;
  const n = input.length;
  while (i < n) {
    const token = input[i++]!;
    let literals = token >> 4;
    if (literals === 15) {
      let l = 255;
      while (l === 255 && i < n) {
        l = input[i++]!;
        literals += l;
      }
    }
    if (j + literals > output.length || i + literals > n) throw new Error('LZ4 block overruns its buffer');
    output.set(input.subarray(i, i + literals), j);
    i += literals;
    j += literals;
    if (i >= n) break;
    const offset = input[i]! | (input[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > j - outStart) throw new Error('LZ4 block has a bad match offset');
    let match = token & 15;
    if (match === 15) {
      let l = 255;
      while (l === 255 && i < n) {
        l = input[i++]!;
        match += l;
      }
    }
    match += 4;
    if (j + match > output.length) throw new Error('LZ4 block overruns its buffer');
    let from = j - offset;
    if (offset >= match) {
      output.copyWithin(j, from, from + match);
      j += match;
    } else {
      for (let k = 0; k < match; k++) output[j++] = output[from++]!;
    }
  }
  return j - outStart;
}

/** True when a basket payload is stored without compression. */
export function isUncompressed(compressedLength: number, objectLength: number): boolean {
  return compressedLength === objectLength;
}

/**
 * Decompresses a ROOT payload of one or more blocks into `objectLength` bytes. Synchronous for zlib and LZ4 (the
 * hot path); async only when a block needs jsroot's LZMA or zstd decoders.
 */
export async function decompress(src: Uint8Array, objectLength: number): Promise<Uint8Array> {
  // The common case, one zlib block: inflate straight into a buffer of the exact size, no second copy.
  if (src.length >= HEADER + 2 && src[0] === 0x5a && src[1] === 0x4c && src[2] === 8) {
    const csize = src[3]! | (src[4]! << 8) | (src[5]! << 16);
    const usize = src[6]! | (src[7]! << 8) | (src[8]! << 16);
    if (usize === objectLength && HEADER + csize === src.length) {
      const data = inflateRawSync(src.subarray(HEADER + 2), { chunkSize: Math.max(1024, usize + 64) });
      if (data.length !== usize) throw new Error(`zlib block gave ${data.length} bytes, expected ${usize}`);
      return data;
    }
  }
  const out = new Uint8Array(objectLength);
  let pos = 0;
  let written = 0;
  while (written < objectLength) {
    if (pos + HEADER > src.length) throw new Error(`compressed data ends early (${written} of ${objectLength} bytes)`);
    const a = src[pos]!;
    const b = src[pos + 1]!;
    const method = src[pos + 2]!;
    const csize = src[pos + 3]! | (src[pos + 4]! << 8) | (src[pos + 5]! << 16);
    const usize = src[pos + 6]! | (src[pos + 7]! << 8) | (src[pos + 8]! << 16);
    const end = pos + HEADER + csize;
    if (end > src.length) throw new Error('compressed block runs past the end of the basket');
    if (written + usize > objectLength) throw new Error('compressed block is larger than its basket');
    const tag = String.fromCharCode(a, b);
    if (tag === 'ZL' && method === 8) {
      // Skip the 2-byte zlib header; the adler32 trailer is not needed to detect damage, inflate fails on it.
      const data = inflateRawSync(src.subarray(pos + HEADER + 2, end), { chunkSize: Math.max(1024, usize + 64) });
      if (data.length !== usize) throw new Error(`zlib block gave ${data.length} bytes, expected ${usize}`);
      out.set(data, written);
    } else if (tag === 'CS' && method === 8) {
      const data = inflateRawSync(src.subarray(pos + HEADER, end), { chunkSize: Math.max(1024, usize + 64) });
      if (data.length !== usize) throw new Error(`zlib block gave ${data.length} bytes, expected ${usize}`);
      out.set(data, written);
    } else if (tag === 'L4') {
      // 8-byte xxhash64 checksum before the LZ4 block.
      const got = lz4Block(src.subarray(pos + HEADER + 8, end), out.subarray(0, written + usize), written);
      if (got !== usize) throw new Error(`LZ4 block gave ${got} bytes, expected ${usize}`);
    } else if (tag === 'ZS' && method === 1) {
      const got = zstdInto(src.subarray(pos + HEADER, end), out.subarray(written, written + usize));
      if (got !== usize) throw new Error(`zstd block gave ${got} bytes, expected ${usize}`);
    } else if (tag === 'XZ' && method === 0) {
      const block = new DataView(src.buffer, src.byteOffset + pos, end - pos);
      const view = (await R__unzip(block, usize, true)) as DataView | null;
      if (!view || view.byteLength !== usize) throw new Error('LZMA block is damaged');
      out.set(new Uint8Array(view.buffer, view.byteOffset, usize), written);
    } else {
      throw new Error(`unknown compression "${tag}" (method ${method})`);
    }
    written += usize;
    pos = end;
  }
  return out;
}
