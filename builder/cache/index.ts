import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEB_ARCHIVE_DIR } from './debs.ts';
import { removeTree } from './fsutil.ts';

/**
 * Content-addressed store of stage outputs: `<root>/<stage>/<key>/` holds the files a stage wrote plus `entry.json`.
 * A stage writes into `<root>/tmp/<stage>-<pid>-XXXX/` and the finished folder is renamed into place, so an entry
 * either exists complete or not at all: kill -9 at any moment leaves at worst a temp folder that `prune` removes.
 */
export interface CacheEntry {
  stage: string;
  key: string;
  dir: string;
  bytes: number;
  createdAt: string;
  /** Last time a build used the entry (the entry.json mtime), for pruning the least recently used. */
  usedAt: Date;
  meta: Record<string, unknown>;
}

const ENTRY_FILE = 'entry.json';
/** Folders of the cache that hold no stage entries: temp folders, and the .deb archive (builder/cache/debs.ts). */
const NOT_STAGES = new Set(['tmp', DEB_ARCHIVE_DIR]);

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.OPENKEY_CACHE) return path.resolve(env.OPENKEY_CACHE);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'openkey');
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Bytes of the files below `dir`, each hard-linked file counted once. */
export async function treeBytes(dir: string, seen: Set<string> = new Set()): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(full, seen);
    else if (entry.isFile()) {
      const info = await stat(full);
      const inode = `${info.dev}:${info.ino}`;
      if (seen.has(inode)) continue;
      seen.add(inode);
      total += info.size;
    }
  }
  return total;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Cache {
  constructor(readonly root: string) {}

  /** The cache a temp folder of `tempDir()` belongs to (stages get only their folders, not the cache). */
  static rootOfTemp(tempDir: string): string {
    return path.dirname(path.dirname(path.resolve(tempDir)));
  }

  entryDir(stage: string, key: string): string {
    return path.join(this.root, stage, key);
  }

  /** The entry's folder when it is complete, touching it as used; undefined on a miss. */
  async lookup(stage: string, key: string): Promise<string | undefined> {
    const dir = this.entryDir(stage, key);
    const marker = path.join(dir, ENTRY_FILE);
    if (!(await exists(marker))) return undefined;
    const now = new Date();
    await utimes(marker, now, now).catch(() => undefined);
    return dir;
  }

  /**
   * The entry's folder and the `meta` it was published with, touching it as used; undefined on a miss or a broken
   * entry. How entries are stored (entry.json) stays inside this class.
   */
  async get(stage: string, key: string): Promise<{ dir: string; meta: Record<string, unknown> } | undefined> {
    const dir = await this.lookup(stage, key);
    if (dir === undefined) return undefined;
    try {
      const entry = JSON.parse(await readFile(path.join(dir, ENTRY_FILE), 'utf8')) as {
        meta?: Record<string, unknown>;
      };
      return { dir, meta: entry.meta ?? {} };
    } catch {
      return undefined;
    }
  }

  /** A fresh temp folder on the cache's file system, so publishing is a rename. */
  async tempDir(stage: string): Promise<string> {
    const tmp = path.join(this.root, 'tmp');
    await mkdir(tmp, { recursive: true });
    return mkdtemp(path.join(tmp, `${stage}-${process.pid}-`));
  }

  /** Publishes a finished temp folder as the entry (stage, key) and returns the entry's folder. */
  async publish(stage: string, key: string, tempDir: string, meta: Record<string, unknown> = {}): Promise<string> {
    const bytes = await treeBytes(tempDir);
    const entry = { stage, key, bytes, createdAt: new Date().toISOString(), meta };
    await writeFile(path.join(tempDir, ENTRY_FILE), JSON.stringify(entry, null, 2) + '\n');
    const dir = this.entryDir(stage, key);
    await mkdir(path.dirname(dir), { recursive: true });
    try {
      await rename(tempDir, dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Another build published the same key first: the content is the same by construction, keep theirs.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      await rm(tempDir, { recursive: true, force: true });
    }
    return dir;
  }

  async list(): Promise<CacheEntry[]> {
    const entries: CacheEntry[] = [];
    const stages = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    for (const stageDir of stages) {
      if (!stageDir.isDirectory() || NOT_STAGES.has(stageDir.name)) continue;
      for (const keyDir of await readdir(path.join(this.root, stageDir.name), { withFileTypes: true })) {
        const dir = path.join(this.root, stageDir.name, keyDir.name);
        const marker = path.join(dir, ENTRY_FILE);
        try {
          const parsed = JSON.parse(await readFile(marker, 'utf8')) as Omit<CacheEntry, 'dir' | 'usedAt'>;
          entries.push({ ...parsed, dir, usedAt: (await stat(marker)).mtime, meta: parsed.meta ?? {} });
        } catch {
          // Not a complete entry; prune removes it.
        }
      }
    }
    return entries.sort((a, b) => a.stage.localeCompare(b.stage) || b.usedAt.getTime() - a.usedAt.getTime());
  }

  /**
   * Removes temp folders of builds that are no longer running, broken entries, and then entries by age: those unused
   * for `olderThanDays`, or all of them with `all`, and, with `keepPerStage`, all but the most recently used N of each
   * stage. Returns what it removed.
   */
  async prune(
    options: { all?: boolean; olderThanDays?: number; keepPerStage?: number } = {},
  ): Promise<{ removed: string[]; bytes: number }> {
    const removed: string[] = [];
    let bytes = 0;
    const tmp = path.join(this.root, 'tmp');
    for (const name of await readdir(tmp).catch(() => [] as string[])) {
      const pid = Number(/-(\d+)-[^-]+$/.exec(name)?.[1]);
      if (Number.isInteger(pid) && pid !== process.pid && pidAlive(pid)) continue;
      const full = path.join(tmp, name);
      bytes += await treeBytes(full).catch(() => 0);
      // A killed mmdebstrap can leave /proc or /sys mounted in its tree: never recurse into a mount.
      await removeTree(full);
      removed.push(full);
    }
    const complete = await this.list();
    const completeDirs = new Set(complete.map((e) => e.dir));
    for (const stageDir of await readdir(this.root, { withFileTypes: true }).catch(() => [])) {
      if (!stageDir.isDirectory() || NOT_STAGES.has(stageDir.name)) continue;
      for (const keyDir of await readdir(path.join(this.root, stageDir.name))) {
        const dir = path.join(this.root, stageDir.name, keyDir);
        if (completeDirs.has(dir)) continue;
        await rm(dir, { recursive: true, force: true });
        removed.push(dir);
      }
    }
    const cutoff = options.olderThanDays === undefined ? undefined : Date.now() - options.olderThanDays * 86_400_000;
    const seen = new Map<string, number>();
    for (const entry of complete) {
      const rank = (seen.get(entry.stage) ?? 0) + 1;
      seen.set(entry.stage, rank);
      const old = cutoff !== undefined && entry.usedAt.getTime() < cutoff;
      const surplus = options.keepPerStage !== undefined && rank > options.keepPerStage;
      if (options.all || old || surplus) {
        await rm(entry.dir, { recursive: true, force: true });
        removed.push(entry.dir);
        bytes += entry.bytes;
      }
    }
    const archive = path.join(this.root, DEB_ARCHIVE_DIR);
    if (options.all && (await exists(archive))) {
      bytes += await treeBytes(archive);
      await rm(archive, { recursive: true, force: true });
      removed.push(archive);
    }
    return { removed, bytes };
  }
}
