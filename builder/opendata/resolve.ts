import path from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';
import type { Dataset, ResolvedManifest } from '../manifest/types.ts';
import { lockMismatches, lockPathFor, opendataDatasets, readLock } from './lock.ts';
import { OpendataStore } from './store.ts';

/** The command that fills the cache for a manifest, as the user would type it. */
export function fetchCommand(manifestFile: string, cacheDir: string, cwd: string): string {
  return `openkey fetch ${path.relative(cwd, manifestFile) || manifestFile} --cache ${cacheDir}`;
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
  const datasets = opendataDatasets(manifest);
  if (datasets.length === 0) return manifest;
  const command = fetchCommand(manifestFile, cacheDir, cwd);
  const lockFile = lockPathFor(manifestFile);
  const lock = await readLock(lockFile);
  if (lock === undefined)
    throw new OpenKeyError(
      'E_OPENDATA_NOT_FETCHED',
      `${path.basename(manifestFile)} carries real data (${datasets.map((d) => d.id).join(', ')}) but there is no lock file ${path.relative(cwd, lockFile)} yet`,
      { hint: `run: ${command}   (it downloads, verifies and writes the lock file; then build again)` },
    );
  const mismatches = lockMismatches(manifest, lock);
  if (mismatches.length > 0)
    throw new OpenKeyError(
      'E_LOCK_STALE',
      `${path.relative(cwd, lockFile)} no longer matches the manifest: ${mismatches.join('; ')}`,
      {
        hint: `run: ${command}`,
      },
    );
  const store = new OpendataStore(cacheDir);
  const missing: string[] = [];
  for (const dataset of datasets)
    for (const file of lock.datasets[dataset.id]!.files)
      if (!(await store.has(file.sha256, file.size)))
        missing.push(`  ${dataset.id}/${file.name} (${file.size} bytes): ${command}`);
  if (missing.length > 0)
    throw new OpenKeyError(
      'E_OPENDATA_NOT_FETCHED',
      `${missing.length} real-data file${missing.length === 1 ? ' is' : 's are'} not in the cache ${cacheDir}:\n${missing.join('\n')}`,
      { hint: `run: ${command}   (or --mirror DIR to copy them from another key)` },
    );
  const copy = structuredClone(manifest) as ResolvedManifest;
  copy.datasets = copy.datasets.map((dataset: Dataset) =>
    dataset.source === 'opendata' ? { ...dataset, locked: lock.datasets[dataset.id]!.files } : dataset,
  );
  return copy;
}
