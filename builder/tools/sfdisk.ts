import { run } from './exec.ts';

export interface PartitionTable {
  label: string;
  partitions: { node: string; start: number; size: number; type: string; name?: string }[];
}

/** Reads the partition table of an image file (sfdisk --json). */
export async function sfdiskDump(image: string): Promise<PartitionTable> {
  const result = await run('sfdisk', ['--json', image], { aptPackage: 'fdisk' });
  return (JSON.parse(result.stdout) as { partitiontable: PartitionTable }).partitiontable;
}
