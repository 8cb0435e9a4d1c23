import { copyFile, mkdir, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { treeBytes } from '../cache/index.ts';
import { mkfsExt4, mkfsFat32 } from '../tools/mkfs.ts';
import { mcopy, mcopyTree, mmd } from '../tools/mtools.ts';
import { sfdiskWrite } from '../tools/sfdisk.ts';
import { embedBiosGrub } from './bios.ts';
import { exfatBytesNeeded, writeExfat } from './exfat.ts';
import {
  CONTENT_LABEL,
  ESP_LABEL,
  MiB,
  PERSISTENCE_LABEL,
  SECTOR,
  contentFreeBytes,
  derivedGuid,
  diskLayout,
  persistenceConf,
  sfdiskScript,
  type DiskLayout,
} from './layout.ts';

export type ContentFilesystem = 'exfat' | 'fat32';

export interface AssembleOptions {
  /** The content partition's tree: live/, openkey/, START-HERE.html, boot/grub/ (grub.cfg and modules), .disk/. */
  tree: string;
  /** GRUB's core images (the bootloader stage's), which find the content partition by its marker under .disk/. */
  biosCore: string;
  efiBinary: string;
  /** Derives the disk's ids and serials (the medium identity). */
  identity: string;
  filesystem: ContentFilesystem;
  persistenceMode: string;
  output: string;
  workDir: string;
  epoch: number;
  signal: AbortSignal;
  log: (message: string) => void;
  progress: (percent: number) => void;
}

/** Writes the key image: partition table, GRUB for BIOS and UEFI, the ESP, the content and persistence partitions. */
export async function assembleDisk(options: AssembleOptions): Promise<{ layout: DiskLayout; bytes: number }> {
  const contentBytes = await treeBytes(options.tree);
  const needed = (await exfatBytesNeeded(options.tree)) + contentFreeBytes(contentBytes);
  const layout = diskLayout(needed);
  const image = options.output;
  await writeFile(image, '');
  await truncate(image, layout.totalBytes);

  options.log('partition table (GPT: content, EFI system, BIOS boot, persistence)');
  await sfdiskWrite(image, sfdiskScript(layout, options.identity));

  options.log('GRUB for BIOS (BIOS boot partition) and UEFI (EFI system partition)');
  await embedBiosGrub({
    image,
    coreImage: options.biosCore,
    biosBootLba: layout.biosBoot.offset / SECTOR,
    biosBootSectors: layout.biosBoot.bytes / SECTOR,
  });
  const serial = Number.parseInt(options.identity.slice(16, 24), 16);
  await mkfsFat32({ target: image, offset: layout.esp.offset, bytes: layout.esp.bytes, label: ESP_LABEL, serial });
  const esp = `${image}@@${layout.esp.offset}`;
  await mmd(esp, ['EFI', 'EFI/BOOT'], options.epoch);
  // mcopy keeps the file's time: a copy dated at the build's epoch, so the same inputs give the same ESP bytes.
  const efi = path.join(options.workDir, 'BOOTX64.EFI');
  await copyFile(options.efiBinary, efi);
  await utimes(efi, options.epoch, options.epoch);
  await mcopy(esp, efi, 'EFI/BOOT/BOOTX64.EFI', options.epoch);

  options.log(`content partition (${options.filesystem}, ${Math.round(layout.content.bytes / MiB)} MiB)`);
  if (options.filesystem === 'exfat') {
    let lastPercent = -1;
    await writeExfat({
      image,
      offset: layout.content.offset,
      bytes: layout.content.bytes,
      source: options.tree,
      label: CONTENT_LABEL,
      serial: (serial ^ 0x5a5a5a5a) >>> 0,
      epoch: options.epoch,
      hidden: ['boot', '.disk'],
      signal: options.signal,
      onProgress: (done, total) => {
        const percent = total === 0 ? 100 : Math.floor((done * 100) / total);
        if (percent !== lastPercent) options.progress((lastPercent = percent));
      },
    });
  } else {
    await mkfsFat32({
      target: image,
      offset: layout.content.offset,
      bytes: layout.content.bytes,
      label: CONTENT_LABEL,
      serial: (serial ^ 0x5a5a5a5a) >>> 0,
    });
    await mcopyTree(`${image}@@${layout.content.offset}`, options.tree, options.epoch);
  }

  options.log(`persistence partition (ext4, ${options.persistenceMode})`);
  const persistence = path.join(options.workDir, 'persistence');
  await mkdir(persistence, { recursive: true });
  await writeFile(path.join(persistence, 'persistence.conf'), persistenceConf(options.persistenceMode));
  await utimes(path.join(persistence, 'persistence.conf'), options.epoch, options.epoch);
  await utimes(persistence, options.epoch, options.epoch);
  await mkfsExt4({
    target: image,
    offset: layout.persistence.offset,
    bytes: layout.persistence.bytes,
    label: PERSISTENCE_LABEL,
    uuid: derivedGuid(options.identity, 'persistence-fs').toLowerCase(),
    source: persistence,
    epoch: options.epoch,
    signal: options.signal,
  });
  return { layout, bytes: (await stat(image)).size };
}

/** A persistence file system filling `bytes` at `offset` of a key or VM disk (what growing means: it holds only
 * persistence.conf until the key first boots, so a fresh one equals a resized one). */
export async function freshPersistence(options: {
  target: string;
  offset: number;
  bytes: number;
  mode: string;
  uuid: string;
  workDir: string;
  epoch: number;
}): Promise<void> {
  const dir = path.join(options.workDir, `persistence-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'persistence.conf'), persistenceConf(options.mode));
  await utimes(path.join(dir, 'persistence.conf'), options.epoch, options.epoch);
  await utimes(dir, options.epoch, options.epoch);
  await mkfsExt4({
    target: options.target,
    offset: options.offset,
    bytes: options.bytes,
    label: PERSISTENCE_LABEL,
    uuid: options.uuid,
    source: dir,
    epoch: options.epoch,
  });
}
