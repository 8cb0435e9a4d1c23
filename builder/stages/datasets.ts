import { copyFile, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeSyntheticDataset } from '../synth/index.ts';
import { placeOpendataDataset } from '../opendata/place.ts';
import { sha256File } from '../cache/fsutil.ts';
import { treeBytes } from '../cache/index.ts';
import { OpenKeyError } from '../../common/errors.ts';
import { urlFileName } from '../manifest/confine.ts';
import type { Dataset } from '../manifest/types.ts';
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

/** Reads the dataset summaries a datasets (or content) stage wrote (for the content stage and the report). */
export async function readDatasetSummaries(dir: string): Promise<DatasetSummary[]> {
  return JSON.parse(await readFile(path.join(dir, 'datasets.json'), 'utf8')) as DatasetSummary[];
}

/**
 * The manifest's datasets, each in datasets/<id>/: generated (synthetic), downloaded and checked (url), placed from
 * the fetched real-data store (opendata) or copied (local), with datasets.json summarising them. Its own stage so
 * that a changed doc or notebook never generates or downloads a dataset again: the content stage links these files.
 */
export const datasetsStage: StageDefinition = {
  name: 'datasets',
  async run(context) {
    const { manifest } = context;
    await mkdir(path.join(context.outDir, 'datasets'), { recursive: true });
    const datasets: DatasetSummary[] = [];
    for (const dataset of manifest.datasets) {
      const dir = path.join(context.outDir, 'datasets', dataset.id);
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
    await writeFile(path.join(context.outDir, 'datasets.json'), JSON.stringify(datasets, null, 2) + '\n');
    const outputs: Record<string, number> = {};
    for (const dataset of datasets) outputs[`datasets/${dataset.id}`] = dataset.size;
    return { outputs, details: { datasets } };
  },
};
