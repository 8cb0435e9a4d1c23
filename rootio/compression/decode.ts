/**
 * Decoding of ROOT's compressed payloads (the envelope is in envelope.ts), verifying every checksum the format
 * carries: zlib's adler32 (node:zlib checks it when given the whole zlib stream), LZ4's xxhash64, zstd frame
 * checksums where a frame has one, and the xz container's CRCs. Any disagreement throws: a ChecksumError when a
 * checksum fails, an Error when the data cannot be decoded at all.
 */
import { inflateRawSync, inflateSync } from 'node:zlib';
import { BLOCK_HEADER, ChecksumError, LZ4_CHECKSUM, readBlockHeader } from './envelope.ts';
import { lz4Block } from './lz4.ts';
import { lzmaInto } from './lzma.ts';
import { loadXxhash } from './xxhash.ts';
import { zstdInto } from './zstd.ts';

function inflate(stream: Uint8Array, size: number, raw: boolean): Buffer {
  const options = { chunkSize: Math.max(1024, size + 64) };
  try {
    return raw ? inflateRawSync(stream, options) : inflateSync(stream, options);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/incorrect data check/.test(message))
      throw new ChecksumError('zlib checksum (adler32) does not match', { cause: error });
    throw new Error(`zlib stream is damaged (${message})`, { cause: error });
  }
}

function zlibInto(stream: Uint8Array, out: Uint8Array, at: number, size: number, raw: boolean): void {
  const data = inflate(stream, size, raw);
  if (data.length !== size) throw new Error(`zlib block gave ${data.length} bytes, expected ${size}`);
  out.set(data, at);
}

async function lz4Into(block: Uint8Array, out: Uint8Array, at: number, size: number): Promise<void> {
  if (block.length < LZ4_CHECKSUM) throw new Error('LZ4 block is truncated');
  const xxh = await loadXxhash();
  const body = block.subarray(LZ4_CHECKSUM);
  let want = 0n;
  for (let i = 0; i < LZ4_CHECKSUM; i++) want = (want << 8n) | BigInt(block[i]!);
  if (xxh.h64Raw(body, 0n) !== want) throw new ChecksumError('LZ4 checksum (xxhash64) does not match');
  const got = lz4Block(body, out.subarray(0, at + size), at);
  if (got !== size) throw new Error(`LZ4 block gave ${got} bytes, expected ${size}`);
}

/**
 * Decompresses a payload of one or more blocks into exactly `objectLength` bytes. The common case, one zlib block,
 * inflates straight into a buffer of the exact size with no second copy.
 */
export async function decompress(src: Uint8Array, objectLength: number): Promise<Uint8Array> {
  if (src.length >= BLOCK_HEADER + 2 && src[0] === 0x5a && src[1] === 0x4c && src[2] === 8) {
    const header = readBlockHeader(src, 0);
    if (header.uncompressedSize === objectLength && BLOCK_HEADER + header.compressedSize === src.length) {
      const data = inflate(src.subarray(BLOCK_HEADER), objectLength, false);
      if (data.length !== objectLength)
        throw new Error(`zlib block gave ${data.length} bytes, expected ${objectLength}`);
      return data;
    }
  }
  const out = new Uint8Array(objectLength);
  let pos = 0;
  let written = 0;
  while (written < objectLength) {
    if (pos + BLOCK_HEADER > src.length)
      throw new Error(`compressed data ends early (${written} of ${objectLength} bytes)`);
    const { tag, method, compressedSize, uncompressedSize: size } = readBlockHeader(src, pos);
    const end = pos + BLOCK_HEADER + compressedSize;
    if (end > src.length) throw new Error('compressed block runs past the end of the basket');
    if (written + size > objectLength) throw new Error('compressed block is larger than its basket');
    const body = src.subarray(pos + BLOCK_HEADER, end);
    if (tag === 'ZL' && method === 8) zlibInto(body, out, written, size, false);
    else if (tag === 'CS' && method === 8) zlibInto(body, out, written, size, true);
    else if (tag === 'L4') await lz4Into(body, out, written, size);
    else if (tag === 'ZS') await zstdInto(body, out.subarray(written, written + size));
    else if (tag === 'XZ' && method === 0)
      await lzmaInto(src.subarray(pos, end), out.subarray(written, written + size));
    else throw new Error(`unknown compression "${tag.replace(/[^\x20-\x7e]/g, '?')}" (method ${method})`);
    written += size;
    pos = end;
  }
  if (pos !== src.length) throw new Error(`${src.length - pos} bytes follow the last compressed block`);
  return out;
}
