import { run } from './exec.ts';
import type { SquashfsCompression } from '../manifest/types.ts';

export interface MksquashfsOptions {
  compression: SquashfsCompression;
  level?: number;
  sourceDateEpoch: number;
  /** Squash every owner to root (layers made from files the build wrote, not from dpkg). */
  allRoot?: boolean;
  signal?: AbortSignal;
}

/** Levels each compressor accepts; mksquashfs refuses a level on compressors that have none. */
function compressionArgs(compression: SquashfsCompression, level: number | undefined): string[] {
  const args = ['-comp', compression];
  if (level === undefined) return args;
  if (compression === 'zstd') return [...args, '-Xcompression-level', String(Math.min(Math.max(level, 1), 22))];
  if (compression === 'gzip') return [...args, '-Xcompression-level', String(Math.min(Math.max(level, 1), 9))];
  if (compression === 'lz4' && level >= 9) return [...args, '-Xhc'];
  return args;
}

/** Squashes `source` into the file `dest` with fixed timestamps (all set to SOURCE_DATE_EPOCH), so the same tree gives the same bytes. */
export async function mksquashfs(source: string, dest: string, options: MksquashfsOptions): Promise<void> {
  const epoch = String(options.sourceDateEpoch);
  await run(
    'mksquashfs',
    [
      source,
      dest,
      '-noappend',
      '-no-progress',
      ...compressionArgs(options.compression, options.level),
      ...(options.allRoot ? ['-all-root'] : []),
      // The root inode's mode would otherwise be the temp dir's (0700), which would hide the whole tree.
      '-root-mode',
      '0755',
    ],
    {
      aptPackage: 'squashfs-tools',
      // SOURCE_DATE_EPOCH sets the creation time and every file time (mksquashfs refuses it together with
      // -mkfs-time/-all-time, so the environment is the one way, and it overrides a value the caller's shell has).
      env: { SOURCE_DATE_EPOCH: epoch },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    },
  );
}

/** Extracts a squashfs image into `dest` (used by verify-repro to name the first differing file). */
export async function unsquashfs(image: string, dest: string, signal?: AbortSignal): Promise<void> {
  await run('unsquashfs', ['-no-progress', '-quiet', '-d', dest, image], {
    aptPackage: 'squashfs-tools',
    ...(signal === undefined ? {} : { signal }),
  });
}
