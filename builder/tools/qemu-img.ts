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

/**
 * qemu-img gives every new VMDK a random content id (CID=xxxxxxxx in the embedded descriptor); a fixed one makes the
 * disk reproducible. The descriptor sits in the first sectors, so only those are read and rewritten.
 */
export async function setVmdkCid(file: string, cid: number): Promise<void> {
  const { open } = await import('node:fs/promises');
  const handle = await open(file, 'r+');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const text = head.subarray(0, bytesRead).toString('latin1');
    const match = /\nCID=([0-9a-f]{8})\n/.exec(text);
    if (match === null) throw new Error(`${file}: no CID in the VMDK descriptor`);
    const at = match.index + '\nCID='.length;
    await handle.write(Buffer.from(cid.toString(16).padStart(8, '0'), 'latin1'), 0, 8, at);
  } finally {
    await handle.close();
  }
}
