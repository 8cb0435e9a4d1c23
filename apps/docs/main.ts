/**
 * The docs viewer (docs/?path=relative/path.md): renders one Markdown document of the key offline with marked, with
 * a table of contents from its headings, a search over every document on the key, and a print style (menus,
 * contents and search hidden; A4 pages) for worksheets.
 *
 * The search runs in the browser: it reads the docs key-index.js lists and, from each, the Markdown pages it links
 * to inside the key (a curriculum's index links every exercise), renders them the way the page does and cuts them
 * into sections (outline.ts), so a hit opens the right page at the right heading. Nothing leaves the key.
 *
 * Formulas (`$…$`, `$$…$$`) are rendered by KaTeX with the CSS and fonts shipped in the apps (markdown.ts).
 *
 * Each page shows in the apps' language (i18n.ts): `z-mass.md` in French is `z-mass.fr.md` beside it
 * (common/languages.ts), and key-index.js lists which translations the key has. A page without one shows in English
 * and says so; the search reads the pages in the same language; links keep the language (?lang=).
 */
import { byId, el, setStatus, siteRoot } from '../shared/dom.ts';
import { describeError } from '../shared/errors.ts';
import { translatedPath, translationOf, type Language } from '../../common/languages.ts';
import { setupPage, t } from '../shared/i18n.ts';
import { readKeyIndex, type KeyIndex } from '../shared/key-index.ts';
import { renderMarkdown } from './markdown.ts';
import { assignIds, search, sectionsOf, type Hit, type IndexedDoc } from './outline.ts';

/** Only paths inside the key's tree: no scheme, no host, no climbing out. */
export function safeDocPath(path: string | null): string | undefined {
  if (path === null || path === '' || path.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(path)) return undefined;
  if (path.split('/').some((part) => part === '..')) return undefined;
  return path;
}

/** How many documents the search reads at most (a key carries tens). */
const MAX_DOCS = 400;

/** The path under the site root of a URL inside it, or undefined for one outside. */
function inside(url: URL, root: URL): string | undefined {
  if (url.origin !== root.origin || !url.pathname.startsWith(root.pathname)) return undefined;
  return safeDocPath(decodeURIComponent(url.pathname.slice(root.pathname.length)));
}

/** The reader's language (set once by main), which every link the viewer makes carries on. */
let reader: Language = 'en';

/** The viewer's URL for a document (and a heading in it), in the reader's language. */
function viewerHref(path: string, hash = ''): string {
  const url = new URL(location.href);
  url.search = '';
  url.searchParams.set('path', path);
  url.searchParams.set('lang', reader);
  url.hash = hash;
  return url.href;
}

interface Loaded {
  text: string;
  /** The language the text is in: the reader's, or English when the page has no translation into it. */
  lang: Language;
  /** True when the reader's language was wanted and the page has no translation into it. */
  fellBack: boolean;
}

/**
 * A document in the reader's language, or in English. With key-index.js the viewer asks only for a translation the
 * key has; without it (a hand-made folder) it tries and falls back when the translation is not there.
 */
async function loadDoc(path: string, index: KeyIndex | undefined, root: URL): Promise<Loaded | Response> {
  // A translation opened by its own name (z-mass.fr.md) shows as it is.
  const own = translationOf(path);
  if (own !== undefined) {
    const response = await fetch(new URL(path, root));
    return response.ok ? { text: await response.text(), lang: own.lang, fellBack: false } : response;
  }
  const translated = translatedPath(path, reader);
  const listed = index?.docLanguages === undefined || (index.docLanguages[path] ?? []).includes(reader);
  if (translated !== path && listed) {
    const response = await fetch(new URL(translated, root));
    if (response.ok) return { text: await response.text(), lang: reader, fellBack: false };
  }
  const response = await fetch(new URL(path, root));
  return response.ok ? { text: await response.text(), lang: 'en', fellBack: reader !== 'en' } : response;
}

/** Markdown (formulas rendered by KaTeX) or a pre-rendered .html doc, as a detached element. */
async function render(text: string, path: string): Promise<HTMLElement> {
  const box = document.createElement('div');
  if (/\.html?$/i.test(path)) {
    const parsed = new DOMParser().parseFromString(text, 'text/html');
    box.append(...parsed.body.childNodes);
  } else {
    // Documents come from the key itself (written by its build), so their HTML is trusted like the apps' own.
    box.innerHTML = renderMarkdown(text);
  }
  return box;
}

/**
 * Links and images of a document are relative to the document, not to this viewer; a link to another Markdown
 * document of the key opens it in the viewer. Returns the key's documents it links to.
 */
function relink(doc: HTMLElement, url: URL, root: URL): string[] {
  const linked: string[] = [];
  for (const a of doc.querySelectorAll<HTMLAnchorElement>('a[href]')) {
    const href = a.getAttribute('href') ?? '';
    if (href.startsWith('#')) continue;
    const target = new URL(href, url);
    const path = inside(target, root);
    if (path !== undefined && /\.md$/i.test(path)) {
      // A translation may link to another translation by its own name: the viewer opens it by the English one.
      const original = translationOf(path)?.original ?? path;
      a.href = viewerHref(original, target.hash);
      linked.push(original);
    } else {
      // The key's apps (the analyser with a preset) open in the same language.
      if (path !== undefined && (path === '' || path.endsWith('/') || /\.html?$/i.test(path)))
        target.searchParams.set('lang', reader);
      a.href = target.href;
    }
  }
  for (const img of doc.querySelectorAll<HTMLImageElement>('img[src]'))
    img.src = new URL(img.getAttribute('src') ?? '', url).href;
  return linked;
}

function tableOfContents(doc: HTMLElement): HTMLElement | undefined {
  // h1 is the page's title; the contents list what is under it.
  const headings = assignIds(doc).filter((h) => h.level >= 2 && h.level <= 3);
  if (headings.length < 2) return undefined;
  const list = el('ol', {});
  for (const h of headings)
    list.append(el('li', { class: `toc-${h.level}` }, el('a', { href: `#${encodeURIComponent(h.id)}` }, h.text)));
  const toc = el(
    'details',
    { id: 'toc', class: 'toc' },
    el('summary', {}, t('docs.toc')),
    el('nav', { 'aria-label': t('docs.toc') }, list),
  );
  // Open beside the text on a wide screen; folded above it on a phone.
  (toc as HTMLDetailsElement).open = window.matchMedia('(min-width: 1000px)').matches;
  return toc;
}

/** Every document of the key the search can reach, read once per page (in parallel, a few at a time). */
let indexed: Promise<IndexedDoc[]> | undefined;

interface Shown {
  path: string;
  doc: HTMLElement;
  /** The key's documents it links to. */
  links: string[];
}

function buildIndex(index: KeyIndex | undefined, root: URL, first: Shown): Promise<IndexedDoc[]> {
  indexed ??= (async () => {
    const docs = new Map<string, IndexedDoc>();
    const queue = [
      first.path,
      ...first.links,
      ...(index?.docs ?? []).map((d) => d.path).filter((p) => /\.(md|html?)$/i.test(p)),
    ];
    const seen = new Set<string>();
    const titleOf = (doc: HTMLElement, path: string) => {
      const listed = index?.docs.find((d) => d.path === path);
      return (
        doc.querySelector('h1')?.textContent?.trim() ||
        listed?.translations?.[reader]?.title ||
        listed?.title ||
        path.split('/').pop() ||
        path
      );
    };
    const read = async (path: string): Promise<void> => {
      let doc: HTMLElement;
      if (path === first.path) doc = first.doc.cloneNode(true) as HTMLElement;
      else {
        // The search reads each page in the language it would show in.
        const loaded = await loadDoc(path, index, root);
        if (loaded instanceof Response) return;
        doc = await render(loaded.text, path);
        queue.push(...relink(doc, new URL(path, root), root));
        assignIds(doc);
      }
      docs.set(path, { path, title: titleOf(doc, path), sections: sectionsOf(doc) });
    };
    while (queue.length > 0 && seen.size < MAX_DOCS) {
      const batch: string[] = [];
      while (queue.length > 0 && batch.length < 4) {
        const p = queue.shift()!;
        if (!seen.has(p)) {
          seen.add(p);
          batch.push(p);
        }
      }
      // A document that cannot be read is left out of the search; the page it belongs to says so when opened.
      await Promise.all(batch.map((p) => read(p).catch(() => undefined)));
    }
    return [...docs.values()];
  })();
  return indexed;
}

function showHits(list: HTMLElement, status: HTMLElement, hits: Hit[], query: string): void {
  list.replaceChildren(
    ...hits.map((h) =>
      el(
        'li',
        { 'data-path': h.doc.path },
        el(
          'a',
          { href: viewerHref(h.doc.path, h.section.id === '' ? '' : `#${encodeURIComponent(h.section.id)}`) },
          h.doc.title,
          h.section.heading !== '' && h.section.heading !== h.doc.title ? ` › ${h.section.heading}` : '',
        ),
        el(
          'p',
          { class: 'muted' },
          h.snippet.before,
          h.snippet.match ? el('mark', {}, h.snippet.match) : '',
          h.snippet.after,
        ),
      ),
    ),
  );
  status.textContent =
    hits.length === 0 ? t('docs.noResults', { query }) : t('docs.results', { count: hits.length, query });
}

function setupSearch(index: KeyIndex | undefined, root: URL, first: Shown): void {
  const form = byId<HTMLFormElement>('search');
  const input = byId<HTMLInputElement>('search-q');
  const list = byId('search-results');
  const status = byId('search-status');
  form.hidden = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let token = 0;
  const run = async () => {
    const query = input.value.trim();
    const mine = ++token;
    if (query === '') {
      list.replaceChildren();
      status.textContent = '';
      return;
    }
    status.textContent = t('docs.searching');
    const docs = await buildIndex(index, root, first);
    if (mine !== token) return;
    showHits(list, status, search(docs, query), query);
    form.dataset.searched = String(docs.length);
  };
  input.addEventListener('input', () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => void run(), 150);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (timer !== undefined) clearTimeout(timer);
    void run();
  });
  // Reading the docs starts when the reader reaches for the search, not on every page view.
  input.addEventListener('focus', () => void buildIndex(index, root, first), { once: true });
}

async function main(): Promise<void> {
  const keyIndex = readKeyIndex(window.OPENKEY_INDEX);
  reader = setupPage(keyIndex?.locale);
  const status = byId('status');
  const path = safeDocPath(new URLSearchParams(location.search).get('path'));
  if (path === undefined) {
    setStatus(status, t('docs.noDocument'), 'error');
    return;
  }
  const root = siteRoot();
  const loaded = await loadDoc(path, keyIndex, root);
  if (loaded instanceof Response) {
    setStatus(status, t('docs.cannotRead', { path, status: `${loaded.status} ${loaded.statusText}` }), 'error');
    return;
  }
  const rendered = await render(loaded.text, path);
  const links = relink(rendered, new URL(path, root), root);
  const toc = tableOfContents(rendered);
  const doc = byId('doc');
  doc.replaceChildren(...rendered.childNodes);
  // The text's own language (hyphenation, the reader's voice), which is English where a translation is missing.
  doc.lang = loaded.lang;
  // Above the text and its contents, not in it: the search indexes the text alone.
  if (loaded.fellBack)
    (doc.parentElement ?? doc).before(
      el('p', { id: 'untranslated', class: 'notice', role: 'note', lang: reader }, t('docs.untranslated')),
    );
  if (toc !== undefined) doc.before(toc);
  const title = doc.querySelector('h1')?.textContent;
  if (title) document.title = `Open Key · ${title}`;
  status.textContent = '';
  setupSearch(keyIndex, root, { path, doc, links });
  byId('print').hidden = false;
  byId('print').addEventListener('click', () => window.print());
  // The heading the URL names, now that it exists.
  if (location.hash.length > 1) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
  document.body.dataset.ready = '1';
}

main().catch((error: unknown) =>
  setStatus(byId('status'), t('docs.failed', { message: describeError(error) }), 'error'),
);
