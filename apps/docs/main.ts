/** Renders one Markdown document of the key (docs/?path=relative/path.md), offline, with marked. */
import { marked } from 'marked';
import { byId, setStatus, siteRoot } from '../shared/dom.ts';
import { describeError } from '../shared/errors.ts';
import { setupPage, t } from '../shared/i18n.ts';
import { readKeyIndex } from '../shared/key-index.ts';

/** Only paths inside the key's tree: no scheme, no host, no climbing out. */
export function safeDocPath(path: string | null): string | undefined {
  if (path === null || path === '' || path.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(path)) return undefined;
  if (path.split('/').some((part) => part === '..')) return undefined;
  return path;
}

async function main(): Promise<void> {
  setupPage(readKeyIndex(window.OPENKEY_INDEX)?.locale);
  const status = byId('status');
  const path = safeDocPath(new URLSearchParams(location.search).get('path'));
  if (path === undefined) {
    setStatus(status, t('docs.noDocument'), 'error');
    return;
  }
  const url = new URL(path, siteRoot());
  const response = await fetch(url);
  if (!response.ok) {
    setStatus(status, t('docs.cannotRead', { path, status: `${response.status} ${response.statusText}` }), 'error');
    return;
  }
  const html = await marked.parse(await response.text(), { async: true, gfm: true });
  // Documents come from the key itself (written by its build), so their HTML is trusted like the apps' own.
  const doc = byId('doc');
  doc.innerHTML = html;
  // Relative links and images in the document are relative to the document, not to this viewer.
  for (const a of doc.querySelectorAll<HTMLAnchorElement>('a[href]')) {
    const href = a.getAttribute('href') ?? '';
    if (!href.startsWith('#')) a.href = new URL(href, url).href;
  }
  for (const img of doc.querySelectorAll<HTMLImageElement>('img[src]'))
    img.src = new URL(img.getAttribute('src') ?? '', url).href;
  const title = doc.querySelector('h1')?.textContent;
  if (title) document.title = `Open Key · ${title}`;
  status.textContent = '';
}

main().catch((error: unknown) =>
  setStatus(byId('status'), t('docs.failed', { message: describeError(error) }), 'error'),
);
