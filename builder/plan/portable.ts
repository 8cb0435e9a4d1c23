import path from 'node:path';
import type { ResolvedManifest } from '../manifest/types.ts';

/** The manifest with its paths relative to the project, so a plan prints the same bytes in any checkout. */
export function portableManifest(manifest: ResolvedManifest, projectRoot: string): unknown {
  const relative = (file: string) => path.relative(projectRoot, file).split(path.sep).join('/');
  return {
    ...manifest,
    overlays: manifest.overlays.map(relative),
    datasets: manifest.datasets.map((dataset) =>
      dataset.source === 'local' ? { ...dataset, path: relative(dataset.path) } : dataset,
    ),
    docs: manifest.docs.map((doc) => ({ ...doc, path: relative(doc.path) })),
    notebooks: manifest.notebooks.map((notebook) => ({ ...notebook, path: relative(notebook.path) })),
  };
}
