import path from 'node:path';
import { buildImage, bytesNeeded, type BuildOutcome } from '../build.ts';
import { defaultCacheDir } from '../cache/index.ts';
import { UsageError } from '../../common/errors.ts';
import { ALLOW_PATH_HELP, ALLOW_PATH_OPTION, loadManifest, ManifestError, loadOptionsOf } from '../manifest/index.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { PROJECT_ROOT } from '../plan/survey.ts';
import { formatBytes } from '../../common/format.ts';
import type { BuildReport } from '../stages/finalize.ts';
import { withLockedOpendata } from '../opendata/resolve.ts';
import type { Command, CommandIo } from './types.ts';

export function defaultOutDir(manifest: ResolvedManifest, cwd: string): string {
  return path.join(cwd, 'out', manifest.name);
}

/** The table printed at the end: every stage's time, cache hit or miss, and its outputs' sizes; then finalize. */
export function stageTable(report: Pick<BuildReport, 'stages' | 'finalizeSeconds'>): string {
  const rows = report.stages.map((r) => [
    r.name,
    `${r.seconds.toFixed(1)} s`,
    r.cached ? 'hit' : 'built',
    Object.entries(r.outputs)
      .map(([file, bytes]) => `${file} ${formatBytes(bytes)}`)
      .join(', '),
  ]);
  rows.push(['finalize', `${report.finalizeSeconds.toFixed(1)} s`, '-', '']);
  const header = ['stage', 'time', 'cache', 'outputs'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 1 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

function printDryRun(outcome: BuildOutcome, manifest: ResolvedManifest, io: CommandIo): void {
  io.out(
    `${outcome.plan.name} ${outcome.plan.version} (variant ${outcome.plan.variant}): dry run, nothing written\n\n`,
  );
  for (const { stage, key, cached } of outcome.stages) {
    io.out(`  ${stage.name.padEnd(14)} ${key}  ${cached ? 'cached' : 'to build'}\n`);
  }
  io.out(`  ${'finalize'.padEnd(14)} ${''.padEnd(32)}  always\n`);
  io.out(
    `\nwould write ${outcome.outDir}; about ${formatBytes(bytesNeeded(outcome.stages, manifest))} of cache space needed\n`,
  );
}

export const command: Command = {
  name: 'build',
  help: `Usage: openkey build <manifest.yaml> [--out DIR] [--cache DIR] [--offline] [--dry-run]

Builds the key image the manifest describes: rootfs (mmdebstrap) → overlay → OS layer → service and apps → service
layer → datasets → content → hybrid ISO (BIOS + UEFI) → the key's disk → qcow2/ova/usb when enabled → SHA256SUMS,
report, package list.
Each stage's output is cached under the hash of its inputs; an unchanged stage is taken from the cache.

Options:
  --out DIR     output folder (default: out/<manifest name>); replaced whole when the build succeeds
  --cache DIR   cache folder (default: $OPENKEY_CACHE or ~/.cache/openkey)
  --offline     never download: fail if a stage needs the network and is not cached
  --dry-run     print the stages, their cache keys and whether each is cached; write nothing
${ALLOW_PATH_HELP}

Exit codes: 0 built, 1 build failed, 2 usage or manifest error.
`,
  options: {
    ...ALLOW_PATH_OPTION,
    out: { type: 'string' },
    cache: { type: 'string' },
    offline: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  },
  async run(args, io) {
    const [file, ...extra] = args.positionals;
    if (file === undefined || extra.length > 0)
      throw new UsageError('expected exactly one manifest', 'openkey build manifests/mu.yaml');
    let manifest: ResolvedManifest;
    try {
      manifest = (await loadManifest(file, io.cwd, loadOptionsOf(args.values, io.signal))).manifest;
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      io.err(`${error.format(io.cwd)}\n`);
      return 2;
    }
    const outDir =
      typeof args.values.out === 'string' ? path.resolve(io.cwd, args.values.out) : defaultOutDir(manifest, io.cwd);
    const cacheDir =
      typeof args.values.cache === 'string' ? path.resolve(io.cwd, args.values.cache) : defaultCacheDir(io.env);
    // Real data comes from the content cache as the lock file pins it; a missing file is named with its fetch command.
    manifest = await withLockedOpendata(manifest, path.resolve(io.cwd, file), cacheDir, io.cwd);
    const started = performance.now();
    const stamp = () => `[${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s]`;
    let lastPercent = new Map<string, number>();
    const outcome = await buildImage({
      manifest,
      projectRoot: PROJECT_ROOT,
      outDir,
      cacheDir,
      offline: args.values.offline === true,
      dryRun: args.values['dry-run'] === true,
      signal: io.signal,
      events: {
        stageStart: (stage, cached) => io.err(`${stamp()} ${stage}: ${cached ? 'from cache' : 'building'}\n`),
        stageLog: (stage, message) => io.err(`${stamp()} ${stage}: ${message}\n`),
        stageProgress: (stage, percent) => {
          const step = Math.floor(percent / 10) * 10;
          if ((lastPercent.get(stage) ?? -1) >= step) return;
          lastPercent.set(stage, step);
          io.err(`${stamp()} ${stage}: ${step}%\n`);
        },
        stageEnd: (report) =>
          io.err(
            `${stamp()} ${report.name}: ${report.cached ? 'cache hit' : 'done'} in ${report.seconds.toFixed(1)} s\n`,
          ),
        finalizeStart: () => io.err(`${stamp()} finalize: SHA256SUMS, report, package list\n`),
        finalizeEnd: (seconds) => io.err(`${stamp()} finalize: done in ${seconds.toFixed(1)} s\n`),
      },
    });
    if (outcome.report === undefined) {
      printDryRun(outcome, manifest, io);
      return 0;
    }
    lastPercent = new Map();
    io.out('\n' + stageTable(outcome.report));
    io.out(
      `\nlayers: ${Object.entries(outcome.report.layers)
        .map(([k, v]) => `${k} ${formatBytes(v)}`)
        .join(', ')}\n`,
    );
    io.out(`built ${outcome.outDir} in ${outcome.report.totalSeconds.toFixed(1)} s\n`);
    for (const [name, info] of Object.entries(outcome.report.files)) io.out(`  ${name}  ${formatBytes(info.bytes)}\n`);
    return 0;
  },
};
