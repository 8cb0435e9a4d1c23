import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../builder/cache/fsutil.ts';
import { explainIsoDifference } from '../../builder/commands/verify-repro.ts';
import type { PlannedStage } from '../../builder/plan/index.ts';
import { bootloaderStage } from '../../builder/stages/bootloader.ts';
import { diskFileName, diskStage } from '../../builder/stages/disk.ts';
import { isoFileName, isoStage } from '../../builder/stages/iso.ts';
import { ovaFileName, ovaStage } from '../../builder/stages/ova.ts';
import { qcow2FileName, qcow2Stage } from '../../builder/stages/qcow2.ts';
import type { StageName } from '../../builder/stages/registry.ts';
import type { StageDefinition } from '../../builder/stages/types.ts';
import { usbFileName, usbStage } from '../../builder/stages/usb.ts';
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
  deps.bootloader = await runBootloader('bootloader');
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Runs a stage's own code over the stand-in layers (`deps`) into `scratch/<outName>`; returns that folder. */
async function runOverLayers(definition: StageDefinition, outName: string, key: string): Promise<string> {
  const manifest = await manifestOf('manifests/mu.yaml');
  const outDir = path.join(scratch, outName);
  const workDir = path.join(scratch, `${outName}-work`);
  await mkdir(outDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const stage: PlannedStage = { name: definition.name, dependsOn: [], inputs: {}, key: key.repeat(16) };
  await definition.run({
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
  });
  return outDir;
}

/** The bootloader stage (real grub-mkimage) over the current stand-in layers. */
const runBootloader = (name: string) => runOverLayers(bootloaderStage, name, 'ef');

async function buildIso(round: number): Promise<string> {
  const outDir = await runOverLayers(isoStage, `out-${round}`, 'ab');
  return path.join(outDir, isoFileName(await manifestOf('manifests/mu.yaml')));
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

describe('the key disk and its VM twins over the stand-in layers (real grub-mkimage, sfdisk, mkfs, qemu-img, xmllint)', () => {
  async function runStage(
    definition: StageDefinition,
    round: number,
    stageDeps: Record<string, string>,
    manifestFile = 'manifests/l.yaml',
  ): Promise<string> {
    const manifest = await manifestOf(manifestFile);
    const outDir = path.join(scratch, `${definition.name}-out-${round}-${path.basename(manifestFile, '.yaml')}`);
    const workDir = path.join(scratch, `${definition.name}-work-${round}-${path.basename(manifestFile, '.yaml')}`);
    await mkdir(outDir, { recursive: true });
    await mkdir(workDir, { recursive: true });
    await definition.run({
      manifest,
      stage: {
        name: definition.name,
        dependsOn: Object.keys(stageDeps) as StageName[],
        inputs: {},
        key: 'cd'.repeat(16),
      },
      projectRoot: PROJECT,
      deps: stageDeps,
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
  // The disk stage's own code over the stand-in layers, once per manifest; the VM twins are made from it.
  const disks = new Map<string, Promise<string>>();
  function diskOf(manifestFile = 'manifests/l.yaml'): Promise<string> {
    if (!disks.has(manifestFile)) disks.set(manifestFile, runStage(diskStage, 1, deps, manifestFile));
    return disks.get(manifestFile)!;
  }
  const vmStage = async (definition: StageDefinition, round: number) =>
    runStage(definition, round, { disk: await diskOf() });

  it('writes an OVA whose descriptor validates against the DMTF schema, descriptor first, reproducibly', async () => {
    const first = await vmStage(ovaStage, 1);
    const second = await vmStage(ovaStage, 2);
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
    const out = await vmStage(qcow2Stage, 1);
    const manifest = await manifestOf('manifests/l.yaml');
    const info = await run('qemu-img', ['info', '--output=json', path.join(out, qcow2FileName(manifest))]);
    const parsed = JSON.parse(info.stdout) as { format: string; 'virtual-size': number };
    expect(parsed.format).toBe('qcow2');
    expect(parsed['virtual-size']).toBe(manifest.outputs.qcow2.vm.diskGiB * 1024 ** 3);
  }, 120_000);

  it('carries the OVA in the content partition of an L key, and no OVA in the VM twins', async () => {
    const manifest = await manifestOf('manifests/l.yaml');
    const ovaDir = await vmStage(ovaStage, 3);
    const diskDir = await diskOf();
    const out = await runStage(usbStage, 1, { ...deps, disk: diskDir, ova: ovaDir });
    const key = await readFile(path.join(out, usbFileName(manifest)));
    const ova = await readFile(path.join(ovaDir, ovaFileName(manifest)));
    const disk = await readFile(path.join(diskDir, diskFileName(manifest)));
    // Our exFAT writer stores a file in one run of clusters: the OVA's bytes are in the key, whole and in order.
    const at = key.indexOf(ova.subarray(0, 64 * 1024));
    expect(at).toBeGreaterThan(0);
    expect(key.subarray(at, at + ova.length).equals(ova)).toBe(true);
    expect(disk.indexOf(ova.subarray(0, 64 * 1024))).toBe(-1);
    expect(key.includes(Buffer.from(ovaFileName(manifest).slice(0, 15), 'utf16le'))).toBe(true);
    const table = await sfdiskDump(path.join(out, usbFileName(manifest)));
    expect(table.partitions.map((p) => p.name)).toEqual(['OPENKEY', 'EFI system', 'BIOS boot', 'persistence']);
    // The content partition was laid out again, bigger by the OVA (give or take the MiB it is aligned to).
    const contentBytes = async (image: string) =>
      ((await sfdiskDump(image)).partitions.find((p) => p.name === 'OPENKEY')?.size ?? 0) * 512;
    expect(await contentBytes(path.join(out, usbFileName(manifest)))).toBeGreaterThanOrEqual(
      (await contentBytes(path.join(diskDir, diskFileName(manifest)))) + ova.length - 1024 * 1024,
    );
  }, 120_000);

  it('gives a μ key the disk stage image itself (no OVA to carry)', async () => {
    const manifest = await manifestOf('manifests/mu.yaml');
    const diskDir = await diskOf('manifests/mu.yaml');
    const out = await runStage(usbStage, 2, { disk: diskDir }, 'manifests/mu.yaml');
    expect(await sha256File(path.join(out, usbFileName(manifest)))).toBe(
      await sha256File(path.join(diskDir, diskFileName(manifest))),
    );
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
    const originalBootloader = deps.bootloader ?? '';
    deps['os-layer'] = changedLayer;
    // Another live/ is another medium identity: the bootloader stage runs again for it, as in a build.
    deps.bootloader = await runBootloader('bootloader-changed');
    let changedIso: string;
    try {
      changedIso = await buildIso(3);
    } finally {
      deps['os-layer'] = original;
      deps.bootloader = originalBootloader;
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
