import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Bounds on what the loader reads, so a hostile or mistaken manifest ends in a clear problem within a second rather
 * than hanging or filling memory. A real manifest is a few kilobytes and a hundred lines; these are generous.
 */
export const LIMITS = {
  /** Bytes of one manifest file. */
  fileBytes: 256 * 1024,
  /** Lines plus flow-list commas of one file: the YAML parser's cost grows with them, checked before it runs. */
  fileItems: 10_000,
  /** Nesting of mappings and lists in one file. */
  depth: 32,
  /** Keys of one mapping. */
  mapKeys: 1_000,
  /** Items of one list. */
  listItems: 5_000,
  /** Files in one extends graph, the manifest included. */
  files: 32,
  /** Problems printed for one manifest; the rest are counted in one last line. */
  problems: 100,
} as const;

export type ReadResult =
  | { ok: true; text: string }
  | { ok: false; code: 'ENOTFILE'; kind: string }
  /** bytes: the size, or -1 when the file said 0 (as /proc files do) and more than the limit was read. */
  | { ok: false; code: 'ETOOBIG'; bytes: number }
  | { ok: false; code: 'ETOOMANY'; items: number }
  | { ok: false; code: 'ETOODEEP' }
  | { ok: false; code: 'EBINARY' }
  | { ok: false; code: string };

/** What a non-regular file is, in words. */
export function fileKind(info: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
  isSymbolicLink?(): boolean;
}): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink?.()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * Reads a manifest file without ever blocking: the open is non-blocking (a FIFO with no writer opens at once),
 * anything but a regular file is refused before a byte is read, and at most `LIMITS.fileBytes + 1` bytes are read
 * even when the size reported is 0 (as /proc files report).
 */
export async function readManifestText(file: string): Promise<ReadResult> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    return { ok: false, code: (error as NodeJS.ErrnoException).code ?? 'EIO' };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { ok: false, code: 'ENOTFILE', kind: fileKind(info) };
    if (info.size > LIMITS.fileBytes) return { ok: false, code: 'ETOOBIG', bytes: info.size };
    const buffer = Buffer.alloc(LIMITS.fileBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > LIMITS.fileBytes) return { ok: false, code: 'ETOOBIG', bytes: -1 };
    const bytes = buffer.subarray(0, length);
    // YAML is text: a NUL byte or invalid UTF-8 means a binary file was named, whose bytes must not be echoed.
    if (bytes.includes(0)) return { ok: false, code: 'EBINARY' };
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return { ok: false, code: 'EBINARY' };
    }
    // The parser's time grows with lines, flow items and flow nesting: bound them before it runs. Brackets inside
    // quoted strings count too, which no real manifest comes near.
    let items = 0;
    let depth = 0;
    let deepest = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 44) items++;
      else if (c === 91 || c === 123) deepest = Math.max(deepest, ++depth);
      else if ((c === 93 || c === 125) && depth > 0) depth--;
    }
    if (items > LIMITS.fileItems) return { ok: false, code: 'ETOOMANY', items };
    if (deepest > LIMITS.depth) return { ok: false, code: 'ETOODEEP' };
    return { ok: true, text };
  } catch (error) {
    return { ok: false, code: (error as NodeJS.ErrnoException).code ?? 'EIO' };
  } finally {
    await handle.close();
  }
}
