/**
 * What the image build writes to /openkey/key-index.js beside the portal, as
 *
 *   window.OPENKEY_INDEX = { ... };
 *
 * A script rather than JSON because browsers refuse fetch() from file://, and the portal must list the key's content
 * when opened from a plugged-in key with no service running. Paths are relative to /openkey/ (the portal's folder).
 */
import { TRANSLATED, type Language } from '../../common/languages.ts';

export interface KeyIndex {
  /** Key name shown as the portal's title, e.g. "Open Key". */
  name: string;
  /** Image version, e.g. "2025.1". */
  version: string;
  /** Manifest variant, e.g. "classroom" or "minimal". */
  variant?: string;
  /** The manifest's system.locale (es_ES.UTF-8): the apps' default language. */
  locale?: string;
  datasets: KeyIndexDataset[];
  /** Docs: `.html` (pre-rendered) opens as is; `.md` is rendered by docs/index.html when the service runs. */
  docs: KeyIndexLink[];
  /**
   * Every doc of the key that has translations (`docs/curriculum/z-mass.md` → `['es', 'fr', 'pt']`; the French one
   * is `z-mass.fr.md`, common/languages.ts), so the viewer asks only for files that exist.
   */
  docLanguages?: Record<string, Language[]>;
  /** Jupyter notebooks (.ipynb) on the key. */
  notebooks: KeyIndexLink[];
  /** The virtual machine image to copy, if the key carries one. */
  vm?: { ova?: string };
  /** How the analysis service runs on the booted key; `lan` is true in classroom mode (listens on the LAN). */
  service?: { port: number; lan: boolean };
  /** The key's notebook server (Jupyter), when the key runs one: notebooks open there instead of downloading. */
  jupyter?: { port: number; lan: boolean; mode: 'single' | 'hub' };
}

export interface KeyIndexDataset {
  /** Folder name under datasets/, the same id the service uses. */
  id: string;
  title: string;
  description?: string;
  /** Licence name or SPDX id, e.g. "CC0-1.0". */
  licence?: string;
  /** Bytes on the key. */
  size?: number;
  /** Entries summed over the dataset's files. */
  events?: number;
  /** Number of ROOT files. */
  files?: number;
}

export interface KeyIndexLink {
  id: string;
  title: string;
  path: string;
  /** The same doc in other languages: its title (the translation's heading) and path. */
  translations?: Partial<Record<Language, { title: string; path: string }>>;
}

declare global {
  interface Window {
    OPENKEY_INDEX?: KeyIndex;
  }
}

/** Reads window.OPENKEY_INDEX defensively: a hand-edited key-index.js must not break the portal. */
export function readKeyIndex(value: unknown): KeyIndex | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const raw = value as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const object = (v: unknown): Record<string, unknown> | undefined =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const list = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];
  const links = (v: unknown): KeyIndexLink[] =>
    list(v).flatMap((l) => {
      const id = str(l.id);
      const path = str(l.path);
      if (id === undefined || path === undefined) return [];
      const link: KeyIndexLink = { id, title: str(l.title) ?? id, path };
      const translations = object(l.translations);
      for (const lang of TRANSLATED) {
        const entry = object(translations?.[lang]);
        const translated = str(entry?.path);
        if (translated !== undefined)
          (link.translations ??= {})[lang] = { title: str(entry?.title) ?? link.title, path: translated };
      }
      return [link];
    });
  const index: KeyIndex = {
    name: str(raw.name) ?? 'Open Key',
    version: str(raw.version) ?? '',
    datasets: list(raw.datasets).flatMap((d) => {
      const id = str(d.id);
      if (id === undefined) return [];
      const dataset: KeyIndexDataset = { id, title: str(d.title) ?? id };
      const description = str(d.description);
      const licence = str(d.licence);
      const size = num(d.size);
      const events = num(d.events);
      const files = num(d.files);
      if (description !== undefined) dataset.description = description;
      if (licence !== undefined) dataset.licence = licence;
      if (size !== undefined) dataset.size = size;
      if (events !== undefined) dataset.events = events;
      if (files !== undefined) dataset.files = files;
      return [dataset];
    }),
    docs: links(raw.docs),
    notebooks: links(raw.notebooks),
  };
  const docLanguages = object(raw.docLanguages);
  if (docLanguages !== undefined) {
    index.docLanguages = {};
    for (const [path, langs] of Object.entries(docLanguages))
      if (Array.isArray(langs)) index.docLanguages[path] = TRANSLATED.filter((lang) => langs.includes(lang));
  }
  const variant = str(raw.variant);
  if (variant !== undefined) index.variant = variant;
  const locale = str(raw.locale);
  if (locale !== undefined) index.locale = locale;
  if (typeof raw.vm === 'object' && raw.vm !== null) {
    const ova = str((raw.vm as Record<string, unknown>).ova);
    index.vm = ova === undefined ? {} : { ova };
  }
  if (typeof raw.service === 'object' && raw.service !== null) {
    const s = raw.service as Record<string, unknown>;
    const port = num(s.port);
    if (port !== undefined) index.service = { port, lan: s.lan === true };
  }
  if (typeof raw.jupyter === 'object' && raw.jupyter !== null) {
    const j = raw.jupyter as Record<string, unknown>;
    const port = num(j.port);
    if (port !== undefined) index.jupyter = { port, lan: j.lan === true, mode: j.mode === 'hub' ? 'hub' : 'single' };
  }
  return index;
}
