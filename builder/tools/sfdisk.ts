import { run } from './exec.ts';

export interface PartitionTable {
  label: string;
  id?: string;
  device?: string;
  unit?: string;
  firstlba?: number;
  lastlba?: number;
  sectorsize?: number;
  partitions: {
    node: string;
    start: number;
    size: number;
    type: string;
    uuid?: string;
    name?: string;
    attrs?: string;
  }[];
}

/** Reads the partition table of an image file or a disk (sfdisk --json). */
export async function sfdiskDump(image: string): Promise<PartitionTable> {
  const result = await run('sfdisk', ['--json', image], { aptPackage: 'fdisk' });
  return (JSON.parse(result.stdout) as { partitiontable: PartitionTable }).partitiontable;
}

/**
 * Writes a partition table from an sfdisk script. --no-reread and --no-tell-kernel: on an image file there is no
 * kernel to tell, and on a key being written the kernel re-reads the table once at the end, not mid-write.
 */
export async function sfdiskWrite(target: string, script: string, extra: string[] = []): Promise<void> {
  await run('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', '--wipe', 'never', ...extra, target], {
    aptPackage: 'fdisk',
    input: script,
  });
}

/** Moves the GPT backup header and entries to the end of a disk that is larger than the image written on it. */
export async function sfdiskRelocateBackup(target: string): Promise<void> {
  await run('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', '--relocate', 'gpt-bak-std', target], {
    aptPackage: 'fdisk',
  });
}

/** Grows partition `number` to the end of the disk. */
export async function sfdiskGrowLast(target: string, number: number): Promise<void> {
  await run('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', '-N', String(number), target], {
    aptPackage: 'fdisk',
    input: ', +\n',
  });
}
