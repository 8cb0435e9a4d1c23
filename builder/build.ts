import { readFile, rename, rm, statfs, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cache } from './cache/index.ts';
import { removeTree, sha256Text } from './cache/fsutil.ts';
import { probeTool } from './commands/doctor.ts';
import { portableManifest } from './commands/plan.ts';
import { HOST_TOOLS, type HostTool } from './doctor/host-tools.ts';
import { OpenKeyError } from '../common/errors.ts';
import type { ResolvedManifest } from './manifest/types.ts';
import { canonicalJson, planBuild, type Plan, type PlannedStage, type StageName } from './plan/index.ts';
import { surveyHost } from './plan/survey.ts';
import { releaseUrls } from './stages/rootfs.ts';
import { contentStage, readDatasetSummaries } from './stages/content.ts';
import { finalize, type BuildReport, type StageReport } from './stages/finalize.ts';
import { isoFileName, isoStage } from './stages/iso.ts';
import { osLayerStage } from './stages/os-layer.ts';
import { overlayStage } from './stages/overlay.ts';
import { rootfsStage } from './stages/rootfs.ts';
import { serviceLayerStage } from './stages/service-layer.ts';
import { serviceStage } from './stages/service.ts';
import type { StageDefinition, StageResult } from './stages/types.ts';
import { usbFileName, usbStage } from './stages/usb.ts';
import { qcow2FileName, qcow2Stage } from './stages/qcow2.ts';
import { ovaFileName, ovaStage } from './stages/ova.ts';

const BUILDER_DIR = path.dirname(fileURLToPath(import.meta.url));

/**
 * The recipe: every stage of a key image, in build order. The plan decides which of them a manifest needs (usb, qcow2
 * and ova only when enabled) and their cache keys; finalize always runs, outside the cache.
 */
export function recipe(): StageDefinition[] {
  return [
    rootfsStage,
    overlayStage,
    osLayerStage,
    serviceStage,
    serviceLayerStage,
    contentStage,
    isoStage,
    usbStage,
    qcow2Stage,
    ovaStage,
  ];
}

export interface BuildEvents {
  stageStart?: (stage: StageName, cached: boolean, key: string) => void;
  stageLog?: (stage: StageName, message: string) => void;
  stageProgress?: (stage: StageName, percent: number) => void;
  stageEnd?: (report: StageReport) => void;
}

export interface BuildOptions {
  manifest: ResolvedManifest;
  projectRoot: string;
  outDir: string;
  cacheDir: string;
  offline?: boolean;
  dryRun?: boolean;
  signal?: AbortSignal;
  events?: BuildEvents;
}

export interface PlannedBuildStage {
  stage: PlannedStage;
  key: string;
  cached: boolean;
}

export interface BuildOutcome {
  plan: Plan;
  stages: PlannedBuildStage[];
  /** Undefined for a dry run. */
  report?: BuildReport;
  outDir: string;
}

/**
 * The code each stage runs (its module and its tool adapters, relative to builder/): part of its cache key, so editing
 * a stage or the way it calls a tool rebuilds that stage and those after it, and nothing else.
 */
const STAGE_CODE: Record<StageName, string[]> = {
  rootfs: ['stages/rootfs.ts', 'tools/mmdebstrap.ts', 'tools/mksquashfs.ts', 'tools/dpkg.ts'],
  overlay: ['stages/overlay.ts'],
  'os-layer': ['stages/os-layer.ts', 'tools/mksquashfs.ts'],
  service: ['stages/service.ts'],
  'service-layer': ['stages/service-layer.ts', 'tools/mksquashfs.ts'],
  content: ['stages/content.ts'],
  iso: ['stages/iso.ts', 'tools/grub.ts', 'tools/mtools.ts', 'tools/xorriso.ts'],
  usb: ['stages/usb.ts', 'tools/sfdisk.ts'],
  qcow2: ['stages/qcow2.ts', 'tools/qemu-img.ts'],
  ova: ['stages/ova.ts', 'tools/qemu-img.ts', 'tools/xmllint.ts'],
  finalize: ['stages/finalize.ts'],
};

async function stageKey(
  stage: PlannedStage,
  definition: StageDefinition | undefined,
  manifest: ResolvedManifest,
  upstream: Record<string, string>,
): Promise<string> {
  const sources = await Promise.all(
    STAGE_CODE[stage.name].map((file) => readFile(path.join(BUILDER_DIR, file), 'utf8')),
  );
  const code = sha256Text(sources.map(sha256Text).join('\n'));
  const extra = definition?.extraKey === undefined ? null : await definition.extraKey(manifest);
  return sha256Text(canonicalJson({ planned: stage.inputsHash, extra, code, upstream })).slice(0, 32);
}

/** Cache keys for every planned stage (finalize excluded), with whether each is already in the cache. */
export async function resolveStages(
  plan: Plan,
  manifest: ResolvedManifest,
  cache: Cache,
): Promise<PlannedBuildStage[]> {
  const definitions = new Map(recipe().map((stage) => [stage.name, stage]));
  const keys = new Map<StageName, string>();
  const out: PlannedBuildStage[] = [];
  for (const stage of plan.stages) {
    if (stage.name === 'finalize') continue;
    // Upstream keys chain the stage-code digests too, so a changed rootfs.ts rebuilds everything after it.
    const upstream = Object.fromEntries(stage.dependsOn.map((dep) => [dep, keys.get(dep) ?? '']));
    const key = await stageKey(stage, definitions.get(stage.name), manifest, upstream);
    keys.set(stage.name, key);
    out.push({ stage, key, cached: (await cache.lookup(stage.name, key)) !== undefined });
  }
  return out;
}

function toolsNeeded(plan: Plan): HostTool[] {
  const names = new Set(plan.stages.map((stage) => stage.name));
  const groups = new Set<HostTool['neededFor']>(['build']);
  if (names.has('usb')) groups.add('usb');
  if (names.has('qcow2')) groups.add('qcow2');
  if (names.has('ova')) groups.add('ova').add('qcow2');
  return HOST_TOOLS.filter((tool) => groups.has(tool.neededFor));
}

/** Free bytes a build needs on the cache's file system for the stages it has to run (generous estimates). */
export function bytesNeeded(stages: PlannedBuildStage[], manifest: ResolvedManifest): number {
  const GiB = 1024 ** 3;
  const content = manifest.datasets.reduce(
    (sum, d) =>
      sum + (d.source === 'url' ? d.size : d.source === 'synthetic' ? d.synthetic.events * 400 : 512 * 1024 ** 2),
    0,
  );
  const estimates: Partial<Record<StageName, number>> = {
    rootfs: 3 * GiB,
    'os-layer': 0.1 * GiB,
    service: 0.2 * GiB,
    'service-layer': 0.1 * GiB,
    content: content,
    iso: 1.5 * GiB + content,
    qcow2: 1.5 * GiB + content,
    ova: 1.5 * GiB + content,
  };
  return stages.filter((s) => !s.cached).reduce((sum, s) => sum + (estimates[s.stage.name] ?? 0), 0);
}

async function freeBytes(dir: string): Promise<number> {
  let probe = path.resolve(dir);
  for (;;) {
    try {
      const stats = await statfs(probe);
      return stats.bavail * stats.bsize;
    } catch {
      const parent = path.dirname(probe);
      if (parent === probe) return Number.POSITIVE_INFINITY;
      probe = parent;
    }
  }
}

async function checkMirror(url: string, signal: AbortSignal | undefined): Promise<void> {
  try {
    const response = await fetch(url, {
      method: 'HEAD',
      signal:
        signal === undefined ? AbortSignal.timeout(20_000) : AbortSignal.any([signal, AbortSignal.timeout(20_000)]),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new OpenKeyError('E_MIRROR', `cannot reach the Debian mirror: ${url} (${cause})`, {
      hint: 'check the network and base.mirror / base.snapshot in the manifest; nothing was written',
    });
  }
}

/** Everything that can fail before the first write: tools, disk space, mirror. */
async function preflight(plan: Plan, stages: PlannedBuildStage[], options: BuildOptions): Promise<void> {
  const statuses = await Promise.all(toolsNeeded(plan).map(probeTool));
  const missing = statuses.filter((status) => !status.found);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((m) => m.tool.aptPackage))].sort();
    throw new OpenKeyError(
      'E_TOOLS_MISSING',
      `missing host tools: ${missing.map((m) => `${m.tool.program} (${m.tool.purpose})`).join(', ')}`,
      {
        hint: `apt-get install ${packages.join(' ')}   (openkey doctor lists every tool)`,
      },
    );
  }
  const needed = bytesNeeded(stages, options.manifest);
  const free = await freeBytes(options.cacheDir);
  if (free < needed) {
    throw new OpenKeyError(
      'E_DISK_SPACE',
      `not enough free space for ${options.cacheDir}: ${(free / 1024 ** 3).toFixed(2)} GiB free, about ${(needed / 1024 ** 3).toFixed(2)} GiB needed`,
      {
        hint: 'free some space, use --cache DIR on a larger disk, or openkey cache prune',
      },
    );
  }
  const rootfs = stages.find((s) => s.stage.name === 'rootfs');
  if (rootfs !== undefined && !rootfs.cached) {
    if (options.offline) {
      throw new OpenKeyError(
        'E_OFFLINE',
        'the rootfs is not in the cache and --offline forbids downloading Debian packages',
        {
          hint: 'build once online with the same cache (--cache) first',
        },
      );
    }
    const urls = new Set(releaseUrls(options.manifest));
    for (const url of urls) await checkMirror(url, options.signal);
  }
}

async function runStage(
  planned: PlannedBuildStage,
  definition: StageDefinition,
  deps: Partial<Record<StageName, string>>,
  cache: Cache,
  options: BuildOptions,
): Promise<{ dir: string; result: StageResult }> {
  const outDir = await cache.tempDir(planned.stage.name);
  const workDir = await cache.tempDir(`${planned.stage.name}-work`);
  const name = planned.stage.name;
  try {
    const result = await definition.run({
      manifest: options.manifest,
      stage: planned.stage,
      projectRoot: options.projectRoot,
      deps,
      outDir,
      workDir,
      sourceDateEpoch: options.manifest.sourceDateEpoch,
      offline: options.offline ?? false,
      cacheDir: options.cacheDir,
      signal: options.signal ?? new AbortController().signal,
      log: (message) => options.events?.stageLog?.(name, message),
      progress: (percent) => options.events?.stageProgress?.(name, percent),
    });
    options.signal?.throwIfAborted();
    const dir = await cache.publish(name, planned.key, outDir, { result });
    return { dir, result };
  } catch (error) {
    await removeTree(outDir).catch(() => undefined);
    throw error;
  } finally {
    await removeTree(workDir).catch(() => undefined);
  }
}

/** Replaces `target` with the finished `staging` folder by rename; refuses to replace a folder that is not ours. */
async function publishOutput(staging: string, target: string): Promise<void> {
  const existing = await readdir(target).catch(() => undefined);
  if (existing !== undefined && existing.length > 0 && !existing.includes('SHA256SUMS')) {
    throw new OpenKeyError('E_OUT_NOT_EMPTY', `${target} exists and is not an openkey output folder`, {
      hint: 'choose another --out',
    });
  }
  const old = `${target}.old-${process.pid}`;
  if (existing !== undefined) await rename(target, old);
  await rename(staging, target);
  if (existing !== undefined) await rm(old, { recursive: true, force: true });
}

/** Plans, checks and runs a build; every stage output comes from the cache or lands in it. */
export async function buildImage(options: BuildOptions): Promise<BuildOutcome> {
  const started = performance.now();
  const { manifest } = options;
  const cache = new Cache(options.cacheDir);
  const facts = await surveyHost(manifest, options.projectRoot);
  const plan = planBuild(manifest, facts);
  const stages = await resolveStages(plan, manifest, cache);
  if (options.dryRun) return { plan, stages, outDir: options.outDir };

  await preflight(plan, stages, options);
  await mkdir(options.cacheDir, { recursive: true });
  const definitions = new Map(recipe().map((stage) => [stage.name, stage]));
  const deps: Partial<Record<StageName, string>> = {};
  const reports: StageReport[] = [];
  for (const planned of stages) {
    options.signal?.throwIfAborted();
    const name = planned.stage.name;
    const definition = definitions.get(name);
    if (definition === undefined) throw new Error(`no stage definition for ${name}`);
    const stageStarted = performance.now();
    const hit = await cache.lookup(name, planned.key);
    options.events?.stageStart?.(name, hit !== undefined, planned.key);
    let dir: string;
    let result: StageResult;
    if (hit !== undefined) {
      dir = hit;
      const entry = JSON.parse(await readFile(path.join(hit, 'entry.json'), 'utf8')) as {
        meta: { result: StageResult };
      };
      result = entry.meta.result;
    } else {
      ({ dir, result } = await runStage(planned, definition, deps, cache, options));
    }
    deps[name] = dir;
    const report: StageReport = {
      name,
      key: planned.key,
      cached: hit !== undefined,
      seconds: (performance.now() - stageStarted) / 1000,
      outputs: result.outputs,
      ...(result.details === undefined ? {} : { details: result.details }),
    };
    reports.push(report);
    options.events?.stageEnd?.(report);
  }

  const finalizeStarted = performance.now();
  options.events?.stageStart?.('finalize', false, '');
  const images: Record<string, string> = {};
  const imageOf = (stage: StageName, file: string) => {
    const dir = deps[stage];
    if (dir !== undefined) images[file] = path.join(dir, file);
  };
  imageOf('iso', isoFileName(manifest));
  imageOf('usb', usbFileName(manifest));
  imageOf('qcow2', qcow2FileName(manifest));
  imageOf('ova', ovaFileName(manifest));
  const osLayer = deps['os-layer'] ?? '';
  const layers: Record<string, number> = {};
  for (const report of reports) {
    for (const [file, bytes] of Object.entries(report.outputs))
      if (file.endsWith('.squashfs')) layers[file.replace(/\.squashfs$/, '')] = bytes;
  }
  const outParent = path.dirname(path.resolve(options.outDir));
  await mkdir(outParent, { recursive: true });
  const staging = path.join(outParent, `.${path.basename(options.outDir)}.tmp-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  try {
    const report = await finalize({
      manifest,
      plan,
      images,
      packagesTsv: path.join(osLayer, 'packages.tsv'),
      resolvedManifest: portableManifest(manifest, options.projectRoot),
      dir: staging,
      report: {
        name: manifest.name,
        version: manifest.version,
        variant: manifest.variant,
        sourceDateEpoch: manifest.sourceDateEpoch,
        stages: [
          ...reports,
          {
            name: 'finalize',
            key: '',
            cached: false,
            seconds: (performance.now() - finalizeStarted) / 1000,
            outputs: {},
          },
        ],
        layers,
        datasets: deps.content === undefined ? [] : await readDatasetSummaries(deps.content),
        totalSeconds: (performance.now() - started) / 1000,
      },
    });
    await publishOutput(staging, path.resolve(options.outDir));
    const finalizeReport = report.stages.at(-1);
    if (finalizeReport !== undefined) options.events?.stageEnd?.(finalizeReport);
    return { plan, stages, report, outDir: path.resolve(options.outDir) };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
