import { copyFile, lstat, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  LANGUAGES,
  LANGUAGE_NAMES,
  TRANSLATED,
  translatedPath,
  translationOf,
  type Language,
} from '../../common/languages.ts';
import { treeBytes } from '../cache/index.ts';
import type { KeyIndexLink } from '../../apps/shared/key-index.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { readDatasetSummaries, type DatasetSummary } from './datasets.ts';
import { linkTree } from './iso.ts';
import { carriesOva, keyOvaPath, ovaFileName } from './ova.ts';
import { dependency, type StageDefinition } from './types.ts';

/** Places one doc (a file, or a folder's files) in `dir` and returns its entry file; a file's translations go along. */
async function placeDoc(source: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const info = await stat(source);
  if (info.isFile()) {
    await copyFile(source, path.join(dir, path.basename(source)));
    for (const lang of TRANSLATED) {
      const translation = translatedPath(source, lang);
      if (translation === source) continue;
      // lstat: a translation beside the doc is taken only as a plain file, never through a link out of the folder.
      const found = await lstat(translation).catch(() => undefined);
      if (found?.isFile() === true) await copyFile(translation, path.join(dir, path.basename(translation)));
    }
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
    names.find((name) => translationOf(name) === undefined) ??
    ''
  );
}

export interface PlacedDocs {
  /** key-index.js's `docs`: each with the translations of its entry page. */
  docs: KeyIndexLink[];
  /** key-index.js's `docLanguages`: every doc file with translations, and their languages. */
  docLanguages: Record<string, Language[]>;
}

/** A page's title: its first level-1 heading, without an explicit anchor (`{#id}`). */
function titleOf(markdown: string): string | undefined {
  const heading = /^# +(.+?)\s*$/m.exec(markdown)?.[1];
  return heading?.replace(/\s*\{#[\w-]+\}$/, '').trim() || undefined;
}

/**
 * The manifest's docs under `openkey/docs/<id>/`, as key-index.js lists them. A translation is a file named like the
 * English page with the language before `.md` (common/languages.ts); one without its English page is left unlisted.
 */
export async function placeDocs(manifestDocs: ResolvedManifest['docs'], openkey: string): Promise<PlacedDocs> {
  const docs: KeyIndexLink[] = [];
  const docLanguages: Record<string, Language[]> = {};
  for (const doc of manifestDocs) {
    const dir = path.join(openkey, 'docs', doc.id);
    const entry = await placeDoc(doc.path, dir);
    const names = new Set(await readdir(dir));
    for (const name of [...names].sort()) {
      const translation = translationOf(name);
      if (translation === undefined || !names.has(translation.original)) continue;
      (docLanguages[`docs/${doc.id}/${translation.original}`] ??= []).push(translation.lang);
    }
    const link: KeyIndexLink = { id: doc.id, title: doc.title, path: `docs/${doc.id}/${entry}` };
    for (const lang of docLanguages[link.path] ?? []) {
      const file = translatedPath(entry, lang);
      const title = titleOf(await readFile(path.join(dir, file), 'utf8')) ?? doc.title;
      (link.translations ??= {})[lang] = { title, path: `docs/${doc.id}/${file}` };
    }
    docs.push(link);
  }
  return { docs, docLanguages };
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** START-HERE.html's own words in each language of the apps; the manifest's name and description stay as written. */
const START_HERE_TEXT: Record<
  Language,
  {
    startHere: string;
    openPortal: string;
    portalHolds: string;
    service: (port: number, lan: boolean) => string;
    docs: string;
  }
> = {
  en: {
    startHere: 'start here',
    openPortal: 'Open the portal',
    portalHolds: 'datasets, documentation and notebooks on this key.',
    service: (port, lan) =>
      `Booted from this key, the key also runs the analysis service on port ${port}${lan ? ', reachable from the local network' : ''}.`,
    docs: 'Documentation',
  },
  es: {
    startHere: 'empiece aquí',
    openPortal: 'Abrir el portal',
    portalHolds: 'datos, documentación y cuadernos de esta llave.',
    service: (port, lan) =>
      `Al arrancar desde esta llave, también funciona el servicio de análisis en el puerto ${port}${lan ? ', accesible desde la red local' : ''}.`,
    docs: 'Documentación',
  },
  fr: {
    startHere: 'commencer ici',
    openPortal: 'Ouvrir le portail',
    portalHolds: 'données, documentation et notebooks de cette clé.',
    service: (port, lan) =>
      `Quand l’ordinateur démarre sur cette clé, elle fait aussi tourner le service d’analyse sur le port ${port}${lan ? ', accessible depuis le réseau local' : ''}.`,
    docs: 'Documentation',
  },
  pt: {
    startHere: 'comece aqui',
    openPortal: 'Abrir o portal',
    portalHolds: 'dados, documentação e cadernos desta chave.',
    service: (port, lan) =>
      `Ao arrancar a partir desta chave, ela também executa o serviço de análise na porta ${port}${lan ? ', acessível a partir da rede local' : ''}.`,
    docs: 'Documentação',
  },
};

/** The apps' language of a system locale (`fr_FR.UTF-8` → fr), English for one the apps do not speak. */
export function languageOfLocale(locale: string): Language {
  const code = locale.slice(0, 2).toLowerCase();
  return LANGUAGES.find((lang) => lang === code) ?? 'en';
}

/** The docs as a list for START-HERE.html: each title, then its translations by language name. */
function startHereDocs(docs: readonly KeyIndexLink[], heading: string): string {
  if (docs.length === 0) return '';
  const items = docs.map((doc) => {
    const translations = TRANSLATED.flatMap((lang) => {
      const translation = doc.translations?.[lang];
      return translation === undefined
        ? []
        : [
            `<a href="openkey/${escapeHtml(translation.path)}" hreflang="${lang}" lang="${lang}">${LANGUAGE_NAMES[lang]}</a>`,
          ];
    });
    const others = translations.length === 0 ? '' : ` (${translations.join(' · ')})`;
    return `<li><a href="openkey/${escapeHtml(doc.path)}">${escapeHtml(doc.title)}</a>${others}</li>`;
  });
  return `<h2>${heading}</h2>\n<ul>\n${items.join('\n')}\n</ul>\n`;
}

/** The key's first page, in the key's language (system.locale), as the apps open by default. */
export function startHereHtml(manifest: ResolvedManifest, docs: readonly KeyIndexLink[] = []): string {
  const { port, lan } = manifest.services.analysis;
  const lang = languageOfLocale(manifest.system.locale);
  const text = START_HERE_TEXT[lang];
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(manifest.name)}: ${text.startHere}</title>
<meta http-equiv="refresh" content="0; url=openkey/index.html">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}</style>
</head>
<body>
<h1>${escapeHtml(manifest.name)} ${escapeHtml(manifest.version)}</h1>
<p>${escapeHtml(manifest.description)}</p>
<p><a href="openkey/index.html">${text.openPortal}</a>: ${text.portalHolds}</p>
<p>${text.service(port, lan)}</p>
${startHereDocs(docs, text.docs)}</body>
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
    const { docs, docLanguages } = await placeDocs(manifest.docs, openkey);
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
      docLanguages,
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
    await writeFile(path.join(root, 'START-HERE.html'), startHereHtml(manifest, docs));
    await writeFile(path.join(context.outDir, 'datasets.json'), JSON.stringify(datasets, null, 2) + '\n');
    const outputs: Record<string, number> = {};
    for (const dataset of datasets) outputs[`datasets/${dataset.id}`] = dataset.size;
    outputs['docs'] = await treeBytes(path.join(openkey, 'docs')).catch(() => 0);
    return { outputs, details: { datasets, docs: docs.length, notebooks: notebooks.length } };
  },
};

export { readDatasetSummaries, type DatasetSummary };
