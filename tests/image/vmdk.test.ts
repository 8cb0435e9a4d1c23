import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setVmdkCid } from '../../builder/tools/qemu-img.ts';

const work = mkdtempSync(path.join(tmpdir(), 'openkey-vmdk-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cidOf(file: string): string {
  return /\nCID=([0-9a-f]+)\n/.exec(readFileSync(file).subarray(0, 65536).toString('latin1'))?.[1] ?? '';
}

describe('setVmdkCid (real qemu-img)', () => {
  it('fixes the CID even when qemu wrote it with fewer than 8 digits (1 disk in 16)', async () => {
    const raw = path.join(work, 'disk.raw');
    execFileSync('truncate', ['-s', '4M', raw]);
    // Convert until qemu's random CID has a leading zero, which it prints without: the case that used to fail.
    let short = '';
    for (let attempt = 0; attempt < 200 && short === ''; attempt++) {
      const vmdk = path.join(work, `disk-${attempt}.vmdk`);
      execFileSync('qemu-img', ['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, vmdk]);
      if (cidOf(vmdk).length < 8) short = vmdk;
    }
    expect(short).not.toBe('');
    await setVmdkCid(short, 0x0badcafe);
    expect(cidOf(short)).toBe('0badcafe');
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', short], { encoding: 'utf8' })) as {
      format: string;
      'virtual-size': number;
    };
    expect(info).toMatchObject({ format: 'vmdk', 'virtual-size': 4 * 1024 * 1024 });
    execFileSync('qemu-img', ['check', short]);
  });
});
