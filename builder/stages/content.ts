import { copyFile, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeSyntheticDataset } from '../synth/index.ts';
import { placeOpendataDataset } from '../opendata/place.ts';
import { sha256File } from '../cache/fsutil.ts';
import { treeBytes } from '../cache/index.ts';
import { OpenKeyError } from '../../common/errors.ts';
import { urlFileName } from '../manifest/confine.ts';
import type { Dataset, ResolvedManifest } from '../manifest/types.ts';
import { carriesOva, keyOvaPath, ovaFileName } from './ova.ts';
import type { StageContext, StageDefinition } from './types.ts';

export interface DatasetSummary {
  id: string;
  title: string;
  description: string;
  licence: string;
  size: number;
  events?: number;
  files: number;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

async function rootFilesOf(source: string): Promise<string[]> {
  const info = await stat(source);
  if (info.isFile()) return [source];
  return (await readdir(source))
    .filter((name) => name.endsWith('.root'))
    .sort()
    .map((name) => path.join(source, name));
}

async function fetchDataset(
  dataset: Extract<Dataset, { source: 'url' }>,
  dest: string,
  context: StageContext,
): Promise<void> {
  if (context.offline) {
    throw new OpenKeyError(
      'E_OFFLINE',
      `dataset ${dataset.id} must be downloaded from ${dataset.url}, but --offline is set`,
      {
        hint: 'build once without --offline (the content is then cached), or use a local source',
      },
    );
  }
  context.log(`downloading ${dataset.url}`);
  let response: Response;
  try {
    response = await fetch(dataset.url, { signal: context.signal });
  } catch (error) {
    throw new OpenKeyError('E_DOWNLOAD', `cannot reach ${dataset.url}: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok || response.body === null) {
    throw new OpenKeyError('E_DOWNLOAD', `${dataset.url} answered ${response.status} ${response.statusText}`);
  }
  const partial = `${dest}.part`;
  await writeFile(partial, response.body);
  const digest = await sha256File(partial);
  if (digest !== dataset.sha256) {
    throw new OpenKeyError('E_CHECKSUM', `${dataset.url}: sha256 is ${digest}, the manifest says ${dataset.sha256}`, {
      hint: 'the file changed upstream or the manifest is wrong',
    });
  }
  await rename(partial, dest);
}

async function placeDataset(dataset: Dataset, dir: string, context: StageContext): Promise<{ events?: number }> {
  await mkdir(dir, { recursive: true });
  if (dataset.source === 'local') {
    const files = await rootFilesOf(dataset.path);
    if (files.length === 0)
      throw new OpenKeyError('E_DATASET', `dataset ${dataset.id}: no .root files in ${dataset.path}`);
    for (const file of files) await copyFile(file, path.join(dir, path.basename(file)));
    if (dataset.sha256 !== undefined && files.length === 1 && files[0] !== undefined) {
      const digest = await sha256File(files[0]);
      if (digest !== dataset.sha256) {
        throw new OpenKeyError(
          'E_CHECKSUM',
          `dataset ${dataset.id}: ${files[0]} has sha256 ${digest}, the manifest says ${dataset.sha256}`,
        );
      }
    }
    return {};
  }
  if (dataset.source === 'url') {
    // The name is checked after decoding (the manifest check did too): no separator, no "..", no control character.
    const named = urlFileName(dataset.url, dataset.id);
    if ('message' in named) throw new OpenKeyError('E_DATASET', `dataset ${dataset.id}: ${named.message}`);
    await fetchDataset(dataset, path.join(dir, named.name), context);
    return {};
  }
  if (dataset.source === 'opendata') {
    await placeOpendataDataset(dataset, dir, context.cacheDir ?? '', `<manifest of ${context.manifest.name}>`);
    return {};
  }
  context.log(`generating ${dataset.id} (${dataset.synthetic.process}, ${dataset.synthetic.events} events)`);
  // The files' TDatime comes from the manifest's epoch (part of this stage's inputs), never from the host's clock or
  // environment, and Ctrl-C stops a long generation.
  const result = await writeSyntheticDataset({ ...dataset.synthetic }, dir, {
    env: { SOURCE_DATE_EPOCH: String(context.sourceDateEpoch) },
    signal: context.signal,
  });
  return { events: result.events };
}

async function placeDoc(source: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const info = await stat(source);
  if (info.isFile()) {
    await copyFile(source, path.join(dir, path.basename(source)));
    return path.basename(source);
  }
  const names = (await readdir(source)).sort();
  for (const name of names) {
    const from = path.join(source, name);
    if ((await stat(from)).isFile()) await copyFile(from, path.join(dir, name));
  }
  return (
    names.find((name) => /^index\.(html|md)$/i.test(name)) ??
    names.find((name) => /^readme\.md$/i.test(name)) ??
    names[0] ??
    ''
  );
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

export function startHereHtml(manifest: ResolvedManifest): string {
  const { port, lan } = manifest.services.analysis;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(manifest.name)}: start here</title>
<meta http-equiv="refresh" content="0; url=openkey/index.html">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}</style>
</head>
<body>
<h1>${escapeHtml(manifest.name)} ${escapeHtml(manifest.version)}</h1>
<p>${escapeHtml(manifest.description)}</p>
<p><a href="openkey/index.html">Open the portal</a>: datasets, documentation and notebooks on this key.</p>
<p>Booted from this key, the key also runs the analysis service on port ${port}${lan ? ', reachable from the local network' : ''}.</p>
</body>
</html>
`;
}

/**
 * Datasets, docs and notebooks on the ISO's own file system under /openkey/, with key-index.js for the portal and a
 * START-HERE.html at the root, so the key shows them when plugged into any computer. The apps join them in the iso
 * stage (they are built with the service).
 */
export const contentStage: StageDefinition = {
  name: 'content',
  async run(context) {
    const { manifest } = context;
    const root = path.join(context.outDir, 'root');
    const openkey = path.join(root, 'openkey');
    // The service is started with --datasets on this folder, so it exists even on a key without datasets.
    await mkdir(path.join(openkey, 'datasets'), { recursive: true });
    const datasets: DatasetSummary[] = [];
    for (const dataset of manifest.datasets) {
      const dir = path.join(openkey, 'datasets', dataset.id);
      const { events } = await placeDataset(dataset, dir, context);
      const rootFiles = (await readdir(dir)).filter((name) => name.endsWith('.root'));
      datasets.push({
        id: dataset.id,
        title: dataset.title,
        description: dataset.description,
        licence: dataset.licence,
        size: await treeBytes(dir),
        ...(events === undefined ? {} : { events }),
        files: rootFiles.length,
      });
    }
    const docs = [];
    for (const doc of manifest.docs) {
      const entry = await placeDoc(doc.path, path.join(openkey, 'docs', doc.id));
      docs.push({ id: doc.id, title: doc.title, path: `docs/${doc.id}/${entry}` });
    }
    const notebooks = [];
    for (const notebook of manifest.notebooks) {
      const entry = await placeDoc(notebook.path, path.join(openkey, 'notebooks', notebook.id));
      notebooks.push({ id: notebook.id, title: notebook.title, path: `notebooks/${notebook.id}/${entry}` });
    }
    const index = {
      name: manifest.name,
      version: manifest.version,
      variant: manifest.variant,
      // The apps' default language (issue 14).
      locale: manifest.system.locale,
      datasets,
      docs,
      notebooks,
      // M and L keys carry their OVA (the usb stage adds it after the content partition's other files).
      vm: carriesOva(manifest) ? { ova: keyOvaPath(ovaFileName(manifest)) } : {},
      service: { port: manifest.services.analysis.port, lan: manifest.services.analysis.lan },
      // The portal opens notebooks in the key's Jupyter (image/overlay/jupyter) when it runs.
      ...(manifest.services.jupyter.enabled
        ? { jupyter: { port: manifest.services.jupyter.port, lan: manifest.services.jupyter.lan } }
        : {}),
    };
    await writeFile(path.join(openkey, 'key-index.js'), `window.OPENKEY_INDEX = ${JSON.stringify(index, null, 2)};\n`);
    await writeFile(path.join(root, 'START-HERE.html'), startHereHtml(manifest));
    await writeFile(path.join(context.outDir, 'datasets.json'), JSON.stringify(datasets, null, 2) + '\n');
    const outputs: Record<string, number> = {};
    for (const dataset of datasets) outputs[`datasets/${dataset.id}`] = dataset.size;
    outputs['docs'] = (await exists(path.join(openkey, 'docs'))) ? await treeBytes(path.join(openkey, 'docs')) : 0;
    return { outputs, details: { datasets, docs: docs.length, notebooks: notebooks.length } };
  },
};

/** Reads the dataset summaries a content stage wrote (for the report). */
export async function readDatasetSummaries(contentDir: string): Promise<DatasetSummary[]> {
  return JSON.parse(await readFile(path.join(contentDir, 'datasets.json'), 'utf8')) as DatasetSummary[];
}
