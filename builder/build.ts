import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { OpenKeyError } from '../common/errors.ts';
import { Cache } from './cache/index.ts';
import { freeBytes, removeTree } from './cache/fsutil.ts';
import { hostTools } from './doctor/host-tools.ts';
import { probeTool } from './doctor/probe.ts';
import type { ResolvedManifest } from './manifest/types.ts';
import { planBuild, type Plan, type PlannedStage } from './plan/index.ts';
import { portableManifest } from './plan/portable.ts';
import { surveyHost } from './plan/survey.ts';
import { readDatasetSummaries } from './stages/datasets.ts';
import { finalize, type BuildReport, type StageReport } from './stages/finalize.ts';
import { stageRecord, type StageName } from './stages/registry.ts';
import { releaseUrls } from './stages/rootfs.ts';
import type { StageResult } from './stages/types.ts';

export interface BuildEvents {
  stageStart?: (stage: StageName, cached: boolean, key: string) => void;
  stageLog?: (stage: StageName, message: string) => void;
  stageProgress?: (stage: StageName, percent: number) => void;
  stageEnd?: (report: StageReport) => void;
  finalizeStart?: () => void;
  finalizeEnd?: (seconds: number) => void;
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

/** Whether each planned stage is already in the cache under its plan key. */
export async function cacheState(plan: Plan, cache: Cache): Promise<PlannedBuildStage[]> {
  return Promise.all(
    plan.stages.map(async (stage) => ({
      stage,
      key: stage.key,
      cached: stageRecord(stage.name).cached && (await cache.lookup(stage.name, stage.key)) !== undefined,
    })),
  );
}

/** Free bytes a build needs on the cache's file system for the stages it has to run (the registry's estimates). */
export function bytesNeeded(stages: PlannedBuildStage[], manifest: ResolvedManifest): number {
  return stages.filter((s) => !s.cached).reduce((sum, s) => sum + stageRecord(s.stage.name).diskBytes(manifest), 0);
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
  const statuses = await Promise.all(
    hostTools(plan.stages.flatMap((stage) => stageRecord(stage.name).tools)).map(probeTool),
  );
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

/**
 * Runs one stage into a temp folder of the cache and publishes it under its plan key (an uncached stage's folder is
 * kept only for this build). The stage sees only the folders of the stages its record depends on.
 */
async function runStage(
  planned: PlannedBuildStage,
  done: ReadonlyMap<StageName, StageOutput>,
  cache: Cache,
  options: BuildOptions,
): Promise<StageOutput> {
  const record = stageRecord(planned.stage.name);
  const name = record.name;
  const deps = Object.fromEntries(planned.stage.dependsOn.map((dependency) => [dependency, done.get(dependency)?.dir]));
  const outDir = await cache.tempDir(name);
  const workDir = await cache.tempDir(`${name}-work`);
  try {
    const result = await record.definition.run({
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
    if (!record.cached) return { dir: outDir, result, temporary: true };
    return { dir: await cache.publish(name, planned.key, outDir, { result }), result, temporary: false };
  } catch (error) {
    await removeTree(outDir).catch(() => undefined);
    throw error;
  } finally {
    await removeTree(workDir).catch(() => undefined);
  }
}

/** The stage's output from the cache when its key is there, else from running it. */
async function runOrReuse(
  planned: PlannedBuildStage,
  done: ReadonlyMap<StageName, StageOutput>,
  cache: Cache,
  options: BuildOptions,
): Promise<{ output: StageOutput; report: StageReport }> {
  const { name } = planned.stage;
  const started = performance.now();
  const hit = stageRecord(name).cached ? await cache.get(name, planned.key) : undefined;
  options.events?.stageStart?.(name, hit !== undefined, planned.key);
  const output: StageOutput =
    hit === undefined
      ? await runStage(planned, done, cache, options)
      : { dir: hit.dir, result: hit.meta.result as StageResult, temporary: false };
  const report: StageReport = {
    name,
    key: planned.key,
    cached: hit !== undefined,
    seconds: (performance.now() - started) / 1000,
    outputs: output.result.outputs,
    ...(output.result.details === undefined ? {} : { details: output.result.details }),
  };
  options.events?.stageEnd?.(report);
  return { output, report };
}

/** Stages that may run at once: two cores' worth (the ISO beside the key's disk, the service beside the rootfs). */
export const STAGES_AT_ONCE = 2;

/**
 * Runs every planned stage through `runOne`, each as soon as the stages it reads are done, at most `atOnce` at a
 * time: a changed doc then writes the ISO and the key's disk side by side, and a cold build bundles the service and
 * generates the datasets while mmdebstrap runs. The first failure (or the caller's abort) stops the others through
 * the signal `runOne` gets, and is thrown once they have all stopped, so no stage is left writing into the cache.
 */
export async function runStages<T>(
  stages: readonly { stage: { name: StageName; dependsOn: readonly StageName[] } }[],
  runOne: (name: StageName, signal: AbortSignal) => Promise<T>,
  options: { signal?: AbortSignal; atOnce?: number } = {},
): Promise<Map<StageName, T>> {
  const atOnce = options.atOnce ?? STAGES_AT_ONCE;
  const done = new Map<StageName, T>();
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const waiting = stages.map(({ stage }) => stage);
  const running = new Map<StageName, Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    while (waiting.length > 0 || running.size > 0) {
      if (failure === undefined && !stop.signal.aborted) {
        for (const stage of [...waiting]) {
          if (running.size >= atOnce) break;
          if (!stage.dependsOn.every((dependency) => done.has(dependency))) continue;
          waiting.splice(waiting.indexOf(stage), 1);
          const task = runOne(stage.name, stop.signal).then(
            (result) => void done.set(stage.name, result),
            (error: unknown) => {
              failure ??= { error };
              stop.abort(error);
            },
          );
          running.set(
            stage.name,
            task.finally(() => running.delete(stage.name)),
          );
        }
      }
      if (running.size === 0) {
        if (failure !== undefined || stop.signal.aborted || waiting.length === 0) break;
        throw new Error(`stages ${waiting.map((stage) => stage.name).join(', ')} wait for stages that never run`);
      }
      await Promise.race(running.values());
    }
    if (failure !== undefined) throw failure.error;
    options.signal?.throwIfAborted();
    return done;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
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

interface StageOutput {
  dir: string;
  result: StageResult;
  /** An uncached stage's folder, removed after the build. */
  temporary: boolean;
}

/**
 * The recipe: survey the host, plan (pure), pre-flight (everything that can fail before the first write), run or
 * reuse each planned stage in order, finalize into a staging folder, publish it as the output folder by rename.
 */
export async function buildImage(options: BuildOptions): Promise<BuildOutcome> {
  const started = performance.now();
  const { manifest } = options;
  const cache = new Cache(options.cacheDir);
  const facts = await surveyHost(manifest, options.projectRoot);
  const plan = planBuild(manifest, facts);
  const stages = await cacheState(plan, cache);
  if (options.dryRun) return { plan, stages, outDir: options.outDir };

  await preflight(plan, stages, options);
  await mkdir(options.cacheDir, { recursive: true });
  const done = new Map<StageName, StageOutput>();
  const byName = new Map<StageName, StageReport>();
  try {
    await runStages(
      stages,
      async (name, signal) => {
        const planned = stages.find(({ stage }) => stage.name === name)!;
        const { output, report } = await runOrReuse(planned, done, cache, { ...options, signal });
        done.set(name, output);
        byName.set(name, report);
      },
      options.signal === undefined ? {} : { signal: options.signal },
    );
    // The report lists the stages in plan order, whatever order they finished in.
    const reports = stages.flatMap(({ stage }) => byName.get(stage.name) ?? []);
    const published = await finalizeAndPublish(plan, done, reports, started, options);
    return { plan, stages, report: published.report, outDir: published.dir };
  } finally {
    for (const output of done.values()) if (output.temporary) await removeTree(output.dir).catch(() => undefined);
  }
}

/** SHA256SUMS, report and the artefacts of every stage's record into a staging folder, then renamed into place. */
async function finalizeAndPublish(
  plan: Plan,
  done: ReadonlyMap<StageName, StageOutput>,
  reports: StageReport[],
  started: number,
  options: BuildOptions,
): Promise<{ report: BuildReport; dir: string }> {
  const { manifest } = options;
  options.events?.finalizeStart?.();
  const images: Record<string, string> = {};
  for (const [name, output] of done) {
    for (const file of stageRecord(name).artefacts(manifest)) images[file] = path.join(output.dir, file);
  }
  const layers: Record<string, number> = {};
  for (const report of reports) {
    for (const [file, bytes] of Object.entries(report.outputs))
      if (file.endsWith('.squashfs')) layers[file.replace(/\.squashfs$/, '')] = bytes;
  }
  const content = done.get('content')?.dir;
  const outParent = path.dirname(path.resolve(options.outDir));
  await mkdir(outParent, { recursive: true });
  const staging = path.join(outParent, `.${path.basename(options.outDir)}.tmp-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  try {
    const report = await finalize({
      manifest,
      plan,
      images,
      packagesTsv: path.join(done.get('os-layer')?.dir ?? '', 'packages.tsv'),
      resolvedManifest: portableManifest(manifest, options.projectRoot),
      dir: staging,
      buildStarted: started,
      report: {
        name: manifest.name,
        version: manifest.version,
        variant: manifest.variant,
        sourceDateEpoch: manifest.sourceDateEpoch,
        stages: reports,
        layers,
        datasets: content === undefined ? [] : await readDatasetSummaries(content),
      },
    });
    await publishOutput(staging, path.resolve(options.outDir));
    options.events?.finalizeEnd?.(report.finalizeSeconds);
    return { report, dir: path.resolve(options.outDir) };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
