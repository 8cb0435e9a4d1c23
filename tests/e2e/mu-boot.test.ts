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
 * When mu.yaml runs the JupyterHub (services.jupyter.mode hub), the ISO boot under SeaBIOS also holds a class on it
 * (builder/tools/jupyter-check.ts): five students log in through hostfwd, each runs a notebook in their own limited
 * scope and sees only their own home, and the teacher reads every student's file. It rides on a boot CI makes
 * anyway, so it costs the check, not a boot.
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
import { jupyterDuringBoot, persistenceBootTest, type PersistenceBoot } from '../../builder/tools/boot-test.ts';
import type { HubReport, SingleReport } from '../../builder/tools/jupyter-check.ts';
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
/** Five students' logins, servers and a fitted notebook each, under TCG. */
const HUB_DEADLINE_MS = 900_000;
let iso = '';
let key = '';
let scratch = '';
let cacheDir = '';
/** mu.yaml's hub port when it runs the hub (forwarded for the class check), else undefined. */
let hubPort: number | undefined;
let outcome: BuildOutcome;
const results: (BootTestResult | PersistenceBoot | (BootTestResult & { jupyter: HubReport | SingleReport }))[] = [];
/** Students of the hub check in the ISO boot. */
const STUDENTS = 5;
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
  const jupyter = manifest.services.jupyter;
  hubPort = jupyter.enabled && jupyter.mode === 'hub' ? jupyter.port : undefined;
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
    'boots the ISO under %s as a %s, the service answers (and a class of five works on the hub, when μ runs it)',
    async (firmware, media) => {
      await requireFirmware(firmware);
      const boot = async () => {
        const hub =
          hubPort === undefined
            ? undefined
            : jupyterDuringBoot(
                { mode: 'hub', port: hubPort, students: STUDENTS, deadlineMs: HUB_DEADLINE_MS },
                (line) => process.stderr.write(`hub: ${line}\n`),
              );
        const result = await bootTest({
          image: iso,
          firmware,
          media,
          deadlineMs: BOOT_DEADLINE_MS,
          ...(hub === undefined
            ? {}
            : {
                // Five students' servers and kernels beside the hub and the service.
                memoryMiB: 3072,
                forwardPorts: hub.forwardPorts,
                whileReady: hub.whileReady,
                onSerial: hub.onSerial,
              }),
        });
        const report = hub?.report();
        return report === undefined ? result : { ...result, jupyter: report };
      };
      let result = await boot();
      results.push(result);
      // A kernel panic under TCG is QEMU's emulation failing (issue 13; the same ISO boots the next time), not the
      // key: the watch stops on it at once, it stays in boot-times.json, and the boot is tried once more.
      if (result.consoleFailure === 'kernel panic') {
        result = await boot();
        results.push(result);
      }
      await keepTimes();
      if (!result.passed)
        throw new Error(`${firmware}/${media}: ${result.reason}\n${result.serialTail.slice(-30).join('\n')}`);
      expect(result.failedUnits).toEqual([]);
      expect(result.health).toMatchObject({ status: 'ok' });
      if (hubPort === undefined) return;
      const hub = 'jupyter' in result ? result.jupyter : undefined;
      if (hub === undefined || !('teacherSaw' in hub)) throw new Error('the hub check never ran');
      expect(hub.reasons).toEqual([]);
      expect(hub.students.map((student) => [student.name, student.passed])).toEqual(
        Array.from({ length: STUDENTS }, (_, i) => [`student${i + 1}`, true]),
      );
      for (const student of hub.students) {
        const others = hub.students.map((other) => other.name).filter((name) => name !== student.name);
        // The scope's limits as the kernel reads them from its own cgroup (jupyterhub_config.py): 768 MiB, one CPU.
        expect(student.inside).toMatchObject({
          user: student.name,
          memoryMax: String(768 * 1024 ** 2),
          cpuMax: '100000 100000',
          readable: [],
          missing: [],
        });
        expect([...(student.inside?.denied ?? [])].sort()).toEqual(others);
      }
      expect(Object.keys(hub.teacherSaw).sort()).toEqual(hub.students.map((student) => student.name));
    },
    // Known before beforeAll reads the manifest, so the bound of a boot with the hub check.
    BOOT_DEADLINE_MS + HUB_DEADLINE_MS + 120_000,
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
