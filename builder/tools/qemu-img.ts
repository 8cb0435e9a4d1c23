import { run } from './exec.ts';

export async function qemuImgConvert(
  source: string,
  dest: string,
  options: { from: 'raw' | 'qcow2'; to: 'qcow2' | 'vmdk' | 'raw'; options?: string[]; signal?: AbortSignal },
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
 * qemu-img gives every new VMDK a random content id (CID=… in the embedded descriptor); a fixed one makes the disk
 * reproducible. qemu prints the CID without leading zeros, so the descriptor text is rewritten whole with an
 * 8-digit CID, into the zero padding that follows it in the descriptor's sectors.
 */
export async function setVmdkCid(file: string, cid: number): Promise<void> {
  const { open } = await import('node:fs/promises');
  const handle = await open(file, 'r+');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const text = head.subarray(0, bytesRead).toString('latin1');
    const start = text.indexOf('# Disk DescriptorFile');
    const end = start < 0 ? -1 : text.indexOf('\0', start);
    const descriptor = start < 0 || end < 0 ? '' : text.slice(start, end);
    if (!/\nCID=[0-9a-f]{1,8}\n/.test(descriptor)) throw new Error(`${file}: no CID in the VMDK descriptor`);
    const rewritten = descriptor.replace(/\nCID=[0-9a-f]{1,8}\n/, `\nCID=${cid.toString(16).padStart(8, '0')}\n`);
    const grown = text.slice(end, start + rewritten.length);
    if (/[^\0]/.test(grown)) throw new Error(`${file}: no room after the VMDK descriptor for an 8-digit CID`);
    await handle.write(Buffer.from(rewritten, 'latin1'), 0, rewritten.length, start);
  } finally {
    await handle.close();
  }
}

/**
 * A qcow2 overlay over an image: the guest's writes land in the overlay, the image stays as built. `bytes` larger
 * than the image makes the disk bigger, as when an image is written with dd onto a larger key.
 */
export async function qemuImgOverlay(
  backing: string,
  backingFormat: 'raw' | 'qcow2' | 'vmdk',
  overlay: string,
  bytes?: number,
): Promise<void> {
  await run(
    'qemu-img',
    [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-F',
      backingFormat,
      '-b',
      backing,
      overlay,
      ...(bytes === undefined ? [] : [String(bytes)]),
    ],
    { aptPackage: 'qemu-utils' },
  );
}
