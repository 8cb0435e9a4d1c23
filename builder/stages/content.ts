import { copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { treeBytes } from '../cache/index.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { readDatasetSummaries, type DatasetSummary } from './datasets.ts';
import { linkTree } from './iso.ts';
import { carriesOva, keyOvaPath, ovaFileName } from './ova.ts';
import { dependency, type StageDefinition } from './types.ts';

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
 * Datasets (linked from the datasets stage), docs and notebooks on the medium under /openkey/, with key-index.js for
 * the portal and a START-HERE.html at the root, so the key shows them when plugged into any computer. The apps join them in the iso
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
    // The datasets stage placed them (a changed doc never generates or downloads a dataset again).
    const placed = dependency(context, 'datasets');
    const datasets = await readDatasetSummaries(placed);
    for (const dataset of datasets)
      await linkTree(path.join(placed, 'datasets', dataset.id), path.join(openkey, 'datasets', dataset.id));
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
        ? {
            jupyter: {
              port: manifest.services.jupyter.port,
              lan: manifest.services.jupyter.lan,
              mode: manifest.services.jupyter.mode,
            },
          }
        : {}),
    };
    await writeFile(path.join(openkey, 'key-index.js'), `window.OPENKEY_INDEX = ${JSON.stringify(index, null, 2)};\n`);
    await writeFile(path.join(root, 'START-HERE.html'), startHereHtml(manifest));
    await writeFile(path.join(context.outDir, 'datasets.json'), JSON.stringify(datasets, null, 2) + '\n');
    const outputs: Record<string, number> = {};
    for (const dataset of datasets) outputs[`datasets/${dataset.id}`] = dataset.size;
    outputs['docs'] = await treeBytes(path.join(openkey, 'docs')).catch(() => 0);
    return { outputs, details: { datasets, docs: docs.length, notebooks: notebooks.length } };
  },
};

export { readDatasetSummaries, type DatasetSummary };
