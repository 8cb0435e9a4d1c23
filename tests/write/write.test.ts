import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loopKeys, openkey } from './loop-keys.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { checkTarget, writeImage } from '../../builder/write/index.ts';

// Real loop devices stand in for USB keys; nothing here opens a real disk for writing.
const work = mkdtempSync(path.join(tmpdir(), 'openkey-write-'));
const mounts: string[] = [];

const { loops, make: loopDevice } = loopKeys(work);

afterAll(() => {
  for (const mount of mounts) execFileSync('umount', [mount]);
  for (const loop of loops) execFileSync('losetup', ['-d', loop]);
  rmSync(work, { recursive: true, force: true });
});

describe('openkey write on loop devices', () => {
  const image = path.join(work, 'key.img');
  const imageBytes = 9 * 1024 * 1024 + 123; // not a multiple of the chunk size: the tail must be written too
  writeFileSync(image, randomBytes(imageBytes));

  it('writes the image, reads it back and reports the verified sha256', () => {
    const loop = loopDevice(32 * 1024 * 1024);
    const result = openkey(['write', image, loop, '--yes']);
    expect(result.code).toBe(0);
    const written = execFileSync('head', ['-c', String(imageBytes), loop], { maxBuffer: 64 * 1024 * 1024 });
    expect(written.equals(readFileSync(image))).toBe(true);
    const expectedHash = execFileSync('sha256sum', [image], { encoding: 'utf8' }).split(' ')[0];
    expect(result.stdout).toMatch(
      new RegExp(
        `^${loop}: OK: wrote 9\\.0 MiB of the 9\\.0 MiB image in [0-9.]+ s, sha256 ${expectedHash}, verified\\n$`,
      ),
    );
  });

  it('refuses a device smaller than the image and writes nothing', () => {
    const loop = loopDevice(4 * 1024 * 1024);
    const result = openkey(['write', image, loop, '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${loop} holds 4194304 bytes, the image needs ${imageBytes}`);
    expect(execFileSync('head', ['-c', '4096', loop]).every((byte) => byte === 0)).toBe(true);
  });

  it('refuses a disk with a mounted filesystem', () => {
    const loop = loopDevice(16 * 1024 * 1024);
    // ext4 rather than a key's usual FAT: this kernel has no vfat module, and the refusal does not depend on it.
    execFileSync('mkfs.ext4', ['-q', '-F', '-L', 'STUDENT', loop], { stdio: 'ignore' });
    const mountpoint = mkdtempSync(path.join(work, 'mnt-'));
    execFileSync('mount', [loop, mountpoint]);
    mounts.push(mountpoint);
    writeFileSync(path.join(mountpoint, 'homework.txt'), 'keep me');
    const result = openkey(['write', image, loop, '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${loop} is mounted (${loop} on ${mountpoint}); unmount it first`);
    expect(readFileSync(path.join(mountpoint, 'homework.txt'), 'utf8')).toBe('keep me');
  });

  it('refuses a partition and names the whole disk', () => {
    const loop = loopDevice(32 * 1024 * 1024, { partitions: true });
    execFileSync('sfdisk', ['--quiet', loop], { input: 'label: dos\n,,L\n' });
    execFileSync('partx', ['--update', loop]);
    const result = openkey(['write', image, `${loop}p1`, '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${loop}p1 is a partition; write to the whole disk ${loop}`);
  });

  it('refuses the disk this machine runs from, before opening it', () => {
    const rootSource = execFileSync('findmnt', ['--noheadings', '--output', 'SOURCE', '/'], {
      encoding: 'utf8',
    }).trim();
    const disk = execFileSync('lsblk', ['--noheadings', '--nodeps', '--output', 'PKNAME', rootSource], {
      encoding: 'utf8',
    }).trim();
    const systemDisk = disk ? `/dev/${disk}` : rootSource;
    const result = openkey(['write', image, systemDisk, '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${systemDisk} holds the running system`);
  });

  it('refuses a regular file and a missing image with exit 2', () => {
    expect(openkey(['write', image, image, '--yes'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('is not a block device'),
    });
    expect(openkey(['write', path.join(work, 'nope.img'), '/dev/null', '--yes'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('image not found'),
    });
  });

  it('asks for confirmation unless --yes, and refuses without a terminal', () => {
    const loop = loopDevice(32 * 1024 * 1024);
    const result = openkey(['write', image, loop]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'openkey: error[E_USAGE]: refusing to erase a disk without confirmation\n  hint: pass --yes to write without a prompt\n',
    );
  });

  it('stops before writing when the device is no longer the one confirmed (a key swapped on the same name)', async () => {
    const loop = loopDevice(32 * 1024 * 1024);
    const { identity } = await checkTarget(image, loop, false);
    expect(identity.majMin).toMatch(/^7:[0-9]+$/);
    const swapped = { ...identity, majMin: '8:16' };
    await expect(
      writeImage({ image, device: loop, allowFixed: false, verify: true, confirmed: swapped }),
    ).rejects.toMatchObject({
      code: 'E_WRITE_CHANGED',
      message: `${loop} is no longer the disk you confirmed; nothing was written`,
    });
    expect(execFileSync('head', ['-c', '4096', loop]).every((byte) => byte === 0)).toBe(true);
  });
});
