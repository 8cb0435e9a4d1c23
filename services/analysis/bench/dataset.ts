/**
 * Datasets folders made in a temp folder from real files, for the benchmarks (bench/zll.ts, bench/load.ts) and the
 * tests (tests/service/fixtures.ts). The service follows no symlink out of its datasets folder, so each file is
 * hard-linked (copied when it cannot be) once into the folder's hidden `.sources/`, and the datasets' entries are
 * symlinks to those: a file repeated a hundred times costs no disk.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';

/**
 * `dir/name` as a symlink to a copy of `target` inside the datasets folder `root` (root/.sources/, a hard link when
 * the file system allows it), so the link stays inside the folder the service serves.
 */
export function linkInside(root: string, target: string, dir: string, name = basename(target)): void {
  const sources = join(root, '.sources');
  mkdirSync(sources, { recursive: true });
  const copy = join(sources, `${basename(dirname(target))}--${basename(target)}`);
  if (!existsSync(copy)) {
    try {
      linkSync(target, copy);
    } catch {
      copyFileSync(target, copy);
    }
  }
  symlinkSync(relative(dir, copy), join(dir, name));
}

export interface RepeatedDataset {
  /** The datasets folder (give it to buildApp or `--datasets`). */
  root: string;
  /** The dataset's folder, root/<name>. */
  dir: string;
  /** The files in it, `passes` times each source file, named rPP-<file>. */
  files: string[];
  dispose(): void;
}

/** A datasets folder with one dataset `name`: the `sources` files repeated `passes` times (r00-…, r01-…). */
export function repeatedDataset(name: string, sources: readonly string[], passes: number): RepeatedDataset {
  const root = mkdtempSync(join(tmpdir(), 'openkey-bench-data-'));
  const dir = join(root, name);
  mkdirSync(dir);
  const files: string[] = [];
  for (let p = 0; p < passes; p++)
    for (const source of sources) {
      const file = `r${String(p).padStart(2, '0')}-${basename(source)}`;
      linkInside(root, source, dir, file);
      files.push(join(dir, file));
    }
  return { root, dir, files, dispose: () => rmSync(root, { recursive: true, force: true }) };
}
