/**
 * Benchmark of the image build on this machine (figures for the README):
 *   1. cold build of manifests/mu.yaml into an empty cache;
 *   2. rebuild after changing one doc file (must reuse the OS layer);
 *   3. seconds from power-on to a healthy service under QEMU/TCG (BIOS, CD);
 *   4. size of each layer;
 *   5. a plain mmdebstrap + mksquashfs + grub-mkrescue of the same package set, and our cold build's ratio to it.
 * Usage: scripts/bench-build [--work DIR] [--no-boot] [--json FILE]
 */
import { appendFile, copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildImage } from '../builder/build.ts';
import { removeTree } from '../builder/cache/fsutil.ts';
import { loadManifest } from '../builder/manifest/index.ts';
import { PROJECT_ROOT } from '../builder/plan/survey.ts';
import { formatBytes } from '../common/format.ts';
import { isoFileName } from '../builder/stages/iso.ts';
import { aptSources, rootfsPackages } from '../builder/stages/rootfs.ts';
import { run } from '../builder/tools/exec.ts';
import { mksquashfs } from '../builder/tools/mksquashfs.ts';
import { mmdebstrap } from '../builder/tools/mmdebstrap.ts';
import { bootTest } from '../builder/tools/qemu.ts';

const { values } = parseArgs({
  options: { work: { type: 'string' }, 'no-boot': { type: 'boolean' }, json: { type: 'string' } },
});
const base = values.work ?? os.tmpdir();
await mkdir(base, { recursive: true });
const work = await mkdtemp(path.join(base, 'openkey-bench-'));
const log = (text: string) => process.stderr.write(`${text}\n`);
const seconds = (from: number) => Math.round((performance.now() - from) / 100) / 10;

// A copy of mu.yaml whose one doc lives in the scratch folder, so the bench can edit it.
const doc = path.join(work, 'getting-started.md');
await copyFile(path.join(PROJECT_ROOT, 'content', 'docs', 'getting-started.md'), doc);
const manifestFile = path.join(work, 'bench.yaml');
await writeFile(
  manifestFile,
  `extends: ${path.join(PROJECT_ROOT, 'manifests', 'mu.yaml')}\nname: openkey-mu\ndocs: !replace\n  - id: getting-started\n    title: Getting started with Open Key\n    path: ${doc}\n`,
);
const { manifest } = await loadManifest(manifestFile, work);
const cacheDir = path.join(work, 'cache');
const outDir = path.join(work, 'out');

log('bench: cold build of mu.yaml');
let started = performance.now();
const cold = await buildImage({ manifest, projectRoot: PROJECT_ROOT, outDir, cacheDir });
const coldSeconds = seconds(started);
log(`bench: cold build ${coldSeconds} s`);

await appendFile(doc, '\nOne more line, to measure a rebuild after a doc change.\n');
const { manifest: changed } = await loadManifest(manifestFile, work);
started = performance.now();
const warm = await buildImage({ manifest: changed, projectRoot: PROJECT_ROOT, outDir, cacheDir });
const rebuildSeconds = seconds(started);
const rebuilt = warm.report?.stages.filter((s) => !s.cached).map((s) => s.name) ?? [];
log(`bench: rebuild after a doc change ${rebuildSeconds} s (rebuilt: ${rebuilt.join(', ')})`);

let bootSeconds: number | undefined;
if (!values['no-boot']) {
  const result = await bootTest({
    image: path.join(outDir, isoFileName(changed)),
    firmware: 'bios',
    media: 'cd',
    deadlineMs: 600_000,
  });
  bootSeconds = result.secondsToHealthy;
  log(
    `bench: power-on to healthy (TCG, BIOS, CD) ${bootSeconds ?? 'never'} s${result.passed ? '' : ` (${result.reason})`}`,
  );
}

log('bench: baseline mmdebstrap + mksquashfs + grub-mkrescue of the same package set');
const plain = path.join(work, 'plain');
await mkdir(path.join(plain, 'iso', 'live'), { recursive: true });
await mkdir(path.join(plain, 'iso', 'boot', 'grub'), { recursive: true });
started = performance.now();
await mmdebstrap({
  suite: manifest.base.suite,
  target: path.join(plain, 'tree'),
  sources: aptSources(manifest),
  include: rootfsPackages(manifest),
  variant: 'apt',
  sourceDateEpoch: manifest.sourceDateEpoch,
});
const boot = path.join(plain, 'tree', 'boot');
const names = await readdir(boot);
await copyFile(
  path.join(boot, names.find((n) => n.startsWith('vmlinuz-')) ?? ''),
  path.join(plain, 'iso', 'live', 'vmlinuz'),
);
await copyFile(
  path.join(boot, names.find((n) => n.startsWith('initrd.img-')) ?? ''),
  path.join(plain, 'iso', 'live', 'initrd.img'),
);
await mksquashfs(path.join(plain, 'tree'), path.join(plain, 'iso', 'live', 'filesystem.squashfs'), {
  compression: manifest.compression.squashfs,
  level: manifest.compression.level,
  sourceDateEpoch: manifest.sourceDateEpoch,
});
await writeFile(
  path.join(plain, 'iso', 'boot', 'grub', 'grub.cfg'),
  'menuentry live { linux /live/vmlinuz boot=live\n initrd /live/initrd.img }\n',
);
await run('grub-mkrescue', ['-o', path.join(plain, 'plain.iso'), path.join(plain, 'iso')], {
  aptPackage: 'grub-common',
});
const baselineSeconds = seconds(started);
const ratio = Math.round((coldSeconds / baselineSeconds) * 100) / 100;
log(`bench: baseline ${baselineSeconds} s; ratio ${ratio}`);

const figures = {
  coldBuildSeconds: coldSeconds,
  rebuildAfterDocChangeSeconds: rebuildSeconds,
  rebuiltStages: rebuilt,
  secondsToHealthyBiosCdTcg: bootSeconds,
  layers: cold.report?.layers ?? {},
  isoBytes: cold.report?.files[isoFileName(manifest)]?.bytes,
  baselineSeconds,
  ratioToBaseline: ratio,
  cpus: os.cpus().length,
};
process.stdout.write(
  [
    `cold build of mu.yaml            ${coldSeconds} s`,
    `rebuild after one doc change     ${rebuildSeconds} s (rebuilt ${rebuilt.join(', ')})`,
    `power-on to healthy (TCG)        ${bootSeconds ?? '-'} s`,
    `layers                           ${Object.entries(figures.layers)
      .map(([k, v]) => `${k} ${formatBytes(v)}`)
      .join(', ')}`,
    `plain mmdebstrap+mksquashfs+grub-mkrescue  ${baselineSeconds} s; ratio ${ratio}`,
    '',
  ].join('\n'),
);
if (values.json !== undefined) await writeFile(values.json, JSON.stringify(figures, null, 2) + '\n');
await removeTree(work);
