import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { linkOrCopy } from '../cache/fsutil.ts';
import { sha256File, sha256Text } from '../cache/fsutil.ts';
import { GRUB_LIB, earlyConfig, grubMkimage, type GrubFormat } from '../tools/grub.ts';
import { dependency, type StageContext, type StageDefinition } from './types.ts';

/**
 * GRUB for both media, made once per set of boot files: the core images depend only on GRUB, the modules built in
 * and the marker they search for, and the marker only on live/ (kernel, initrd, layers). So a changed doc or dataset
 * rebuilds the content, the ISO and the disk but finds this stage in the cache: no grub-mkimage, no module copies and
 * no hashing of the layers again (issue 10's content-only rebuild).
 */

/** The files of live/ on both media, from the os-layer and service-layer stages. */
export const LIVE_FILES = {
  'os-layer': ['vmlinuz', 'initrd.img', '00-os.squashfs', '05-config.squashfs'],
  'service-layer': ['10-service.squashfs'],
} as const;

/** Modules built into every core image: find the medium by its marker, read its grub.cfg, boot Linux. */
const CORE_MODULES = [
  'part_gpt',
  'part_msdos',
  'fat',
  'search',
  'search_fs_file',
  'configfile',
  'normal',
  'linux',
  'echo',
  'test',
  'serial',
  'terminal',
];
/** The ISO's file system is ISO 9660; the key's content partition is exFAT (or FAT32, in CORE_MODULES). */
export const ISO_MODULES = {
  bios: ['biosdisk', ...CORE_MODULES, 'iso9660'],
  efi: [...CORE_MODULES, 'iso9660', 'efi_gop'],
};
export const DISK_MODULES = {
  bios: ['biosdisk', ...CORE_MODULES, 'exfat'],
  efi: [...CORE_MODULES, 'exfat', 'efi_gop'],
};

/** What the stage leaves in its folder, for the iso and disk stages. */
export const BOOTLOADER = {
  /** `{ identity, isoMarker, diskMarker }` */
  identity: 'identity.json',
  /** boot/grub/i386-pc and boot/grub/x86_64-efi of both media: the modules GRUB loads from grub.cfg. */
  modules: 'modules',
  isoBios: 'iso/eltorito.img',
  isoEfi: 'iso/BOOTX64.EFI',
  diskBios: 'disk/core.img',
  diskEfi: 'disk/BOOTX64.EFI',
} as const;

export interface MediumIdentity {
  /** sha256 over live/'s file names and contents: the media's ids, serials and markers derive from it. */
  identity: string;
  /** The file under .disk/ each medium's GRUB searches for. Not the same: a VM with the ISO as a CD and the disk
   * attached boots the one it was started from. */
  isoMarker: string;
  diskMarker: string;
}

/** The identity of a medium from the bytes it boots (not from plan hashes, which also cover sources that do not
 * change a byte of the image), so GRUB finds this build's files and two identical builds stay identical. */
export async function mediumIdentity(files: Record<string, string>): Promise<MediumIdentity> {
  const names = Object.keys(files).sort();
  const digests = await Promise.all(names.map(async (name) => `${name} ${await sha256File(files[name] as string)}`));
  const identity = sha256Text(digests.join('\n'));
  return {
    identity,
    isoMarker: `openkey-${identity.slice(0, 16)}`,
    diskMarker: `openkey-disk-${identity.slice(0, 16)}`,
  };
}

/** live/'s files (name → path in the dependencies' folders) of a stage that depends on both layers. */
export function liveFiles(context: StageContext): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [stageName, names] of Object.entries(LIVE_FILES))
    for (const name of names) files[name] = path.join(dependency(context, stageName as keyof typeof LIVE_FILES), name);
  return files;
}

export async function readIdentity(bootloaderDir: string): Promise<MediumIdentity> {
  return JSON.parse(await readFile(path.join(bootloaderDir, BOOTLOADER.identity), 'utf8')) as MediumIdentity;
}

/** Links the GRUB modules and the medium's core images out of the stage's folder into a medium's tree. */
export async function linkGrubModules(bootloaderDir: string, grubDir: string): Promise<void> {
  for (const platform of ['i386-pc', 'x86_64-efi']) {
    const from = path.join(bootloaderDir, BOOTLOADER.modules, platform);
    await mkdir(path.join(grubDir, platform), { recursive: true });
    for (const name of await readdir(from)) await linkOrCopy(path.join(from, name), path.join(grubDir, platform, name));
  }
}

/** One core image with the early config that finds the medium by `marker`; the config file sits beside it. */
async function coreImage(
  output: string,
  marker: string,
  format: GrubFormat,
  modules: string[],
  signal?: AbortSignal,
): Promise<string> {
  await mkdir(path.dirname(output), { recursive: true });
  const early = `${output}.early.cfg`;
  await writeFile(early, earlyConfig(marker));
  await grubMkimage({ format, output, config: early, prefix: '/boot/grub', modules, ...(signal ? { signal } : {}) });
  await rm(early);
  return output;
}

/** The ISO's El Torito image and EFI binary, under `dir` as BOOTLOADER names them. */
export async function isoCoreImages(dir: string, marker: string, signal?: AbortSignal) {
  return {
    biosCore: await coreImage(path.join(dir, BOOTLOADER.isoBios), marker, 'i386-pc-eltorito', ISO_MODULES.bios, signal),
    efiBinary: await coreImage(path.join(dir, BOOTLOADER.isoEfi), marker, 'x86_64-efi', ISO_MODULES.efi, signal),
  };
}

/** The disk's core.img (for the BIOS boot partition) and EFI binary (for the ESP), under `dir`. */
export async function diskCoreImages(dir: string, marker: string, signal?: AbortSignal) {
  return {
    biosCore: await coreImage(path.join(dir, BOOTLOADER.diskBios), marker, 'i386-pc', DISK_MODULES.bios, signal),
    efiBinary: await coreImage(path.join(dir, BOOTLOADER.diskEfi), marker, 'x86_64-efi', DISK_MODULES.efi, signal),
  };
}

export const bootloaderStage: StageDefinition = {
  name: 'bootloader',
  async run(context) {
    context.log('hashing live/ for the media identity');
    const ids = await mediumIdentity(liveFiles(context));
    await writeFile(path.join(context.outDir, BOOTLOADER.identity), JSON.stringify(ids, null, 2) + '\n');
    for (const platform of ['i386-pc', 'x86_64-efi']) {
      const dest = path.join(context.outDir, BOOTLOADER.modules, platform);
      await mkdir(dest, { recursive: true });
      const source = path.join(GRUB_LIB, platform);
      for (const name of (await readdir(source)).sort())
        if (name.endsWith('.mod') || name.endsWith('.lst'))
          await copyFile(path.join(source, name), path.join(dest, name));
    }
    context.log('making the GRUB core images (ISO and disk, BIOS and UEFI)');
    const outputs: Record<string, number> = {};
    const made = [
      ...Object.values(await isoCoreImages(context.outDir, ids.isoMarker, context.signal)),
      ...Object.values(await diskCoreImages(context.outDir, ids.diskMarker, context.signal)),
    ];
    for (const file of made) outputs[path.relative(context.outDir, file)] = (await stat(file)).size;
    return { outputs, details: { identity: ids.identity } };
  },
};
