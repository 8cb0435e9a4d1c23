/**
 * Constants of the ROOT file format that the reader and the writer share (uproot's const.py plays this part):
 * TBufferFile framing, file layout and the compression settings.
 */

/** A byte count word has this bit set; the count itself is in the low 30 bits. */
export const BYTE_COUNT_MASK = 0x40000000;
/** A class tag that introduces a new class name (followed by the name as a C string). */
export const NEW_CLASS_TAG = 0xffffffff;
/** A class tag with this bit refers to a class already written, by its offset. */
export const CLASS_MASK = 0x80000000;
/** Object and class references count from two bytes before the record start (TBufferFile's kMapOffset). */
export const MAP_OFFSET = 2;

/** Offset of the top directory record: the file header is 100 bytes. */
export const FILE_BEGIN = 100;
/** TFile::kStartBigFile: past this offset ROOT switches a record to its 64-bit form. */
export const START_BIG_FILE = 2_000_000_000;
/** A key version above this has 64-bit fSeekKey/fSeekPdir. */
export const BIG_KEY_VERSION = 1000;

/** ROOT's compression algorithms as they appear in fCompress = 100 · algorithm + level. */
export const COMPRESSION_ALGORITHM = { zlib: 1, lzma: 2, lz4: 4, zstd: 5 } as const;
export type CompressionAlgorithm = keyof typeof COMPRESSION_ALGORITHM | 'none';

export interface Compression {
  algorithm: CompressionAlgorithm;
  /** 1 (fast) … 9 (small); ignored for 'none'. */
  level: number;
}

export const ROOT_DEFAULT_COMPRESSION: Compression = { algorithm: 'zlib', level: 1 };

/** ROOT's fCompress setting: 100 · algorithm + level; 0 means uncompressed. */
export function compressionSetting(compression: Compression): number {
  if (compression.algorithm === 'none' || compression.level <= 0) return 0;
  return 100 * COMPRESSION_ALGORITHM[compression.algorithm] + compression.level;
}
