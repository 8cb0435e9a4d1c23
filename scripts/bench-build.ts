/**
 * Benchmark of the image build and boot on this machine (figures for the README), each figure beside its baseline
 * measured in the same run:
 *   1. cold build of manifests/mu.yaml into an empty cache (no stage, no .deb cached), against the plain pipeline:
 *      plain mmdebstrap + mksquashfs + grub-mkrescue of the same package set;
 *   2. the build after adding one package (--add, default `tree`), with the .debs cached, against the cold build, and
 *      what it downloaded;
 *   3. the rebuild after changing one doc file (must reuse the OS layer);
 *   4. power-on to a healthy service under QEMU/TCG (BIOS CD and UEFI USB), against power-on to the login prompt of
 *      the plain image (the same packages, mmdebstrap's defaults, `boot=live`) under the same firmware and media.
 * With --lock FILE every build and boot takes that flock on its own, so a long run never keeps other jobs waiting.
 * Usage: scripts/bench-build [--work DIR] [--no-boot] [--add PACKAGE] [--lock FILE] [--json FILE]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildImage, type BuildOutcome } from '../builder/build.ts';
import { removeTree } from '../builder/cache/fsutil.ts';
import { loadManifest } from '../builder/manifest/index.ts';
import { PROJECT_ROOT } from '../builder/plan/survey.ts';
import { formatBytes } from '../common/format.ts';
import { isoFileName } from '../builder/stages/iso.ts';
import { aptSources, rootfsPackages } from '../builder/stages/rootfs.ts';
import { run } from '../builder/tools/exec.ts';
import { mksquashfs } from '../builder/tools/mksquashfs.ts';
import { mmdebstrap } from '../builder/tools/mmdebstrap.ts';
import { bootTest, type BootMedia, type Firmware } from '../builder/tools/qemu.ts';

const { values } = parseArgs({
  options: {
    work: { type: 'string' },
    'no-boot': { type: 'boolean' },
    add: { type: 'string', default: 'tree' },
    lock: { type: 'string' },
    json: { type: 'string' },
  },
});
const base = values.work ?? os.tmpdir();
await mkdir(base, { recursive: true });
const work = await mkdtemp(path.join(base, 'openkey-bench-'));
const log = (text: string) => process.stderr.write(`${text}\n`);
const seconds = (from: number) => Math.round((performance.now() - from) / 100) / 10;
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : Math.round((a / b) * 100) / 100;
const load = () => os.loadavg()[0]?.toFixed(1) ?? '?';
const loads: number[] = [];

/** Runs `step` holding the --lock flock (a child `flock` holds it until its stdin closes), and times it. */
async function heavy<T>(name: string, step: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  let holder: ReturnType<typeof spawn> | undefined;
  if (values.lock !== undefined) {
    holder = spawn('flock', [values.lock, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    log(`bench: ${name}: waiting for ${values.lock}`);
    await once(holder.stdout!, 'data');
  }
  loads.push(os.loadavg()[0] ?? 0);
  log(`bench: ${name} (load ${load()})`);
  const started = performance.now();
  try {
    const value = await step();
    return { value, seconds: seconds(started) };
  } finally {
    loads.push(os.loadavg()[0] ?? 0);
    holder?.stdin?.end();
    if (holder !== undefined) await once(holder, 'exit');
  }
}

// A copy of mu.yaml whose one doc lives in the scratch folder, so the bench can edit it.
const doc = path.join(work, 'getting-started.md');
await copyFile(path.join(PROJECT_ROOT, 'content', 'docs', 'getting-started.md'), doc);
const manifestText = `extends: ${path.join(PROJECT_ROOT, 'manifests', 'mu.yaml')}\nname: openkey-mu\ndocs: !replace\n  - id: getting-started\n    title: Getting started with Open Key\n    path: ${doc}\n`;
const manifestFile = path.join(work, 'bench.yaml');
await writeFile(manifestFile, manifestText);
const addedFile = path.join(work, 'bench-added.yaml');
await writeFile(addedFile, `${manifestText}packages:\n  bench: [${values.add}]\n`);
const { manifest } = await loadManifest(manifestFile, work);
const cacheDir = path.join(work, 'cache');
const outDir = path.join(work, 'out');
const build = (m: typeof manifest, out = outDir) =>
  buildImage({ manifest: m, projectRoot: PROJECT_ROOT, outDir: out, cacheDir });

const cold = await heavy('cold build of mu.yaml', () => build(manifest));
log(`bench: cold build ${cold.seconds} s`);

const plain = path.join(work, 'plain');
const plainIso = path.join(plain, 'plain.iso');
const baseline = await heavy(
  'baseline: plain mmdebstrap + mksquashfs + grub-mkrescue of the same packages',
  async () => {
    await mkdir(path.join(plain, 'iso', 'live'), { recursive: true });
    await mkdir(path.join(plain, 'iso', 'boot', 'grub'), { recursive: true });
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
    for (const [prefix, name] of [
      ['vmlinuz-', 'vmlinuz'],
      ['initrd.img-', 'initrd.img'],
    ] as const) {
      await copyFile(
        path.join(boot, names.find((n) => n.startsWith(prefix)) ?? ''),
        path.join(plain, 'iso', 'live', name),
      );
    }
    await mksquashfs(path.join(plain, 'tree'), path.join(plain, 'iso', 'live', 'filesystem.squashfs'), {
      compression: manifest.compression.squashfs,
      level: manifest.compression.level,
      sourceDateEpoch: manifest.sourceDateEpoch,
    });
    await removeTree(path.join(plain, 'tree'));
    // The same serial console as our key, so the boot benchmark can see its login prompt.
    await writeFile(
      path.join(plain, 'iso', 'boot', 'grub', 'grub.cfg'),
      `set timeout=${manifest.boot.timeout}\nmenuentry live {\n  linux /live/vmlinuz boot=live quiet console=ttyS0,115200n8 console=tty0\n  initrd /live/initrd.img\n}\n`,
    );
    await run('grub-mkrescue', ['-o', plainIso, path.join(plain, 'iso')], { aptPackage: 'grub-common' });
  },
);
log(`bench: baseline ${baseline.seconds} s; ratio ${ratio(cold.seconds, baseline.seconds)}`);

const { manifest: withOneMore } = await loadManifest(addedFile, work);
const added = await heavy(`build after adding ${values.add}, debs cached`, () =>
  build(withOneMore, path.join(work, 'out-added')),
);
const debs = (outcome: BuildOutcome) =>
  outcome.report?.stages.find((s) => s.name === 'rootfs')?.details?.debs as
    { downloaded: string[]; fromArchive: number } | undefined;
log(`bench: after adding ${values.add} ${added.seconds} s; downloaded ${debs(added.value)?.downloaded.join(', ')}`);

await appendFile(doc, '\nOne more line, to measure a rebuild after a doc change.\n');
const { manifest: changed } = await loadManifest(manifestFile, work);
const rebuild = await heavy('rebuild after a doc change', () => build(changed));
const rebuilt = rebuild.value.report?.stages.filter((s) => !s.cached).map((s) => s.name) ?? [];

interface BootFigure {
  name: string;
  ours: number | undefined;
  plain: number | undefined;
  ratio: number | undefined;
}
const boots: BootFigure[] = [];
if (!values['no-boot']) {
  const combos: [Firmware, BootMedia][] = [
    ['bios', 'cd'],
    ['uefi', 'usb'],
  ];
  for (const [firmware, media] of combos) {
    const name = `${firmware} ${media}`;
    const ours = await heavy(`boot ours (${name})`, () =>
      bootTest({ image: path.join(outDir, isoFileName(changed)), firmware, media, deadlineMs: 600_000 }),
    );
    if (!ours.value.passed) log(`bench: our boot failed: ${ours.value.reason}`);
    for (const line of ours.value.serialTail.filter((l) => /OPENKEY-(TIME|BLAME|CHAIN)/.test(l))) log(`  | ${line}`);
    // The plain image has no service: it is up when its serial console shows the login prompt.
    const plainBoot = await heavy(`boot plain (${name})`, async () => {
      const controller = new AbortController();
      let at: number | undefined;
      const started = performance.now();
      await bootTest({
        image: plainIso,
        firmware,
        media,
        deadlineMs: 600_000,
        hostHealth: false,
        signal: controller.signal,
        onSerial: (line) => {
          if (at === undefined && /login: *$/.test(line)) {
            at = seconds(started);
            controller.abort();
          }
        },
      }).catch((error: unknown) => {
        if (at === undefined) throw error;
      });
      return at;
    });
    const figure = { name, ours: ours.value.secondsToHealthy, plain: plainBoot.value };
    boots.push({ ...figure, ratio: ratio(figure.ours, figure.plain) });
    log(
      `bench: boot ${name}: ours ${figure.ours ?? 'never'} s to healthy, plain ${figure.plain ?? 'never'} s to login`,
    );
  }
}

const figures = {
  coldBuildSeconds: cold.seconds,
  baselineSeconds: baseline.seconds,
  ratioToBaseline: ratio(cold.seconds, baseline.seconds),
  addedPackage: values.add,
  addedBuildSeconds: added.seconds,
  addedRatioToCold: ratio(added.seconds, cold.seconds),
  addedDownloaded: debs(added.value)?.downloaded ?? [],
  rebuildAfterDocChangeSeconds: rebuild.seconds,
  rebuiltStages: rebuilt,
  boots,
  layers: cold.value.report?.layers ?? {},
  isoBytes: cold.value.report?.files[isoFileName(manifest)]?.bytes,
  cpus: os.cpus().length,
  loadAverage: { min: Math.min(...loads), max: Math.max(...loads) },
};
process.stdout.write(
  [
    `cold build of mu.yaml                      ${cold.seconds} s`,
    `plain mmdebstrap+mksquashfs+grub-mkrescue  ${baseline.seconds} s; ratio ${figures.ratioToBaseline} (goal ≤ 0.9)`,
    `after adding ${values.add}, debs cached        ${added.seconds} s; ratio to cold ${figures.addedRatioToCold} (goal ≤ 0.5); downloaded: ${figures.addedDownloaded.join(', ') || 'nothing'}`,
    `rebuild after one doc change               ${rebuild.seconds} s (rebuilt ${rebuilt.join(', ')})`,
    ...boots.map(
      (b) =>
        `power-on to healthy, TCG, ${b.name.padEnd(9)}    ours ${b.ours ?? '-'} s, plain image to login ${b.plain ?? '-'} s; ratio ${b.ratio ?? '-'} (goal ≤ 40 s, ≤ 1.2)`,
    ),
    `layers                                     ${Object.entries(figures.layers)
      .map(([k, v]) => `${k} ${formatBytes(v)}`)
      .join(', ')}`,
    `machine                                    ${figures.cpus} cores, load average ${figures.loadAverage.min.toFixed(1)} to ${figures.loadAverage.max.toFixed(1)} during the steps`,
    '',
  ].join('\n'),
);
if (values.json !== undefined) await writeFile(values.json, JSON.stringify(figures, null, 2) + '\n');
await removeTree(work);
