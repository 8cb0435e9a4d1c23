import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';
import { readLock } from './lock.ts';
import { recordFiles, uriOf, type RecordFile } from './record.ts';

/** A file a mirror describes: what a lock needs, from another key's dataset.json (SHA-256 included). */
export interface MirrorFile extends RecordFile {
  url: string;
  sha256?: string;
}

/**
 * What a `--mirror` folder holds, read once: its files by name, and the real-data metadata that lets a fetch run
 * with no network at all. A key's `openkey/datasets/<id>/dataset.json` lists, per file, its record, URL, size,
 * adler32 and SHA-256 (what a lock file holds); a record's JSON saved from the portal
 * (`curl https://opendata.cern.ch/api/records/N > record-N.json`, or `N.json`) lists all the record's files; a lock
 * file (`*.lock.json`, its integrity checked) copied beside the files pins each file as the fetch that wrote it did.
 */
export interface MirrorIndex {
  dir: string;
  files: Map<string, string[]>;
  /** Record id → its whole file list, from a saved record JSON. */
  records: Map<number, RecordFile[]>;
  /** Record id → the files a dataset.json or a lock file describes (a selection, never known to be all of the record). */
  described: Map<number, Map<string, MirrorFile>>;
}

const RECORD_JSON = /^(?:record-)?(\d+)\.json$/;

interface DatasetJsonFile {
  record?: unknown;
  url?: unknown;
  uri?: unknown;
  size?: unknown;
  adler32?: unknown;
  sha256?: unknown;
}

function describedFile(name: string, raw: DatasetJsonFile): { record: number; file: MirrorFile } | undefined {
  if (!Number.isSafeInteger(raw.record) || typeof raw.url !== 'string') return undefined;
  if (!Number.isSafeInteger(raw.size) || typeof raw.adler32 !== 'string' || !/^[0-9a-f]{8}$/.test(raw.adler32))
    return undefined;
  const uri = typeof raw.uri === 'string' ? raw.uri : uriOf(raw.url);
  if (uri === undefined) return undefined;
  const sha256 = typeof raw.sha256 === 'string' && /^[0-9a-f]{64}$/.test(raw.sha256) ? raw.sha256 : undefined;
  return {
    record: raw.record as number,
    file: { name, uri, url: raw.url, size: raw.size as number, adler32: raw.adler32, ...(sha256 ? { sha256 } : {}) },
  };
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Walks the mirror folder a few levels deep (a key's openkey/datasets/<id>/<file>, or a colleague's folders). */
export async function indexMirror(dir: string): Promise<MirrorIndex> {
  const index: MirrorIndex = { dir, files: new Map(), records: new Map(), described: new Map() };
  const visit = async (folder: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (folder !== dir) return;
      throw new OpenKeyError(
        'E_MIRROR_DIR',
        `cannot read the mirror folder ${dir} (${(error as NodeJS.ErrnoException).code})`,
        {
          hint: 'give --mirror a folder of ROOT files, for example another key’s /media/…/OPENKEY/openkey/datasets',
        },
      );
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory() && depth > 0) {
        await visit(full, depth - 1);
        continue;
      }
      if (!entry.isFile()) continue;
      index.files.set(entry.name, [...(index.files.get(entry.name) ?? []), full]);
      if (entry.name === 'dataset.json') {
        const json = (await readJson(full)) as { files?: Record<string, DatasetJsonFile> } | undefined;
        for (const [name, raw] of Object.entries(json?.files ?? {})) {
          const found = describedFile(name, raw ?? {});
          if (found === undefined) continue;
          const map = index.described.get(found.record) ?? new Map<string, MirrorFile>();
          map.set(name, found.file);
          index.described.set(found.record, map);
        }
        continue;
      }
      if (entry.name.endsWith('.lock.json')) {
        // A lock edited by hand (or not a lock) describes nothing: its integrity check is readLock's.
        const lock = await readLock(full).catch(() => undefined);
        for (const locked of Object.values(lock?.datasets ?? {})) {
          const map = index.described.get(locked.record) ?? new Map<string, MirrorFile>();
          for (const { name, uri, url, size, adler32, sha256 } of locked.files)
            map.set(name, { name, uri, url, size, adler32, sha256 });
          index.described.set(locked.record, map);
        }
        continue;
      }
      const record = RECORD_JSON.exec(entry.name);
      if (record !== null) {
        const id = Number(record[1]);
        const json = (await readJson(full)) as { record?: unknown; files?: RecordFile[] } | undefined;
        try {
          // The portal's answer, or the list openkey fetch keeps in its cache (<cache>/opendata/records/<id>.json).
          const files =
            json !== undefined && json.record === id && Array.isArray(json.files)
              ? json.files.filter((f) => typeof f?.name === 'string' && typeof f.uri === 'string')
              : recordFiles(json, full);
          index.records.set(id, files);
        } catch {
          // not a record: a JSON file of some other kind
        }
      }
    }
  };
  await visit(dir, 6);
  return index;
}
