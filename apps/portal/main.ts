/**
 * The portal: what is on this key. Works in two modes:
 * - from file:// (a key plugged into any PC): a static listing from key-index.js, no requests;
 * - served by the analysis service: the same listing with live numbers from /api.
 */
import { Api, type DatasetSummary, type Health } from '../shared/api.ts';
import { byId, el, setStatus, siteRoot } from '../shared/dom.ts';
import { formatBytes } from '../shared/format.ts';
import { formatNumber as formatCount, setupPage, t } from '../shared/i18n.ts';
import { readKeyIndex, type KeyIndex, type KeyIndexDataset, type KeyIndexLink } from '../shared/key-index.ts';
import { drawQr } from './qr.ts';

interface DatasetRow extends KeyIndexDataset {
  live: boolean;
}

function mergeDatasets(index: KeyIndex | undefined, live: DatasetSummary[] | undefined): DatasetRow[] {
  const rows = new Map<string, DatasetRow>();
  for (const d of index?.datasets ?? []) rows.set(d.id, { ...d, live: false });
  for (const d of live ?? []) {
    const row: DatasetRow = rows.get(d.id) ?? { id: d.id, title: d.title, live: true };
    row.title = row.title === row.id ? d.title : row.title;
    row.events = d.entries;
    row.files = d.files.length;
    row.size = d.files.reduce((sum, f) => sum + f.size, 0);
    if (row.licence === undefined && d.licence !== undefined) row.licence = d.licence;
    if (row.description === undefined && d.description !== undefined) row.description = d.description;
    row.live = true;
    rows.set(d.id, row);
  }
  return [...rows.values()];
}

function renderDatasets(rows: DatasetRow[], served: boolean): void {
  const body = byId('datasets');
  body.replaceChildren(
    ...rows.map((d) =>
      el(
        'tr',
        { 'data-dataset': d.id },
        el(
          'td',
          {},
          // The analyser opens the dataset's own preset and runs it.
          served ? el('a', { href: `analyser/#dataset=${encodeURIComponent(d.id)}&run=1` }, d.title) : d.title,
          ' ',
          el('span', { class: 'badge mono' }, d.id),
          // The service zips the dataset for students to take home (routes/archives.ts).
          served
            ? el('a', { href: `api/datasets/${encodeURIComponent(d.id)}/zip`, download: `${d.id}.zip` }, ' ⤓ zip')
            : null,
          d.description === undefined ? null : el('div', { class: 'muted' }, d.description),
        ),
        el('td', { class: 'num' }, d.files === undefined ? '–' : formatCount(d.files)),
        el('td', { class: 'num', 'data-events': d.events ?? '' }, d.events === undefined ? '–' : formatCount(d.events)),
        el('td', { class: 'num' }, d.size === undefined ? '–' : formatBytes(d.size)),
        el('td', {}, d.licence ?? '–'),
      ),
    ),
  );
  if (rows.length === 0) body.append(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, t('portal.noDatasets'))));
}

function docHref(doc: KeyIndexLink, served: boolean): string {
  // Markdown is rendered by the docs viewer, which fetches it; from file:// the browser shows the raw text instead.
  return served && doc.path.endsWith('.md') ? `docs/?path=${encodeURIComponent(doc.path)}` : doc.path;
}

/**
 * On a booted key with Jupyter a notebook opens in it (jupyter-prepare copied it into the student's ~/notebooks,
 * where edits persist); from a plugged-in key, or without Jupyter, the link is the .ipynb file itself.
 */
function notebookHref(link: KeyIndexLink, index: KeyIndex | undefined): string {
  const served = location.protocol === 'http:' || location.protocol === 'https:';
  if (!served || index?.jupyter === undefined) return link.path;
  const file = link.path.split('/').pop() ?? '';
  return `${location.protocol}//${location.hostname}:${index.jupyter.port}/notebooks/${encodeURIComponent(file)}`;
}

function renderLinks(
  listId: string,
  sectionId: string,
  links: KeyIndexLink[],
  href: (l: KeyIndexLink) => string,
): void {
  byId(sectionId).hidden = links.length === 0;
  byId(listId).replaceChildren(...links.map((l) => el('li', {}, el('a', { href: href(l) }, l.title))));
}

function classroomUrl(index: KeyIndex | undefined): { url: string; note: string } {
  if (location.protocol === 'http:' || location.protocol === 'https:') {
    const local = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);
    const url = new URL('./', location.href).href;
    return {
      url,
      note: local ? t('portal.noteLocal') : t('portal.noteNetwork'),
    };
  }
  const port = index?.service?.port ?? 8080;
  return {
    url: `http://KEY-ADDRESS:${port}/`,
    note: index?.service?.lan === true ? t('portal.noteLan') : t('portal.noteNoLan'),
  };
}

function setupClassroom(index: KeyIndex | undefined): void {
  const input = byId<HTMLInputElement>('classroom-url');
  const canvas = byId<HTMLCanvasElement>('qr');
  const { url, note } = classroomUrl(index);
  input.value = url;
  byId('classroom-note').textContent = note;
  const redraw = () => {
    drawQr(canvas, input.value.trim());
    canvas.setAttribute('aria-label', t('portal.qrOf', { url: input.value.trim() }));
  };
  input.addEventListener('input', redraw);
  redraw();
}

async function fetchLive(api: Api): Promise<{ health: Health; datasets: DatasetSummary[] } | undefined> {
  try {
    const health = await api.health();
    const datasets = await api.datasets();
    return { health, datasets };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const index = readKeyIndex(window.OPENKEY_INDEX);
  setupPage(index?.locale);
  if (index !== undefined) {
    document.title = index.name;
    byId('key-name').textContent = index.name;
    byId('key-version').textContent = [index.version, index.variant].filter(Boolean).join(' · ');
  }
  renderLinks('docs', 'docs-section', index?.docs ?? [], (l) => docHref(l, false));
  renderLinks('notebooks', 'notebooks-section', index?.notebooks ?? [], (l) => notebookHref(l, index));
  const ova = index?.vm?.ova;
  byId('vm-section').hidden = ova === undefined;
  if (ova !== undefined) byId<HTMLAnchorElement>('vm-link').href = ova;
  setupClassroom(index);
  renderDatasets(mergeDatasets(index, undefined), false);

  const status = byId('service-status');
  const served = location.protocol === 'http:' || location.protocol === 'https:';
  // From file:// a fetch would only fail (and log an error): list what key-index.js says and stop there.
  const live = served ? await fetchLive(new Api(siteRoot())) : undefined;
  if (live === undefined) {
    setStatus(status, served ? t('portal.noService') : t('portal.fromFiles'));
    byId('apps-offline').hidden = false;
    byId('datasets-source').textContent = index === undefined ? '' : t('portal.fromIndex');
    document.body.dataset.mode = 'static';
    return;
  }
  setStatus(
    status,
    t(live.health.workers === 1 ? 'portal.running1' : 'portal.running', {
      version: live.health.version,
      n: live.health.workers,
    }),
  );
  status.classList.add('ok');
  renderDatasets(mergeDatasets(index, live.datasets), true);
  renderLinks('docs', 'docs-section', index?.docs ?? [], (l) => docHref(l, true));
  byId('datasets-source').textContent = t('portal.live');
  document.body.dataset.mode = 'live';
}

main().catch((error: unknown) => {
  const status = document.getElementById('service-status');
  if (status !== null) setStatus(status, t('portal.failed', { message: String(error) }), 'error');
  document.body.dataset.mode = 'error';
});
