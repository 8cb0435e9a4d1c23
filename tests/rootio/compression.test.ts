/**
 * The shared compression envelope: every algorithm round-trips through encode and decode, and every checksum the
 * format carries is verified (a changed checksum byte, or a changed data byte the checksum covers, is refused).
 */
import { describe, expect, it } from 'vitest';
import { decompress } from '../../rootio/compression/decode.ts';
import { compress, compressSync, loadEncoder, type Packed } from '../../rootio/compression/encode.ts';
import {
  BLOCK_HEADER,
  ChecksumError,
  MAX_BLOCK,
  readBlockHeader,
  writeBlockHeader,
} from '../../rootio/compression/envelope.ts';
import { loadXxhash } from '../../rootio/compression/xxhash.ts';
import type { Compression } from '../../rootio/format.ts';

/** Compressible but not trivial: a slow ramp with noise, as physics columns look. */
function sample(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    // A ramp with a noisy byte in every sixteen or so.
    out[i] = x >>> 28 === 0 ? x & 0xff : (i >> 6) & 0xff;
  }
  return out;
}

function join(packed: Packed): Uint8Array {
  const out = new Uint8Array(packed.size);
  let at = 0;
  for (const part of packed.parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const ALGORITHMS: Compression[] = [
  { algorithm: 'zlib', level: 1 },
  { algorithm: 'zlib', level: 9 },
  { algorithm: 'lz4', level: 4 },
  { algorithm: 'zstd', level: 5 },
  { algorithm: 'lzma', level: 1 },
];

describe('compression envelope, encode and decode', () => {
  for (const c of ALGORITHMS) {
    it(`${c.algorithm} level ${c.level}: round-trips, sync and async give the same bytes`, async () => {
      await loadEncoder(c);
      const raw = sample(100_000);
      const packed = compressSync(raw, c)!;
      expect(packed.size).toBeLessThan(raw.length);
      const bytes = join(packed);
      expect(Buffer.from(join((await compress(raw, c))!)).equals(Buffer.from(bytes))).toBe(true);
      const header = readBlockHeader(bytes, 0);
      expect(header.uncompressedSize).toBe(raw.length);
      expect(BLOCK_HEADER + header.compressedSize).toBe(bytes.length);
      expect(Buffer.from(await decompress(bytes, raw.length)).equals(Buffer.from(raw))).toBe(true);
    });
  }

  it('cuts payloads above 16 MiB into blocks, as ROOT does', async () => {
    const raw = sample(MAX_BLOCK + 5000, 3);
    for (const c of [ALGORITHMS[0]!, ALGORITHMS[2]!]) {
      await loadEncoder(c);
      const bytes = join(compressSync(raw, c)!);
      const first = readBlockHeader(bytes, 0);
      expect(first.uncompressedSize).toBe(MAX_BLOCK);
      expect(readBlockHeader(bytes, BLOCK_HEADER + first.compressedSize).uncompressedSize).toBe(5000);
      expect(Buffer.from(await decompress(bytes, raw.length)).equals(Buffer.from(raw))).toBe(true);
    }
  });

  it('stores incompressible data raw (null), and level 0 too', async () => {
    const noise = new Uint8Array(4096).map(() => Math.floor(Math.random() * 256));
    for (const c of ALGORITHMS) {
      await loadEncoder(c);
      expect(compressSync(noise, c), c.algorithm).toBeNull();
    }
    expect(compressSync(sample(4096), { algorithm: 'zlib', level: 0 })).toBeNull();
  });
});

async function refusal(bytes: Uint8Array, length: number): Promise<unknown> {
  try {
    await decompress(bytes, length);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('every checksum the format carries is verified', () => {
  const raw = sample(50_000, 7);

  it('zlib: a changed adler32 byte is a checksum error', async () => {
    const bytes = join(compressSync(raw, { algorithm: 'zlib', level: 1 })!);
    bytes[bytes.length - 2]! ^= 0x10;
    const error = await refusal(bytes, raw.length);
    expect(error).toBeInstanceOf(ChecksumError);
    expect((error as Error).message).toBe('zlib checksum (adler32) does not match');
  });

  it('LZ4: a changed xxhash64 byte, or a changed block byte, is a checksum error', async () => {
    await loadEncoder({ algorithm: 'lz4', level: 1 });
    const clean = join(compressSync(raw, { algorithm: 'lz4', level: 1 })!);
    for (const at of [BLOCK_HEADER + 3, BLOCK_HEADER + 8 + 100]) {
      const bytes = clean.slice();
      bytes[at]! ^= 0x01;
      const error = await refusal(bytes, raw.length);
      expect(error, `byte ${at}`).toBeInstanceOf(ChecksumError);
      expect((error as Error).message).toBe('LZ4 checksum (xxhash64) does not match');
    }
  });

  it('LZMA: a changed CRC32 of the xz block is a checksum error', async () => {
    await loadEncoder({ algorithm: 'lzma', level: 1 });
    const clean = join(compressSync(raw, { algorithm: 'lzma', level: 1 })!);
    // The block's CRC32 sits just before the index; the index is (backward size + 1) · 4 bytes before the footer.
    const footer = clean.length - 12;
    const view = new DataView(clean.buffer, clean.byteOffset, clean.length);
    const indexStart = footer - (view.getUint32(footer + 4, true) + 1) * 4;
    const bytes = clean.slice();
    bytes[indexStart - 2]! ^= 0x01;
    const error = await refusal(bytes, raw.length);
    expect(error).toBeInstanceOf(ChecksumError);
    expect((error as Error).message).toBe('xz block check (CRC) does not match');
  });

  it('zstd: a frame that carries a content checksum is verified; ROOT frames carry none', async () => {
    await loadEncoder({ algorithm: 'zstd', level: 1 });
    const plain = join(compressSync(raw, { algorithm: 'zstd', level: 1 })!);
    const frame = plain.subarray(BLOCK_HEADER);
    expect(frame[4]! & 0x04).toBe(0);
    // The same frame with its checksum flag set and the checksum (xxhash64's low 32 bits, little-endian) appended.
    const xxh = await loadXxhash();
    const sum = Number(xxh.h64Raw(raw, 0n) & 0xffffffffn);
    const withSum = new Uint8Array(plain.length + 4);
    withSum.set(plain);
    withSum[BLOCK_HEADER + 4]! |= 0x04;
    new DataView(withSum.buffer).setUint32(plain.length, sum, true);
    writeBlockHeader(withSum, 0, { ...readBlockHeader(plain, 0), compressedSize: frame.length + 4 });
    expect(Buffer.from(await decompress(withSum, raw.length)).equals(Buffer.from(raw))).toBe(true);
    withSum[withSum.length - 1]! ^= 0x80;
    const error = await refusal(withSum, raw.length);
    expect(error).toBeInstanceOf(ChecksumError);
    expect((error as Error).message).toBe('zstd frame checksum (xxhash64) does not match');
  });

  it('a block that decodes to another length, or trailing bytes, is refused', async () => {
    const bytes = join(compressSync(raw, { algorithm: 'zlib', level: 1 })!);
    expect(await refusal(bytes, raw.length + 1)).toBeInstanceOf(Error);
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect(String(await refusal(longer, raw.length))).toMatch(/follow the last compressed block/);
  });
});
