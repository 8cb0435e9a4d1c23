/**
 * zstd for ROOT 'ZS' blocks. Decoding through fzstd (pure JS, so it runs in the bundled service): jsroot would load
 * @oneidentity/zstd-js, an emscripten build that needs __dirname and so breaks once bundled into an ES module;
 * handing jsroot this decoder instead keeps its metadata reads (TTree objects in zstd files) working in the bundle
 * too. fzstd skips a frame's content checksum, so we walk the frame ourselves and verify it (xxhash64, low 32 bits)
 * when the frame carries one. ROOT's own frames carry none; a flipped bit in those is caught only when it breaks
 * the decoding or the length.
 */
import { decompress } from 'fzstd';
import { internals } from 'jsroot/core';
import { ChecksumError } from './envelope.ts';
import { loadXxhash } from './xxhash.ts';

const MAGIC = 0xfd2fb528;

interface Frame {
  end: number;
  /** Position of the 4-byte content checksum, or -1. */
  checksumAt: number;
}

/** Finds where the zstd frame starting at `pos` ends, from its header and block headers. */
function frameAt(src: Uint8Array, pos: number): Frame {
  if (pos + 6 > src.length) throw new Error('zstd frame is truncated');
  const magic = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
  if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
    const size = (src[pos + 4]! | (src[pos + 5]! << 8) | (src[pos + 6]! << 16) | (src[pos + 7]! << 24)) >>> 0;
    return { end: pos + 8 + size, checksumAt: -1 };
  }
  if (magic !== MAGIC) throw new Error('zstd frame has a bad magic number');
  const fhd = src[pos + 4]!;
  const singleSegment = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  let p = pos + 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + [singleSegment, 2, 4, 8][fhd >> 6]!;
  for (;;) {
    if (p + 3 > src.length) throw new Error('zstd frame is truncated');
    const header = src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16);
    const type = (header >> 1) & 3;
    if (type === 3) throw new Error('zstd frame has a reserved block type');
    p += 3 + (type === 1 ? 1 : header >>> 3);
    if (header & 1) break;
  }
  const end = p + (checksum ? 4 : 0);
  if (end > src.length) throw new Error('zstd frame is truncated');
  return { end, checksumAt: checksum ? p : -1 };
}

/** Decodes the zstd frames of one ROOT block into `out` (exactly its length), verifying content checksums. */
export async function zstdInto(src: Uint8Array, out: Uint8Array): Promise<void> {
  let pos = 0;
  let written = 0;
  while (pos < src.length) {
    const frame = frameAt(src, pos);
    const data = decompress(src.subarray(pos, frame.end));
    if (written + data.length > out.length) throw new Error('zstd block is larger than its header says');
    if (frame.checksumAt >= 0) {
      const xxh = await loadXxhash();
      const want =
        (src[frame.checksumAt]! |
          (src[frame.checksumAt + 1]! << 8) |
          (src[frame.checksumAt + 2]! << 16) |
          (src[frame.checksumAt + 3]! << 24)) >>>
        0;
      const got = Number(xxh.h64Raw(data, 0n) & 0xffffffffn);
      if (got !== want) throw new ChecksumError('zstd frame checksum (xxhash64) does not match');
    }
    out.set(data, written);
    written += data.length;
    pos = frame.end;
  }
  if (written !== out.length) throw new Error(`zstd block gave ${written} bytes, expected ${out.length}`);
}

const jsroot = internals as { _ZstdStream?: { decompress(data: Uint8Array): Uint8Array } };
jsroot._ZstdStream ??= { decompress: (data: Uint8Array) => decompress(data) };
