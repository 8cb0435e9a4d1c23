import { readdir } from 'node:fs/promises';
import { run } from './exec.ts';

/**
 * File systems made at an offset inside an image or a disk, without partition device nodes or mounting: mke2fs
 * with -E offset (and -d to fill it from a folder), mkfs.fat with --offset. Ids and times are fixed by the caller,
 * so the same inputs give the same bytes.
 */
export async function mkfsExt4(options: {
  target: string;
  offset: number;
  bytes: number;
  label: string;
  uuid: string;
  source?: string;
  epoch: number;
  signal?: AbortSignal;
}): Promise<void> {
  const blocks = Math.floor(options.bytes / 4096);
  await run(
    'mkfs.ext4',
    [
      '-q',
      '-F',
      '-b',
      '4096',
      '-L',
      options.label,
      '-U',
      options.uuid,
      '-E',
      `offset=${options.offset},hash_seed=${options.uuid},nodiscard,lazy_itable_init=0`,
      ...(options.source === undefined ? [] : ['-d', options.source]),
      options.target,
      String(blocks),
    ],
    {
      aptPackage: 'e2fsprogs',
      env: { E2FSPROGS_FAKE_TIME: String(options.epoch), SOURCE_DATE_EPOCH: String(options.epoch) },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    },
  );
  if (options.source !== undefined) {
    const names = (await readdir(options.source)).map((name) => `/${name}`);
    await fixInodeTimes(options.target, options.offset, ['/', '/lost+found', ...names], options.epoch);
  }
}

/**
 * mke2fs -d copies each source file's ctime (and nanoseconds), which nobody can set: the inode times of what it
 * populated are set to the epoch afterwards with debugfs, so the file system's bytes follow from its inputs.
 */
async function fixInodeTimes(target: string, offset: number, paths: string[], epoch: number): Promise<void> {
  const commands = paths.flatMap((p) =>
    ['atime', 'ctime', 'mtime', 'crtime'].flatMap((field) => [
      `set_inode_field ${p} ${field} @${epoch}`,
      `set_inode_field ${p} ${field}_extra 0`,
    ]),
  );
  await run('debugfs', ['-w', '-f', '-', `${target}?offset=${offset}`], {
    aptPackage: 'e2fsprogs',
    input: commands.join('\n') + '\n',
    env: { E2FSPROGS_FAKE_TIME: String(epoch) },
  });
}

export async function mkfsFat32(options: {
  target: string;
  offset: number;
  bytes: number;
  label: string;
  serial: number;
}): Promise<void> {
  // FAT32 needs at least 65525 clusters; mkfs.fat sizes clusters by the whole image file, not by the partition, so
  // the cluster size is chosen here (the largest up to 32 KiB that keeps the count valid).
  const sectors = Math.floor(options.bytes / 512);
  let perCluster = 64;
  while (perCluster > 1 && sectors / perCluster < 66_000) perCluster /= 2;
  await run(
    'mkfs.fat',
    [
      '-F',
      '32',
      '-s',
      String(perCluster),
      '--invariant',
      '-i',
      options.serial.toString(16).padStart(8, '0'),
      '-n',
      options.label,
      `--offset=${options.offset / 512}`,
      options.target,
      String(Math.floor(options.bytes / 1024)),
    ],
    { aptPackage: 'dosfstools' },
  );
}

/** A file of an ext4 file system at `offset` in an image, read without mounting (debugfs, image@offset syntax). */
export async function debugfsCat(image: string, offset: number, file: string): Promise<string> {
  // debugfs opens "file?offset=N" through its unix I/O manager.
  const result = await run('debugfs', ['-R', `cat ${file}`, `${image}?offset=${offset}`], { aptPackage: 'e2fsprogs' });
  return result.stdout;
}
