/**
 * Benchmark of the image build and boot on this machine (scripts/bench-build prints it; tests/unit/build-bench.test.ts
 * checks its arguments, manifests, lock and figures without building), each figure beside its baseline measured in
 * the same run:
 *   1. cold build of manifests/mu.yaml into an empty cache (no stage, no .deb cached), against the plain pipeline:
 *      plain mmdebstrap + mksquashfs + grub-mkrescue of the same package set;
 *   2. the build after adding one package (--add, default `tree`), with the .debs cached, against the cold build, and
 *      what it downloaded;
 *   3. the rebuild after changing one doc file (must reuse the OS layer);
 *   4. power-on to a healthy service under QEMU/TCG (BIOS CD and UEFI USB), against power-on to the login prompt of
 *      the plain image (the same packages, mmdebstrap's defaults, `boot=live`) under the same firmware and media.
 * With --lock FILE every build and boot takes that flock on its own, so a long run never keeps other jobs waiting.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseBenchArgs, ratio } from '../common/bench.ts';
import { UsageError } from '../common/errors.ts';
import { formatBytes } from '../common/format.ts';
import { buildImage, type BuildOutcome } from './build.ts';
import { removeTree } from './cache/fsutil.ts';
import { loadManifest } from './manifest/index.ts';
import type { ResolvedManifest } from './manifest/types.ts';
import { PROJECT_ROOT } from './plan/survey.ts';
import { isoFileName } from './stages/iso.ts';
import { aptSources, rootfsPackages } from './stages/rootfs.ts';
import { run } from './tools/exec.ts';
import { mksquashfs } from './tools/mksquashfs.ts';
import { mmdebstrap } from './tools/mmdebstrap.ts';
import { bootTest, processCpuSeconds, type BootMedia, type Firmware } from './tools/qemu.ts';

export const USAGE = 'scripts/bench-build [--work DIR] [--no-boot] [--add PACKAGE] [--lock FILE] [--json FILE]';

export interface BuildBenchOptions {
  /** The folder the scratch folder is made in (removed afterwards). */
  work: string;
  boot: boolean;
  /** The package the second build adds. */
  add: string;
  lock?: string;
  /** Where to write the figures as JSON too. */
  json?: string;
}

/** The command line of scripts/bench-build; a bad one is a UsageError with the exact complaint. */
export function parseBuildBenchArgs(argv: string[], cwd = process.cwd()): BuildBenchOptions {
  const { values } = parseBenchArgs(
    argv,
    {
      work: { type: 'string' },
      'no-boot': { type: 'boolean' },
      add: { type: 'string', default: 'tree' },
      lock: { type: 'string' },
      json: { type: 'string' },
    },
    USAGE,
  );
  // Debian policy's package name: it goes into a manifest, so anything else would fail much later, in mmdebstrap.
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(values.add))
    throw new UsageError(`--add ${values.add}: not a Debian package name`, 'for example --add tree');
  return {
    work: path.resolve(cwd, values.work ?? os.tmpdir()),
    boot: values['no-boot'] !== true,
    add: values.add,
    ...(values.lock === undefined ? {} : { lock: path.resolve(cwd, values.lock) }),
    ...(values.json === undefined ? {} : { json: path.resolve(cwd, values.json) }),
  };
}

/** Seconds since `from` (a performance.now()), to a tenth. */
const secondsSince = (from: number) => Math.round((performance.now() - from) / 100) / 10;

/**
 * Runs `step` holding the flock on `lock` when given, and times it (without the wait for the lock). The lock is held
 * by a child `flock` until its stdin closes: a lock held across a step needs a live process, which the exec seam's
 * run (one program, to its end) does not give.
 */
export async function heavy<T>(
  name: string,
  lock: string | undefined,
  log: (line: string) => void,
  step: () => Promise<T>,
): Promise<{ value: T; seconds: number; loads: [number, number] }> {
  let holder: ReturnType<typeof spawn> | undefined;
  if (lock !== undefined) {
    holder = spawn('flock', [lock, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    log(`bench: ${name}: waiting for ${lock}`);
    await once(holder.stdout!, 'data');
  }
  const before = os.loadavg()[0] ?? 0;
  log(`bench: ${name} (load ${before.toFixed(1)})`);
  const started = performance.now();
  try {
    const value = await step();
    return { value, seconds: secondsSince(started), loads: [before, os.loadavg()[0] ?? 0] };
  } finally {
    holder?.stdin?.end();
    if (holder !== undefined) await once(holder, 'exit');
  }
}

export interface BenchManifests {
  /** The copy of the one doc, which the rebuild step edits. */
  doc: string;
  /** mu.yaml with that doc. */
  manifest: string;
  /** The same with one more package. */
  added: string;
}

/** A copy of mu.yaml whose one doc lives in the scratch folder (so the bench can edit it), and one with `add`. */
export async function writeBenchManifests(work: string, add: string): Promise<BenchManifests> {
  const doc = path.join(work, 'getting-started.md');
  await copyFile(path.join(PROJECT_ROOT, 'content', 'docs', 'getting-started.md'), doc);
  const text =
    `extends: ${path.join(PROJECT_ROOT, 'manifests', 'mu.yaml')}\nname: openkey-mu\ndocs: !replace\n` +
    `  - id: getting-started\n    title: Getting started with Open Key\n    path: ${doc}\n`;
  const manifest = path.join(work, 'bench.yaml');
  await writeFile(manifest, text);
  const added = path.join(work, 'bench-added.yaml');
  await writeFile(added, `${text}packages:\n  bench: [${add}]\n`);
  return { doc, manifest, added };
}

export interface BootFigure {
  name: string;
  ours: number | undefined;
  plain: number | undefined;
  ratio: number | undefined;
  /** QEMU's CPU seconds by then: under TCG the guest runs only while QEMU has a core, so these compare across loads. */
  oursCpu?: number | undefined;
  plainCpu?: number | undefined;
  cpuRatio?: number | undefined;
}

/** The figures, as --json writes them. */
export interface BuildFigures {
  coldBuildSeconds: number;
  baselineSeconds: number;
  ratioToBaseline: number | undefined;
  addedPackage: string;
  addedBuildSeconds: number;
  addedRatioToCold: number | undefined;
  addedDownloaded: string[];
  rebuildAfterDocChangeSeconds: number;
  rebuiltStages: string[];
  boots: BootFigure[];
  layers: Record<string, number>;
  isoBytes: number | undefined;
  cpus: number;
  loadAverage: { min: number; max: number };
}

/** The printed summary: each figure, its ratio to its baseline and the goal. */
export function formatBuildFigures(f: BuildFigures): string {
  return [
    `cold build of mu.yaml                      ${f.coldBuildSeconds} s`,
    `plain mmdebstrap+mksquashfs+grub-mkrescue  ${f.baselineSeconds} s; ratio ${f.ratioToBaseline} (goal ≤ 0.9)`,
    `after adding ${f.addedPackage}, debs cached        ${f.addedBuildSeconds} s; ratio to cold ${f.addedRatioToCold} (goal ≤ 0.5); downloaded: ${f.addedDownloaded.join(', ') || 'nothing'}`,
    `rebuild after one doc change               ${f.rebuildAfterDocChangeSeconds} s (rebuilt ${f.rebuiltStages.join(', ')})`,
    ...f.boots.map(
      (b) =>
        `power-on to healthy, TCG, ${b.name.padEnd(9)}    ours ${b.ours ?? '-'} s, plain image to login ${b.plain ?? '-'} s; ratio ${b.ratio ?? '-'} (goal ≤ 40 s, ≤ 1.2)\n` +
        `  QEMU CPU seconds by then                 ours ${b.oursCpu ?? '-'} s, plain ${b.plainCpu ?? '-'} s; ratio ${b.cpuRatio ?? '-'}`,
    ),
    `layers                                     ${Object.entries(f.layers)
      .map(([k, v]) => `${k} ${formatBytes(v)}`)
      .join(', ')}`,
    `machine                                    ${f.cpus} cores, load average ${f.loadAverage.min.toFixed(1)} to ${f.loadAverage.max.toFixed(1)} during the steps`,
    '',
  ].join('\n');
}

/** What the rootfs stage downloaded and took from the .deb archive. */
function debs(outcome: BuildOutcome): { downloaded: string[]; fromArchive: number } | undefined {
  return outcome.report?.stages.find((s) => s.name === 'rootfs')?.details?.debs as
    { downloaded: string[]; fromArchive: number } | undefined;
}

/** The baseline: plain mmdebstrap + mksquashfs + grub-mkrescue of the same packages, into `plain`/plain.iso. */
async function plainPipeline(manifest: ResolvedManifest, plain: string): Promise<string> {
  const plainIso = path.join(plain, 'plain.iso');
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
  return plainIso;
}

/**
 * Power-on to the login prompt of the plain image (it has no service), in seconds, and QEMU's CPU seconds then;
 * undefined if it never came.
 */
async function plainBoot(
  image: string,
  firmware: Firmware,
  media: BootMedia,
): Promise<{ seconds: number; cpuSeconds: number | undefined } | undefined> {
  const controller = new AbortController();
  let at: { seconds: number; cpuSeconds: number | undefined } | undefined;
  let pid: number | undefined;
  const started = performance.now();
  await bootTest({
    image,
    firmware,
    media,
    deadlineMs: 600_000,
    hostHealth: false,
    signal: controller.signal,
    onSpawn: (qemu) => {
      pid = qemu;
    },
    onSerial: (line) => {
      if (at === undefined && /login: *$/.test(line)) {
        at = { seconds: secondsSince(started), cpuSeconds: undefined };
        const reached = at;
        // The CPU time is read before the abort stops QEMU.
        void (pid === undefined ? Promise.resolve(undefined) : processCpuSeconds(pid)).then((cpu) => {
          reached.cpuSeconds = cpu;
          controller.abort();
        });
      }
    },
  }).catch((error: unknown) => {
    if (at === undefined) throw error;
  });
  return at;
}

/** Runs every step (progress on `log`) and returns the figures. Needs root; takes many minutes. */
export async function benchBuild(options: BuildBenchOptions, log: (line: string) => void): Promise<BuildFigures> {
  await mkdir(options.work, { recursive: true });
  const work = await mkdtemp(path.join(options.work, 'openkey-bench-'));
  const loads: number[] = [];
  const step = async <T>(name: string, action: () => Promise<T>) => {
    const result = await heavy(name, options.lock, log, action);
    loads.push(...result.loads);
    return result;
  };
  try {
    const files = await writeBenchManifests(work, options.add);
    const { manifest } = await loadManifest(files.manifest, work);
    const cacheDir = path.join(work, 'cache');
    const outDir = path.join(work, 'out');
    const build = (m: ResolvedManifest, out = outDir) =>
      buildImage({ manifest: m, projectRoot: PROJECT_ROOT, outDir: out, cacheDir });

    const cold = await step('cold build of mu.yaml', () => build(manifest));
    log(`bench: cold build ${cold.seconds} s`);
    const plain = path.join(work, 'plain');
    const baseline = await step('baseline: plain mmdebstrap + mksquashfs + grub-mkrescue of the same packages', () =>
      plainPipeline(manifest, plain),
    );
    const plainIso = baseline.value;
    log(`bench: baseline ${baseline.seconds} s; ratio ${ratio(cold.seconds, baseline.seconds)}`);

    const { manifest: withOneMore } = await loadManifest(files.added, work);
    const added = await step(`build after adding ${options.add}, debs cached`, () =>
      build(withOneMore, path.join(work, 'out-added')),
    );
    log(
      `bench: after adding ${options.add} ${added.seconds} s; downloaded ${debs(added.value)?.downloaded.join(', ')}`,
    );

    await writeFile(files.doc, '\nOne more line, to measure a rebuild after a doc change.\n', { flag: 'a' });
    const { manifest: changed } = await loadManifest(files.manifest, work);
    const rebuild = await step('rebuild after a doc change', () => build(changed));
    const rebuilt = rebuild.value.report?.stages.filter((s) => !s.cached).map((s) => s.name) ?? [];

    const boots: BootFigure[] = [];
    if (options.boot) {
      const combos: [Firmware, BootMedia][] = [
        ['bios', 'cd'],
        ['uefi', 'usb'],
      ];
      for (const [firmware, media] of combos) {
        const name = `${firmware} ${media}`;
        const ours = await step(`boot ours (${name})`, () =>
          bootTest({ image: path.join(outDir, isoFileName(changed)), firmware, media, deadlineMs: 600_000 }),
        );
        if (!ours.value.passed) log(`bench: our boot failed: ${ours.value.reason}`);
        for (const line of ours.value.serialTail.filter((l) => /OPENKEY-(TIME|BLAME|CHAIN)/.test(l)))
          log(`  | ${line}`);
        const plainUp = await step(`boot plain (${name})`, () => plainBoot(plainIso, firmware, media));
        const figure = { name, ours: ours.value.secondsToHealthy, plain: plainUp.value?.seconds };
        const cpu = { oursCpu: ours.value.qemuCpuSeconds, plainCpu: plainUp.value?.cpuSeconds };
        boots.push({
          ...figure,
          ratio: ratio(figure.ours, figure.plain),
          ...cpu,
          cpuRatio: ratio(cpu.oursCpu, cpu.plainCpu),
        });
        log(
          `bench: boot ${name}: ours ${figure.ours ?? 'never'} s to healthy (QEMU CPU ${cpu.oursCpu ?? '-'} s), plain ${figure.plain ?? 'never'} s to login (QEMU CPU ${cpu.plainCpu ?? '-'} s)`,
        );
      }
    }

    return {
      coldBuildSeconds: cold.seconds,
      baselineSeconds: baseline.seconds,
      ratioToBaseline: ratio(cold.seconds, baseline.seconds),
      addedPackage: options.add,
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
  } finally {
    await removeTree(work);
  }
}
