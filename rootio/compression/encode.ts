/**
 * Encoding of ROOT's compressed payloads, for the writer (the reader's bundle never imports this file, so none of
 * the native or WebAssembly encoders below reach the key's service). The envelope is in envelope.ts. Libraries,
 * where Node 20's zlib has no codec:
 *
 * - LZ4: lz4-napi (lz4_flex through napi-rs; maintained, prebuilt binaries per platform on npm, async on libuv's
 *   pool). Its output is one LZ4 block with the uncompressed size prepended as 4 bytes, which we drop.
 * - zstd: @hpcc-js/wasm-zstd (the reference libzstd compiled to WebAssembly, inlined, maintained with hpcc-js/wasm);
 *   fzstd, our decoder, cannot encode. Runs on the calling thread.
 * - LZMA: node-liblzma 4 (bindings to liblzma itself, the library ROOT uses, prebuilt for linux-x64 inside the
 *   package; 4.x is the last line for Node 20). @napi-rs/lzma was tried first: its xz encoder stored the data
 *   uncompressed (120 kB of repeated text gave 120 kB).
 */
import { createRequire } from 'node:module';
import { deflate, deflateSync } from 'node:zlib';
import type { Compression } from '../format.ts';
import { compressionSetting } from '../format.ts';
import { BLOCK_HEADER, BLOCK_TAG, LZ4_CHECKSUM, MAX_BLOCK, writeBlockHeader } from './envelope.ts';
import { loadXxhash, xxhashNow } from './xxhash.ts';

/** A compressed payload as a list of parts (block headers and streams), ready to append without copying. */
export interface Packed {
  parts: Uint8Array[];
  size: number;
}

interface Lz4Napi {
  compressSync(data: Buffer): Buffer;
  compress(data: Uint8Array): Promise<Buffer>;
}
interface ZstdWasm {
  compress(data: Uint8Array, level: number): Uint8Array;
}
interface Liblzma {
  xzSync(data: Buffer, options: { preset: number; check: number }): Buffer;
  xzAsync(data: Buffer, options: { preset: number; check: number }): Promise<Buffer>;
  check: { CRC32: number };
}

let lz4: Lz4Napi | undefined;
let zstd: ZstdWasm | undefined;
let lzma: Liblzma | undefined;

/** Loads what `compression` needs; call once before compressSync (compress calls it itself). */
export async function loadEncoder(compression: Compression): Promise<void> {
  switch (compression.algorithm) {
    case 'lz4':
      lz4 ??= createRequire(import.meta.url)('lz4-napi') as Lz4Napi;
      await loadXxhash();
      return;
    case 'zstd':
      zstd ??= await (await import('@hpcc-js/wasm-zstd')).Zstd.load();
      return;
    case 'lzma':
      lzma ??= (await import('node-liblzma')) as unknown as Liblzma;
      return;
    default:
      return;
  }
}

function notLoaded(name: string): never {
  throw new Error(`the ${name} encoder is not loaded (call loadEncoder first)`);
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
}

/** ROOT's level mapping per algorithm (R__zipZSTD passes 2 · level to zstd). */
function encodeSync(chunk: Uint8Array, compression: Compression): Uint8Array {
  const level = compression.level;
  switch (compression.algorithm) {
    case 'zlib':
      return deflateSync(chunk, { level });
    case 'lz4':
      return (lz4 ?? notLoaded('LZ4')).compressSync(asBuffer(chunk)).subarray(4);
    case 'zstd':
      return (zstd ?? notLoaded('zstd')).compress(chunk, 2 * level);
    case 'lzma': {
      const lib = lzma ?? notLoaded('LZMA');
      return lib.xzSync(asBuffer(chunk), { preset: level, check: lib.check.CRC32 });
    }
    case 'none':
      return chunk;
  }
}

async function encodeAsync(chunk: Uint8Array, compression: Compression): Promise<Uint8Array> {
  const level = compression.level;
  switch (compression.algorithm) {
    case 'zlib':
      return new Promise((resolve, reject) =>
        deflate(chunk, { level }, (error, result) => (error ? reject(error) : resolve(result))),
      );
    case 'lz4':
      return (await (lz4 ?? notLoaded('LZ4')).compress(chunk)).subarray(4);
    case 'lzma': {
      const lib = lzma ?? notLoaded('LZMA');
      return lib.xzAsync(asBuffer(chunk), { preset: level, check: lib.check.CRC32 });
    }
    default:
      return encodeSync(chunk, compression);
  }
}

function pack(bodies: Uint8Array[], raw: Uint8Array, compression: Compression): Packed | null {
  const algorithm = compression.algorithm;
  if (algorithm === 'none') return null;
  const { tag, method } = BLOCK_TAG[algorithm];
  const extra = algorithm === 'lz4' ? LZ4_CHECKSUM : 0;
  let size = 0;
  for (const body of bodies) size += BLOCK_HEADER + extra + body.length;
  // ROOT stores a payload raw when compressing does not make it smaller.
  if (size >= raw.length) return null;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const body of bodies) {
    const rawSize = Math.min(MAX_BLOCK, raw.length - offset);
    const head = new Uint8Array(BLOCK_HEADER + extra);
    writeBlockHeader(head, 0, { tag, method, compressedSize: extra + body.length, uncompressedSize: rawSize });
    if (extra > 0) {
      let hash = (xxhashNow() ?? notLoaded('xxhash')).h64Raw(body, 0n);
      for (let i = LZ4_CHECKSUM - 1; i >= 0; i--, hash >>= 8n) head[BLOCK_HEADER + i] = Number(hash & 0xffn);
    }
    parts.push(head, body);
    offset += rawSize;
  }
  return { parts, size };
}

function chunks(raw: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < raw.length; offset += MAX_BLOCK)
    out.push(raw.subarray(offset, Math.min(raw.length, offset + MAX_BLOCK)));
  return out;
}

/** Compresses `raw` as ROOT does; null means "store it uncompressed" (level 0, or no gain). */
export function compressSync(raw: Uint8Array, compression: Compression): Packed | null {
  if (compressionSetting(compression) === 0 || raw.length === 0) return null;
  return pack(
    chunks(raw).map((chunk) => encodeSync(chunk, compression)),
    raw,
    compression,
  );
}

/** The same bytes as compressSync, computed off the calling thread where the library can. */
export async function compress(raw: Uint8Array, compression: Compression): Promise<Packed | null> {
  if (compressionSetting(compression) === 0 || raw.length === 0) return null;
  await loadEncoder(compression);
  const bodies = await Promise.all(chunks(raw).map((chunk) => encodeAsync(chunk, compression)));
  return pack(bodies, raw, compression);
}
