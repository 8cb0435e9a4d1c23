/**
 * Datasets: each subfolder of the datasets directory, its id the folder name, its files the *.root inside, with an
 * optional dataset.json. The folder is scanned on every request (cheap) so a new dataset needs no restart; ROOT
 * metadata is cached per file by (size, mtime).
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';
import { readTreeMeta } from '../../rootio/read/meta.ts';
import type { TreeMeta } from '../../rootio/read/types.ts';
import { nearestNames } from '../../common/suggest.ts';

export interface FileLabels {
  sample?: string;
  process?: string;
  crossSection?: number;
  /** The same cross-section (pb) under the name the apps read. */
  xsec?: number;
  kind?: string;
  [key: string]: unknown;
}

export interface DatasetJson {
  title?: string;
  description?: string;
  licence?: string;
  tree?: string;
  files?: Record<string, FileLabels & { truth?: unknown }>;
}

export interface FileInfo {
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
  /** The tree this dataset reads in the file ('' when the file has none or cannot be read). */
  tree: string;
  entries: number;
  labels?: FileLabels;
  /** Why the file cannot be read, when it cannot. */
  error?: string;
  meta?: TreeMeta;
}

export interface Dataset {
  id: string;
  dir: string;
  title: string;
  description?: string;
  licence?: string;
  tree?: string;
  files: FileInfo[];
  entries: number;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

interface CacheEntry {
  size: number;
  mtimeMs: number;
  value: Promise<{ trees: string[]; tree?: TreeMeta }>;
}

export class DatasetStore {
  readonly dir: string;
  private readonly meta = new Map<string, CacheEntry>();
  private readonly exposeTruth: boolean;

  constructor(dir: string, options: { exposeTruth?: boolean } = {}) {
    this.dir = dir;
    this.exposeTruth = options.exposeTruth ?? false;
  }

  private rootReal: Promise<string> | undefined;

  /**
   * Whether `path` (a dataset folder or file) really lies inside the datasets folder: a symlink may point to another
   * place inside it (datasets sharing files), never out of it (issue 11: no host file is served or read).
   */
  async inside(path: string): Promise<boolean> {
    return (await this.realInside(path)) !== undefined;
  }

  /** The real path of `path` when it lies inside the datasets folder (see inside), else undefined. */
  private async realInside(path: string): Promise<string | undefined> {
    this.rootReal ??= realpath(this.dir).catch(() => this.dir);
    const root = await this.rootReal;
    const real = await realpath(path).catch(() => undefined);
    return real !== undefined && (real === root || real.startsWith(root.endsWith(sep) ? root : root + sep))
      ? real
      : undefined;
  }

  async ids(): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch (error) {
      throw new OpenKeyError(
        'E_DATASETS_DIR',
        `cannot read the datasets directory ${this.dir}: ${(error as Error).message}`,
        { params: { path: this.dir } },
      );
    }
    const ids: string[] = [];
    for (const entry of entries) {
      if (!ID.test(entry.name)) continue;
      const path = join(this.dir, entry.name);
      if (
        entry.isDirectory() ||
        (entry.isSymbolicLink() && (await stat(path).catch(() => null))?.isDirectory() && (await this.inside(path)))
      )
        ids.push(entry.name);
    }
    return ids.sort();
  }

  /**
   * Tree metadata of one file, from the cache while its size and mtime are unchanged. Keyed by the real path, so
   * symlinks to one file (datasets sharing files) read it once.
   */
  async treeMeta(
    path: string,
    size: number,
    mtimeMs: number,
    tree?: string,
    real?: string,
  ): Promise<{ trees: string[]; tree?: TreeMeta }> {
    // `real`: the real path when the caller has it (one realpath per file and request, not two).
    const key = `${real ?? (await realpath(path).catch(() => path))}\0${tree ?? ''}`;
    const hit = this.meta.get(key);
    if (hit && hit.size === size && hit.mtimeMs === mtimeMs) return hit.value;
    const value = readTreeMeta(path, tree);
    this.meta.set(key, { size, mtimeMs, value });
    // A failure is cached too (same size and mtime give the same failure), but not its rejection handler.
    value.catch(() => undefined);
    return value;
  }

  async get(id: string): Promise<Dataset> {
    const ids = await this.ids();
    if (!ids.includes(id)) {
      const near = nearestNames(id, ids);
      throw new OpenKeyError('E_UNKNOWN_DATASET', `unknown dataset "${id}"`, {
        hint: near.length > 0 ? `closest: ${near.join(', ')}` : `known datasets: ${ids.join(', ') || 'none'}`,
        params: { dataset: id, ...(near.length > 0 ? { suggestions: near.join(', ') } : {}) },
      });
    }
    const dir = join(this.dir, id);
    let json: DatasetJson = {};
    try {
      json = JSON.parse(await readFile(join(dir, 'dataset.json'), 'utf8')) as DatasetJson;
      if (typeof json !== 'object' || json === null || Array.isArray(json)) json = {};
    } catch {
      json = {};
    }
    const names = (await readdir(dir)).filter((n) => n.endsWith('.root') && !n.startsWith('.')).sort();
    const files = await Promise.all(names.map((name) => this.fileInfo(dir, name, json)));
    const dataset: Dataset = {
      id,
      dir,
      title: typeof json.title === 'string' ? json.title : id,
      files: files.filter((f): f is FileInfo => f !== undefined),
      entries: 0,
    };
    if (typeof json.description === 'string') dataset.description = json.description;
    if (typeof json.licence === 'string') dataset.licence = json.licence;
    if (typeof json.tree === 'string') dataset.tree = json.tree;
    dataset.entries = dataset.files.reduce((n, f) => n + f.entries, 0);
    return dataset;
  }

  private async fileInfo(dir: string, name: string, json: DatasetJson): Promise<FileInfo | undefined> {
    const path = join(dir, name);
    const st = await stat(path).catch(() => null);
    if (!st?.isFile()) return undefined;
    const info: FileInfo = { name, path, size: st.size, mtimeMs: st.mtimeMs, tree: '', entries: 0 };
    const real = await this.realInside(path);
    if (real === undefined) {
      info.error = 'a symlink out of the datasets folder: not read and not served';
      return info;
    }
    const labels = json.files?.[name];
    if (labels && typeof labels === 'object') {
      const copy: FileLabels & { truth?: unknown } = { ...labels };
      if (!this.exposeTruth) delete copy.truth;
      if (typeof copy.crossSection === 'number' && copy.xsec === undefined) copy.xsec = copy.crossSection;
      info.labels = copy;
    }
    try {
      const { trees, tree } = await this.treeMeta(
        path,
        st.size,
        st.mtimeMs,
        typeof json.tree === 'string' ? json.tree : undefined,
        real,
      );
      if (tree) {
        info.tree = tree.name;
        info.entries = tree.entries;
        info.meta = tree;
      } else {
        info.error =
          trees.length === 0 ? 'the file has no TTree' : `no tree "${json.tree}" (the file has ${trees.join(', ')})`;
      }
    } catch (error) {
      info.error = (error as Error).message;
    }
    return info;
  }

  async list(): Promise<Dataset[]> {
    const ids = await this.ids();
    return Promise.all(ids.map((id) => this.get(id)));
  }
}
