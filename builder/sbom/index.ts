import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Cache } from '../cache/index.ts';
import { OpenKeyError } from '../../common/errors.ts';
import { debianPackages, keyFiles, npmPackages } from './collect.ts';
import { spdxDocument } from './spdx.ts';

export function sbomFileName(manifest: { name: string; version: string }): string {
  return `${manifest.name}-${manifest.version}.spdx.json`;
}

export interface KeySbomInput {
  name: string;
  version: string;
  sourceDateEpoch: number;
  /** The os-layer stage's folder (packages.tsv, 00-os.squashfs). */
  osLayerDir: string;
  /** The content stage's key tree (the folder holding openkey/). */
  contentRoot: string;
  projectRoot: string;
  /** The build's cache, whose .deb archive gives each Debian package's SHA-256. */
  cacheDir?: string;
  signal?: AbortSignal;
}

/** The key's SPDX 2.3 document as JSON text (the same bytes for the same inputs). */
export async function keySbom(input: KeySbomInput): Promise<string> {
  const document = spdxDocument({
    name: input.name,
    version: input.version,
    sourceDateEpoch: input.sourceDateEpoch,
    debian: await debianPackages(input.osLayerDir, input.signal, input.cacheDir),
    npm: await npmPackages(input.projectRoot),
    files: await keyFiles(input.contentRoot),
  });
  return JSON.stringify(document, null, 2) + '\n';
}

/**
 * `openkey sbom <out-dir>`: regenerates the SBOM beside a build's images from the stage outputs its report names in
 * the cache (the same code the iso stage runs, so the bytes match the copy on the key).
 */
export async function regenerateSbom(outDir: string, cacheDir: string, projectRoot: string): Promise<string> {
  const reports = (await readdir(outDir).catch(() => [])).filter((name) => name.endsWith('.report.json'));
  if (reports.length !== 1)
    throw new OpenKeyError('E_SBOM_OUT', `${outDir} is not an openkey build folder (no single *.report.json)`, {
      hint: 'give the folder openkey build wrote, for example out/openkey-s',
      exitCode: 2,
    });
  const report = JSON.parse(await readFile(path.join(outDir, reports[0]!), 'utf8')) as {
    name: string;
    version: string;
    sourceDateEpoch: number;
    stages: { name: string; key: string }[];
  };
  const cache = new Cache(cacheDir);
  const dirOf = async (stage: string) => {
    const key = report.stages.find((s) => s.name === stage)?.key;
    const dir = key === undefined ? undefined : await cache.lookup(stage, key);
    if (dir === undefined)
      throw new OpenKeyError('E_SBOM_CACHE', `the ${stage} stage of this build is not in the cache ${cacheDir}`, {
        hint: 'pass the --cache the build used, or build again (the SBOM beside the images is written by every build)',
      });
    return dir;
  };
  const text = await keySbom({
    name: report.name,
    version: report.version,
    sourceDateEpoch: report.sourceDateEpoch,
    osLayerDir: await dirOf('os-layer'),
    contentRoot: path.join(await dirOf('content'), 'root'),
    projectRoot,
    cacheDir,
  });
  const file = path.join(outDir, sbomFileName(report));
  await writeFile(file, text);
  return file;
}
