import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { unsquashfsPaths } from '../tools/unsquashfs.ts';
import type { DebianPackage, KeyFile, NpmPackage } from './spdx.ts';

/** Debian's short licence names (copyright-format 1.0) → SPDX identifiers; anything else is NOASSERTION. */
const DEBIAN_TO_SPDX: Record<string, string> = {
  'GPL-1': 'GPL-1.0-only',
  'GPL-1+': 'GPL-1.0-or-later',
  'GPL-2': 'GPL-2.0-only',
  'GPL-2+': 'GPL-2.0-or-later',
  'GPL-3': 'GPL-3.0-only',
  'GPL-3+': 'GPL-3.0-or-later',
  'LGPL-2': 'LGPL-2.0-only',
  'LGPL-2+': 'LGPL-2.0-or-later',
  'LGPL-2.1': 'LGPL-2.1-only',
  'LGPL-2.1+': 'LGPL-2.1-or-later',
  'LGPL-3': 'LGPL-3.0-only',
  'LGPL-3+': 'LGPL-3.0-or-later',
  'AGPL-3': 'AGPL-3.0-only',
  'AGPL-3+': 'AGPL-3.0-or-later',
  'BSD-2-clause': 'BSD-2-Clause',
  'BSD-3-clause': 'BSD-3-Clause',
  'BSD-4-clause': 'BSD-4-Clause',
  Expat: 'MIT',
  MIT: 'MIT',
  ISC: 'ISC',
  Zlib: 'Zlib',
  'Apache-2.0': 'Apache-2.0',
  'MPL-1.1': 'MPL-1.1',
  'MPL-2.0': 'MPL-2.0',
  'Artistic-1.0': 'Artistic-1.0',
  'Artistic-2.0': 'Artistic-2.0',
  'CC0-1.0': 'CC0-1.0',
  OpenSSL: 'OpenSSL',
  'Python-2.0': 'Python-2.0',
  X11: 'X11',
  curl: 'curl',
};

function spdxTerm(term: string): string | undefined {
  const clean = term.trim().replace(/^\(|\)$/g, '');
  return DEBIAN_TO_SPDX[clean] ?? DEBIAN_TO_SPDX[clean.replace(/-or-later$/, '+')];
}

/**
 * The licence a machine-readable debian/copyright declares: the `License:` short names of its paragraphs, mapped to
 * SPDX and joined with AND. A copyright file without the copyright-format header, or with a name outside the table,
 * gives NOASSERTION: an SBOM must not guess.
 */
export function licenceFromCopyright(text: string): string {
  if (!/^Format:\s*\S*copyright-format/m.test(text)) return 'NOASSERTION';
  const expressions = new Set<string>();
  for (const match of text.matchAll(/^License:[ \t]*(.+)$/gm)) {
    const value = match[1]!.trim();
    if (value === '') continue;
    const parts = value.split(/\s+(or|and)\s+/i);
    const mapped: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 1) {
        mapped.push(parts[i]!.toUpperCase());
        continue;
      }
      const id = spdxTerm(parts[i]!.replace(/,$/, ''));
      if (id === undefined) return 'NOASSERTION';
      mapped.push(id);
    }
    expressions.add(mapped.length > 1 ? `(${mapped.join(' ')})` : mapped[0]!);
  }
  if (expressions.size === 0) return 'NOASSERTION';
  const list = [...expressions].sort();
  return list.length === 1 ? list[0]!.replace(/^\((.*)\)$/, '$1') : list.join(' AND ');
}

/** The OS layer's packages (packages.tsv) with the licence each one's copyright file declares. */
export async function debianPackages(osLayerDir: string, signal?: AbortSignal): Promise<DebianPackage[]> {
  const rows = (await readFile(path.join(osLayerDir, 'packages.tsv'), 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split('\t'));
  // Only the copyright files (a few MB) are extracted, into the system's temporary folder, never into the cache.
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'openkey-sbom-'));
  try {
    const docs = path.join(scratch, 'docs');
    await unsquashfsPaths(path.join(osLayerDir, '00-os.squashfs'), docs, ['usr/share/doc/*/copyright'], signal);
    const packages: DebianPackage[] = [];
    for (const [name = '', version = '', architecture = 'amd64'] of rows) {
      const copyright = await readFile(
        path.join(docs, 'usr', 'share', 'doc', name.split(':')[0]!, 'copyright'),
        'utf8',
      ).catch(() => '');
      packages.push({ name, version, architecture, licence: licenceFromCopyright(copyright) });
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
      licence: entry.license && /^[A-Za-z0-9.+ ()-]+$/.test(entry.license) ? entry.license : 'NOASSERTION',
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
