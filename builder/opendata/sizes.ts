import { catalogueFile } from './catalogue.ts';
import { lockMismatches, lockPathFor, opendataDatasets, readLock, type LockFile } from './lock.ts';
import { OpendataStore } from './store.ts';
import type { ResolvedManifest } from '../manifest/types.ts';

export interface OpendataSizes {
  /** Dataset id → its bytes on the key, where they are known without the network. */
  bytes: Map<string, number>;
  /** Dataset id → where its bytes came from (the lock file, the catalogue, a record openkey fetch read). */
  from: Map<string, string>;
  /** Dataset id → the files whose size nothing offline knows yet. */
  unknown: Map<string, string[]>;
}

/**
 * The size of each real-data dataset before a build, without the network: the lock file's sizes when it matches the
 * manifest, else per file the size the record had when `openkey fetch` last read it (kept in `cacheDir`) or the
 * catalogue's. The media checks count these; what nothing knows is named rather than counted as nothing.
 */
export async function opendataSizes(
  manifest: ResolvedManifest,
  manifestFile: string,
  cacheDir?: string,
): Promise<OpendataSizes> {
  const sizes: OpendataSizes = { bytes: new Map(), from: new Map(), unknown: new Map() };
  const datasets = opendataDatasets(manifest);
  if (datasets.length === 0) return sizes;
  // A broken lock is `check`'s to report (checkLockFile); here it only stops being a source of sizes.
  const lock: LockFile | undefined = await readLock(lockPathFor(manifestFile)).catch(() => undefined);
  const lockUsable = lock !== undefined && lockMismatches(manifest, lock).length === 0;
  const store = cacheDir === undefined ? undefined : new OpendataStore(cacheDir);
  for (const dataset of datasets) {
    const locked = lockUsable ? lock.datasets[dataset.id] : undefined;
    if (locked !== undefined) {
      sizes.bytes.set(
        dataset.id,
        locked.files.reduce((sum, file) => sum + file.size, 0),
      );
      sizes.from.set(dataset.id, 'the lock file');
      continue;
    }
    const record = dataset.opendata.record;
    const listed = await store?.loadRecord(record);
    const names =
      dataset.opendata.files ?? listed?.filter((file) => file.name.endsWith('.root')).map((file) => file.name);
    if (names === undefined) {
      sizes.unknown.set(dataset.id, [`every file of record ${record}`]);
      continue;
    }
    let bytes = 0;
    const unknown: string[] = [];
    const sources = new Set<string>();
    for (const name of names) {
      const fromCatalogue = catalogueFile(record, name)?.size;
      const fromRecord = listed?.find((file) => file.name === name)?.size;
      if (fromRecord !== undefined) sources.add(`record ${record} as openkey fetch last read it`);
      else if (fromCatalogue !== undefined) sources.add('the catalogue');
      const size = fromRecord ?? fromCatalogue;
      if (size === undefined) unknown.push(name);
      else bytes += size;
    }
    if (unknown.length > 0) sizes.unknown.set(dataset.id, unknown);
    else {
      sizes.bytes.set(dataset.id, bytes);
      sizes.from.set(dataset.id, [...sources].join(' and '));
    }
  }
  return sizes;
}
