import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { OpenKeyError } from '../../common/errors.ts';
import { describeBlockDevice, flushBuffers, type BlockDevice } from '../tools/lsblk.ts';
import { assessTarget } from './assess.ts';

export const CHUNK_BYTES = 4 * 1024 * 1024;

export interface WriteProgress {
  stage: 'writing' | 'verifying';
  done: number;
  total: number;
}

/** What the user confirmed: the same device node, medium and size must still be there when writing starts. */
export interface DeviceIdentity {
  majMin: string;
  serial: string;
  size: number;
}

export interface CheckedTarget {
  bytes: number;
  device: BlockDevice;
  identity: DeviceIdentity;
}

export interface WriteOptions {
  image: string;
  device: string;
  /** From checkTarget before the confirmation prompt; writing stops if the device is no longer that one. */
  confirmed?: DeviceIdentity;
  allowFixed: boolean;
  verify: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: WriteProgress) => void;
}

export interface WriteResult {
  bytes: number;
  sha256: string;
  verified: boolean;
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

function identityOf(device: BlockDevice): DeviceIdentity {
  return { majMin: device['maj:min'] ?? '', serial: (device.serial ?? '').trim(), size: device.size };
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
  return { bytes: imageInfo.size, device: described, identity: identityOf(described) };
}

/**
 * Copies the image onto the device in 4 MiB chunks, syncs, flushes the kernel's buffers and reads the bytes back to
 * compare their SHA-256 with the image's. The device is opened with O_EXCL: the kernel refuses it while mounted.
 */
export async function writeImage(options: WriteOptions): Promise<WriteResult> {
  const checked = await checkTarget(options.image, options.device, options.allowFixed);
  const total = checked.bytes;
  const confirmed = options.confirmed;
  if (confirmed !== undefined && JSON.stringify(checked.identity) !== JSON.stringify(confirmed)) {
    throw new OpenKeyError(
      'E_WRITE_CHANGED',
      `${options.device} is no longer the disk you confirmed; nothing was written`,
      {
        hint: 'a key was unplugged or swapped: run openkey write again',
      },
    );
  }
  const source = await open(options.image, 'r');
  let target;
  try {
    target = await open(options.device, constants.O_WRONLY | constants.O_EXCL);
  } catch (error) {
    await source.close();
    const code = (error as NodeJS.ErrnoException).code;
    const hints: Record<string, string> = {
      EBUSY: 'something uses the device: unmount its partitions',
      EACCES: 'run as root (sudo)',
    };
    const hint = hints[code ?? ''];
    throw new OpenKeyError(
      'E_WRITE_OPEN',
      `cannot open ${options.device} for writing (${code})`,
      hint === undefined ? {} : { hint },
    );
  }
  // The path could name another device by now (a key swapped on the same /dev/sdX): compare the opened node itself.
  const opened = majMinOf((await target.stat({ bigint: true })).rdev);
  if (checked.identity.majMin !== '' && opened !== checked.identity.majMin) {
    await target.close();
    await source.close();
    throw new OpenKeyError(
      'E_WRITE_CHANGED',
      `${options.device} changed while it was being opened (${opened}, expected ${checked.identity.majMin}); nothing was written`,
    );
  }
  const imageHash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let done = 0;
  try {
    while (done < total) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await source.read(buffer, 0, Math.min(CHUNK_BYTES, total - done), done);
      if (bytesRead === 0)
        throw new OpenKeyError('E_WRITE_IMAGE', `${options.image} shrank while it was being written`);
      const chunk = buffer.subarray(0, bytesRead);
      imageHash.update(chunk);
      let written = 0;
      while (written < bytesRead)
        written += (await target.write(chunk, written, bytesRead - written, done + written)).bytesWritten;
      done += bytesRead;
      options.onProgress?.({ stage: 'writing', done, total });
    }
    await target.sync();
  } finally {
    await target.close();
    await source.close();
  }
  const sha256 = imageHash.digest('hex');
  if (!options.verify) return { bytes: total, sha256, verified: false };

  await flushBuffers(options.device);
  const readBack = await open(options.device, 'r');
  const deviceHash = createHash('sha256');
  let verifiedBytes = 0;
  try {
    while (verifiedBytes < total) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await readBack.read(buffer, 0, Math.min(CHUNK_BYTES, total - verifiedBytes), verifiedBytes);
      if (bytesRead === 0) break;
      deviceHash.update(buffer.subarray(0, bytesRead));
      verifiedBytes += bytesRead;
      options.onProgress?.({ stage: 'verifying', done: verifiedBytes, total });
    }
  } finally {
    await readBack.close();
  }
  const written = deviceHash.digest('hex');
  if (verifiedBytes !== total || written !== sha256) {
    throw new OpenKeyError(
      'E_WRITE_VERIFY',
      `verification failed: ${options.device} does not hold the image (read back ${verifiedBytes} of ${total} bytes, sha256 ${written.slice(0, 16)}… ≠ ${sha256.slice(0, 16)}…)`,
      {
        hint: 'the key may be faulty or counterfeit (smaller than it claims); try another key',
      },
    );
  }
  return { bytes: total, sha256, verified: true };
}
