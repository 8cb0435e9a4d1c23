import path from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';
import { linkOrCopy, sha256File } from '../cache/fsutil.ts';
import type { Dataset, LockedOpendataFile, ResolvedManifest } from '../manifest/types.ts';
import { lockMismatches, lockPathFor, opendataDatasets, readLock } from './lock.ts';
import { OpendataStore } from './store.ts';

/** The command that fills the cache for a manifest, as the user would type it. */
export function fetchCommand(manifestFile: string, cacheDir: string, cwd: string): string {
  return `openkey fetch ${path.relative(cwd, manifestFile) || manifestFile} --cache ${cacheDir}`;
}

export interface PinnedManifest {
  /** The manifest with each real-data dataset's `locked` files, when the lock file pins them. */
  manifest: ResolvedManifest;
  /** The real-data datasets no lock file pins yet (every one of them, when there is no lock file). */
  unlocked: string[];
  lockFile: string;
}

/**
 * The manifest with each real-data dataset's files pinned by its lock file (URLs, sizes, checksums), so `plan`,
 * `build` and `verify-repro` key the content stage on exactly the same bytes. No lock file leaves the datasets
 * unpinned (`unlocked` names them); a lock that no longer matches the manifest is an error, as it is for `build`.
 */
export async function pinOpendata(
  manifest: ResolvedManifest,
  manifestFile: string,
  command: string,
  cwd: string,
): Promise<PinnedManifest> {
  const datasets = opendataDatasets(manifest);
  const lockFile = lockPathFor(manifestFile);
  if (datasets.length === 0) return { manifest, unlocked: [], lockFile };
  const lock = await readLock(lockFile);
  if (lock === undefined) return { manifest, unlocked: datasets.map((d) => d.id), lockFile };
  const mismatches = lockMismatches(manifest, lock);
  if (mismatches.length > 0)
    throw new OpenKeyError(
      'E_LOCK_STALE',
      `${path.relative(cwd, lockFile)} no longer matches the manifest: ${mismatches.join('; ')}`,
      { hint: `run: ${command}` },
    );
  const copy = structuredClone(manifest) as ResolvedManifest;
  copy.datasets = copy.datasets.map((dataset: Dataset) =>
    dataset.source === 'opendata' ? { ...dataset, locked: lock.datasets[dataset.id]!.files } : dataset,
  );
  return { manifest: copy, unlocked: [], lockFile };
}

/** Every (dataset, file) the pinned manifest's lock names. */
export function lockedFiles(manifest: ResolvedManifest): { datasetId: string; file: LockedOpendataFile }[] {
  return opendataDatasets(manifest).flatMap((dataset) =>
    (dataset.locked ?? []).map((file) => ({ datasetId: dataset.id, file })),
  );
}

/**
 * For `openkey build`: the manifest with each real-data dataset's files pinned by its lock file, after checking that
 * every one of them is in the content cache. Never touches the network: what is missing is named, each file with the
 * command that fetches it.
 */
export async function withLockedOpendata(
  manifest: ResolvedManifest,
  manifestFile: string,
  cacheDir: string,
  cwd: string,
): Promise<ResolvedManifest> {
  const command = fetchCommand(manifestFile, cacheDir, cwd);
  const pinned = await pinOpendata(manifest, manifestFile, command, cwd);
  if (pinned.unlocked.length > 0)
    throw new OpenKeyError(
      'E_OPENDATA_NOT_FETCHED',
      `${path.basename(manifestFile)} carries real data (${pinned.unlocked.join(', ')}) but there is no lock file ${path.relative(cwd, pinned.lockFile)} yet`,
      { hint: `run: ${command}   (it downloads, verifies and writes the lock file; then build again)` },
    );
  const store = new OpendataStore(cacheDir);
  const missing: string[] = [];
  for (const { datasetId, file } of lockedFiles(pinned.manifest))
    if (!(await store.has(file.sha256, file.size)))
      missing.push(`  ${datasetId}/${file.name} (${file.size} bytes): ${command}`);
  if (missing.length > 0)
    throw new OpenKeyError(
      'E_OPENDATA_NOT_FETCHED',
      `${missing.length} real-data file${missing.length === 1 ? ' is' : 's are'} not in the cache ${cacheDir}:\n${missing.join('\n')}`,
      { hint: `run: ${command}   (or --mirror DIR to copy them from another key)` },
    );
  return pinned.manifest;
}

/**
 * For `openkey verify-repro`, whose builds each start from an empty cache: the locked real-data files, hard-linked
 * (copied across file systems) from the user's content cache into `toCache`. Real data is an input, like the
 * manifest, not something a build makes, so both builds get the same verified bytes and never the network.
 */
export async function seedOpendata(manifest: ResolvedManifest, fromCache: string, toCache: string): Promise<number> {
  const from = new OpendataStore(fromCache);
  const to = new OpendataStore(toCache);
  const seen = new Set<string>();
  for (const { file } of lockedFiles(manifest)) {
    if (seen.has(file.sha256)) continue;
    seen.add(file.sha256);
    await linkOrCopy(from.blobPath(file.sha256), to.blobPath(file.sha256));
  }
  return seen.size;
}

/**
 * Where a built content tree (the folder holding openkey/) does not carry exactly the locked inputs: each dataset
 * file whose SHA-256 differs from the lock's, or that is missing. Empty when every locked file is there as pinned.
 */
export async function lockedInputDifferences(manifest: ResolvedManifest, contentRoot: string): Promise<string[]> {
  const problems: string[] = [];
  for (const { datasetId, file } of lockedFiles(manifest)) {
    const shown = `openkey/datasets/${datasetId}/${file.name}`;
    const actual = await sha256File(path.join(contentRoot, shown)).catch(() => undefined);
    if (actual === undefined) problems.push(`${shown}: missing (the lock pins ${file.sha256})`);
    else if (actual !== file.sha256) problems.push(`${shown}: SHA-256 ${actual}, the lock pins ${file.sha256}`);
  }
  return problems;
}
