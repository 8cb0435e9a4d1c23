import { createReadStream } from 'node:fs';
import { link, mkdir, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { sha256File } from './fsutil.ts';

/**
 * The archive of downloaded Debian packages, kept across builds in the cache, so that a changed package list
 * downloads only what is new and a rebuild of a cached package set downloads no package:
 *
 *   <cache>/debs/sha256/<hex>.deb   each package once, named by the SHA-256 that apt's Packages index gives for it
 *   <cache>/debs/names/<file>       apt's file name (name_version_arch.deb) → ../sha256/<hex>.deb
 *
 * apt trusts a file it finds in /var/cache/apt/archives by its size alone, so every file is checked against its name
 * (the index's hash) before apt sees it: a corrupt one is deleted, and apt then downloads it again.
 */
export const DEB_ARCHIVE_DIR = 'debs';

export interface IndexEntry {
  sha256: string;
  size: number;
}

/** apt's file name for a package: name_version_arch.deb, with an epoch's colon written %3a (the pool's has none). */
export function debFileName(name: string, version: string, architecture: string): string {
  return `${name}_${version.replace(/:/g, '%3a')}_${architecture}.deb`;
}

/**
 * SHA256 and Size of every package in apt's Packages files (the lists apt downloaded and verified against the signed
 * InRelease), by the file name apt stores it under in /var/cache/apt/archives.
 */
export async function readPackagesIndex(files: readonly string[]): Promise<Map<string, IndexEntry>> {
  const index = new Map<string, IndexEntry>();
  for (const file of files) {
    let fields: Record<string, string> = {};
    const flush = () => {
      const { Package: name, Version: version, Architecture: arch, SHA256: sha256, Size: size } = fields;
      if (name && version && arch && sha256 && size)
        index.set(debFileName(name, version, arch), { sha256, size: Number(size) });
      fields = {};
    };
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      if (line === '') flush();
      else if (/^(Package|Version|Architecture|SHA256|Size): /.test(line)) {
        const colon = line.indexOf(': ');
        fields[line.slice(0, colon)] = line.slice(colon + 2).trim();
      }
    }
    flush();
  }
  return index;
}

export interface StageOutcome {
  /** Packages linked for apt, intact. */
  linked: number;
  /** Packages whose bytes no longer matched their hash: deleted, apt downloads them again. */
  corrupt: string[];
}

export interface AddOutcome {
  /** Packages new to the archive. */
  added: string[];
  /** Packages the archive already held. */
  known: number;
  /** Packages not added: unknown to the index, or whose bytes do not match its hash. */
  rejected: string[];
}

export class DebArchive {
  constructor(readonly root: string) {}

  static inCache(cacheRoot: string): DebArchive {
    return new DebArchive(path.join(cacheRoot, DEB_ARCHIVE_DIR));
  }

  private get names(): string {
    return path.join(this.root, 'names');
  }

  private get blobs(): string {
    return path.join(this.root, 'sha256');
  }

  private get lists(): string {
    return path.join(this.root, 'lists');
  }

  /**
   * Hard-links every intact package into `dir`/debs under apt's file name, deleting and reporting the corrupt ones,
   * and the apt lists of the last build into `dir`/lists.
   */
  async stage(dir: string): Promise<StageOutcome> {
    await mkdir(dir, { recursive: true });
    const outcome: StageOutcome = { linked: 0, corrupt: [] };
    // apt's lists from the last build: apt-get update then fetches only the index files that changed.
    await mkdir(path.join(dir, 'lists'), { recursive: true });
    for (const name of await readdir(this.lists).catch(() => [] as string[]))
      await link(path.join(this.lists, name), path.join(dir, 'lists', name));
    await mkdir(path.join(dir, 'debs'), { recursive: true });
    for (const name of (await readdir(this.names).catch(() => [] as string[])).sort()) {
      const pointer = path.join(this.names, name);
      const target = path.resolve(this.names, await readlink(pointer));
      const expected = path.basename(target, '.deb');
      const actual = await sha256File(target).catch(() => undefined);
      if (actual !== expected) {
        outcome.corrupt.push(name);
        await rm(pointer, { force: true });
        await rm(target, { force: true });
        continue;
      }
      await link(target, path.join(dir, 'debs', name));
      outcome.linked += 1;
    }
    return outcome;
  }

  /** Adds the packages in `dir` that match apt's index (same size, same SHA-256); hard links, no copy. */
  async add(dir: string, index: ReadonlyMap<string, IndexEntry>): Promise<AddOutcome> {
    await mkdir(this.names, { recursive: true });
    await mkdir(this.blobs, { recursive: true });
    const outcome: AddOutcome = { added: [], known: 0, rejected: [] };
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.deb')).sort()) {
      const entry = index.get(name);
      const file = path.join(dir, name);
      const pointer = path.join(this.names, name);
      const blob = path.join(this.blobs, `${entry?.sha256 ?? ''}.deb`);
      if (entry !== undefined && (await stat(pointer).catch(() => undefined)) !== undefined) {
        if ((await readlink(pointer)) === path.join('..', 'sha256', `${entry.sha256}.deb`)) {
          outcome.known += 1;
          continue;
        }
      }
      if (entry === undefined || (await stat(file)).size !== entry.size || (await sha256File(file)) !== entry.sha256) {
        outcome.rejected.push(name);
        continue;
      }
      // Publish by rename: the blob, then the name pointing at it, so a killed build leaves no half entry.
      const temp = `${blob}.${process.pid}.tmp`;
      await rm(temp, { force: true });
      await link(file, temp);
      await rename(temp, blob);
      const tempPointer = `${pointer}.${process.pid}.tmp`;
      await rm(tempPointer, { force: true });
      await symlink(path.join('..', 'sha256', `${entry.sha256}.deb`), tempPointer);
      await rename(tempPointer, pointer);
      outcome.added.push(name);
    }
    return outcome;
  }

  /** The SHA-256 of a package the archive holds (apt's file name), from its name: the index's hash, checked on entry. */
  async sha256Of(fileName: string): Promise<string | undefined> {
    const target = await readlink(path.join(this.names, fileName)).catch(() => undefined);
    const hex = target === undefined ? undefined : /^([0-9a-f]{64})\.deb$/.exec(path.basename(target))?.[1];
    return hex;
  }

  /** apt's Packages files of the last build (for the hashes of packages the archive does not hold). */
  async packagesLists(): Promise<string[]> {
    const names = await readdir(this.lists).catch(() => [] as string[]);
    return names
      .filter((name) => name.endsWith('_Packages'))
      .sort()
      .map((name) => path.join(this.lists, name));
  }

  /** Keeps apt's lists of this build (replacing the last ones) for the next build's `apt-get update`. */
  async keepLists(dir: string): Promise<void> {
    const temp = `${this.lists}.${process.pid}.tmp`;
    const old = `${this.lists}.${process.pid}.old`;
    await rm(temp, { recursive: true, force: true });
    await mkdir(temp, { recursive: true });
    for (const entry of await readdir(dir, { withFileTypes: true }))
      if (entry.isFile()) await link(path.join(dir, entry.name), path.join(temp, entry.name));
    await rename(this.lists, old).catch(() => undefined);
    await rename(temp, this.lists);
    await rm(old, { recursive: true, force: true });
  }
}
