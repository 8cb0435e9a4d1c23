import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildImage } from '../build.ts';
import { listFiles, removeTree, sha256File } from '../cache/fsutil.ts';
import { Cache, defaultCacheDir } from '../cache/index.ts';
import { lockedFiles, lockedInputDifferences, seedOpendata, withLockedOpendata } from '../opendata/resolve.ts';
import { UsageError } from '../../common/errors.ts';
import { ALLOW_PATH_HELP, ALLOW_PATH_OPTION, loadManifest, ManifestError, loadOptionsOf } from '../manifest/index.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { PROJECT_ROOT } from '../plan/survey.ts';
import { unsquashfs } from '../tools/mksquashfs.ts';
import { osirroxExtract } from '../tools/xorriso.ts';
import type { Command } from './types.ts';

function parseSums(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [sum = '', name = ''] = line.split(/\s+\*?/);
        return [name, sum] as const;
      }),
  );
}

/**
 * Files that embed the medium's identity (a hash of everything else): they differ whenever anything else does, so
 * they are compared last and named only when nothing else differs.
 */
const DERIVED = [/^\.disk\/openkey-/, /^EFI\/BOOT\//, /^boot\/grub\/i386-pc\/eltorito\.img$/];

/** The first file whose content differs between two extracted trees (or that exists in only one), or undefined. */
async function firstDifference(a: string, b: string): Promise<{ file: string; why: string } | undefined> {
  const [filesA, filesB] = [await listFiles(a), await listFiles(b)];
  const isDerived = (file: string) => DERIVED.some((pattern) => pattern.test(file));
  const sorted = [...new Set([...filesA, ...filesB])].sort();
  const all = [...sorted.filter((file) => !isDerived(file)), ...sorted.filter(isDerived)];
  const inA = new Set(filesA);
  const inB = new Set(filesB);
  for (const file of all) {
    if (!inA.has(file) || !inB.has(file)) return { file, why: `only in build ${inA.has(file) ? 1 : 2}` };
    if ((await sha256File(path.join(a, file))) !== (await sha256File(path.join(b, file)))) {
      return { file, why: 'content differs' };
    }
  }
  return undefined;
}

/** Opens the ISOs, then the first differing squashfs layer, to name the first differing file inside the image. */
export async function explainIsoDifference(
  isoA: string,
  isoB: string,
  scratch: string,
  signal: AbortSignal,
): Promise<string> {
  const [dirA, dirB] = [path.join(scratch, 'iso-a'), path.join(scratch, 'iso-b')];
  await osirroxExtract(isoA, dirA, signal);
  await osirroxExtract(isoB, dirB, signal);
  const diff = await firstDifference(dirA, dirB);
  if (diff === undefined)
    return 'the ISO file systems are identical: the difference is in the boot records or volume metadata';
  if (!diff.file.endsWith('.squashfs') || diff.why !== 'content differs')
    return `first differing file: /${diff.file} (${diff.why})`;
  const [sqA, sqB] = [path.join(scratch, 'sq-a'), path.join(scratch, 'sq-b')];
  await unsquashfs(path.join(dirA, diff.file), sqA, signal);
  await unsquashfs(path.join(dirB, diff.file), sqB, signal);
  const inner = await firstDifference(sqA, sqB);
  return inner === undefined
    ? `/${diff.file} differs but its files are identical: metadata (times, owners, order) differs`
    : `first differing file: /${diff.file} → /${inner.file} (${inner.why})`;
}

export const command: Command = {
  name: 'verify-repro',
  help: `Usage: openkey verify-repro <manifest.yaml> [--work DIR] [--keep] [--cache DIR]

Builds the manifest twice, each time into a fresh cache and output folder under --work (default: a temp folder),
and compares the SHA-256 of every output. When they differ it opens both images and names the first differing file
inside them (inside the squashfs layer when that is where it is). Exit 0 when every output is identical.
Real data (source: opendata) is an input: both builds take the files its lock file pins from --cache (where
openkey fetch put them), and each build's key must carry exactly those bytes (the SHA-256 the lock pins).

Options:
  --cache DIR   the content cache openkey fetch filled (default: $OPENKEY_CACHE or ~/.cache/openkey)
${ALLOW_PATH_HELP}
`,
  options: {
    ...ALLOW_PATH_OPTION,
    work: { type: 'string' },
    keep: { type: 'boolean' },
    cache: { type: 'string' },
  },
  async run(args, io) {
    const [file, ...extra] = args.positionals;
    if (file === undefined || extra.length > 0)
      throw new UsageError('expected exactly one manifest', 'openkey verify-repro manifests/mu.yaml');
    let manifest: ResolvedManifest;
    try {
      manifest = (await loadManifest(file, io.cwd, loadOptionsOf(args.values, io.signal))).manifest;
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      io.err(`${error.format(io.cwd)}\n`);
      return 2;
    }
    const userCache =
      typeof args.values.cache === 'string' ? path.resolve(io.cwd, args.values.cache) : defaultCacheDir(io.env);
    // Before any build: the lock must match the manifest and every file it pins must be in the user's cache.
    manifest = await withLockedOpendata(manifest, path.resolve(io.cwd, file), userCache, io.cwd);
    const base = typeof args.values.work === 'string' ? path.resolve(io.cwd, args.values.work) : undefined;
    if (base !== undefined) await mkdir(base, { recursive: true });
    const work = await mkdtemp(path.join(base ?? os.tmpdir(), 'openkey-repro-'));
    try {
      const sums: Map<string, string>[] = [];
      const outs: string[] = [];
      const lockProblems: string[] = [];
      for (const round of [1, 2]) {
        const cacheDir = path.join(work, `cache-${round}`);
        io.err(`verify-repro: build ${round} of 2 (fresh cache ${cacheDir})\n`);
        const seeded = await seedOpendata(manifest, userCache, cacheDir);
        if (seeded > 0) io.err(`  real data: ${seeded} locked files from ${userCache}\n`);
        const started = performance.now();
        const outcome = await buildImage({
          manifest,
          projectRoot: PROJECT_ROOT,
          outDir: path.join(work, `out-${round}`),
          cacheDir,
          signal: io.signal,
          events: { stageEnd: (r) => io.err(`  ${r.name}: ${r.seconds.toFixed(1)} s\n`) },
        });
        io.err(`verify-repro: build ${round} done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
        outs.push(outcome.outDir);
        if (lockedFiles(manifest).length > 0) {
          const content = outcome.stages.find((s) => s.stage.name === 'content');
          const dir = content && (await new Cache(cacheDir).lookup('content', content.key));
          const problems =
            dir === undefined
              ? ['the content stage is not in the cache']
              : await lockedInputDifferences(manifest, path.join(dir, 'root'));
          lockProblems.push(...problems.map((problem) => `build ${round}: ${problem}`));
        }
        sums.push(parseSums(await readFile(path.join(outcome.outDir, 'SHA256SUMS'), 'utf8')));
      }
      const [first = new Map<string, string>(), second = new Map<string, string>()] = sums;
      let identical = true;
      for (const name of [...new Set([...first.keys(), ...second.keys()])].sort()) {
        const [a, b] = [first.get(name), second.get(name)];
        const same = a !== undefined && a === b;
        identical &&= same;
        io.out(
          `${same ? 'identical' : 'DIFFERENT'}  ${a ?? '-'}  ${name}${same ? '' : `  (second build: ${b ?? '-'})`}\n`,
        );
      }
      const locked = lockedFiles(manifest);
      for (const { datasetId, file: pinned } of locked) {
        const shown = `openkey/datasets/${datasetId}/${pinned.name}`;
        const bad = lockProblems.some((problem) => problem.includes(`${shown}:`));
        io.out(`${bad ? 'NOT LOCKED' : 'locked   '}  ${pinned.sha256}  ${shown}\n`);
      }
      for (const problem of lockProblems) io.out(`${problem}\n`);
      if (lockProblems.length > 0) identical = false;
      if (!identical) {
        const iso = [...first.keys()].find((name) => name.endsWith('.iso') && first.get(name) !== second.get(name));
        if (iso !== undefined && outs[0] !== undefined && outs[1] !== undefined) {
          io.out(
            `${await explainIsoDifference(path.join(outs[0], iso), path.join(outs[1], iso), path.join(work, 'diff'), io.signal)}\n`,
          );
        }
        return 1;
      }
      io.out('reproducible: both builds gave identical outputs\n');
      return 0;
    } finally {
      if (args.values.keep !== true) await removeTree(work).catch(() => rm(work, { recursive: true, force: true }));
      else io.err(`kept ${work}\n`);
    }
  },
};
