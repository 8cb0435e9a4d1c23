import { stat } from 'node:fs/promises';
import path from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';
import { estimateOsBytes, mediaCapacityBytes, SYNTHETIC_BYTES_PER_EVENT } from '../manifest/semantic.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { closest } from '../../common/suggest.ts';
import { formatBytes, formatProgress } from '../util/progress.ts';
import { downloadToStore } from './download.ts';
import {
  lockMismatches,
  lockPathFor,
  makeLock,
  opendataDatasets,
  readLock,
  writeLock,
  type LockedDataset,
  type LockedFile,
} from './lock.ts';
import { DEFAULT_OPENDATA_BASE, fetchRecord, httpUrl, type RecordFile } from './record.ts';
import { digestFile, OpendataStore } from './store.ts';
import { indexMirror, type MirrorFile, type MirrorIndex } from './mirror.ts';
import { freeBytes } from '../cache/fsutil.ts';

export interface FetchOptions {
  manifest: ResolvedManifest;
  manifestFile: string;
  cacheDir: string;
  /** The portal (or a mirror of it): https://opendata.cern.ch or $OPENKEY_OPENDATA_URL. */
  base: string;
  /** A folder searched first for files of the same name, size and checksum (another key's datasets folder). */
  mirror?: string;
  /** Downloads at once (default 3). */
  jobs?: number;
  signal?: AbortSignal;
  retries?: number;
  backoffMs?: number;
  stallMs?: number;
  /** Milliseconds between progress lines (default 1000). */
  progressEveryMs?: number;
  log: (line: string) => void;
}

export interface FetchSummary {
  lockFile: string;
  files: number;
  bytes: number;
  cached: number;
  fromMirror: number;
  downloaded: number;
  bytesDownloaded: number;
  seconds: number;
}

interface Wanted {
  datasetId: string;
  file: RecordFile;
  /** The public URL, written into the lock. */
  url: string;
  /** Where this run downloads it from. */
  downloadUrl: string;
  sha256?: string;
}

function totalBudgetBytes(manifest: ResolvedManifest, opendataBytes: number): number {
  let other = 0;
  for (const dataset of manifest.datasets) {
    if (dataset.source === 'synthetic') other += dataset.synthetic.events * SYNTHETIC_BYTES_PER_EVENT;
    if (dataset.source === 'url') other += dataset.size;
  }
  return estimateOsBytes(manifest) + other + opendataBytes;
}

/**
 * A record's files from the portal, kept in the cache for later offline use (check's sizes, a fetch with no network);
 * when the portal cannot be reached, the list the cache kept from an earlier fetch.
 */
async function readRecord(options: FetchOptions, store: OpendataStore, record: number): Promise<RecordFile[]> {
  options.log(`record ${record}: reading its file list`);
  try {
    const files = await fetchRecord(options.base, record, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.retries === undefined ? {} : { retries: options.retries }),
      ...(options.backoffMs === undefined ? {} : { backoffMs: options.backoffMs }),
    });
    await store.saveRecord(record, files);
    return files;
  } catch (error) {
    if ((error as { code?: string }).code !== 'E_OPENDATA_UNREACHABLE') throw error;
    const kept = await store.loadRecord(record);
    if (kept === undefined) throw error;
    options.log(`record ${record}: the portal cannot be reached; using the file list an earlier fetch kept`);
    return kept;
  }
}

/**
 * A dataset's files when the mirror can say what they are (no network): the record's JSON saved in the mirror, else
 * the dataset.json of another key describing every requested file. Undefined when the mirror cannot.
 */
function fromMirrorMetadata(
  mirror: MirrorIndex,
  record: number,
  requested: readonly string[] | undefined,
): { listed?: RecordFile[]; described?: MirrorFile[] } | undefined {
  const listed = mirror.records.get(record);
  if (listed !== undefined) return { listed };
  const described = mirror.described.get(record);
  if (requested === undefined || described === undefined || !requested.every((name) => described.has(name)))
    return undefined;
  return { described: requested.map((name) => described.get(name)!) };
}

/** Why a mirror fetch cannot go on: neither the lock, nor the mirror, nor the portal could list a record's files. */
function mirrorMetadataMissing(
  options: FetchOptions,
  mirror: MirrorIndex,
  lockFile: string,
  datasetId: string,
  record: number,
  requested: readonly string[] | undefined,
  cause: Error,
): OpenKeyError {
  const described = mirror.described.get(record);
  const lacking = requested?.filter((name) => !described?.has(name)) ?? [];
  const whatDatasetJson =
    requested === undefined
      ? `no dataset.json can stand for every file of the record (the manifest names no files)`
      : described === undefined
        ? `no dataset.json or lock file in it describes a file of record ${record}`
        : `its dataset.json and lock files do not describe ${lacking.join(', ')}`;
  return new OpenKeyError(
    'E_MIRROR_METADATA',
    `dataset ${datasetId}: cannot tell which files record ${record} has: there is no lock file ${path.basename(lockFile)}, the mirror ${mirror.dir} holds no record-${record}.json and ${whatDatasetJson}, and the portal cannot be reached (${cause.message})`,
    {
      hint: `copy ${path.basename(lockFile)} beside the manifest or into the mirror, or give --mirror the openkey/datasets folder of a key built from it, or save ${options.base}/api/records/${record} as record-${record}.json in the mirror`,
      cause,
    },
  );
}

/**
 * The manifest's real-data files: from a lock that still matches it, else from the mirror's metadata (both with no
 * network), else from the record API.
 */
async function resolveWanted(
  options: FetchOptions,
  lockFile: string,
  store: OpendataStore,
  mirror: MirrorIndex | undefined,
): Promise<Wanted[]> {
  const datasets = opendataDatasets(options.manifest);
  const lock = await readLock(lockFile);
  const fromLock = lock !== undefined && lockMismatches(options.manifest, lock).length === 0;
  if (lock !== undefined && !fromLock)
    options.log(`lock file ${path.basename(lockFile)} no longer matches the manifest: reading the records again`);
  const known = new Map<string, LockedFile>();
  for (const entry of Object.values(lock?.datasets ?? {})) for (const file of entry.files) known.set(file.uri, file);
  const records = new Map<number, RecordFile[]>();
  // SHA-256 of files another key's dataset.json describes: verified against, like a lock's.
  const described = new Map<string, MirrorFile>();
  const wanted: Wanted[] = [];
  for (const dataset of datasets) {
    let files: RecordFile[];
    if (fromLock) {
      files = lock.datasets[dataset.id]!.files.map(({ name, uri, size, adler32 }) => ({ name, uri, size, adler32 }));
    } else {
      const record = dataset.opendata.record;
      const requested = dataset.opendata.files;
      const fromMirror = mirror && !records.has(record) ? fromMirrorMetadata(mirror, record, requested) : undefined;
      if (fromMirror?.listed !== undefined) {
        options.log(`record ${record}: its file list from the mirror's record-${record}.json`);
        records.set(record, fromMirror.listed);
        await store.saveRecord(record, fromMirror.listed);
      }
      if (fromMirror?.described !== undefined) {
        options.log(`dataset ${dataset.id}: its files as a dataset.json or lock file in the mirror describes them`);
        for (const file of fromMirror.described) if (file.sha256 !== undefined) described.set(file.uri, file);
      }
      if (!records.has(record) && fromMirror?.described === undefined) {
        try {
          records.set(record, await readRecord(options, store, record));
        } catch (error) {
          if (mirror === undefined || (error as { code?: string }).code !== 'E_OPENDATA_UNREACHABLE') throw error;
          throw mirrorMetadataMissing(options, mirror, lockFile, dataset.id, record, requested, error as Error);
        }
      }
      const listed = records.get(record) ?? fromMirror?.described ?? [];
      if (dataset.opendata.files === undefined) files = listed.filter((f) => f.name.endsWith('.root'));
      else {
        const names = listed.map((f) => f.name);
        const unknown = dataset.opendata.files.filter((name) => !names.includes(name));
        if (unknown.length > 0) {
          const guess = closest(unknown[0]!, names);
          throw new OpenKeyError(
            'E_OPENDATA_FILE',
            `dataset ${dataset.id}: record ${record} has no file ${unknown.map((n) => `"${n}"`).join(', ')}`,
            {
              hint: guess
                ? `did you mean "${guess}"?`
                : `the record lists ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}`,
              exitCode: 2,
            },
          );
        }
        files = dataset.opendata.files.map((name) => listed.find((f) => f.name === name)!);
      }
      if (files.length === 0)
        throw new OpenKeyError('E_OPENDATA_FILE', `dataset ${dataset.id}: record ${record} lists no .root file`, {
          exitCode: 2,
        });
    }
    for (const { name, uri, size, adler32 } of files) {
      const file: RecordFile = { name, uri, size, adler32 };
      const pinned = known.get(file.uri) ?? described.get(file.uri);
      const sha256 =
        pinned?.sha256 !== undefined && pinned.size === file.size && pinned.adler32 === file.adler32
          ? pinned.sha256
          : undefined;
      wanted.push({
        datasetId: dataset.id,
        file,
        url: httpUrl(file.uri, DEFAULT_OPENDATA_BASE),
        downloadUrl: httpUrl(file.uri, options.base),
        ...(sha256 === undefined ? {} : { sha256 }),
      });
    }
  }
  return wanted;
}

/**
 * `openkey fetch`: the only step that downloads content. Pre-flight first (record look-ups, sizes against free disk
 * and the key's budget), then the files not yet in the content cache, from the mirror folder when it has them, else
 * from the portal with bounded parallelism; then the lock file beside the manifest.
 */
export async function fetchOpendata(options: FetchOptions): Promise<FetchSummary> {
  const started = performance.now();
  const lockFile = lockPathFor(options.manifestFile);
  const store = new OpendataStore(options.cacheDir);
  const mirror = options.mirror === undefined ? undefined : await indexMirror(path.resolve(options.mirror));
  const wanted = await resolveWanted(options, lockFile, store, mirror);

  // Unique files (two datasets may share one), each checked against the cache once.
  const byUri = new Map<string, Wanted>();
  for (const item of wanted) if (!byUri.has(item.file.uri)) byUri.set(item.file.uri, item);
  const sha = new Map<string, string>();
  let cached = 0;
  for (const [uri, item] of byUri) {
    const hit =
      item.sha256 !== undefined && (await store.has(item.sha256, item.file.size))
        ? item.sha256
        : await store.findByAdler32(item.file.adler32, item.file.size);
    if (hit !== undefined && (item.sha256 === undefined || hit === item.sha256)) {
      sha.set(uri, hit);
      cached++;
    }
  }

  let fromMirror = 0;
  if (mirror !== undefined) {
    for (const [uri, item] of byUri) {
      if (sha.has(uri)) continue;
      for (const candidate of mirror.files.get(item.file.name) ?? []) {
        if ((await stat(candidate)).size !== item.file.size) continue;
        const temp = await store.copyIn(candidate, item.file.name);
        const digests = await digestFile(temp, options.signal);
        if (digests.adler32 !== item.file.adler32 || (item.sha256 !== undefined && digests.sha256 !== item.sha256)) {
          options.log(
            `mirror: ${candidate} has other bytes (adler32 ${digests.adler32}, expected ${item.file.adler32}); not used`,
          );
          await store.quarantine(temp, item.file.name);
          continue;
        }
        await store.admit(temp, digests);
        sha.set(uri, digests.sha256);
        fromMirror++;
        options.log(`mirror: ${item.file.name} ← ${candidate}`);
        break;
      }
    }
  }

  const pending = [...byUri.entries()].filter(([uri]) => !sha.has(uri)).map(([, item]) => item);
  const totalBytes = [...byUri.values()].reduce((sum, item) => sum + item.file.size, 0);
  let partialBytes = 0;
  for (const item of pending)
    partialBytes +=
      (await stat(store.partialPath(item.file.adler32, item.file.size)).catch(() => undefined))?.size ?? 0;
  const toDownload = pending.reduce((sum, item) => sum + item.file.size, 0) - partialBytes;

  // Pre-flight: everything that can refuse the fetch, before a large download starts.
  const budget = mediaCapacityBytes(options.manifest.media);
  const needed = totalBudgetBytes(options.manifest, totalBytes);
  if (needed > budget)
    throw new OpenKeyError(
      'E_MEDIA_BUDGET',
      `the real data (${formatBytes(totalBytes)}) with the estimated OS and the other datasets need ${formatBytes(needed)}, more than the ${options.manifest.media.size} key holds with ${options.manifest.media.headroomPercent}% headroom (${formatBytes(budget)})`,
      { hint: 'choose a larger media.size or fewer files (opendata.files); nothing was downloaded', exitCode: 2 },
    );
  const free = await freeBytes(options.cacheDir);
  if (free < toDownload + 64 * 1024 ** 2)
    throw new OpenKeyError(
      'E_DISK_SPACE',
      `${formatBytes(toDownload)} to download but only ${formatBytes(free)} free for ${options.cacheDir}`,
      { hint: 'free some space or use --cache DIR on a larger disk; nothing was downloaded' },
    );
  options.log(
    `pre-flight: ${byUri.size} files, ${formatBytes(totalBytes)}; ${cached} in the cache, ${fromMirror} from the mirror, ${pending.length} to download (${formatBytes(toDownload)}); ${formatBytes(free)} free; key budget ${formatBytes(needed)} of ${formatBytes(budget)}`,
  );

  let bytesDownloaded = 0;
  const failures: Error[] = [];
  if (pending.length > 0) {
    const progress = new Map<string, { done: number; total: number; startedAt: number }>();
    let doneAll = partialBytes;
    const startedAll = Date.now();
    const every = options.progressEveryMs ?? 1000;
    const ticker = setInterval(() => {
      const now = Date.now();
      for (const [name, p] of progress)
        options.log(formatProgress({ stage: name, done: p.done, total: p.total, startedAt: p.startedAt, now }));
      options.log(
        formatProgress({ stage: 'total', done: doneAll, total: toDownload + partialBytes, startedAt: startedAll, now }),
      );
    }, every);
    ticker.unref();
    const queue = [...pending];
    const worker = async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        const entry = { done: 0, total: item.file.size, startedAt: Date.now() };
        progress.set(item.file.name, entry);
        options.log(`download: ${item.file.name} (${formatBytes(item.file.size)}) from ${item.downloadUrl}`);
        try {
          const result = await downloadToStore(
            {
              name: item.file.name,
              url: item.downloadUrl,
              size: item.file.size,
              adler32: item.file.adler32,
              ...(item.sha256 ? { sha256: item.sha256 } : {}),
            },
            {
              store,
              ...(options.signal ? { signal: options.signal } : {}),
              ...(options.retries === undefined ? {} : { retries: options.retries }),
              ...(options.backoffMs === undefined ? {} : { backoffMs: options.backoffMs }),
              ...(options.stallMs === undefined ? {} : { stallMs: options.stallMs }),
              onBytes: (bytes) => {
                entry.done = Math.max(0, entry.done + bytes);
                doneAll += bytes;
                if (bytes > 0) bytesDownloaded += bytes;
              },
              log: options.log,
            },
          );
          sha.set(item.file.uri, result.sha256);
          options.log(
            `ok: ${item.file.name} ${formatBytes(item.file.size)} adler32 ${item.file.adler32} sha256 ${result.sha256}${result.resumedFrom > 0 ? ` (resumed at byte ${result.resumedFrom})` : ''}`,
          );
        } catch (error) {
          failures.push(error as Error);
          options.log(`failed: ${item.file.name}: ${(error as Error).message}`);
          if (options.signal?.aborted) return;
        } finally {
          progress.delete(item.file.name);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs ?? 3, pending.length)) }, worker));
    } finally {
      clearInterval(ticker);
    }
  }
  if (failures.length > 0) {
    const first = failures[0]!;
    if (failures.length === 1) throw first;
    throw new OpenKeyError('E_DOWNLOAD', `${failures.length} files failed; the first: ${first.message}`, {
      hint: 'every verified file stays cached and partial ones resume: run openkey fetch again',
      cause: first,
    });
  }

  const datasets: Record<string, LockedDataset> = {};
  for (const dataset of opendataDatasets(options.manifest)) {
    datasets[dataset.id] = {
      record: dataset.opendata.record,
      requested: dataset.opendata.files === undefined ? null : [...dataset.opendata.files],
      files: wanted
        .filter((item) => item.datasetId === dataset.id)
        .map((item) => ({
          name: item.file.name,
          uri: item.file.uri,
          url: item.url,
          size: item.file.size,
          adler32: item.file.adler32,
          sha256: sha.get(item.file.uri)!,
        })),
    };
  }
  await writeLock(lockFile, makeLock(options.manifestFile, datasets));
  return {
    lockFile,
    files: byUri.size,
    bytes: totalBytes,
    cached,
    fromMirror,
    downloaded: pending.length,
    bytesDownloaded,
    seconds: (performance.now() - started) / 1000,
  };
}
