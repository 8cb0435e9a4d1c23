import { createHash } from 'node:crypto';

/**
 * The key's partition layout, written once: the disk stage lays the image out with it, the VM twins and
 * `openkey write` grow its last partition, the tests read it back with sfdisk. Pure: sizes in, offsets out.
 *
 * Physical order: BIOS boot (GRUB's core.img), the EFI system partition, the content partition (exFAT or FAT32,
 * label OPENKEY, Microsoft basic data, what every computer opens), the persistence partition last so it can grow to
 * the end of whatever it is written on. The content partition is entry 1 of the table: tools and older systems that
 * show only a removable disk's first partition show that one.
 */
export const MiB = 1024 * 1024;
export const SECTOR = 512;

export const GPT_TYPES = {
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  basicData: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
} as const;

export const CONTENT_LABEL = 'OPENKEY';
export const ESP_LABEL = 'OPENKEY_EFI';
export const PERSISTENCE_LABEL = 'persistence';
/** Table entry of each partition (sfdisk's -N). */
export const PARTITION_NUMBER = { content: 1, esp: 2, biosBoot: 3, persistence: 4 } as const;

export interface Extent {
  /** Bytes from the start of the disk. */
  offset: number;
  bytes: number;
}

export interface DiskLayout {
  biosBoot: Extent;
  esp: Extent;
  content: Extent;
  persistence: Extent;
  /** The whole image, with room for the GPT backup after the last partition. */
  totalBytes: number;
}

const ESP_BYTES = 64 * MiB;
/** In the image the persistence partition is small: it is grown to fill the key or the VM disk. */
export const IMAGE_PERSISTENCE_BYTES = 64 * MiB;
/** The GPT backup (33 sectors) and alignment at the end of the disk. */
const TAIL_BYTES = MiB;

const alignUp = (bytes: number, to = MiB) => Math.ceil(bytes / to) * to;

/** Free space left in the content partition for what teachers add to the key. */
export function contentFreeBytes(contentBytes: number): number {
  return Math.max(64 * MiB, alignUp(contentBytes * 0.05));
}

export function diskLayout(contentPartitionBytes: number, persistenceBytes = IMAGE_PERSISTENCE_BYTES): DiskLayout {
  const biosBoot = { offset: MiB, bytes: MiB };
  const esp = { offset: 2 * MiB, bytes: ESP_BYTES };
  const content = { offset: esp.offset + esp.bytes, bytes: alignUp(contentPartitionBytes) };
  const persistence = { offset: content.offset + content.bytes, bytes: alignUp(persistenceBytes) };
  return { biosBoot, esp, content, persistence, totalBytes: persistence.offset + persistence.bytes + TAIL_BYTES };
}

/** A GUID derived from the image's identity, so two builds of the same bytes get the same ids. */
export function derivedGuid(identity: string, what: string): string {
  const hex = createHash('sha256').update(`${identity}:${what}`).digest('hex');
  // Version 4 and variant bits set, as sfdisk and Windows expect of a GUID.
  const variant = ((Number.parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`.toUpperCase();
}

/** The sfdisk script of a layout. */
export function sfdiskScript(layout: DiskLayout, identity: string): string {
  const line = (extent: Extent, type: string, name: string) =>
    `start=${extent.offset / SECTOR}, size=${extent.bytes / SECTOR}, type=${type}, uuid=${derivedGuid(identity, name)}, name="${name}"`;
  return [
    'label: gpt',
    `label-id: ${derivedGuid(identity, 'disk')}`,
    'unit: sectors',
    'sector-size: 512',
    `first-lba: 2048`,
    line(layout.content, GPT_TYPES.basicData, CONTENT_LABEL),
    line(layout.esp, GPT_TYPES.esp, 'EFI system'),
    line(layout.biosBoot, GPT_TYPES.biosBoot, 'BIOS boot'),
    line(layout.persistence, GPT_TYPES.linux, PERSISTENCE_LABEL),
    '',
  ].join('\n');
}

/** live-boot's persistence.conf for a manifest's mode. */
export function persistenceConf(mode: string): string {
  return `${mode}\n`;
}
