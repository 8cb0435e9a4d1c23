/**
 * The key's disk image, made by the disk stage's assembly from a small tree with the real tools, checked with the
 * tools a user's computer has: sfdisk --json, blkid and fsck on loop devices, a read-only FUSE mount of the content
 * partition compared byte for byte with the tree, mtools for the ESP; the same inputs give the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskCoreImages } from '../../builder/stages/bootloader.ts';
import { assembleDisk, type ContentFilesystem } from '../../builder/disk/assemble.ts';
import { GPT_TYPES } from '../../builder/disk/layout.ts';

const work = mkdtempSync(path.join(tmpdir(), 'openkey-disk-'));
const tree = path.join(work, 'tree');
const loops: string[] = [];
const mounts: string[] = [];

async function assemble(name: string, filesystem: ContentFilesystem): Promise<string> {
  const output = path.join(work, `${name}.img`);
  const workDir = path.join(work, `${name}-work`);
  mkdirSync(workDir);
  await assembleDisk({
    tree,
    ...(await diskCoreImages(workDir, 'openkey-disk-test')),
    identity: 'ef'.repeat(32),
    filesystem,
    persistenceMode: '/home union',
    output,
    workDir,
    epoch: 1_761_955_200,
    signal: new AbortController().signal,
    log: () => undefined,
    progress: () => undefined,
  });
  return output;
}

function partitions(image: string) {
  return (
    JSON.parse(execFileSync('sfdisk', ['--json', image], { encoding: 'utf8' })) as {
      partitiontable: { label: string; partitions: { start: number; size: number; type: string; name?: string }[] };
    }
  ).partitiontable;
}

function partitionLoop(image: string, name: string): string {
  const p = partitions(image).partitions.find((q) => q.name === name);
  if (p === undefined) throw new Error(`no partition ${name}`);
  const loop = execFileSync(
    'losetup',
    ['--find', '--show', '--read-only', '--offset', String(p.start * 512), '--sizelimit', String(p.size * 512), image],
    { encoding: 'utf8' },
  ).trim();
  loops.push(loop);
  return loop;
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
let exfatImage = '';

beforeAll(async () => {
  mkdirSync(path.join(tree, 'live'), { recursive: true });
  mkdirSync(path.join(tree, 'openkey', 'datasets', 'zll'), { recursive: true });
  mkdirSync(path.join(tree, 'boot', 'grub'), { recursive: true });
  mkdirSync(path.join(tree, '.disk'), { recursive: true });
  writeFileSync(path.join(tree, 'live', '00-os.squashfs'), randomBytes(5 * 1024 * 1024 + 3));
  writeFileSync(path.join(tree, 'openkey', 'datasets', 'zll', 'zll.root'), randomBytes(2 * 1024 * 1024 + 11));
  writeFileSync(path.join(tree, 'openkey', 'datasets', 'zll', 'dataset.json'), '{"title":"Z → ℓℓ"}\n');
  writeFileSync(path.join(tree, 'openkey', 'Données légères — ünïcode, longer than fifteen.txt'), 'é\n');
  writeFileSync(path.join(tree, 'START-HERE.html'), '<!doctype html><title>start</title>\n');
  writeFileSync(path.join(tree, 'boot', 'grub', 'grub.cfg'), 'set timeout=5\n');
  writeFileSync(path.join(tree, '.disk', 'openkey-disk-test'), '');
  exfatImage = await assemble('exfat', 'exfat');
}, 120_000);

afterAll(() => {
  if (process.env.OPENKEY_KEEP) return;
  for (const mount of mounts) execFileSync('umount', ['--lazy', mount]);
  for (const loop of loops) execFileSync('losetup', ['-d', loop], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
});

describe('the key disk image', () => {
  it('has a GPT with the BIOS boot, EFI system, basic-data content and persistence partitions', () => {
    const table = partitions(exfatImage);
    expect(table.label).toBe('gpt');
    expect(table.partitions.map((p) => [p.name, p.type])).toEqual([
      ['OPENKEY', GPT_TYPES.basicData],
      ['EFI system', GPT_TYPES.esp],
      ['BIOS boot', GPT_TYPES.biosBoot],
      ['persistence', GPT_TYPES.linux],
    ]);
    // GRUB's boot.img in the protective MBR points at core.img in the BIOS boot partition.
    const mbr = readFileSync(exfatImage).subarray(0, 512);
    const biosBoot = table.partitions.find((p) => p.name === 'BIOS boot');
    expect(mbr.readBigUInt64LE(0x5c)).toBe(BigInt(biosBoot?.start ?? -1));
    expect(mbr.readUInt16LE(510)).toBe(0xaa55);
  });

  it('shows exFAT labelled OPENKEY and ext4 labelled persistence to blkid, both clean for fsck', () => {
    const content = partitionLoop(exfatImage, 'OPENKEY');
    expect(execFileSync('blkid', ['-o', 'export', content], { encoding: 'utf8' })).toMatch(
      /LABEL=OPENKEY\n[\s\S]*TYPE=exfat/,
    );
    expect(execFileSync('fsck.exfat', ['-n', content], { encoding: 'utf8' })).toMatch(/clean\. directories 8, files 7/);
    const persistence = partitionLoop(exfatImage, 'persistence');
    expect(execFileSync('blkid', ['-o', 'export', persistence], { encoding: 'utf8' })).toMatch(
      /LABEL=persistence\n[\s\S]*TYPE=ext4/,
    );
    execFileSync('e2fsck', ['-fn', persistence], { stdio: 'pipe' });
    const conf = execFileSync('debugfs', ['-R', 'cat /persistence.conf', persistence], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(conf).toBe('/home union\n');
  });

  it('holds the tree byte for byte in the content partition (a read-only mount on the host)', () => {
    const content = partitionLoop(exfatImage, 'OPENKEY');
    const mountpoint = path.join(work, 'mnt');
    mkdirSync(mountpoint);
    execFileSync('mount.exfat-fuse', ['-o', 'ro', content, mountpoint]);
    mounts.push(mountpoint);
    execFileSync('diff', ['-r', tree, mountpoint]);
    expect(readFileSync(path.join(mountpoint, 'START-HERE.html'), 'utf8')).toContain('<title>start</title>');
  });

  it('puts GRUB for UEFI on the FAT32 EFI system partition', () => {
    const table = partitions(exfatImage);
    const esp = table.partitions.find((p) => p.name === 'EFI system');
    const listing = execFileSync('mdir', ['-b', '-i', `${exfatImage}@@${(esp?.start ?? 0) * 512}`, '::EFI/BOOT'], {
      encoding: 'utf8',
      env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
    });
    expect(listing.trim()).toBe('::/EFI/BOOT/BOOTX64.EFI');
    expect(
      execFileSync('blkid', ['-o', 'export', partitionLoop(exfatImage, 'EFI system')], { encoding: 'utf8' }),
    ).toMatch(/LABEL=OPENKEY_EFI\n[\s\S]*TYPE=vfat/);
  });

  it('gives the same bytes for the same inputs (exFAT and FAT32)', async () => {
    expect(sha(await assemble('exfat-again', 'exfat'))).toBe(sha(exfatImage));
    const fat = await assemble('fat32', 'fat32');
    expect(sha(await assemble('fat32-again', 'fat32'))).toBe(sha(fat));
    const content = partitionLoop(fat, 'OPENKEY');
    expect(execFileSync('blkid', ['-o', 'export', content], { encoding: 'utf8' })).toMatch(
      /LABEL=OPENKEY\n[\s\S]*TYPE=vfat/,
    );
    execFileSync('fsck.vfat', ['-n', content], { stdio: 'pipe' });
  }, 120_000);
});
