import { readFile } from 'node:fs/promises';
import { run } from './exec.ts';
import type { SquashfsCompression } from '../manifest/types.ts';

export interface MksquashfsOptions {
  compression: SquashfsCompression;
  level?: number;
  sourceDateEpoch: number;
  /** Squash every owner to root (layers made from files the build wrote, not from dpkg). */
  allRoot?: boolean;
  signal?: AbortSignal;
  /**
   * Bytes of the source tree; with it, `onProgress` gets the share mksquashfs has read so far (from /proc/<pid>/io:
   * mksquashfs prints its own progress bar only on a terminal).
   */
  totalBytes?: number;
  onProgress?: (percent: number) => void;
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
  let timer: NodeJS.Timeout | undefined;
  const watch = (pid: number) => {
    const total = options.totalBytes;
    if (total === undefined || total <= 0 || options.onProgress === undefined) return;
    timer = setInterval(() => {
      readFile(`/proc/${pid}/io`, 'utf8').then(
        (io) => {
          const read = Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? 0);
          options.onProgress?.(Math.min(99, (read / total) * 100));
        },
        () => undefined,
      );
    }, 1000);
  };
  try {
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
        onSpawn: watch,
      },
    );
  } finally {
    if (timer !== undefined) clearInterval(timer);
  }
  options.onProgress?.(100);
}

/** Extracts a squashfs image into `dest` (used by verify-repro to name the first differing file). */
export async function unsquashfs(image: string, dest: string, signal?: AbortSignal): Promise<void> {
  await run('unsquashfs', ['-no-progress', '-quiet', '-d', dest, image], {
    aptPackage: 'squashfs-tools',
    ...(signal === undefined ? {} : { signal }),
  });
}
