import { run } from './exec.ts';

/**
 * FAT images for the EFI system partition, written without mounting. mtools stamps files with the current time unless
 * SOURCE_DATE_EPOCH is set, and mformat takes a fixed volume serial, so the image is reproducible.
 */
export async function mformat(
  image: string,
  options: { label: string; serial: number; sourceDateEpoch: number },
): Promise<void> {
  await run('mformat', ['-i', image, '-N', options.serial.toString(16).padStart(8, '0'), '-v', options.label, '::'], {
    aptPackage: 'mtools',
    env: { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch), MTOOLS_SKIP_CHECK: '1' },
  });
}

export async function mmd(image: string, dirs: string[], sourceDateEpoch: number): Promise<void> {
  await run('mmd', ['-i', image, ...dirs.map((d) => `::${d}`)], {
    aptPackage: 'mtools',
    env: { SOURCE_DATE_EPOCH: String(sourceDateEpoch), MTOOLS_SKIP_CHECK: '1' },
  });
}

/** Copies a host file into the image, keeping its (already normalised) modification time. */
export async function mcopy(image: string, source: string, dest: string, sourceDateEpoch: number): Promise<void> {
  await run('mcopy', ['-i', image, '-m', source, `::${dest}`], {
    aptPackage: 'mtools',
    env: { SOURCE_DATE_EPOCH: String(sourceDateEpoch), MTOOLS_SKIP_CHECK: '1' },
  });
}

/** Copies a folder's content into the root of a FAT image (`image@@offset` for one inside a disk image). */
export async function mcopyTree(image: string, source: string, sourceDateEpoch: number): Promise<void> {
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const entries = (await readdir(source)).sort().map((name) => join(source, name));
  if (entries.length === 0) return;
  await run('mcopy', ['-i', image, '-s', '-m', '-Q', ...entries, '::/'], {
    aptPackage: 'mtools',
    env: { SOURCE_DATE_EPOCH: String(sourceDateEpoch), MTOOLS_SKIP_CHECK: '1' },
  });
}
