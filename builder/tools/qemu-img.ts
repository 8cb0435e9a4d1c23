import { run } from './exec.ts';

export async function qemuImgConvert(
  source: string,
  dest: string,
  options: { from: 'raw' | 'qcow2'; to: 'qcow2' | 'vmdk'; options?: string[]; signal?: AbortSignal },
): Promise<void> {
  await run(
    'qemu-img',
    [
      'convert',
      '-f',
      options.from,
      '-O',
      options.to,
      ...(options.options ?? []).flatMap((o) => ['-o', o]),
      source,
      dest,
    ],
    { aptPackage: 'qemu-utils', ...(options.signal === undefined ? {} : { signal: options.signal }) },
  );
}

export async function qemuImgResize(image: string, size: string, format: 'qcow2' | 'raw'): Promise<void> {
  await run('qemu-img', ['resize', '-f', format, image, size], { aptPackage: 'qemu-utils' });
}

export async function qemuImgInfo(image: string): Promise<Record<string, unknown>> {
  const result = await run('qemu-img', ['info', '--output=json', image], { aptPackage: 'qemu-utils' });
  return JSON.parse(result.stdout) as Record<string, unknown>;
}
