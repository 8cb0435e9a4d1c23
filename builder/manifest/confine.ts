import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileKind } from './limits.ts';

/**
 * Where the files a manifest names may come from. A build runs as root, so a path in a manifest (or a symlink inside
 * a folder it names) must not reach host files: every source is resolved through its symlinks and must land inside
 * one of the allowed roots, as a regular file or folder.
 *
 * The allowed roots are the Open Key checkout itself (the shipped overlays, docs and base.yaml), the project of the
 * manifest being built (its folder, or the folder above when it sits in a `manifests/` folder, as in this repository)
 * and any folder named with `--allow-path`. /proc, /sys and /dev are refused whatever the roots say.
 */
export const TOOLCHAIN_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const NEVER = ['/proc', '/sys', '/dev'];

function inside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : parent + '/');
}

export function isSystemPath(target: string): boolean {
  return NEVER.some((prefix) => inside(target, prefix));
}

/** The project a manifest belongs to: its folder, or the folder above a `manifests/` folder. Never `/`. */
export function projectOf(manifestFile: string): string | undefined {
  const folder = path.dirname(manifestFile);
  const project = path.basename(folder) === 'manifests' ? path.dirname(folder) : folder;
  return project === path.parse(project).root ? undefined : project;
}

export interface Roots {
  /** Real paths (symlinks resolved) of the allowed roots. */
  real: string[];
  /** The same as given, for messages. */
  shown: string[];
}

export async function allowedRoots(manifestFile: string, allowPaths: readonly string[]): Promise<Roots> {
  const given = [TOOLCHAIN_ROOT, projectOf(manifestFile), ...allowPaths].filter(
    (root): root is string => root !== undefined,
  );
  const real: string[] = [];
  const shown: string[] = [];
  for (const root of given) {
    const resolved = await realpath(root).catch(() => undefined);
    if (resolved === undefined || real.includes(resolved)) continue;
    real.push(resolved);
    shown.push(root);
  }
  return { real, shown };
}

/** The hint every confinement problem carries: where sources may live, and how to allow another folder. */
export function rootsHint(roots: Roots): string {
  return `sources must be inside ${roots.shown.join(' or ')}; name another folder with --allow-path DIR`;
}

/** Control characters (C0, DEL, C1) and the separators a single file name must not hold. */
// eslint-disable-next-line no-control-regex
const BAD_NAME = /[\u0000-\u001f\u007f-\u009f/\\]/;

/**
 * Why `name` cannot be one file name inside the image, or undefined when it can. `backslash: true` lets a backslash
 * through, for overlays: systemd's escaped unit names (`dev-disk-by\x2dlabel.mount`) carry one, and inside the
 * image it is no separator.
 */
export function badFileName(name: string, options: { backslash?: boolean } = {}): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'is not a file name';
  const bad = options.backslash ? name.replace(/\\/g, '') : name;
  if (BAD_NAME.test(bad)) return 'holds a path separator or a control character';
  if (Buffer.byteLength(name) > 255) return 'is longer than 255 bytes';
  return undefined;
}

export type Refusal = { message: string; hint?: string };

/**
 * Resolves `target` and checks that it is a regular file or folder inside the roots. Returns the real path, or why
 * it is refused. `what` names the source in messages ("dataset", "doc").
 */
export async function confine(
  target: string,
  roots: Roots,
  what: string,
): Promise<{ real: string; isDirectory: boolean } | Refusal> {
  if (isSystemPath(path.resolve(target)))
    return { message: `${what} ${target} is a system path (/proc, /sys, /dev)`, hint: rootsHint(roots) };
  let real: string;
  try {
    real = await realpath(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? { message: `${what} not found: ${target}`, hint: 'paths are relative to the manifest that declares them' }
      : { message: `${what} ${target} cannot be read (${code})` };
  }
  if (isSystemPath(real) || !roots.real.some((root) => inside(real, root))) {
    const via = real === path.resolve(target) ? '' : ` (it leads to ${real})`;
    return { message: `${what} ${target} is outside the project${via}`, hint: rootsHint(roots) };
  }
  const info = await stat(real);
  if (!info.isFile() && !info.isDirectory())
    return { message: `${what} ${target} is ${fileKind(info)}, not a file or folder` };
  return { real, isDirectory: info.isDirectory() };
}

export interface WalkOptions {
  roots: Roots;
  what: string;
  /** Overlays keep their symlinks as links inside the image; other sources may only link to files in the roots. */
  keepLinks: boolean;
  /** The walk stops counting once this many bytes are reached (the media check has failed by then). */
  byteBudget: number;
  /** Folders more deeply nested than this are refused. */
  maxDepth?: number;
  /** Entries visited at most. */
  maxEntries?: number;
  /** Checked every few entries: a long walk stops on SIGINT or SIGTERM. */
  signal?: AbortSignal;
}

export interface WalkResult {
  bytes: number;
  biggest: { path: string; bytes: number };
  /** Symlinks kept (overlays), as paths relative to the source. */
  links: string[];
  /** true when the walk stopped at the byte budget. */
  overBudget: boolean;
}

/**
 * Walks a source folder (or file) without following a symlink out of the roots: every entry must be a regular file,
 * a folder, or a symlink to a regular file inside the roots (overlays: any symlink, kept as a link and never followed
 * on the host). Devices, FIFOs and sockets are refused, as are names that cannot be a file name in the image.
 */
export async function walkSource(real: string, source: string, options: WalkOptions): Promise<WalkResult | Refusal> {
  const maxDepth = options.maxDepth ?? 32;
  const maxEntries = options.maxEntries ?? 100_000;
  const result: WalkResult = { bytes: 0, biggest: { path: '', bytes: 0 }, links: [], overBudget: false };
  let entries = 0;
  const addFile = (file: string, bytes: number) => {
    result.bytes += bytes;
    if (bytes > result.biggest.bytes) result.biggest = { path: file, bytes };
    if (result.bytes > options.byteBudget) result.overBudget = true;
  };
  const visit = async (full: string, relative: string, depth: number): Promise<Refusal | undefined> => {
    if (result.overBudget) return undefined;
    if (entries % 256 === 0) options.signal?.throwIfAborted();
    if (++entries > maxEntries)
      return { message: `${options.what} ${source} holds more than ${maxEntries} files and folders` };
    const info = await lstat(full);
    if (info.isSymbolicLink()) {
      if (options.keepLinks) {
        result.links.push(relative);
        return undefined;
      }
      let real: string;
      try {
        real = await realpath(full);
      } catch {
        return { message: `${options.what} ${source}: the symlink ${relative} leads nowhere` };
      }
      if (isSystemPath(real) || !options.roots.real.some((root) => inside(real, root)))
        return {
          message: `${options.what} ${source}: the symlink ${relative} leads out of the project, to ${real}`,
          hint: rootsHint(options.roots),
        };
      const target = await stat(real);
      if (!target.isFile())
        return {
          message: `${options.what} ${source}: the symlink ${relative} leads to ${fileKind(target)}`,
          hint: 'only symlinks to regular files are followed; copy the folder instead',
        };
      addFile(full, target.size);
      return undefined;
    }
    if (info.isFile()) {
      addFile(full, info.size);
      return undefined;
    }
    if (!info.isDirectory())
      return {
        message: `${options.what} ${source}: ${relative || path.basename(full)} is ${fileKind(info)}`,
        hint: 'only regular files, folders and symlinks may be copied into the image',
      };
    if (depth > maxDepth) return { message: `${options.what} ${source} nests folders more than ${maxDepth} deep` };
    for (const name of (await readdir(full)).sort()) {
      const why = badFileName(name, { backslash: options.keepLinks });
      const inner = relative === '' ? name : `${relative}/${name}`;
      if (why !== undefined) return { message: `${options.what} ${source}: the name ${JSON.stringify(inner)} ${why}` };
      const refusal = await visit(path.join(full, name), inner, depth + 1);
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  };
  try {
    const refusal = await visit(real, '', 0);
    return refusal ?? result;
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { message: `${options.what} ${source} cannot be read (${(error as NodeJS.ErrnoException).code})` };
  }
}

export function isRefusal(value: object): value is Refusal {
  return 'message' in value;
}

/**
 * The file name a URL dataset is saved under: the URL's last path segment, percent-decoded, or `<id>.root` when the
 * URL ends in `/`. Checked after decoding, so `..%2F..%2Fx.root` is refused instead of writing outside the dataset's
 * folder. Returns the name, or why there is none.
 */
export function urlFileName(url: string, id: string): { name: string } | Refusal {
  let segment: string;
  try {
    segment = decodeURIComponent(new URL(url).pathname.split('/').at(-1) ?? '');
  } catch {
    return { message: `the URL ${url} is not valid or its file name is not valid percent-encoding` };
  }
  const name = segment === '' ? `${id}.root` : segment;
  const why = badFileName(name);
  return why === undefined
    ? { name }
    : {
        message: `the file name ${JSON.stringify(name)} this URL decodes to ${why}`,
        hint: 'name the file plainly in the URL',
      };
}
