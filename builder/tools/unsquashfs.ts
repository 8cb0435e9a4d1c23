import { run } from './exec.ts';

/** Extracts only the paths matching `patterns` (unsquashfs extract patterns, e.g. `usr/share/doc/*\/copyright`). */
export async function unsquashfsPaths(
  image: string,
  dest: string,
  patterns: readonly string[],
  signal?: AbortSignal,
): Promise<void> {
  await run('unsquashfs', ['-no-progress', '-quiet', '-d', dest, image, ...patterns], {
    aptPackage: 'squashfs-tools',
    ...(signal === undefined ? {} : { signal }),
  });
}
