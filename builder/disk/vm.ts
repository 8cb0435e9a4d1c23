import { readFile, truncate } from 'node:fs/promises';
import path from 'node:path';
import { qemuImgConvert } from '../tools/qemu-img.ts';
import { sfdiskDump, sfdiskGrowLast, sfdiskRelocateBackup } from '../tools/sfdisk.ts';
import { freshPersistence } from './assemble.ts';
import { PARTITION_NUMBER, PERSISTENCE_LABEL, SECTOR, derivedGuid } from './layout.ts';

/**
 * The key's disk grown to `bytes`: a sparse raw copy, the GPT backup moved to the new end, the persistence partition
 * grown to it and a persistence file system made to fill it. What `openkey write` does on a key, for a VM disk.
 */
export async function growDisk(options: {
  target: string;
  bytes: number;
  persistenceMode: string;
  identity: string;
  workDir: string;
  epoch: number;
}): Promise<void> {
  await truncate(options.target, options.bytes);
  await growPartitions(options);
}

/** Grows the persistence partition of a disk (an image file or a key) to its end and makes its file system. */
export async function growPartitions(options: {
  target: string;
  persistenceMode: string;
  identity: string;
  workDir: string;
  epoch: number;
}): Promise<{ offset: number; bytes: number }> {
  await sfdiskRelocateBackup(options.target);
  await sfdiskGrowLast(options.target, PARTITION_NUMBER.persistence);
  const table = await sfdiskDump(options.target);
  const partition = table.partitions.find((p) => p.name === PERSISTENCE_LABEL);
  if (partition === undefined) throw new Error(`${options.target} has no persistence partition after growing it`);
  const extent = { offset: partition.start * SECTOR, bytes: partition.size * SECTOR };
  await freshPersistence({
    target: options.target,
    ...extent,
    mode: options.persistenceMode,
    uuid: derivedGuid(options.identity, 'persistence-fs').toLowerCase(),
    workDir: options.workDir,
    epoch: options.epoch,
  });
  return extent;
}

/** The VM twin's raw disk: the key image grown to the VM's disk size (sparse). */
export async function vmRawDisk(options: {
  diskDir: string;
  diskFile: string;
  gib: number;
  workDir: string;
  epoch: number;
  signal: AbortSignal;
}): Promise<string> {
  const layout = JSON.parse(await readFile(path.join(options.diskDir, 'layout.json'), 'utf8')) as {
    identity: string;
    persistence: string;
  };
  const raw = path.join(options.workDir, 'vm-disk.raw');
  // qemu-img writes a sparse copy: the image's holes stay holes.
  await qemuImgConvert(path.join(options.diskDir, options.diskFile), raw, {
    from: 'raw',
    to: 'raw',
    signal: options.signal,
  });
  await growDisk({
    target: raw,
    bytes: options.gib * 1024 ** 3,
    persistenceMode: layout.persistence,
    identity: layout.identity,
    workDir: options.workDir,
    epoch: options.epoch,
  });
  return raw;
}
