/**
 * End to end: the single-user notebook server (services.jupyter.mode single, the L key's) on a booted key. Builds
 * tests/e2e/fixtures/mu-jupyter-single.yaml (μ with an autologin student and Jupyter on the LAN, small datasets),
 * boots its ISO under SeaBIOS (TCG) and, through hostfwd, checks that the server refuses a request without this
 * boot's token, answers with the token the portal gives, lists the key's notebooks copied into the student's home
 * and runs z-mass.ipynb in a kernel to the Z mass (builder/tools/jupyter-check.ts checkSingle).
 *
 * A μ boot takes about 7 minutes under TCG here and its rootfs is its own (a user), so CI does not run it:
 * `OPENKEY_E2E_BOOTS=all` or `OPENKEY_E2E_JUPYTER_SINGLE=1` does. Set OPENKEY_E2E_CACHE to reuse a stage cache.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../builder/build.ts';
import { loadManifest } from '../../builder/manifest/index.ts';
import { isoFileName } from '../../builder/stages/iso.ts';
import { jupyterDuringBoot } from '../../builder/tools/boot-test.ts';
import type { SingleReport } from '../../builder/tools/jupyter-check.ts';
import { bootTest, requireFirmware } from '../../builder/tools/qemu.ts';

const PROJECT = path.resolve(import.meta.dirname, '../..');
const MANIFEST = path.join(PROJECT, 'tests/e2e/fixtures/mu-jupyter-single.yaml');
const ENABLED = process.env.OPENKEY_E2E_BOOTS === 'all' || process.env.OPENKEY_E2E_JUPYTER_SINGLE === '1';
const BOOT_DEADLINE_MS = Number(process.env.OPENKEY_BOOT_DEADLINE ?? 720) * 1000;
/** Login, kernel and a fit under TCG. */
const CHECK_DEADLINE_MS = 600_000;

describe.runIf(ENABLED)('the single-user notebook server on a booted key', () => {
  let iso = '';
  let port = 0;

  beforeAll(async () => {
    const { manifest } = await loadManifest(MANIFEST, PROJECT);
    port = manifest.services.jupyter.port;
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'openkey-e2e-single-'));
    const cacheDir = process.env.OPENKEY_E2E_CACHE ?? path.join(scratch, 'cache');
    const outcome = await buildImage({ manifest, projectRoot: PROJECT, outDir: path.join(scratch, 'out'), cacheDir });
    iso = path.join(outcome.outDir, isoFileName(manifest));
  }, 3_600_000);

  it(
    'answers through hostfwd with the boot token only, holds the copied notebooks and runs one',
    async () => {
      await requireFirmware('bios');
      const check = jupyterDuringBoot({ mode: 'single', port, deadlineMs: CHECK_DEADLINE_MS }, (line) =>
        process.stderr.write(`single: ${line}\n`),
      );
      const result = await bootTest({
        image: iso,
        firmware: 'bios',
        media: 'cd',
        deadlineMs: BOOT_DEADLINE_MS,
        forwardPorts: check.forwardPorts,
        whileReady: check.whileReady,
        onSerial: check.onSerial,
      });
      if (!result.passed) throw new Error(`bios/cd: ${result.reason}\n${result.serialTail.slice(-30).join('\n')}`);
      expect(result.failedUnits).toEqual([]);
      const report = check.report() as SingleReport | undefined;
      process.stderr.write(
        `single: healthy after ${result.secondsToHealthy} s; server answered after ${report?.secondsToServer} s, notebook done after ${report?.secondsToNotebook} s of the check\n`,
      );
      expect(report?.reason).toBeUndefined();
      expect(report?.withoutToken).toBe(403);
      expect(report?.notebooks).toEqual(['higgs-diphoton.ipynb', 'z-mass.ipynb']);
      const mass = Number(/fitted Z mass: ([\d.]+) ±/.exec(report?.stdout ?? '')?.[1]);
      expect(Math.abs(mass - 91.19)).toBeLessThan(1);
      expect(report?.passed).toBe(true);
    },
    BOOT_DEADLINE_MS + CHECK_DEADLINE_MS + 120_000,
  );
});
