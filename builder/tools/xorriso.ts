import { run } from './exec.ts';

/** The EFI system partition's GPT type GUID (C12A7328-F81F-11D2-BA4B-00A0C93EC93B) in xorriso's byte order. */
const ESP_GPT_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

export interface HybridIsoOptions {
  /** Folder whose contents become the ISO's root. */
  root: string;
  output: string;
  volumeLabel: string;
  /** BIOS El Torito core image, relative to `root` (grub-mkimage -O i386-pc-eltorito). */
  biosBootImage: string;
  /** GRUB's hybrid MBR (boot_hybrid.img) so the image also boots from a USB disk in BIOS mode. */
  biosMbr: string;
  /** FAT image holding EFI/BOOT/BOOTX64.EFI, appended as the EFI system partition. */
  efiImage: string;
  sourceDateEpoch: number;
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
}

/** "2025-11-01 00:00:00" style timestamps xorriso wants as YYYYMMDDhhmmsscc. */
export function isoTimestamp(epoch: number): string {
  const iso = new Date(epoch * 1000).toISOString();
  return iso.slice(0, 19).replace(/[-T:]/g, '') + '00';
}

/**
 * Writes a hybrid ISO: El Torito for BIOS and UEFI CDs, an MBR and a GPT with an EFI system partition so that `dd` of
 * the same file onto a USB key boots in both modes. Dates, volume UUID and GPT GUIDs derive from SOURCE_DATE_EPOCH.
 */
export async function xorrisoHybridIso(options: HybridIsoOptions): Promise<void> {
  const stamp = isoTimestamp(options.sourceDateEpoch);
  const args = [
    '-as',
    'mkisofs',
    '-iso-level',
    '3',
    '-full-iso9660-filenames',
    '-joliet',
    '-joliet-long',
    '-rational-rock',
    '-volid',
    options.volumeLabel,
    '-publisher',
    'Open Key',
    '-appid',
    'Open Key live image',
    '--modification-date=' + stamp,
    '--grub2-mbr',
    options.biosMbr,
    '-partition_offset',
    '16',
    '--mbr-force-bootable',
    '-append_partition',
    '2',
    ESP_GPT_TYPE,
    options.efiImage,
    '-appended_part_as_gpt',
    '-c',
    'boot/boot.catalog',
    '-b',
    options.biosBootImage,
    '-no-emul-boot',
    '-boot-load-size',
    '4',
    '-boot-info-table',
    '--grub2-boot-info',
    '-eltorito-alt-boot',
    '-e',
    '--interval:appended_partition_2:all::',
    '-no-emul-boot',
    '-o',
    options.output,
    options.root,
  ];
  await run('xorriso', args, {
    aptPackage: 'xorriso',
    env: { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch) },
    onLine: (line) => {
      // "xorriso : UPDATE :  42.17% done, estimate finish ..."
      const match = /UPDATE :\s+([\d.]+)% done/.exec(line);
      if (match?.[1] !== undefined) options.onProgress?.(Number(match[1]));
    },
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

/** Extracts the whole ISO filesystem into `dest` (verify-repro compares extracted trees). */
export async function osirroxExtract(iso: string, dest: string, signal?: AbortSignal): Promise<void> {
  await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', dest], {
    aptPackage: 'xorriso',
    ...(signal === undefined ? {} : { signal }),
  });
}
