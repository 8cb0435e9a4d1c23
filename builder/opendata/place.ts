import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { linkOrCopy } from '../cache/fsutil.ts';
import { OpenKeyError } from '../../common/errors.ts';
import type { LockedOpendataFile, OpendataDataset } from '../manifest/types.ts';
import { catalogueFile, luminosityScale, releaseOf, type SampleLabels } from './catalogue.ts';
import { OpendataStore } from './store.ts';

/** One file's entry in a real-data dataset.json: the service's labels plus the catalogue's normalisation facts. */
export interface OpendataFileLabels extends Partial<SampleLabels> {
  sample: string;
  /** The service's name for role. */
  kind: 'data' | 'simulation';
  /** crossSectionPb under the name the service already reads. */
  crossSection?: number;
  /** Integrated luminosity of the release's data (fb⁻¹), the default target of the normalisation. */
  releaseLuminosityFb?: number;
  /** The factor scaling this sample's weighted events to releaseLuminosityFb (simulation, when the labels allow). */
  scaleToReleaseLuminosity?: number;
  record: number;
  /** root://eospublic.cern.ch//eos/opendata/…, as the record lists it (a key's datasets folder then serves as a lock). */
  uri: string;
  url: string;
  size: number;
  adler32: string;
  sha256: string;
}

export function fileLabels(record: number, file: LockedOpendataFile): OpendataFileLabels {
  const known = catalogueFile(record, file.name);
  const base = { record, uri: file.uri, url: file.url, size: file.size, adler32: file.adler32, sha256: file.sha256 };
  if (known === undefined)
    return {
      sample: file.name.replace(/\.root$/, ''),
      kind: /^data/i.test(file.name) ? 'data' : 'simulation',
      ...base,
    };
  const { name: _name, skim: _skim, ...labels } = known;
  const release = releaseOf(known.release);
  const scale = luminosityScale(known, release.luminosityFb);
  return {
    sample: known.process,
    kind: known.role,
    ...labels,
    ...(known.crossSectionPb === undefined ? {} : { crossSection: known.crossSectionPb }),
    releaseLuminosityFb: release.luminosityFb,
    ...(scale === undefined ? {} : { scaleToReleaseLuminosity: scale }),
    ...base,
  };
}

/**
 * Places a real-data dataset from the content cache (the files the lock pins, verified when `openkey fetch` admitted
 * them) and writes its dataset.json with the catalogue's labels. Never downloads: `openkey fetch` is the only step that
 * does.
 */
export async function placeOpendataDataset(
  dataset: OpendataDataset,
  dir: string,
  cacheDir: string,
  manifestHint: string,
): Promise<void> {
  if (dataset.locked === undefined)
    throw new OpenKeyError('E_OPENDATA_NOT_FETCHED', `dataset ${dataset.id}: no lock file pins its files`, {
      hint: `run: openkey fetch ${manifestHint}`,
    });
  const store = new OpendataStore(cacheDir);
  await mkdir(dir, { recursive: true });
  const files: Record<string, OpendataFileLabels> = {};
  for (const file of dataset.locked) {
    const blob = store.blobPath(file.sha256);
    const info = await stat(blob).catch(() => undefined);
    if (info?.size !== file.size)
      throw new OpenKeyError(
        'E_OPENDATA_NOT_FETCHED',
        `dataset ${dataset.id}: ${file.name} is not in the cache (${blob})`,
        {
          hint: `run: openkey fetch ${manifestHint} --cache ${cacheDir}`,
        },
      );
    await linkOrCopy(blob, path.join(dir, file.name));
    files[file.name] = fileLabels(dataset.opendata.record, file);
  }
  const json = {
    title: dataset.title,
    description: dataset.description,
    licence: dataset.licence,
    tree: dataset.tree,
    source: {
      portal: 'CERN Open Data',
      record: dataset.opendata.record,
      url: `https://opendata.cern.ch/record/${dataset.opendata.record}`,
    },
    files,
  };
  const temp = path.join(dir, '.dataset.json.partial');
  await writeFile(temp, JSON.stringify(json, null, 2) + '\n');
  await rename(temp, path.join(dir, 'dataset.json'));
}
