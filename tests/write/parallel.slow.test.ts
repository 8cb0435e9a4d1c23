import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loopKeys, openkey } from './loop-keys.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskCoreImages } from '../../builder/stages/bootloader.ts';
import { assembleDisk } from '../../builder/disk/assemble.ts';
import { checkTarget, writeKeys } from '../../builder/write/index.ts';

// Loop devices stand in for USB keys; an Open Key disk image is made from a small tree with the real tools.
const ROOT = path.resolve(import.meta.dirname, '../..');
const work = mkdtempSync(path.join(tmpdir(), 'openkey-parallel-'));
const mounts: string[] = [];
const image = path.join(work, 'key.img');
const MiB = 1024 * 1024;
const FAILING_DISK = path.join(ROOT, 'tests/write/fixtures/failing-disk.py');

const { loops, make: loopDevice } = loopKeys(work);

function table(device: string) {
  return (
    JSON.parse(execFileSync('sfdisk', ['--json', device], { encoding: 'utf8' })) as {
      partitiontable: { lastlba: number; partitions: { start: number; size: number; name?: string }[] };
    }
  ).partitiontable;
}

function zeros(device: string, bytes = 64 * 1024): boolean {
  return execFileSync('head', ['-c', String(bytes), device]).every((byte) => byte === 0);
}

beforeAll(async () => {
  const tree = path.join(work, 'tree');
  mkdirSync(path.join(tree, 'live'), { recursive: true });
  mkdirSync(path.join(tree, 'openkey', 'datasets', 'zll'), { recursive: true });
  writeFileSync(path.join(tree, 'live', 'layer.squashfs'), randomBytes(6 * MiB));
  writeFileSync(path.join(tree, 'openkey', 'datasets', 'zll', 'zll.root'), randomBytes(3 * MiB + 17));
  writeFileSync(path.join(tree, 'START-HERE.html'), '<!doctype html><title>start</title>\n');
  const workDir = path.join(work, 'assemble');
  mkdirSync(workDir);
  await assembleDisk({
    tree,
    ...(await diskCoreImages(workDir, 'openkey-disk-test')),
    identity: 'cd'.repeat(32),
    filesystem: 'exfat',
    persistenceMode: '/home union',
    output: image,
    workDir,
    epoch: 1_700_000_000,
    signal: new AbortController().signal,
    log: () => undefined,
    progress: () => undefined,
  });
}, 60_000);

afterAll(() => {
  // Lazily: the tmpfs is busy until the loop device over it is detached.
  for (const mount of mounts) execFileSync('umount', ['--lazy', mount]);
  for (const loop of loops) execFileSync('losetup', ['-d', loop], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
});

describe('openkey write: several keys at once', () => {
  it('writes two keys from one read, skips holes, verifies both and grows each persistence partition', () => {
    const imageBytes = readFileSync(image).length;
    const a = loopDevice(400 * MiB);
    const b = loopDevice(600 * MiB);
    const result = openkey(['write', image, a, b, '--yes']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const [line, device] of [
      [lines[0], a],
      [lines[1], b],
    ] as const) {
      expect(line).toMatch(
        new RegExp(`^${device}: OK: wrote [0-9.]+ MiB of the [0-9.]+ MiB image in .*, verified, persistence`),
      );
      // Holes skipped: far less than the image is written.
      const written = Number(/wrote ([0-9.]+) MiB/.exec(line ?? '')?.[1]);
      expect(written * MiB).toBeLessThan(imageBytes / 2);
    }
    for (const [device, bytes] of [
      [a, 400 * MiB],
      [b, 600 * MiB],
    ] as const) {
      const t = table(device);
      // The GPT backup moved to the key's end and the persistence partition reaches it.
      expect(t.lastlba).toBe(bytes / 512 - 34);
      const persistence = t.partitions.find((p) => p.name === 'persistence');
      expect(persistence).toBeDefined();
      expect((persistence?.start ?? 0) + (persistence?.size ?? 0) - 1).toBe(t.lastlba);
      const conf = execFileSync(
        'debugfs',
        ['-R', 'cat /persistence.conf', `${device}?offset=${(persistence?.start ?? 0) * 512}`],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      expect(conf).toBe('/home union\n');
      const content = t.partitions.find((p) => p.name === 'OPENKEY');
      const part = execFileSync(
        'losetup',
        [
          '--find',
          '--show',
          '--read-only',
          '--offset',
          String((content?.start ?? 0) * 512),
          '--sizelimit',
          String((content?.size ?? 0) * 512),
          device,
        ],
        { encoding: 'utf8' },
      ).trim();
      loops.push(part);
      expect(execFileSync('blkid', ['-o', 'export', part], { encoding: 'utf8' })).toMatch(
        /LABEL=OPENKEY\nUUID=.*\nBLOCK_SIZE=512\nTYPE=exfat/,
      );
      expect(execFileSync('fsck.exfat', ['-n', part], { encoding: 'utf8' })).toContain('clean');
    }
  });

  it('reports the key that fails with an I/O error as FAILED, names it, and finishes the other one', async () => {
    // This kernel has no device-mapper, so no dm `error` target: a FUSE file whose bytes 40-41 MiB fail with EIO
    // (tests/write/fixtures/failing-disk.py) under a loop device is a key with bad blocks in the middle.
    const mountpoint = mkdtempSync(path.join(work, 'failing-'));
    const server = spawn(
      '/usr/bin/python3',
      [FAILING_DISK, mountpoint, path.join(work, 'failing.raw'), String(200 * MiB), String(40 * MiB), String(41 * MiB)],
      { stdio: 'inherit' },
    );
    try {
      for (let tries = 0; !existsSync(path.join(mountpoint, 'disk')); tries++) {
        if (tries > 100) throw new Error('the failing disk did not appear');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const big = path.join(work, 'big.img');
      writeFileSync(big, randomBytes(96 * MiB));
      const good = loopDevice(200 * MiB);
      const bad = execFileSync('losetup', ['--find', '--show', path.join(mountpoint, 'disk')], {
        encoding: 'utf8',
      }).trim();
      try {
        const result = openkey(['write', big, good, bad, '--yes']);
        expect(result.code).toBe(1);
        expect(result.stdout).toMatch(
          new RegExp(`^${good}: OK: wrote 96\\.0 MiB of the 96\\.0 MiB image .*verified\\n`),
        );
        // The writes are O_DIRECT, so the loop driver hands back the disk's error at the write that hit it.
        expect(result.stdout).toMatch(
          new RegExp(
            `${bad}: FAILED: ${bad}: writing at byte (\\d+): I/O error \\(EIO\\): the key is faulty or was unplugged\n`,
          ),
        );
        const at = Number(new RegExp(`${bad}: FAILED: ${bad}: writing at byte (\\d+)`).exec(result.stdout)?.[1]);
        expect(at).toBeGreaterThanOrEqual(36 * MiB);
        expect(at).toBeLessThan(41 * MiB);
        expect(result.stderr).toContain('openkey: 1 of 2 key(s) failed');
        expect(result.stderr).not.toMatch(/\n\s+at /);
        expect(execFileSync('cmp', ['-n', String(96 * MiB), big, good]).length).toBe(0);
      } finally {
        execFileSync('losetup', ['-d', bad]);
      }
    } finally {
      execFileSync('umount', [mountpoint]);
      server.kill();
    }
  });

  it('refuses the whole run before a byte is written when one key is mounted, read-only or too small', () => {
    const good = loopDevice(400 * MiB);
    const mounted = loopDevice(400 * MiB);
    execFileSync('mkfs.ext4', ['-q', '-F', mounted], { stdio: 'ignore' });
    const mountpoint = mkdtempSync(path.join(work, 'mnt-'));
    execFileSync('mount', [mounted, mountpoint]);
    mounts.push(mountpoint);
    const readOnly = loopDevice(400 * MiB, { readOnly: true });
    const tiny = loopDevice(8 * MiB);
    const result = openkey(['write', image, good, mounted, readOnly, tiny, '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${mounted} is mounted (${mounted} on ${mountpoint}); unmount it first`);
    expect(result.stderr).toContain(`${readOnly} is read-only`);
    expect(result.stderr).toContain(`${tiny} holds ${8 * MiB} bytes, the image needs`);
    expect(zeros(good)).toBe(true);
  });

  it('stops when a key was swapped at the prompt for another medium of the same size on the same node', async () => {
    const loop = loopDevice(400 * MiB);
    const { identity } = await checkTarget(image, loop, false);
    expect(identity.diskSeq).toMatch(/^[0-9]+$/);
    // Same node, same size, no serial (like two keys of one model): only the kernel's disk sequence tells them apart.
    const other = path.join(work, 'other.raw');
    execFileSync('truncate', ['-s', String(400 * MiB), other]);
    execFileSync('losetup', ['-d', loop]);
    execFileSync('losetup', [loop, other]);
    await expect(
      writeKeys({ image, devices: [loop], confirmed: { [loop]: identity }, allowFixed: false, verify: true }),
    ).rejects.toMatchObject({
      code: 'E_WRITE_CHANGED',
      message: `${loop} is no longer the disk you confirmed; nothing was written`,
    });
    expect(zeros(loop)).toBe(true);
  });
});
