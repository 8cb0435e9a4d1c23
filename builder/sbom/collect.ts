import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { unsquashfsPaths } from '../tools/unsquashfs.ts';
import { debFileName, DebArchive, readPackagesIndex } from '../cache/debs.ts';
import { isSpdxExpression, parseCopyright } from './licences.ts';
import type { DebianPackage, KeyFile, NpmPackage } from './spdx.ts';

export { licenceFromCopyright } from './licences.ts';

/**
 * A file of an extracted tree, following symlinks inside the tree (an absolute target is taken relative to the tree's
 * root, as it would be on the key), never out of it; undefined when there is none.
 */
async function readInTree(root: string, relative: string): Promise<string | undefined> {
  let current = path.join(root, relative);
  for (let hops = 0; hops < 16; hops++) {
    if (!current.startsWith(`${root}${path.sep}`)) return undefined;
    const info = await lstat(current).catch(() => undefined);
    if (info === undefined) return undefined;
    if (!info.isSymbolicLink()) return info.isFile() ? readFile(current, 'utf8') : undefined;
    const target = await readlink(current);
    current = path.isAbsolute(target) ? path.join(root, target) : path.resolve(path.dirname(current), target);
  }
  return undefined;
}

/** The SHA-256 of each package's .deb: from the cache's .deb archive, else apt's Packages index of the last build. */
async function debHashes(cacheDir: string | undefined): Promise<(file: string) => Promise<string | undefined>> {
  if (cacheDir === undefined) return async () => undefined;
  const archive = DebArchive.inCache(cacheDir);
  const index = await readPackagesIndex(await archive.packagesLists());
  return async (file) => (await archive.sha256Of(file)) ?? index.get(file)?.sha256;
}

/**
 * The OS layer's packages (packages.tsv) with the licence each one's copyright file declares and, when the build's
 * cache is given, the SHA-256 of its .deb.
 */
export async function debianPackages(
  osLayerDir: string,
  signal?: AbortSignal,
  cacheDir?: string,
): Promise<DebianPackage[]> {
  const rows = (await readFile(path.join(osLayerDir, 'packages.tsv'), 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split('\t'));
  const hashOf = await debHashes(cacheDir);
  // Only the copyright files (a few MB) are extracted, into the system's temporary folder, never into the cache.
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'openkey-sbom-'));
  try {
    const docs = path.join(scratch, 'docs');
    const image = path.join(osLayerDir, '00-os.squashfs');
    await unsquashfsPaths(image, docs, ['usr/share/doc/*/copyright'], signal);
    const docName = (name: string) => name.split(':')[0]!;
    const docDir = new Map(rows.map(([name = '']) => [name, docName(name)]));
    // A package whose doc folder is a symlink to another package's (kmod → libkmod2): those links, extracted apart.
    const missing: string[] = [];
    for (const [name, dir] of docDir)
      if ((await readInTree(docs, path.join('usr', 'share', 'doc', dir, 'copyright'))) === undefined)
        missing.push(name);
    if (missing.length > 0) {
      const links = path.join(scratch, 'links');
      await unsquashfsPaths(
        image,
        links,
        missing.map((name) => `usr/share/doc/${docDir.get(name)}`),
        signal,
      );
      for (const name of missing) {
        const target = await readlink(path.join(links, 'usr', 'share', 'doc', docDir.get(name)!)).catch(
          () => undefined,
        );
        if (target !== undefined)
          docDir.set(name, path.posix.relative('/usr/share/doc', path.posix.resolve('/usr/share/doc', target)));
      }
    }
    const copyrightOf = (name: string) =>
      readInTree(docs, path.join('usr', 'share', 'doc', docDir.get(name) ?? docName(name), 'copyright'));
    const packages: DebianPackage[] = [];
    for (const [name = '', version = '', architecture = 'amd64'] of rows) {
      const parsed = parseCopyright((await copyrightOf(name)) ?? '');
      const sha256 = await hashOf(debFileName(docName(name), version, architecture));
      packages.push({
        name,
        version,
        architecture,
        licence: parsed.licence,
        ...(parsed.refs.size > 0 ? { licenceRefs: Object.fromEntries(parsed.refs) } : {}),
        ...(parsed.comment === undefined ? {} : { licenceComment: parsed.comment }),
        ...(sha256 === undefined ? {} : { sha256 }),
      });
    }
    return packages;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The npm packages that end up in the service bundle or the apps: the production dependency closure, in
 * package-lock.json, of what services/, rootio/, common/ and apps/ import (the roots below).
 */
export const BUNDLED_ROOTS = ['fastify', '@fastify/static', 'fzstd', 'jsroot', 'marked', 'qrcode-generator'];

interface LockEntry {
  version?: string;
  license?: string;
  integrity?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export async function npmPackages(
  projectRoot: string,
  roots: readonly string[] = BUNDLED_ROOTS,
): Promise<NpmPackage[]> {
  const lock = JSON.parse(await readFile(path.join(projectRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const seen = new Map<string, LockEntry>();
  // npm's resolution: a dependency of node_modules/a is node_modules/a/node_modules/x if that exists, else hoisted.
  const resolve = (from: string, name: string): string | undefined => {
    for (let base = from; ; base = base.replace(/\/?node_modules\/(@[^/]+\/)?[^/]+$/, '')) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (lock.packages[candidate] !== undefined) return candidate;
      if (base === '') return undefined;
    }
  };
  const visit = (key: string) => {
    if (seen.has(key)) return;
    const entry = lock.packages[key];
    if (entry === undefined || entry.dev === true) return;
    seen.set(key, entry);
    for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      const target = resolve(key, dep);
      if (target !== undefined) visit(target);
    }
  };
  for (const root of roots) {
    const key = resolve('', root);
    if (key !== undefined) visit(key);
  }
  return [...seen.entries()]
    .map(([key, entry]) => ({
      name: key.replace(/^.*node_modules\//, ''),
      version: entry.version ?? 'NOASSERTION',
      // "SEE LICENSE IN LICENSE" and the like are not SPDX: no assertion rather than a wrong one
      licence: entry.license && isSpdxExpression(entry.license) ? entry.license : 'NOASSERTION',
      ...(entry.integrity ? { integrity: entry.integrity } : {}),
    }))
    .sort((a, b) => (a.name === b.name ? a.version.localeCompare(b.version) : a.name < b.name ? -1 : 1));
}

async function hashes(file: string): Promise<{ sha256: string; sha1: string }> {
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    sha256.update(chunk as Buffer);
    sha1.update(chunk as Buffer);
  }
  return { sha256: sha256.digest('hex'), sha1: sha1.digest('hex') };
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

interface DatasetJsonLike {
  licence?: string;
  source?: { url?: string; record?: number };
  files?: Record<string, { url?: string; record?: number; kind?: string; truth?: unknown }>;
}

/** Every dataset file, doc and notebook the content stage put under `<contentRoot>/openkey/`, with SHA-256 and source. */
export async function keyFiles(contentRoot: string): Promise<KeyFile[]> {
  const files: KeyFile[] = [];
  const base = path.join(contentRoot, 'openkey');
  for (const dataset of (await readdir(path.join(base, 'datasets')).catch(() => [])).sort()) {
    const dir = path.join(base, 'datasets', dataset);
    const json = JSON.parse(
      await readFile(path.join(dir, 'dataset.json'), 'utf8').catch(() => '{}'),
    ) as DatasetJsonLike;
    for (const file of await walk(dir)) {
      const name = path.relative(dir, file);
      const entry = json.files?.[name];
      const source =
        entry?.url !== undefined
          ? `${entry.url} (CERN Open Data record ${entry.record ?? json.source?.record ?? '?'})`
          : name === 'dataset.json'
            ? 'written by openkey build'
            : entry !== undefined && 'truth' in entry
              ? 'generated by openkey synth at build time'
              : 'from the manifest';
      const licence = json.licence && /^[A-Za-z0-9.+ ()-]+$/.test(json.licence) ? json.licence : 'NOASSERTION';
      files.push({ path: path.relative(contentRoot, file), ...(await hashes(file)), licence, source });
    }
  }
  for (const kind of ['docs', 'notebooks']) {
    for (const file of await walk(path.join(base, kind))) {
      if (!(await stat(file)).isFile()) continue;
      files.push({
        path: path.relative(contentRoot, file),
        ...(await hashes(file)),
        licence: 'NOASSERTION',
        source: `manifest ${kind}`,
      });
    }
  }
  return files;
}
