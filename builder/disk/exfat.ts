import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';

/**
 * An exFAT file system written from a folder straight into an image file, without mounting.
 *
 * Written by hand because no tool does it: exfatprogs formats but cannot add files, the kernel would need a loop mount
 * (and the build host's kernel may have no exfat at all), and a kernel-written volume carries the build's creation and
 * access times. Here every byte follows from the tree and the epoch, so two builds give the same partition.
 * The layout is the simplest valid one (Microsoft's exFAT specification, 2019): one FAT, every file and folder in
 * contiguous clusters with its FAT chain written too, allocation bitmap, up-case table and root folder first.
 * fsck.exfat and blkid check the result in tests/image/disk.test.ts; the key boots from it through live-boot.
 */

const SECTOR = 512;
const ENTRY = 32;
const ATTR_READ_ONLY = 0x01;
const ATTR_HIDDEN = 0x02;
const ATTR_DIRECTORY = 0x10;
const ATTR_ARCHIVE = 0x20;
/** Characters exFAT forbids in a name, besides the controls 0x00-0x1F. */
const FORBIDDEN = /["*/:<>?\\|]/;

interface Node {
  name: string;
  source: string;
  directory: boolean;
  size: number;
  hidden: boolean;
  children: Node[];
  firstCluster: number;
  /** Bytes allocated: the file's size, or the folder's entries rounded up to whole clusters. */
  allocated: number;
}

export interface ExfatOptions {
  /** The image file, already as large as the volume needs. */
  image: string;
  /** Where the volume starts in the image, in bytes (a multiple of 512). */
  offset: number;
  /** Size of the volume in bytes. */
  bytes: number;
  /** The folder whose content becomes the volume's root. */
  source: string;
  label: string;
  serial: number;
  /** Every time stamp of the volume. */
  epoch: number;
  /** Top-level names shown hidden in Windows Explorer (boot files). */
  hidden?: string[];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface ExfatLayout {
  clusterBytes: number;
  fatOffset: number;
  fatLength: number;
  heapOffset: number;
  clusterCount: number;
}

/** Windows' default cluster sizes by volume size. */
export function clusterBytesFor(volumeBytes: number): number {
  if (volumeBytes <= 256 * 1024 ** 2) return 4096;
  if (volumeBytes <= 32 * 1024 ** 3) return 32 * 1024;
  return 128 * 1024;
}

/** Sectors of the boot regions, the FAT and the cluster heap for a volume of `bytes` (heap aligned to 1 MiB). */
export function exfatLayout(bytes: number): ExfatLayout {
  const clusterBytes = clusterBytesFor(bytes);
  const sectorsPerCluster = clusterBytes / SECTOR;
  const volumeSectors = Math.floor(bytes / SECTOR);
  const fatOffset = 2048;
  let clusterCount = Math.floor((volumeSectors - fatOffset) / sectorsPerCluster);
  for (;;) {
    const fatLength = Math.ceil(((clusterCount + 2) * 4) / SECTOR);
    const heapOffset = Math.ceil((fatOffset + fatLength) / 2048) * 2048;
    const fits = Math.floor((volumeSectors - heapOffset) / sectorsPerCluster);
    if (fits >= clusterCount) return { clusterBytes, fatOffset, fatLength, heapOffset, clusterCount };
    clusterCount = fits;
  }
}

/** Bytes of metadata and cluster rounding a tree needs beyond its file sizes (for sizing the partition). */
export async function exfatBytesNeeded(source: string): Promise<number> {
  const root = await readTree(source, '', new Set());
  // Sized for the largest cluster the volume may get; the caller adds its own free space.
  const clusterBytes = 32 * 1024;
  let total = 4 * 1024 ** 2 + 3 * clusterBytes + 128 * 1024;
  const walk = (node: Node) => {
    total += Math.ceil(Math.max(node.directory ? dirBytes(node) : node.size, 1) / clusterBytes) * clusterBytes;
    for (const child of node.children) walk(child);
  };
  walk(root);
  return total;
}

function checkName(name: string, where: string): void {
  if (name.length > 255 || name.length === 0 || FORBIDDEN.test(name) || [...name].some((c) => c.charCodeAt(0) < 0x20)) {
    throw new OpenKeyError('E_EXFAT_NAME', `${where}: the name ${JSON.stringify(name)} cannot be stored on exFAT`, {
      hint: 'rename it: at most 255 characters, none of " * / : < > ? \\ | or control characters',
    });
  }
}

async function readTree(source: string, name: string, hidden: ReadonlySet<string>): Promise<Node> {
  const node: Node = {
    name,
    source,
    directory: true,
    size: 0,
    hidden: hidden.has(name),
    children: [],
    firstCluster: 0,
    allocated: 0,
  };
  const entries = (await readdir(source, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const seen = new Set<string>();
  for (const entry of entries) {
    const full = path.join(source, entry.name);
    checkName(entry.name, full);
    // exFAT compares names without case: two names that differ only in case cannot both exist.
    const folded = entry.name.toUpperCase();
    if (seen.has(folded))
      throw new OpenKeyError('E_EXFAT_NAME', `${full}: another name differs from it only in case`, {
        hint: 'exFAT ignores case in names; rename one of them',
      });
    seen.add(folded);
    const info = await stat(full);
    if (info.isDirectory()) node.children.push(await readTree(full, entry.name, new Set()));
    else if (info.isFile()) {
      if (info.size > 2 ** 53) throw new OpenKeyError('E_EXFAT_SIZE', `${full} is too large`);
      node.children.push({
        name: entry.name,
        source: full,
        directory: false,
        size: info.size,
        hidden: false,
        children: [],
        firstCluster: 0,
        allocated: info.size,
      });
    }
  }
  if (name === '') for (const child of node.children) child.hidden = hidden.has(child.name);
  return node;
}

function entriesOf(node: Node): number {
  return 2 + Math.ceil(node.name.length / 15);
}

/** Bytes of a folder's directory entries, with room for the end marker. */
function dirBytes(node: Node, extra = 0): number {
  return (node.children.reduce((sum, child) => sum + entriesOf(child), 0) + extra + 1) * ENTRY;
}

/** exFAT time stamp (local date and time fields, here UTC) of a Unix time. */
function timestamp(epoch: number): number {
  const date = new Date(epoch * 1000);
  const year = Math.min(Math.max(date.getUTCFullYear(), 1980), 2107);
  return (
    (((year - 1980) << 25) |
      ((date.getUTCMonth() + 1) << 21) |
      (date.getUTCDate() << 16) |
      (date.getUTCHours() << 11) |
      (date.getUTCMinutes() << 5) |
      (date.getUTCSeconds() >> 1)) >>>
    0
  );
}

/** The up-case mapping: every UTF-16 unit to its upper case where that is one unit. */
export function upcaseTable(): Uint16Array {
  const table = new Uint16Array(65536);
  for (let unit = 0; unit < 65536; unit++) {
    if (unit >= 0xd800 && unit <= 0xdfff) {
      table[unit] = unit;
      continue;
    }
    const upper = String.fromCharCode(unit).toUpperCase();
    table[unit] = upper.length === 1 ? upper.charCodeAt(0) : unit;
  }
  return table;
}

/**
 * The table as stored: runs of units that map to themselves written as 0xFFFF and the run's length, as formatters do
 * (the uncompressed 128 KiB form is valid too, but fsck.exfat sums only the first 64 KiB of a table).
 */
export function compressedUpcase(table: Uint16Array): Buffer {
  const out: number[] = [];
  let unit = 0;
  while (unit < table.length) {
    let run = 0;
    while (unit + run < table.length && table[unit + run] === unit + run) run++;
    if (run >= 3 || (run > 0 && unit + run - 1 === 0xffff)) {
      out.push(0xffff, run);
      unit += run;
    } else {
      out.push(table[unit] ?? unit);
      unit++;
    }
  }
  const bytes = Buffer.alloc(out.length * 2);
  out.forEach((value, i) => bytes.writeUInt16LE(value, i * 2));
  return bytes;
}

function checksum32(bytes: Uint8Array, skip: (index: number) => boolean = () => false, start = 0): number {
  let sum = start;
  for (let i = 0; i < bytes.length; i++) {
    if (skip(i)) continue;
    sum = (((sum & 1) << 31) | (sum >>> 1)) + (bytes[i] ?? 0);
    sum >>>= 0;
  }
  return sum;
}

function checksum16(bytes: Uint8Array, skip: (index: number) => boolean): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (skip(i)) continue;
    sum = ((((sum & 1) << 15) | (sum >>> 1)) + (bytes[i] ?? 0)) & 0xffff;
  }
  return sum;
}

function nameHash(name: string, table: Uint16Array): number {
  let hash = 0;
  for (let i = 0; i < name.length; i++) {
    const unit = table[name.charCodeAt(i)] ?? name.charCodeAt(i);
    hash = ((((hash & 1) << 15) | (hash >>> 1)) + (unit & 0xff)) & 0xffff;
    hash = ((((hash & 1) << 15) | (hash >>> 1)) + (unit >> 8)) & 0xffff;
  }
  return hash;
}

/** The entry set of one file or folder: file, stream extension, names; with its checksum. */
function entrySet(node: Node, table: Uint16Array, time: number): Buffer {
  const names = Math.ceil(node.name.length / 15);
  const set = Buffer.alloc((2 + names) * ENTRY);
  set[0] = 0x85;
  set[1] = 1 + names;
  let attributes = node.directory ? ATTR_DIRECTORY : ATTR_ARCHIVE;
  if (node.hidden) attributes |= ATTR_HIDDEN;
  set.writeUInt16LE(attributes, 4);
  set.writeUInt32LE(time, 8);
  set.writeUInt32LE(time, 12);
  set.writeUInt32LE(time, 16);
  // UTC offset fields: bit 7 says the offset (0, UTC) is valid.
  set[22] = 0x80;
  set[23] = 0x80;
  set[24] = 0x80;
  const stream = ENTRY;
  set[stream] = 0xc0;
  // AllocationPossible; an empty file has no cluster.
  set[stream + 1] = node.allocated > 0 ? 0x01 : 0x00;
  set[stream + 3] = node.name.length;
  set.writeUInt16LE(nameHash(node.name, table), stream + 4);
  const length = node.directory ? node.allocated : node.size;
  set.writeBigUInt64LE(BigInt(length), stream + 8);
  set.writeUInt32LE(node.firstCluster, stream + 20);
  set.writeBigUInt64LE(BigInt(length), stream + 24);
  for (let i = 0; i < names; i++) {
    const at = (2 + i) * ENTRY;
    set[at] = 0xc1;
    const part = node.name.slice(i * 15, i * 15 + 15);
    for (let c = 0; c < part.length; c++) set.writeUInt16LE(part.charCodeAt(c), at + 2 + c * 2);
  }
  set.writeUInt16LE(
    checksum16(set, (i) => i === 2 || i === 3),
    2,
  );
  return set;
}

async function writeAt(handle: FileHandle, buffer: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length)
    done += (await handle.write(buffer, done, buffer.length - done, position + done)).bytesWritten;
}

function bootRegion(options: ExfatOptions, layout: ExfatLayout, rootCluster: number, usedClusters: number): Buffer {
  const region = Buffer.alloc(12 * SECTOR);
  region.set([0xeb, 0x76, 0x90], 0);
  region.write('EXFAT   ', 3, 'latin1');
  region.writeBigUInt64LE(BigInt(options.offset / SECTOR), 64);
  region.writeBigUInt64LE(BigInt(Math.floor(options.bytes / SECTOR)), 72);
  region.writeUInt32LE(layout.fatOffset, 80);
  region.writeUInt32LE(layout.fatLength, 84);
  region.writeUInt32LE(layout.heapOffset, 88);
  region.writeUInt32LE(layout.clusterCount, 92);
  region.writeUInt32LE(rootCluster, 96);
  region.writeUInt32LE(options.serial >>> 0, 100);
  region.writeUInt16LE(0x0100, 104);
  region[108] = 9;
  region[109] = Math.log2(layout.clusterBytes / SECTOR);
  region[110] = 1;
  region[111] = 0x80;
  region[112] = Math.min(100, Math.floor((usedClusters * 100) / layout.clusterCount));
  // Not bootable: a BIOS that jumps here halts.
  region.fill(0xf4, 120, 510);
  region[510] = 0x55;
  region[511] = 0xaa;
  for (let sector = 1; sector <= 8; sector++) region.writeUInt32LE(0xaa550000, sector * SECTOR + 508);
  const sum = checksum32(region.subarray(0, 11 * SECTOR), (i) => i === 106 || i === 107 || i === 112);
  for (let at = 11 * SECTOR; at < 12 * SECTOR; at += 4) region.writeUInt32LE(sum, at);
  return region;
}

/** Writes the volume; returns the bytes of file data it holds. */
export async function writeExfat(options: ExfatOptions): Promise<{ dataBytes: number; layout: ExfatLayout }> {
  if (options.offset % SECTOR !== 0) throw new Error('exFAT volume offset must be a multiple of 512');
  if (new TextEncoder().encode(options.label).length > 22 || options.label.length > 11)
    throw new OpenKeyError('E_EXFAT_LABEL', `exFAT labels have at most 11 characters: ${options.label}`);
  const layout = exfatLayout(options.bytes);
  const { clusterBytes } = layout;
  const root = await readTree(options.source, '', new Set(options.hidden ?? []));
  const table = upcaseTable();
  const tableBytes = compressedUpcase(table);
  const bitmapBytes = Math.ceil(layout.clusterCount / 8);

  // Allocation, in order: bitmap, up-case table, root folder, then each folder's entries before its files.
  let next = 2;
  const allocate = (bytes: number) => {
    const first = next;
    next += Math.ceil(bytes / clusterBytes);
    return first;
  };
  const bitmapCluster = allocate(bitmapBytes);
  const tableCluster = allocate(tableBytes.length);
  const roundUp = (bytes: number) => Math.ceil(bytes / clusterBytes) * clusterBytes;
  const files: Node[] = [];
  const place = (node: Node, extra: number) => {
    if (node.directory) {
      node.allocated = roundUp(dirBytes(node, extra));
      node.firstCluster = allocate(node.allocated);
      for (const child of node.children) place(child, 0);
    } else if (node.size > 0) {
      node.firstCluster = allocate(node.size);
      files.push(node);
    }
  };
  // The root folder also holds the label, bitmap and up-case entries.
  place(root, 3);
  const used = next - 2;
  if (used > layout.clusterCount) {
    throw new OpenKeyError(
      'E_EXFAT_FULL',
      `${options.source} needs ${used} clusters of ${clusterBytes} bytes; the partition has ${layout.clusterCount}`,
    );
  }

  const handle = await open(options.image, 'r+');
  try {
    const time = timestamp(options.epoch);
    const region = bootRegion(options, layout, root.firstCluster, used);
    await writeAt(handle, region, options.offset);
    await writeAt(handle, region, options.offset + 12 * SECTOR);

    // The FAT: media descriptor, end marker, then a contiguous chain for every allocation.
    const fat = Buffer.alloc(layout.fatLength * SECTOR);
    fat.writeUInt32LE(0xfffffff8, 0);
    fat.writeUInt32LE(0xffffffff, 4);
    const chain = (first: number, bytes: number) => {
      const count = Math.max(1, Math.ceil(bytes / clusterBytes));
      for (let i = 0; i < count; i++) fat.writeUInt32LE(i === count - 1 ? 0xffffffff : first + i + 1, (first + i) * 4);
    };
    chain(bitmapCluster, bitmapBytes);
    chain(tableCluster, tableBytes.length);
    const chainTree = (node: Node) => {
      if (node.firstCluster !== 0) chain(node.firstCluster, node.allocated);
      for (const child of node.children) chainTree(child);
    };
    chainTree(root);
    await writeAt(handle, fat, options.offset + layout.fatOffset * SECTOR);

    const clusterAt = (cluster: number) => options.offset + layout.heapOffset * SECTOR + (cluster - 2) * clusterBytes;
    const bitmap = Buffer.alloc(roundUp(bitmapBytes));
    for (let i = 0; i < used; i++) bitmap[i >> 3] = (bitmap[i >> 3] ?? 0) | (1 << (i & 7));
    await writeAt(handle, bitmap, clusterAt(bitmapCluster));
    await writeAt(handle, tableBytes, clusterAt(tableCluster));

    const writeDir = async (node: Node, isRoot: boolean) => {
      const data = Buffer.alloc(node.allocated);
      let at = 0;
      if (isRoot) {
        data[0] = 0x83;
        data[1] = options.label.length;
        for (let c = 0; c < options.label.length; c++) data.writeUInt16LE(options.label.charCodeAt(c), 2 + c * 2);
        data[32] = 0x81;
        data.writeUInt32LE(bitmapCluster, 32 + 20);
        data.writeBigUInt64LE(BigInt(bitmapBytes), 32 + 24);
        data[64] = 0x82;
        data.writeUInt32LE(checksum32(tableBytes), 64 + 4);
        data.writeUInt32LE(tableCluster, 64 + 20);
        data.writeBigUInt64LE(BigInt(tableBytes.length), 64 + 24);
        at = 96;
      }
      for (const child of node.children) {
        const set = entrySet(child, table, time);
        set.copy(data, at);
        at += set.length;
      }
      await writeAt(handle, data, clusterAt(node.firstCluster));
      for (const child of node.children) if (child.directory) await writeDir(child, false);
    };
    await writeDir(root, true);

    const total = files.reduce((sum, file) => sum + file.size, 0);
    const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
    let done = 0;
    for (const file of files) {
      options.signal?.throwIfAborted();
      const input = await open(file.source, 'r');
      try {
        let position = 0;
        while (position < file.size) {
          const { bytesRead } = await input.read(buffer, 0, Math.min(buffer.length, file.size - position), position);
          if (bytesRead === 0) throw new OpenKeyError('E_EXFAT_SOURCE', `${file.source} shrank while being copied`);
          await writeAt(handle, buffer.subarray(0, bytesRead), clusterAt(file.firstCluster) + position);
          position += bytesRead;
          done += bytesRead;
        }
      } finally {
        await input.close();
      }
      // The tail of the last cluster is zero, not whatever the image held there.
      const slack = roundUp(file.size) - file.size;
      if (slack > 0) await writeAt(handle, Buffer.alloc(slack), clusterAt(file.firstCluster) + file.size);
      options.onProgress?.(done, total);
    }
    return { dataBytes: total, layout };
  } finally {
    await handle.close();
  }
}

export const EXFAT_ATTRIBUTES = { ATTR_READ_ONLY, ATTR_HIDDEN, ATTR_DIRECTORY, ATTR_ARCHIVE };
