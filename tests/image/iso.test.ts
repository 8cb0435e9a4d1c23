import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../builder/cache/fsutil.ts';
import { explainIsoDifference } from '../../builder/commands/verify-repro.ts';
import type { PlannedStage } from '../../builder/plan/index.ts';
import { assembleDisk } from '../../builder/disk/assemble.ts';
import { PARTITION_NUMBER } from '../../builder/disk/layout.ts';
import { diskFileName } from '../../builder/stages/disk.ts';
import { isoFileName, isoStage } from '../../builder/stages/iso.ts';
import { ovaFileName, ovaStage } from '../../builder/stages/ova.ts';
import { qcow2FileName, qcow2Stage } from '../../builder/stages/qcow2.ts';
import type { StageContext } from '../../builder/stages/types.ts';
import { run } from '../../builder/tools/exec.ts';
import { mksquashfs } from '../../builder/tools/mksquashfs.ts';
import { sfdiskDump } from '../../builder/tools/sfdisk.ts';
import { manifestOf, PROJECT } from './helpers.ts';

/**
 * The iso stage with real grub-mkimage, mtools and xorriso over stand-in layers (a few KiB each): the boot records,
 * the partition table and the bytes are the same as a real build's, in a few seconds.
 */
let scratch: string;
const deps: Record<string, string> = {};

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'openkey-iso-test-'));
  for (const name of ['os-layer', 'service-layer', 'service', 'content']) deps[name] = path.join(scratch, name);
  await mkdir(path.join(scratch, 'tree', 'etc'), { recursive: true });
  await writeFile(path.join(scratch, 'tree', 'etc', 'motd'), 'hello\n');
  await mkdir(deps['os-layer'] ?? '', { recursive: true });
  await writeFile(path.join(deps['os-layer'] ?? '', 'vmlinuz'), 'not a kernel');
  await writeFile(path.join(deps['os-layer'] ?? '', 'initrd.img'), 'not an initrd');
  // The iso stage writes the SBOM from the OS layer's package list (builder/sbom), as a real rootfs stage leaves it.
  await writeFile(path.join(deps['os-layer'] ?? '', 'packages.tsv'), 'base-files\t13.8\tamd64\n');
  for (const [layer, dir] of [
    ['00-os.squashfs', 'os-layer'],
    ['05-config.squashfs', 'os-layer'],
    ['10-service.squashfs', 'service-layer'],
  ] as const) {
    await mkdir(deps[dir] ?? '', { recursive: true });
    await mksquashfs(path.join(scratch, 'tree'), path.join(deps[dir] ?? '', layer), {
      compression: 'zstd',
      level: 3,
      sourceDateEpoch: 1761955200,
      allRoot: true,
    });
  }
  await mkdir(path.join(deps.service ?? '', 'apps'), { recursive: true });
  await writeFile(path.join(deps.service ?? '', 'apps', 'index.html'), '<!doctype html><title>portal</title>');
  await mkdir(path.join(deps.content ?? '', 'root', 'openkey', 'datasets'), { recursive: true });
  await writeFile(path.join(deps.content ?? '', 'root', 'START-HERE.html'), '<!doctype html><title>start</title>');
  await writeFile(path.join(deps.content ?? '', 'root', 'openkey', 'key-index.js'), 'window.OPENKEY_INDEX = {};\n');
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function buildIso(round: number): Promise<string> {
  const manifest = await manifestOf('manifests/mu.yaml');
  const outDir = path.join(scratch, `out-${round}`);
  const workDir = path.join(scratch, `work-${round}`);
  await mkdir(outDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const stage: PlannedStage = { name: 'iso', dependsOn: [], inputs: {}, key: 'ab'.repeat(16) };
  const context: StageContext = {
    manifest,
    stage,
    projectRoot: PROJECT,
    deps,
    outDir,
    workDir,
    sourceDateEpoch: manifest.sourceDateEpoch,
    offline: true,
    signal: new AbortController().signal,
    log: () => undefined,
    progress: () => undefined,
  };
  await isoStage.run(context);
  return path.join(outDir, isoFileName(manifest));
}

describe('hybrid ISO (real grub-mkimage, mtools, xorriso)', () => {
  it('is byte-identical when built twice', async () => {
    const first = await buildIso(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await buildIso(2);
    expect(await sha256File(second)).toBe(await sha256File(first));
  }, 120_000);

  it('carries an MBR and a GPT with the EFI system partition, so dd onto a key boots', async () => {
    const table = await sfdiskDump(path.join(scratch, 'out-1', 'openkey-mu-0.1.0.iso'));
    expect(table.label).toBe('gpt');
    expect(table.partitions.map((p) => p.type)).toContain('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  });

  it('has El Torito entries for BIOS and UEFI, the label, the layers and the content', async () => {
    const iso = path.join(scratch, 'out-1', 'openkey-mu-0.1.0.iso');
    const report = await run('xorriso', ['-indev', iso, '-report_el_torito', 'plain', '-find', '/', '-type', 'f']);
    const text = report.stdout + report.stderr;
    expect(text).toMatch(/El Torito boot img :\s+1\s+BIOS/);
    expect(text).toMatch(/El Torito boot img :\s+2\s+UEFI/);
    expect(text).toContain("Volume id    : 'OPENKEY_MU'");
    for (const file of [
      '/live/00-os.squashfs',
      '/live/05-config.squashfs',
      '/live/10-service.squashfs',
      '/live/vmlinuz',
      '/START-HERE.html',
      '/openkey/index.html',
      '/openkey/key-index.js',
      '/boot/grub/grub.cfg',
      '/EFI/BOOT/BOOTX64.EFI',
    ]) {
      expect(text).toContain(`'${file}'`);
    }
  });
});

describe('VM outputs from the ISO (real qemu-img, xmllint)', () => {
  let diskDir: string | undefined;
  async function standInDisk(name: string): Promise<string> {
    if (diskDir !== undefined) return diskDir;
    const tree = path.join(scratch, 'disk-tree');
    await mkdir(path.join(tree, 'live'), { recursive: true });
    await mkdir(path.join(tree, 'boot', 'grub'), { recursive: true });
    await mkdir(path.join(tree, '.disk'), { recursive: true });
    await copyFile(path.join(deps['os-layer'] ?? '', '00-os.squashfs'), path.join(tree, 'live', '00-os.squashfs'));
    await writeFile(path.join(tree, 'START-HERE.html'), '<!doctype html><title>start</title>\n');
    await writeFile(path.join(tree, 'boot', 'grub', 'grub.cfg'), 'set timeout=5\n');
    await writeFile(path.join(tree, '.disk', 'openkey-iso-test'), '');
    const dir = path.join(scratch, 'disk-for-vm');
    await mkdir(path.join(dir, 'work'), { recursive: true });
    const { layout } = await assembleDisk({
      tree,
      marker: 'openkey-iso-test',
      identity: 'ef'.repeat(32),
      filesystem: 'exfat',
      persistenceMode: '/home union',
      output: path.join(dir, name),
      workDir: path.join(dir, 'work'),
      epoch: 1_761_955_200,
      signal: new AbortController().signal,
      log: () => undefined,
      progress: () => undefined,
    });
    // What the disk stage records beside its image, which the VM stages read (builder/stages/disk.ts).
    await writeFile(
      path.join(dir, 'layout.json'),
      JSON.stringify({
        layout,
        identity: 'ef'.repeat(32),
        marker: 'openkey-iso-test',
        filesystem: 'exfat',
        persistence: '/home union',
        partitions: PARTITION_NUMBER,
      }),
    );
    diskDir = dir;
    return dir;
  }

  async function runStage(definition: typeof ovaStage, round: number): Promise<string> {
    const manifest = await manifestOf('manifests/l.yaml');
    const outDir = path.join(scratch, `${definition.name}-out-${round}`);
    const workDir = path.join(scratch, `${definition.name}-work-${round}`);
    await mkdir(outDir, { recursive: true });
    await mkdir(workDir, { recursive: true });
    // The VM twins are made from the key's disk: a small one assembled by the disk stage's own code, under the
    // name the l manifest gives its disk.
    const diskDir = await standInDisk(diskFileName(manifest));
    await definition.run({
      manifest,
      stage: { name: definition.name, dependsOn: ['disk'], inputs: {}, key: 'cd'.repeat(16) },
      projectRoot: PROJECT,
      deps: { disk: diskDir },
      outDir,
      workDir,
      sourceDateEpoch: manifest.sourceDateEpoch,
      offline: true,
      signal: new AbortController().signal,
      log: () => undefined,
      progress: () => undefined,
    });
    return outDir;
  }

  it('writes an OVA whose descriptor validates against the DMTF schema, descriptor first, reproducibly', async () => {
    const first = await runStage(ovaStage, 1);
    const second = await runStage(ovaStage, 2);
    const manifest = await manifestOf('manifests/l.yaml');
    const name = ovaFileName(manifest);
    expect(await sha256File(path.join(second, name))).toBe(await sha256File(path.join(first, name)));
    const listing = await run('tar', ['-tvf', path.join(first, name)]);
    const lines = listing.stdout.trim().split('\n');
    expect(lines.map((line) => line.split(/\s+/).at(-1))).toEqual([
      `${manifest.name}-${manifest.version}.ovf`,
      `${manifest.name}-${manifest.version}.mf`,
      `${manifest.name}-${manifest.version}-disk1.vmdk`,
    ]);
    expect(lines.every((line) => line.includes('root/root') && line.includes('2025-11-01 00:00'))).toBe(true);
  }, 120_000);

  it('writes a qcow2 grown to the manifest disk size', async () => {
    const out = await runStage(qcow2Stage as typeof ovaStage, 1);
    const manifest = await manifestOf('manifests/l.yaml');
    const info = await run('qemu-img', ['info', '--output=json', path.join(out, qcow2FileName(manifest))]);
    const parsed = JSON.parse(info.stdout) as { format: string; 'virtual-size': number };
    expect(parsed.format).toBe('qcow2');
    expect(parsed['virtual-size']).toBe(manifest.outputs.qcow2.vm.diskGiB * 1024 ** 3);
  }, 120_000);
});

describe('verify-repro explains a difference', () => {
  it('names the first differing file inside the differing squashfs layer', async () => {
    // A second ISO whose config layer carries a changed /etc/motd.
    const changedTree = path.join(scratch, 'tree-changed');
    await mkdir(path.join(changedTree, 'etc'), { recursive: true });
    await writeFile(path.join(changedTree, 'etc', 'motd'), 'hello, changed\n');
    const changedLayer = path.join(scratch, 'os-layer-changed');
    await mkdir(changedLayer, { recursive: true });
    for (const name of ['vmlinuz', 'initrd.img', '00-os.squashfs', 'packages.tsv']) {
      await copyFile(path.join(deps['os-layer'] ?? '', name), path.join(changedLayer, name));
    }
    await mksquashfs(changedTree, path.join(changedLayer, '05-config.squashfs'), {
      compression: 'zstd',
      level: 3,
      sourceDateEpoch: 1761955200,
      allRoot: true,
    });
    const original = deps['os-layer'] ?? '';
    deps['os-layer'] = changedLayer;
    let changedIso: string;
    try {
      changedIso = await buildIso(3);
    } finally {
      deps['os-layer'] = original;
    }
    const firstIso = await buildIso(4);
    const message = await explainIsoDifference(
      firstIso,
      changedIso,
      path.join(scratch, 'explain'),
      new AbortController().signal,
    );
    expect(message).toBe('first differing file: /live/05-config.squashfs → /etc/motd (content differs)');
  }, 120_000);
});
