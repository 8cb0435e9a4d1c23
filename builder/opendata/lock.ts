import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';
import type { Dataset, OpendataDataset, ResolvedManifest } from '../manifest/types.ts';
import { createHash } from 'node:crypto';

// Not imported from builder/plan: that module pulls in every stage, and `openkey check` reads lock files.
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * `<manifest>.lock.json`, written by `openkey fetch` beside the manifest and committed by the maintainer: for every
 * real-data file its URL, size, adler32 and SHA-256. `build` takes the files from the cache by SHA-256;
 * `check` says when the lock no longer matches the manifest. `integrity` is the SHA-256 of the canonical JSON of
 * `datasets`, so a hand edit is caught before it can point a build at the wrong bytes.
 */
export interface LockedFile {
  name: string;
  /** root://eospublic.cern.ch//eos/opendata/… as the record lists it. */
  uri: string;
  /** The public HTTP address (https://opendata.cern.ch//eos/opendata/…). */
  url: string;
  size: number;
  adler32: string;
  sha256: string;
}

export interface LockedDataset {
  record: number;
  /** The manifest's `opendata.files`, or null when it takes every file of the record. */
  requested: string[] | null;
  files: LockedFile[];
}

export interface LockFile {
  lockVersion: 1;
  manifest: string;
  datasets: Record<string, LockedDataset>;
  integrity: string;
}

export const LOCK_VERSION = 1;

/** `manifests/m-atlas.yaml` → `manifests/m-atlas.lock.json`. */
export function lockPathFor(manifestFile: string): string {
  const dir = path.dirname(manifestFile);
  return path.join(dir, `${path.basename(manifestFile).replace(/\.ya?ml$/, '')}.lock.json`);
}

export function opendataDatasets(manifest: ResolvedManifest): OpendataDataset[] {
  return manifest.datasets.filter((d: Dataset): d is OpendataDataset => d.source === 'opendata');
}

export function integrityOf(datasets: Record<string, LockedDataset>): string {
  return sha256Hex(canonicalJson(datasets));
}

export function makeLock(manifestFile: string, datasets: Record<string, LockedDataset>): LockFile {
  return {
    lockVersion: LOCK_VERSION,
    manifest: path.basename(manifestFile),
    datasets,
    integrity: integrityOf(datasets),
  };
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX8 = /^[0-9a-f]{8}$/;

function shapeProblem(lock: unknown): string | undefined {
  const l = lock as Partial<LockFile> | null;
  if (l === null || typeof l !== 'object' || Array.isArray(l)) return 'it is not a JSON object';
  if (l.lockVersion !== LOCK_VERSION)
    return `lockVersion is ${JSON.stringify(l.lockVersion)}, expected ${LOCK_VERSION}`;
  if (typeof l.datasets !== 'object' || l.datasets === null) return 'it has no "datasets" object';
  if (typeof l.integrity !== 'string') return 'it has no "integrity" digest';
  for (const [id, entry] of Object.entries(l.datasets)) {
    if (!Number.isSafeInteger(entry?.record)) return `datasets.${id}.record is not a record id`;
    if (!Array.isArray(entry.files)) return `datasets.${id}.files is not a list`;
    for (const [index, file] of entry.files.entries()) {
      const at = `datasets.${id}.files[${index}]`;
      if (typeof file?.name !== 'string' || typeof file.url !== 'string' || typeof file.uri !== 'string')
        return `${at} lacks name, uri or url`;
      if (!Number.isSafeInteger(file.size) || file.size < 0) return `${at}.size is not a byte count`;
      if (!HEX8.test(file.adler32)) return `${at}.adler32 is not 8 hex digits`;
      if (!HEX64.test(file.sha256)) return `${at}.sha256 is not 64 hex digits`;
    }
  }
  return undefined;
}

/** The lock file, or undefined when there is none; a malformed or hand-edited one is an error. */
export async function readLock(file: string): Promise<LockFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OpenKeyError('E_LOCK_INVALID', `cannot read ${file}: ${(error as Error).message}`);
  }
  const redo = `delete it and run openkey fetch on its manifest to write it anew`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new OpenKeyError('E_LOCK_INVALID', `${file} is not valid JSON (${(error as Error).message})`, { hint: redo });
  }
  const problem = shapeProblem(json);
  if (problem !== undefined) throw new OpenKeyError('E_LOCK_INVALID', `${file}: ${problem}`, { hint: redo });
  const lock = json as LockFile;
  if (integrityOf(lock.datasets) !== lock.integrity)
    throw new OpenKeyError(
      'E_LOCK_EDITED',
      `${file} was edited by hand: its integrity digest does not match its contents`,
      { hint: `the lock is written by openkey fetch only; ${redo}` },
    );
  return lock;
}

export async function writeLock(file: string, lock: LockFile): Promise<void> {
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, JSON.stringify(lock, null, 2) + '\n');
  await rename(temp, file);
}

/** Why the lock does not describe the manifest's real-data datasets (empty when it does). */
export function lockMismatches(manifest: ResolvedManifest, lock: LockFile): string[] {
  const problems: string[] = [];
  const wanted = opendataDatasets(manifest);
  for (const dataset of wanted) {
    const entry = lock.datasets[dataset.id];
    if (entry === undefined) {
      problems.push(`dataset ${dataset.id} is not in the lock file`);
      continue;
    }
    if (entry.record !== dataset.opendata.record)
      problems.push(
        `dataset ${dataset.id}: the manifest names record ${dataset.opendata.record}, the lock ${entry.record}`,
      );
    const requested = dataset.opendata.files === undefined ? null : [...dataset.opendata.files].sort();
    const locked = entry.requested === null ? null : [...entry.requested].sort();
    if (canonicalJson(requested) !== canonicalJson(locked))
      problems.push(
        `dataset ${dataset.id}: the manifest asks for ${requested === null ? 'every file of the record' : requested.join(', ')}, the lock holds ${locked === null ? 'every file of the record' : locked.join(', ')}`,
      );
  }
  for (const id of Object.keys(lock.datasets))
    if (!wanted.some((d) => d.id === id))
      problems.push(`the lock holds dataset ${id}, which the manifest no longer has`);
  return problems;
}

/** For `openkey check`: a line saying what is wrong with the manifest's lock file, or undefined when nothing is. */
export async function checkLockFile(
  manifest: ResolvedManifest,
  manifestFile: string,
  cwd: string,
): Promise<string | undefined> {
  if (opendataDatasets(manifest).length === 0) return undefined;
  const file = lockPathFor(manifestFile);
  const shown = path.relative(cwd, file) || file;
  const redo = `(run openkey fetch ${path.relative(cwd, manifestFile) || manifestFile} to rewrite it)`;
  let lock: LockFile | undefined;
  try {
    lock = await readLock(file);
  } catch (error) {
    return `${shown}: ${(error as Error).message} ${redo}`;
  }
  if (lock === undefined) return undefined;
  const mismatches = lockMismatches(manifest, lock);
  return mismatches.length === 0
    ? undefined
    : `${shown}: the lock file no longer matches its manifest: ${mismatches.join('; ')} ${redo}`;
}
