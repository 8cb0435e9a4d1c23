import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { GRUB_LIB } from '../tools/grub.ts';

/**
 * GRUB for BIOS on a GPT disk: boot.img in the protective MBR, core.img in the BIOS boot partition.
 *
 * This is what grub-bios-setup does for an embedded core image; it is done here because grub-bios-setup ships only in
 * Debian's grub-pc package (whose maintainer scripts would install GRUB on the build host's own disk) and needs a
 * device, while the image is a file. Offsets are GRUB's (include/grub/i386/pc/boot.h, grub-core/boot/i386/pc/
 * diskboot.S): boot.img loads the first sector of core.img from the LBA at 0x5c; that sector's block list (the last
 * 12 bytes of the sector: start LBA, sector count, segment) loads the rest. grub-mkimage already wrote the count and
 * the segment; only the start is ours to fill.
 */
const KERNEL_SECTOR = 0x5c;
const BOOT_DRIVE = 0x64;
const DRIVE_CHECK = 0x66;
const BPB_START = 0x3;
const BPB_END = 0x5a;
/** From here on the MBR holds the disk signature and the partition table sfdisk wrote. */
const MBR_TABLE = 0x1b8;
const SECTOR = 512;
const BLOCKLIST = SECTOR - 12;
/** The protective MBR's partition entry: its status byte. */
const PMBR_STATUS = 0x1be;

export async function embedBiosGrub(options: {
  image: string;
  coreImage: string;
  biosBootLba: number;
  biosBootSectors: number;
}): Promise<void> {
  const boot = await readFile(path.join(GRUB_LIB, 'i386-pc', 'boot.img'));
  const core = await readFile(options.coreImage);
  const sectors = Math.ceil(core.length / SECTOR);
  if (sectors > options.biosBootSectors)
    throw new Error(`core.img has ${sectors} sectors, the BIOS boot partition ${options.biosBootSectors}`);
  const padded = Buffer.alloc(sectors * SECTOR);
  core.copy(padded);
  padded.writeBigUInt64LE(BigInt(options.biosBootLba + 1), BLOCKLIST);
  if (padded.readUInt16LE(BLOCKLIST + 8) !== sectors - 1)
    throw new Error(
      `core.img's block list says ${padded.readUInt16LE(BLOCKLIST + 8)} sectors, expected ${sectors - 1}`,
    );

  const handle = await open(options.image, 'r+');
  try {
    const mbr = Buffer.alloc(SECTOR);
    await handle.read(mbr, 0, SECTOR, 0);
    const code = Buffer.from(boot.subarray(0, MBR_TABLE));
    // Keep what the disk had in the BPB area (zeros from sfdisk), as grub-bios-setup does.
    mbr.copy(code, BPB_START, BPB_START, BPB_END);
    code.writeBigUInt64LE(BigInt(options.biosBootLba), KERNEL_SECTOR);
    // 0xff: use the drive number the BIOS passed; the two NOPs replace the floppy check for a hard disk.
    code[BOOT_DRIVE] = 0xff;
    code[DRIVE_CHECK] = 0x90;
    code[DRIVE_CHECK + 1] = 0x90;
    code.copy(mbr, 0);
    // Some BIOSes boot a disk only when an MBR partition is marked active: mark the protective one (UEFI ignores it).
    mbr[PMBR_STATUS] = 0x80;
    await handle.write(mbr, 0, SECTOR, 0);
    await handle.write(padded, 0, padded.length, options.biosBootLba * SECTOR);
  } finally {
    await handle.close();
  }
}
