import { run } from './exec.ts';

/** One block device as `lsblk --json --bytes` describes it, with its partitions and holders as children. */
export interface BlockDevice {
  name: string;
  path: string;
  type: string;
  size: number;
  rm: boolean;
  ro: boolean;
  tran: string | null;
  mountpoints: (string | null)[];
  fstype: string | null;
  hotplug: boolean;
  model: string | null;
  pkname: string | null;
  serial?: string | null;
  /** Partition table id and world-wide name: they change with the medium, not with the model. */
  ptuuid?: string | null;
  wwn?: string | null;
  /** "major:minor" of the device node. */
  'maj:min'?: string;
  children?: BlockDevice[];
}

const COLUMNS = 'NAME,PATH,TYPE,SIZE,RM,RO,TRAN,MOUNTPOINTS,FSTYPE,HOTPLUG,MODEL,PKNAME,SERIAL,MAJ:MIN,PTUUID,WWN';

/** Describes one device and everything on it (partitions, LVM, crypt, RAID holders). */
export async function describeBlockDevice(devicePath: string): Promise<BlockDevice | undefined> {
  const result = await run('lsblk', ['--json', '--bytes', '--output', COLUMNS, devicePath], {
    aptPackage: 'util-linux',
  });
  const parsed = JSON.parse(result.stdout) as { blockdevices?: BlockDevice[] };
  return parsed.blockdevices?.[0];
}

/** Flushes the kernel's buffer cache for a device, so reading it back reads the medium, not memory. */
export async function flushBuffers(devicePath: string): Promise<void> {
  await run('blockdev', ['--flushbufs', devicePath], { aptPackage: 'util-linux' });
}

/** Every disk the kernel knows (no partitions listed separately: they are children), for `openkey devices`. */
export async function listBlockDevices(): Promise<BlockDevice[]> {
  const result = await run('lsblk', ['--json', '--bytes', '--output', COLUMNS], { aptPackage: 'util-linux' });
  return (JSON.parse(result.stdout) as { blockdevices?: BlockDevice[] }).blockdevices ?? [];
}

/** Asks the kernel to read a disk's new partition table (after writing a key). */
export async function rereadPartitions(devicePath: string): Promise<void> {
  await run('blockdev', ['--rereadpt', devicePath], { aptPackage: 'util-linux' });
}
