/**
 * LZMA ('XZ' blocks): ROOT writes one xz stream per block with liblzma's easy encoder and a CRC32 check. Decoding
 * is jsroot's pure-JS LZMA2 decoder (it runs in the bundled service), which ignores the xz container; we verify the
 * container ourselves: the stream header and footer CRC32s, and each block's check (CRC32, CRC64 or SHA-256) over
 * its uncompressed bytes, located through the stream's index.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { R__unzip } from 'jsroot/io';
import { BLOCK_HEADER, ChecksumError } from './envelope.ts';

const CHECK_SIZE: Record<number, number> = { 0: 0, 1: 4, 4: 8, 10: 32 };

function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function varint(b: Uint8Array, at: { pos: number }): number {
  let value = 0;
  for (let shift = 0; shift < 63; shift += 7) {
    const byte = b[at.pos++];
    if (byte === undefined) throw new ChecksumError('xz index is truncated');
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return value;
  }
  throw new ChecksumError('xz index is damaged');
}

let crc64Table: BigUint64Array | undefined;
function crc64(data: Uint8Array): bigint {
  if (crc64Table === undefined) {
    crc64Table = new BigUint64Array(256);
    for (let n = 0; n < 256; n++) {
      let c = BigInt(n);
      for (let k = 0; k < 8; k++) c = c & 1n ? 0xc96c5795d7870f42n ^ (c >> 1n) : c >> 1n;
      crc64Table[n] = c;
    }
  }
  let crc = 0xffffffffffffffffn;
  for (const byte of data) crc = crc64Table[Number((crc ^ BigInt(byte)) & 0xffn)]! ^ (crc >> 8n);
  return crc ^ 0xffffffffffffffffn;
}

function checkMatches(type: number, stored: Uint8Array, data: Uint8Array): boolean {
  if (type === 1) return crc32(data) === u32le(stored, 0);
  if (type === 4) {
    let value = 0n;
    for (let i = 7; i >= 0; i--) value = (value << 8n) | BigInt(stored[i]!);
    return crc64(data) === value;
  }
  if (type === 10) return Buffer.from(createHash('sha256').update(data).digest()).equals(stored);
  return true;
}

/** Verifies an xz stream against the bytes it decoded to; throws ChecksumError when anything disagrees. */
export function verifyXz(xz: Uint8Array, data: Uint8Array): void {
  if (xz.length < 24 || u32le(xz, 0) !== 0x587a37fd || xz[4] !== 0x5a || xz[5] !== 0)
    throw new ChecksumError('xz stream has a bad header');
  if (crc32(xz.subarray(6, 8)) !== u32le(xz, 8)) throw new ChecksumError('xz stream header checksum does not match');
  const type = xz[7]! & 0x0f;
  const checkSize = CHECK_SIZE[type];
  if (checkSize === undefined) throw new ChecksumError(`xz check type ${type} is unknown`);
  const footer = xz.length - 12;
  if (xz[footer + 10] !== 0x59 || xz[footer + 11] !== 0x5a) throw new ChecksumError('xz stream has a bad footer');
  if (crc32(xz.subarray(footer + 4, footer + 10)) !== u32le(xz, footer))
    throw new ChecksumError('xz stream footer checksum does not match');
  if (xz[footer + 8] !== xz[6] || xz[footer + 9] !== xz[7]) throw new ChecksumError('xz stream flags disagree');
  const indexSize = (u32le(xz, footer + 4) + 1) * 4;
  const indexStart = footer - indexSize;
  if (indexStart < 12 || xz[indexStart] !== 0) throw new ChecksumError('xz index is missing');
  if (crc32(xz.subarray(indexStart, footer - 4)) !== u32le(xz, footer - 4))
    throw new ChecksumError('xz index checksum does not match');
  const at = { pos: indexStart + 1 };
  const records = varint(xz, at);
  let block = 12;
  let out = 0;
  for (let r = 0; r < records; r++) {
    const unpadded = varint(xz, at);
    const size = varint(xz, at);
    // The padding sits before the check: the check ends where the padded block ends.
    const padded = Math.ceil(unpadded / 4) * 4;
    const checkAt = block + padded - checkSize;
    if (checkAt < block || out + size > data.length || checkAt + checkSize > indexStart)
      throw new ChecksumError('xz index does not match its blocks');
    if (!checkMatches(type, xz.subarray(checkAt, checkAt + checkSize), data.subarray(out, out + size)))
      throw new ChecksumError('xz block check (CRC) does not match');
    block += padded;
    out += size;
  }
  if (out !== data.length || block !== indexStart) throw new ChecksumError('xz index does not match its blocks');
}

/** Decodes one 'XZ' block (header included) into `out`. */
export async function lzmaInto(block: Uint8Array, out: Uint8Array): Promise<void> {
  const view = new DataView(block.buffer, block.byteOffset, block.length);
  const decoded = (await R__unzip(view, out.length, true)) as DataView | null;
  if (!decoded || decoded.byteLength !== out.length) throw new Error('LZMA block is damaged');
  const data = new Uint8Array(decoded.buffer, decoded.byteOffset, out.length);
  verifyXz(block.subarray(BLOCK_HEADER), data);
  out.set(data);
}
