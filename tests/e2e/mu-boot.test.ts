/**
 * End to end: build manifests/mu.yaml (with its VM twins) with the real tools, then boot under QEMU (TCG):
 * - the hybrid ISO as a CD, with SeaBIOS and with OVMF;
 * - the key's disk image as a 2 GiB USB stick, with SeaBIOS and with OVMF, twice each: the first boot writes a file
 *   in the student's home, the second reads it back, and the persistence partition must have grown to fill the stick;
 * - a loop device written from that image by `openkey write`, as the USB key it is (persistence grown to its size);
 * - the qcow2 and the VMDK taken out of the OVA, as VirtualBox's SATA disk, with OVMF (the manifest's firmware),
 *   twice each, the persistence partition grown to the manifest's diskGiB.
 * Each boot passes when GET /api/health answers through hostfwd and the key's boot report on the serial console lists
 * no failed unit. Seconds to healthy go to test-artifacts/boot-times.json.
 *
 * One build serves every boot. Set OPENKEY_E2E_CACHE to reuse a cache between runs (CI starts empty).
 */
import { access, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuildOutcome } from '../../builder/build.ts';
import { run } from '../../builder/tools/exec.ts';
import { loadManifest } from '../../builder/manifest/index.ts';
import type { ResolvedManifest } from '../../builder/manifest/types.ts';
import { isoFileName } from '../../builder/stages/iso.ts';
import { ovaFileName } from '../../builder/stages/ova.ts';
import { qcow2FileName } from '../../builder/stages/qcow2.ts';
import { usbFileName } from '../../builder/stages/usb.ts';
import { persistenceBootTest, type PersistenceBoot } from '../../builder/tools/boot-test.ts';
import {
  bootTest,
  requireFirmware,
  type BootMedia,
  type BootTestResult,
  type Firmware,
} from '../../builder/tools/qemu.ts';

const PROJECT = path.resolve(import.meta.dirname, '../..');
const BOOT_DEADLINE_MS = Number(process.env.OPENKEY_BOOT_DEADLINE ?? 720) * 1000;
/**
 * CI boots three times: the key image as a USB stick under OVMF, twice (persistence), and the ISO as a CD under
 * SeaBIOS. Under TCG on two cores a boot of this μ image now takes 7 to 8 minutes, so the other eight boots (the key
 * under SeaBIOS, the written key, the qcow2, the VMDK, the ISO under OVMF) would take CI past its time;
 * `OPENKEY_E2E_BOOTS=all npx vitest run tests/e2e` runs them too.
 */
const ALL_BOOTS = process.env.OPENKEY_E2E_BOOTS === 'all';
let iso = '';
let key = '';
let scratch = '';
let cacheDir = '';
let outcome: BuildOutcome;
const results: (BootTestResult | PersistenceBoot)[] = [];
/** The VM twins on a 4 GiB disk (the manifests' 8 would only make the test's overlays bigger). */
const VM_GIB = 4;

async function muManifest(): Promise<ResolvedManifest> {
  const { manifest } = await loadManifest(path.join(PROJECT, 'manifests', 'mu.yaml'), PROJECT);
  const vm = { ...manifest.outputs.qcow2.vm, diskGiB: VM_GIB, firmware: 'efi' as const };
  return {
    ...manifest,
    outputs: {
      ...manifest.outputs,
      qcow2: { ...manifest.outputs.qcow2, enabled: true, vm },
      ova: { ...manifest.outputs.ova, enabled: true, vm },
    },
  };
}

async function keepTimes(): Promise<void> {
  await mkdir(path.join(PROJECT, 'test-artifacts'), { recursive: true });
  const withoutTails = results.map((result) =>
    'write' in result
      ? {
          ...result,
          write: { ...result.write, serialTail: undefined },
          read: { ...result.read, serialTail: undefined },
        }
      : { ...result, serialTail: undefined },
  );
  await writeFile(
    path.join(PROJECT, 'test-artifacts', 'boot-times.json'),
    JSON.stringify(withoutTails, null, 2) + '\n',
  );
}

/** Persistence boots of one disk; a failure shows the serial console's last lines. */
async function persistenceBoots(disk: string, firmwares: Firmware[], once = false): Promise<PersistenceBoot[]> {
  for (const firmware of firmwares) await requireFirmware(firmware);
  const boots = await persistenceBootTest({
    disk,
    firmwares,
    user: 'student',
    deadlineMs: BOOT_DEADLINE_MS,
    once,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  results.push(...boots);
  await keepTimes();
  for (const boot of boots)
    if (!boot.passed)
      throw new Error(
        `${boot.firmware}/${boot.media} ${path.basename(disk)}: ${boot.reason}\n${(boot.read ?? boot.write).serialTail.slice(-30).join('\n')}`,
      );
  return boots;
}

beforeAll(async () => {
  const manifest = await muManifest();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'openkey-e2e-'));
  cacheDir = process.env.OPENKEY_E2E_CACHE ?? path.join(scratch, 'cache');
  outcome = await buildImage({ manifest, projectRoot: PROJECT, outDir: path.join(scratch, 'out'), cacheDir });
  iso = path.join(outcome.outDir, isoFileName(manifest));
  key = path.join(outcome.outDir, usbFileName(manifest));
}, 1_800_000);

describe('mu image', () => {
  it('has every output in SHA256SUMS and a report', () => {
    expect(outcome.report?.files).toHaveProperty(path.basename(iso));
    expect(Object.keys(outcome.report?.layers ?? {})).toEqual(
      expect.arrayContaining(['00-os', '05-config', '10-service']),
    );
    expect(outcome.report?.datasets.map((d) => d.id)).toEqual(['zll', 'hyy']);
  });

  it('locks root and carries no apt lists, caches or logs in the OS layer', async () => {
    const layer = path.join(scratch, '00-os.squashfs');
    await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/live/00-os.squashfs', layer]);
    const shadow = (await run('unsquashfs', ['-cat', layer, 'etc/shadow'])).stdout;
    const rootLine = shadow.split('\n').find((line) => line.startsWith('root:'));
    expect(rootLine?.split(':')[1]).toMatch(/^!/);
    const listing = (await run('unsquashfs', ['-lc', layer, 'var/lib/apt/lists', 'var/cache/apt', 'var/log'])).stdout;
    // apt's own empty lock and partial/ stay; no index, no package, no log.
    const leftovers = listing
      .split('\n')
      .filter((line) => /squashfs-root\/var\/(lib\/apt\/lists|cache\/apt)\/./.test(line) || /\.log$/.test(line))
      .filter((line) => !/lists\/(lock|partial)$/.test(line));
    expect(leftovers).toEqual([]);
  }, 120_000);

  it('resumes from the cache after an interrupted build, and reuses the OS layer after a doc change', async () => {
    const manifest = await muManifest();
    const changedDoc = path.join(scratch, 'changed-doc.md');
    // A new text on every run, so a cache reused between runs (OPENKEY_E2E_CACHE) still sees a change.
    await writeFile(
      changedDoc,
      `# Getting started\n\nA changed doc (${new Date().toISOString()}), to rebuild only the content and the ISO.\n`,
    );
    const changed = { ...manifest, docs: [{ id: 'getting-started', title: 'Getting started', path: changedDoc }] };
    const outDir = path.join(scratch, 'out-changed');
    const controller = new AbortController();
    // Ctrl-C as the ISO is being written: no output, no half cache entry.
    await expect(
      buildImage({
        manifest: changed,
        projectRoot: PROJECT,
        outDir,
        cacheDir,
        signal: controller.signal,
        events: {
          stageStart: (stage) => stage === 'iso' && setTimeout(() => controller.abort(new Error('interrupted')), 300),
        },
      }),
    ).rejects.toThrow();
    await expect(access(outDir)).rejects.toThrow();
    // How long the rebuild takes is a figure of scripts/bench-build, not a test: the machine is shared.
    const resumed = await buildImage({ manifest: changed, projectRoot: PROJECT, outDir, cacheDir });
    const rebuilt = resumed.report?.stages.filter((s) => !s.cached).map((s) => s.name);
    // content was finished and cached before the interruption; only the interrupted iso (and what follows) runs again.
    expect(rebuilt).toEqual(['iso', 'disk', 'qcow2', 'ova', 'usb']);
  }, 300_000);
});

// One boot at a time: a TCG VM keeps two host threads busy (the vCPU and QEMU's main loop), so two VMs on two cores
// each boot at half speed, and GRUB's reads from the USB stick and the SATA disk slow down the most.
describe('mu boots', () => {
  it.each((ALL_BOOTS ? ['bios', 'uefi'] : ['uefi']) as Firmware[])(
    'boots the key image as a USB stick under %s, keeps a file in the home across a reboot and grows persistence',
    async (firmware) => {
      const [boot] = await persistenceBoots(key, [firmware]);
      expect(boot?.media).toBe('usb');
      // The image's persistence partition is 64 MiB; on the 2 GiB stick it filled the rest.
      expect(boot?.persistenceBytes).toBeGreaterThan(1024 ** 3);
      expect(boot?.read?.failedUnits).toEqual([]);
    },
    2 * BOOT_DEADLINE_MS + 120_000,
  );

  it.runIf(ALL_BOOTS).each([
    ['qcow2', (m: ResolvedManifest) => qcow2FileName(m)],
    ["OVA's VMDK", (m: ResolvedManifest) => ovaFileName(m)],
  ])(
    'boots the %s as a SATA disk under OVMF and keeps a file across a reboot on a persistence partition of diskGiB',
    async (_name, fileName) => {
      const disk = path.join(outcome.outDir, fileName(await muManifest()));
      const [boot] = await persistenceBoots(disk, ['uefi']);
      expect(boot?.media).toBe('sata');
      expect(boot?.diskBytes).toBe(VM_GIB * 1024 ** 3);
      expect(boot?.persistenceBytes).toBeGreaterThan(0.8 * (VM_GIB - 1) * 1024 ** 3);
    },
    2 * BOOT_DEADLINE_MS + 120_000,
  );

  // The hybrid ISO stays an output for CDs, Ventoy and a VM's CD-ROM; the key itself is the disk image above.
  const combos: [Firmware, BootMedia][] = ALL_BOOTS
    ? [
        ['bios', 'cd'],
        ['uefi', 'cd'],
      ]
    : [['bios', 'cd']];
  it.each(combos)(
    'boots the ISO under %s as a %s and the service answers',
    async (firmware, media) => {
      await requireFirmware(firmware);
      let result = await bootTest({ image: iso, firmware, media, deadlineMs: BOOT_DEADLINE_MS });
      results.push(result);
      // A kernel panic under TCG is QEMU's emulation failing (issue 13; the same ISO boots the next time), not the
      // key: the watch stops on it at once, it stays in boot-times.json, and the boot is tried once more.
      if (result.consoleFailure === 'kernel panic') {
        result = await bootTest({ image: iso, firmware, media, deadlineMs: BOOT_DEADLINE_MS });
        results.push(result);
      }
      await keepTimes();
      if (!result.passed)
        throw new Error(`${firmware}/${media}: ${result.reason}\n${result.serialTail.slice(-30).join('\n')}`);
      expect(result.failedUnits).toEqual([]);
      expect(result.health).toMatchObject({ status: 'ok' });
    },
    BOOT_DEADLINE_MS + 60_000,
  );

  it.runIf(ALL_BOOTS)(
    'boots a key written by openkey write, its persistence partition grown to the whole device',
    async () => {
      const backing = path.join(scratch, 'written-key.raw');
      await run('truncate', ['-s', '3G', backing]);
      const loop = (await run('losetup', ['--find', '--show', backing])).stdout.trim();
      try {
        const written = (
          await run(process.execPath, [path.join(PROJECT, 'bin/openkey.mjs'), 'write', key, loop, '--yes'])
        ).stdout;
        expect(written).toMatch(new RegExp(`^${loop}: OK: .*verified`, 'm'));
        const [boot] = await persistenceBoots(loop, ['uefi'], true);
        expect(boot?.diskBytes).toBe(3 * 1024 ** 3);
        expect(boot?.persistenceBytes).toBeGreaterThan(2.2 * 1024 ** 3);
      } finally {
        await run('losetup', ['-d', loop]);
      }
    },
    BOOT_DEADLINE_MS + 120_000,
  );
});
