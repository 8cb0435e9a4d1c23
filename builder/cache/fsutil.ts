import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import {
  chmod,
  copyFile,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  statfs,
  symlink,
  utimes,
  lutimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Mount points at or below `dir` (a killed mmdebstrap can leave /proc or /sys mounted inside its tree). */
export async function mountsBelow(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const prefix = path.resolve(dir) + '/';
  return info
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((mountPoint) => mountPoint.replace(/\\040/g, ' '))
    .filter((mountPoint) => mountPoint === path.resolve(dir) || mountPoint.startsWith(prefix));
}

/** rm -rf that refuses to descend into a mounted file system, so a leftover bind mount never costs host files. */
export async function removeTree(dir: string): Promise<void> {
  const mounts = await mountsBelow(dir);
  if (mounts.length > 0) {
    throw new OpenKeyError('E_MOUNTED', `refusing to delete ${dir}: ${mounts.join(', ')} still mounted`, {
      hint: `umount -R ${mounts[0]} then retry`,
    });
  }
  await rm(dir, { recursive: true, force: true });
}

/** Hard-links `source` to `dest` (same file system, no copy) and falls back to a copy across file systems. */
export async function linkOrCopy(source: string, dest: string): Promise<void> {
  await mkdir(path.dirname(dest), { recursive: true });
  await rm(dest, { force: true });
  try {
    await link(source, dest);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error;
    await copyFile(source, dest);
  }
}

/**
 * Copies a tree the build wrote or took from the repository, normalising what git does not track: directories 0755,
 * files 0644 or 0755 when executable. Later sources overwrite earlier ones (overlay order). Nothing on the way is
 * followed: a symlink is copied as a link, and a link an earlier source left where this one has a folder or file is
 * replaced, never written through (an overlay's `etc -> /etc` must not let a later write land on the host).
 * Devices, FIFOs and sockets are refused.
 */
export async function copyTreeNormalised(source: string, dest: string): Promise<void> {
  await ensureRealDir(dest);
  await chmod(dest, 0o755);
  const entries = (await readdir(source, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const from = path.join(source, entry.name);
    const to = path.join(dest, entry.name);
    if (entry.isDirectory()) {
      await copyTreeNormalised(from, to);
    } else if (entry.isSymbolicLink()) {
      await rm(to, { force: true, recursive: true });
      await symlink(await readlink(from), to);
    } else if (entry.isFile()) {
      const mode = (await lstat(from)).mode;
      await rm(to, { force: true, recursive: true });
      await copyFile(from, to, constants.COPYFILE_EXCL);
      await chmod(to, mode & 0o111 ? 0o755 : 0o644);
    } else {
      throw new OpenKeyError('E_OVERLAY', `${from} is not a file, folder or symlink; it cannot go into the image`);
    }
  }
}

/** Makes `dir` a real folder: a symlink or file standing there is removed first (not followed). */
export async function ensureRealDir(dir: string): Promise<void> {
  const info = await lstat(dir).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) await rm(dir, { force: true });
  await mkdir(dir, { recursive: true });
}

/**
 * Writes `text` to `relative` inside `root` without following a symlink on the way: every folder from `root` down is
 * made a real folder, and whatever stood at the file's place is removed before an exclusive create.
 */
export async function writeInsideTree(root: string, relative: string, text: string, mode = 0o644): Promise<string> {
  const parts = relative.split('/');
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = path.join(dir, part);
    await ensureRealDir(dir);
  }
  const full = path.join(dir, parts.at(-1)!);
  await rm(full, { force: true, recursive: true });
  await writeFile(full, text, { mode, flag: 'wx' });
  return full;
}

/** Sets every mtime and atime below `dir` (and `dir` itself) to the epoch, links included. */
export async function setTreeTimes(dir: string, epoch: number): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await setTreeTimes(full, epoch);
    else if (entry.isSymbolicLink()) await lutimes(full, epoch, epoch);
    else await utimes(full, epoch, epoch);
  }
  await utimes(dir, epoch, epoch);
}

/** Every regular file below `dir`, as sorted relative paths. */
export async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full, base)));
    else if (entry.isFile()) out.push(path.relative(base, full));
  }
  return out;
}

/** Free bytes for an unprivileged writer on the file system that holds `dir` (or would, once made). */
export async function freeBytes(dir: string): Promise<number> {
  let probe = path.resolve(dir);
  for (;;) {
    try {
      const stats = await statfs(probe);
      return stats.bavail * stats.bsize;
    } catch {
      const parent = path.dirname(probe);
      if (parent === probe) return Number.POSITIVE_INFINITY;
      probe = parent;
    }
  }
}
