/**
 * End to end: build manifests/mu.yaml with the real tools, then boot the one ISO four ways under QEMU (TCG):
 * SeaBIOS and OVMF, as a CD and as a USB stick. Each boot passes when GET /api/health answers through hostfwd and the
 * key's boot report on the serial console lists no failed unit. Seconds to healthy go to test-artifacts/.
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
import { isoFileName } from '../../builder/stages/iso.ts';
import {
  bootTest,
  requireFirmware,
  type BootMedia,
  type BootTestResult,
  type Firmware,
} from '../../builder/tools/qemu.ts';

const PROJECT = path.resolve(import.meta.dirname, '../..');
const BOOT_DEADLINE_MS = Number(process.env.OPENKEY_BOOT_DEADLINE ?? 420) * 1000;
let iso = '';
let scratch = '';
let cacheDir = '';
let outcome: BuildOutcome;
const results: BootTestResult[] = [];

beforeAll(async () => {
  const { manifest } = await loadManifest(path.join(PROJECT, 'manifests', 'mu.yaml'), PROJECT);
  scratch = await mkdtemp(path.join(os.tmpdir(), 'openkey-e2e-'));
  cacheDir = process.env.OPENKEY_E2E_CACHE ?? path.join(scratch, 'cache');
  outcome = await buildImage({ manifest, projectRoot: PROJECT, outDir: path.join(scratch, 'out'), cacheDir });
  iso = path.join(outcome.outDir, isoFileName(manifest));
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
    const { manifest } = await loadManifest(path.join(PROJECT, 'manifests', 'mu.yaml'), PROJECT);
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
    expect(rebuilt).toEqual(['iso', 'disk', 'usb']);
  }, 300_000);

  const combos: [Firmware, BootMedia][] = [
    ['bios', 'cd'],
    ['uefi', 'cd'],
    ['bios', 'usb'],
    ['uefi', 'usb'],
  ];
  it.each(combos)(
    'boots under %s as a %s and the service answers',
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
      await mkdir(path.join(PROJECT, 'test-artifacts'), { recursive: true });
      await writeFile(
        path.join(PROJECT, 'test-artifacts', 'boot-times.json'),
        JSON.stringify(
          results.map(({ serialTail: _tail, ...rest }) => rest),
          null,
          2,
        ) + '\n',
      );
      if (!result.passed)
        throw new Error(`${firmware}/${media}: ${result.reason}\n${result.serialTail.slice(-30).join('\n')}`);
      expect(result.failedUnits).toEqual([]);
      expect(result.health).toMatchObject({ status: 'ok' });
    },
    BOOT_DEADLINE_MS + 60_000,
  );
});
