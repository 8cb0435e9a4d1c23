import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PARTITION_NUMBER, PERSISTENCE_LABEL } from '../disk/layout.ts';
import { growPartitions } from '../disk/vm.ts';
import { OpenKeyError, isOpenKeyError } from '../../common/errors.ts';
import { debugfsCat } from '../tools/mkfs.ts';
import { describeBlockDevice, flushBuffers, rereadPartitions, type BlockDevice } from '../tools/lsblk.ts';
import { sfdiskDump } from '../tools/sfdisk.ts';
import { assessTarget } from './assess.ts';
import { fanOut } from './fan-out.ts';
import { alignedBuffer, dataRanges, diskSeqOf, type Range } from './native.ts';

export const CHUNK_BYTES = 4 * 1024 * 1024;
/** Chunks in flight: the reader runs up to this far ahead of the slowest key (32 MiB of buffers). */
const PIPELINE_CHUNKS = 8;

export interface WriteProgress {
  device: string;
  stage: 'writing' | 'verifying' | 'growing';
  done: number;
  total: number;
}

/** What the user confirmed: the same device node, medium and size must still be there when writing starts. */
export interface DeviceIdentity {
  majMin: string;
  serial: string;
  size: number;
  /** The kernel's disk sequence number: a new one for every medium attached, even on the same node. */
  diskSeq: string;
  /** Partition table id and WWN: a different key of the same model and size has different ones. */
  ptuuid: string;
  wwn: string;
}

export interface CheckedTarget {
  bytes: number;
  device: BlockDevice;
  identity: DeviceIdentity;
}

export interface WriteKeysOptions {
  image: string;
  devices: string[];
  /** From checkTarget before the confirmation prompt, by device; writing stops if a device is no longer that one. */
  confirmed?: Record<string, DeviceIdentity>;
  allowFixed: boolean;
  verify: boolean;
  /** Grow the persistence partition of an Open Key disk image to fill each key (default true). */
  grow?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: WriteProgress) => void;
}

export interface KeyResult {
  device: string;
  ok: boolean;
  /** Why it failed: the device and what went wrong, in one line. */
  reason?: string;
  bytesWritten: number;
  verified: boolean;
  /** Size of the persistence partition after growing it, when the image has one. */
  persistenceBytes?: number;
}

export interface WriteKeysResult {
  imageBytes: number;
  /** Bytes written to each key (holes skipped, clears included). */
  bytesPerKey: number;
  sha256: string;
  keys: KeyResult[];
}

async function swapDevices(): Promise<Set<string>> {
  try {
    const text = await readFile('/proc/swaps', 'utf8');
    return new Set(
      text
        .split('\n')
        .slice(1)
        .map((line) => line.split(/\s+/)[0] ?? '')
        .filter((name) => name.startsWith('/dev/')),
    );
  } catch {
    return new Set();
  }
}

async function diskSeqOfName(name: string): Promise<string> {
  return (await readFile(`/sys/class/block/${name}/diskseq`, 'utf8').catch(() => '')).trim();
}

async function identityOf(device: BlockDevice): Promise<DeviceIdentity> {
  return {
    majMin: device['maj:min'] ?? '',
    serial: (device.serial ?? '').trim(),
    size: device.size,
    diskSeq: await diskSeqOfName(device.name),
    ptuuid: device.ptuuid ?? '',
    wwn: device.wwn ?? '',
  };
}

/** Linux's dev_t encoding, as in glibc's major()/minor(). */
function majMinOf(rdev: bigint): string {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** Checks the image and the target, then refuses or returns what will be written where. */
export async function checkTarget(image: string, device: string, allowFixed: boolean): Promise<CheckedTarget> {
  const imageInfo = await stat(image).catch(() => undefined);
  if (imageInfo === undefined || !imageInfo.isFile()) {
    throw new OpenKeyError('E_WRITE_IMAGE', `image not found: ${image}`, {
      exitCode: 2,
      hint: 'give the .img or .iso that openkey build wrote to out/',
    });
  }
  const deviceInfo = await stat(device).catch(() => undefined);
  if (deviceInfo === undefined)
    throw new OpenKeyError('E_WRITE_TARGET', `no such device: ${device}`, {
      exitCode: 2,
      hint: 'lsblk lists the disks; a USB key is usually /dev/sdX',
    });
  if (!deviceInfo.isBlockDevice()) {
    throw new OpenKeyError('E_WRITE_TARGET', `${device} is not a block device`, {
      exitCode: 2,
      hint: 'write to a disk such as /dev/sdb, not to a file',
    });
  }
  const described = await describeBlockDevice(device);
  if (described === undefined)
    throw new OpenKeyError('E_WRITE_TARGET', `lsblk does not know ${device}`, { exitCode: 2 });
  const assessment = assessTarget(described, {
    imageBytes: imageInfo.size,
    allowFixed,
    swapDevices: await swapDevices(),
  });
  if (!assessment.ok) {
    throw new OpenKeyError(
      'E_WRITE_REFUSED',
      `refusing to write ${device}:\n  - ${assessment.reasons.join('\n  - ')}`,
      {
        exitCode: 1,
        hint: 'nothing was written; check the device name with lsblk',
      },
    );
  }
  return { bytes: imageInfo.size, device: described, identity: await identityOf(described) };
}

/** Errors of the writer's own checks pass through; an operating-system error becomes one line naming the device. */
function reasonOf(error: unknown, device: string, what: string): string {
  if (isOpenKeyError(error)) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  const meanings: Record<string, string> = {
    EIO: 'I/O error (EIO): the key is faulty or was unplugged',
    ENOSPC: 'no space behind the device (ENOSPC): the key holds less than it claims',
    ENODEV: 'the key is gone (ENODEV): it was unplugged',
    ENXIO: 'the key is gone (ENXIO): it was unplugged',
    EROFS: 'the key became read-only (EROFS)',
  };
  return `${device}: ${what}: ${meanings[code ?? ''] ?? code ?? String(error)}`;
}

interface Target {
  device: string;
  checked: CheckedTarget;
  handle?: FileHandle;
  failed?: string;
  written: number;
  verified: boolean;
  persistenceBytes?: number;
}

/** Opens a device for writing, exclusively, and proves that the opened node is the medium the user confirmed. */
async function openTarget(
  target: Target,
  confirmed: DeviceIdentity | undefined,
  image: string,
  allowFixed: boolean,
): Promise<void> {
  const { device } = target;
  // Re-read everything right before opening: a key swapped at the prompt has another disk sequence number, and one
  // mounted meanwhile is refused again.
  const now = (await checkTarget(image, device, allowFixed)).identity;
  const expected = confirmed ?? target.checked.identity;
  if (!sameIdentity(now, expected)) {
    throw new OpenKeyError('E_WRITE_CHANGED', `${device} is no longer the disk you confirmed; nothing was written`, {
      hint: 'a key was unplugged or swapped: run openkey write again',
    });
  }
  let handle: FileHandle;
  try {
    // O_DIRECT: the page cache would only add a copy and let the kernel's writeback, not this loop, pace the key.
    handle = await open(device, constants.O_WRONLY | constants.O_EXCL | constants.O_DIRECT);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hints: Record<string, string> = {
      EBUSY: 'something uses the device: unmount its partitions',
      EACCES: 'run as root (sudo)',
    };
    const hint = hints[code ?? ''];
    throw new OpenKeyError(
      'E_WRITE_OPEN',
      `cannot open ${device} for writing (${code})`,
      hint === undefined ? {} : { hint },
    );
  }
  // The path could name another device by now: compare the opened node and its medium's sequence number.
  const opened = majMinOf((await handle.stat({ bigint: true })).rdev);
  const seq = diskSeqOf(handle.fd);
  if (
    (expected.majMin !== '' && opened !== expected.majMin) ||
    (seq !== undefined && expected.diskSeq !== '' && seq !== expected.diskSeq)
  ) {
    await handle.close();
    throw new OpenKeyError(
      'E_WRITE_CHANGED',
      `${device} changed while it was being opened (${opened} seq ${seq ?? '?'}, expected ${expected.majMin} seq ${expected.diskSeq}); nothing was written`,
    );
  }
  target.handle = handle;
}

function sameIdentity(a: DeviceIdentity, b: DeviceIdentity): boolean {
  return (
    a.majMin === b.majMin &&
    a.serial === b.serial &&
    a.size === b.size &&
    a.diskSeq === b.diskSeq &&
    a.ptuuid === b.ptuuid &&
    a.wwn === b.wwn
  );
}

/** The ranges to write: the image's data, plus what must be cleared even where the image has a hole. */
export function writeRanges(data: Range[], imageBytes: number, partitionStarts: number[]): Range[] {
  const MiB = 1024 * 1024;
  // The start of the disk (MBR, primary GPT, old boot sectors) and of each partition (old file system signatures)
  // are written whole: holes there read as zeros, so nothing of a previous key survives where a tool probes.
  const cleared: Range[] = [{ offset: 0, bytes: Math.min(MiB, imageBytes) }];
  for (const start of partitionStarts) cleared.push({ offset: start, bytes: Math.min(MiB, imageBytes - start) });
  // The image's last MiB: its GPT backup (moved to the key's end afterwards).
  if (imageBytes > MiB) cleared.push({ offset: imageBytes - MiB, bytes: MiB });
  const all = [...data, ...cleared].filter((r) => r.bytes > 0).sort((a, b) => a.offset - b.offset);
  const merged: Range[] = [];
  for (const range of all) {
    const last = merged.at(-1);
    if (last !== undefined && range.offset <= last.offset + last.bytes) {
      last.bytes = Math.max(last.bytes, range.offset + range.bytes - last.offset);
    } else merged.push({ ...range });
  }
  return merged;
}

interface ImagePlan {
  ranges: Range[];
  total: number;
  /** The persistence partition of an Open Key image: not written, made fresh at the key's size. */
  persistence?: { offset: number; bytes: number; number: number };
  persistenceMode?: string;
  identity: string;
}

async function planImage(image: string, imageBytes: number, grow: boolean): Promise<ImagePlan> {
  const handle = await open(image, 'r');
  let data: Range[];
  try {
    data = dataRanges(handle.fd, imageBytes);
  } finally {
    await handle.close();
  }
  const table = await sfdiskDump(image).catch(() => undefined);
  const sector = table?.sectorsize ?? 512;
  const starts = (table?.partitions ?? []).map((p) => p.start * sector).filter((start) => start < imageBytes);
  const last = table?.partitions.reduce<(typeof table.partitions)[number] | undefined>(
    (best, p) => (best === undefined || p.start > best.start ? p : best),
    undefined,
  );
  let persistence: ImagePlan['persistence'];
  let persistenceMode: string | undefined;
  if (grow && table?.label === 'gpt' && last !== undefined && last.name === PERSISTENCE_LABEL) {
    const number = Number(/(\d+)$/.exec(last.node)?.[1] ?? PARTITION_NUMBER.persistence);
    persistence = { offset: last.start * sector, bytes: last.size * sector, number };
    persistenceMode = await readPersistenceMode(image, persistence.offset).catch(() => '/home union');
  }
  let ranges = writeRanges(data, imageBytes, starts);
  if (persistence !== undefined) {
    // The persistence partition is made afresh at each key's size, so the image's copy of it is not written.
    const p = persistence;
    ranges = ranges.flatMap((r) => {
      const end = r.offset + r.bytes;
      const pEnd = p.offset + p.bytes;
      if (end <= p.offset || r.offset >= pEnd) return [r];
      const parts: Range[] = [];
      if (r.offset < p.offset) parts.push({ offset: r.offset, bytes: p.offset - r.offset });
      if (end > pEnd) parts.push({ offset: pEnd, bytes: end - pEnd });
      return parts;
    });
  }
  const total = ranges.reduce((sum, r) => sum + r.bytes, 0);
  return {
    ranges,
    total,
    ...(persistence === undefined ? {} : { persistence }),
    ...(persistenceMode === undefined ? {} : { persistenceMode }),
    identity: table?.id ?? path.basename(image),
  };
}

/** The mode written in the image's persistence.conf (read with debugfs, no mount). */
async function readPersistenceMode(image: string, offset: number): Promise<string> {
  const text = await debugfsCat(image, offset, '/persistence.conf');
  const line = text.split('\n').find((l) => l.trim() !== '');
  return line?.trim() ?? '/home union';
}

/** A chunk's length rounded up to whole sectors, as O_DIRECT writes it. */
const sectorPadded = (length: number) => Math.min(Math.ceil(length / 512) * 512, CHUNK_BYTES);

async function writeAll(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) done += (await handle.write(buffer, done, length - done, position + done)).bytesWritten;
}

/**
 * Writes one image onto several keys at once: each chunk of the image is read once and written to every key still
 * going; holes are skipped (SEEK_DATA/SEEK_HOLE) except where old data must be cleared; every key is synced, read
 * back with O_DIRECT (the medium, not the page cache) and compared range by range; then an Open Key image's
 * persistence partition is grown to fill each key. A key that fails is reported with its reason; the others go on.
 */
export async function writeKeys(options: WriteKeysOptions): Promise<WriteKeysResult> {
  const unique = new Set(options.devices);
  if (unique.size !== options.devices.length)
    throw new OpenKeyError('E_USAGE', 'the same device is named twice', { exitCode: 2 });
  // Every target is checked before the first byte goes anywhere: one refusal refuses the whole run.
  const checked: Target[] = [];
  const refusals: string[] = [];
  for (const device of options.devices) {
    try {
      checked.push({
        device,
        checked: await checkTarget(options.image, device, options.allowFixed),
        written: 0,
        verified: false,
      });
    } catch (error) {
      if (options.devices.length === 1) throw error;
      refusals.push(isOpenKeyError(error) ? error.message : String(error));
    }
  }
  if (refusals.length > 0)
    throw new OpenKeyError('E_WRITE_REFUSED', refusals.join('\n'), {
      hint: 'nothing was written on any key; check the device names with openkey devices',
    });
  const imageBytes = checked[0]?.checked.bytes ?? 0;
  const plan = await planImage(options.image, imageBytes, options.grow ?? true);
  const source = await open(options.image, 'r');
  const hash = createHash('sha256');
  try {
    for (const target of checked) {
      const confirmed = options.confirmed?.[target.device];
      try {
        await openTarget(target, confirmed, options.image, options.allowFixed);
      } catch (error) {
        // Nothing is written anywhere when a key changed at the prompt.
        for (const t of checked) await t.handle?.close();
        throw error;
      }
    }
    const buffers = Array.from({ length: PIPELINE_CHUNKS }, () => alignedBuffer(CHUNK_BYTES));
    await fanOut<Target>({
      source,
      ranges: plan.ranges,
      chunkBytes: CHUNK_BYTES,
      buffers,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onRead: ({ buffer, length }) => {
        hash.update(buffer.subarray(0, length));
        // O_DIRECT writes whole sectors: an image that ends mid-sector is padded with zeros on the key.
        buffer.fill(0, length, sectorPadded(length));
      },
      consumers: checked.map((target) => ({
        key: target,
        step: async ({ buffer, length, at }) => {
          await writeAll(target.handle as FileHandle, buffer, sectorPadded(length), at);
          target.written += length;
          options.onProgress?.({ device: target.device, stage: 'writing', done: target.written, total: plan.total });
        },
      })),
      onFailure: (target, error, { at }) => {
        target.failed = reasonOf(error, target.device, `writing at byte ${at}`);
      },
    });
    const live = () => checked.filter((t) => t.failed === undefined);
    const zeros = (buffers[0] as Buffer).fill(0);
    await Promise.all(
      live().map(async (target) => {
        try {
          // The old GPT backup of a previous key sits at the key's end: cleared too (sfdisk writes the new one).
          const tail = Math.min(1024 * 1024, target.checked.device.size);
          await writeAll(target.handle as FileHandle, zeros, tail, target.checked.device.size - tail);
          await (target.handle as FileHandle).sync();
        } catch (error) {
          target.failed = reasonOf(error, target.device, 'syncing');
        }
      }),
    );
  } finally {
    for (const target of checked) {
      await target.handle?.close().catch((error: unknown) => {
        target.failed ??= reasonOf(error, target.device, 'closing');
      });
      delete target.handle;
    }
    await source.close();
  }

  if (options.verify) await verifyKeys(options, checked, plan);
  if (plan.persistence !== undefined) {
    await Promise.all(
      checked
        .filter((t) => t.failed === undefined)
        .map(async (target) => {
          try {
            options.onProgress?.({ device: target.device, stage: 'growing', done: 0, total: 1 });
            const grown = await growPartitions({
              target: target.device,
              persistenceMode: plan.persistenceMode ?? '/home union',
              identity: `${plan.identity}:${target.checked.identity.serial}:${target.checked.identity.diskSeq}`,
              workDir: tmpdir(),
              epoch: Math.floor(Date.now() / 1000),
            });
            target.persistenceBytes = grown.bytes;
            await rereadPartitions(target.device).catch(() => undefined);
            options.onProgress?.({ device: target.device, stage: 'growing', done: 1, total: 1 });
          } catch (error) {
            target.failed = reasonOf(error, target.device, 'growing the persistence partition');
          }
        }),
    );
  }
  return {
    imageBytes,
    bytesPerKey: plan.total,
    sha256: hash.digest('hex'),
    keys: checked.map((t) => ({
      device: t.device,
      ok: t.failed === undefined,
      ...(t.failed === undefined ? {} : { reason: t.failed }),
      bytesWritten: t.written,
      verified: t.verified,
      ...(t.persistenceBytes === undefined ? {} : { persistenceBytes: t.persistenceBytes }),
    })),
  };
}

/** A read-back that differs from the image (kept apart from I/O errors, which get reasonOf's wording). */
class VerifyMismatch extends Error {
  constructor(readonly at: number) {
    super(`verification mismatch at byte ${at}`);
  }
}

/** Reads every written range back from each key with O_DIRECT and compares it with the image. */
async function verifyKeys(options: WriteKeysOptions, targets: Target[], plan: ImagePlan): Promise<void> {
  const going = targets.filter((t) => t.failed === undefined);
  const readers = new Map<Target, { handle: FileHandle; buffer: Buffer }>();
  for (const target of going) {
    try {
      await flushBuffers(target.device);
      const handle = await open(target.device, constants.O_RDONLY | constants.O_DIRECT);
      readers.set(target, { handle, buffer: alignedBuffer(CHUNK_BYTES) });
    } catch (error) {
      target.failed = reasonOf(error, target.device, 'opening for verification');
    }
  }
  const source = await open(options.image, 'r');
  const checkedBytes = new Map<Target, number>();
  try {
    await fanOut<Target>({
      source,
      ranges: plan.ranges,
      chunkBytes: CHUNK_BYTES,
      buffers: Array.from({ length: PIPELINE_CHUNKS }, () => Buffer.allocUnsafe(CHUNK_BYTES)),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      consumers: [...readers].map(([target, reader]) => ({
        key: target,
        step: async ({ buffer: expected, length, at }) => {
          // O_DIRECT reads whole logical blocks: round the length up; the device is at least as large as the image.
          const readLength = Math.min(Math.ceil(length / 4096) * 4096, target.checked.device.size - at);
          let got = 0;
          while (got < readLength) {
            const { bytesRead } = await reader.handle.read(reader.buffer, got, readLength - got, at + got);
            if (bytesRead === 0) break;
            got += bytesRead;
          }
          if (got < length || reader.buffer.compare(expected, 0, length, 0, length) !== 0) throw new VerifyMismatch(at);
          const done = (checkedBytes.get(target) ?? 0) + length;
          checkedBytes.set(target, done);
          options.onProgress?.({ device: target.device, stage: 'verifying', done, total: plan.total });
        },
      })),
      onFailure: (target, error, { at }) => {
        target.failed =
          error instanceof VerifyMismatch
            ? `${target.device}: verification failed at byte ${at}: the key does not hold what was written (faulty or counterfeit key?)`
            : reasonOf(error, target.device, `reading back byte ${at}`);
      },
    });
  } finally {
    await source.close();
    for (const { handle } of readers.values()) await handle.close().catch(() => undefined);
  }
  for (const target of readers.keys()) if (target.failed === undefined) target.verified = true;
}

/** The single-key form (kept for callers with one device): throws the key's reason when it failed. */
export async function writeImage(options: {
  image: string;
  device: string;
  confirmed?: DeviceIdentity;
  allowFixed: boolean;
  verify: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: WriteProgress) => void;
}): Promise<{ bytes: number; sha256: string; verified: boolean }> {
  const result = await writeKeys({
    image: options.image,
    devices: [options.device],
    ...(options.confirmed === undefined ? {} : { confirmed: { [options.device]: options.confirmed } }),
    allowFixed: options.allowFixed,
    verify: options.verify,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  const key = result.keys[0];
  if (key === undefined || !key.ok)
    throw new OpenKeyError('E_WRITE_FAILED', key?.reason ?? 'the key failed', {
      hint: 'the key may be faulty or counterfeit (smaller than it claims); try another key',
    });
  return { bytes: result.imageBytes, sha256: result.sha256, verified: key.verified };
}
