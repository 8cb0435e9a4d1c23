/**
 * The portal: what is on this key. Works in two modes:
 * - from file:// (a key plugged into any PC): a static listing from key-index.js, no requests;
 * - served by the analysis service: the same listing with live numbers from /api.
 */
import { Api, type DatasetSummary, type Health, type JupyterState } from '../shared/api.ts';
import { byId, el, setStatus, siteRoot } from '../shared/dom.ts';
import { formatBytes } from '../shared/format.ts';
import { formatNumber as formatCount, language, setupPage, t } from '../shared/i18n.ts';
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
  // Markdown is rendered by the docs viewer, which fetches it (in the reader's language); from file:// the browser
  // shows the raw text instead, so the link is the translation's file itself.
  if (!served || !doc.path.endsWith('.md')) return doc.translations?.[language()]?.path ?? doc.path;
  // The viewer finds the language as this page did, except from this page's own ?lang=, which goes along.
  const lang = new URLSearchParams(location.search).get('lang');
  return `docs/?path=${encodeURIComponent(doc.path)}${lang === null ? '' : `&lang=${encodeURIComponent(lang)}`}`;
}

/** A doc as the portal lists it: its title in the reader's language when the key has that translation. */
function inLanguage(doc: KeyIndexLink): KeyIndexLink {
  return { ...doc, title: doc.translations?.[language()]?.title ?? doc.title };
}

/**
 * A notebook opens in the key's Jupyter when it runs (jupyter-prepare, or the hub at a student's first login, copied
 * it into the student's notebooks folder, where edits persist); from a plugged-in key, without Jupyter, or while the
 * server does not answer, the link is the .ipynb file itself: never a link to a dead server.
 */
function notebookHref(link: KeyIndexLink, jupyter: JupyterState | undefined, hostname: string): string {
  if (jupyter?.state !== 'running' || jupyter.port === undefined) return link.path;
  const file = encodeURIComponent(link.path.split('/').pop() ?? '');
  const base = `http://${hostname}:${jupyter.port}`;
  // The hub sends a logged-in student to their own server (/user/NAME/...), and the login page first otherwise.
  if (jupyter.mode === 'hub') return `${base}/hub/user-redirect/notebooks/notebooks/${file}`;
  return `${base}/notebooks/${file}${jupyter.token === undefined ? '' : `?token=${encodeURIComponent(jupyter.token)}`}`;
}

/** The notebook server's address and this boot's token or class password, or why the links are plain files. */
function renderJupyter(jupyter: JupyterState, hostname: string): void {
  const box = byId('jupyter-status');
  box.hidden = false;
  const base = jupyter.port === undefined ? '' : `http://${hostname}:${jupyter.port}/`;
  const link = (url: string) => el('a', { href: url, id: 'jupyter-link' }, url);
  const line = (key: Parameters<typeof t>[0], params: Record<string, string>, node?: Node) => {
    const text = t(key, params);
    if (node === undefined) return el('p', {}, text);
    const [before, after] = text.split('\u0000');
    return el('p', {}, before ?? '', node, after ?? '');
  };
  if (jupyter.state === 'running' && jupyter.mode === 'hub') {
    box.replaceChildren(
      line('portal.hubOpen', { url: '\u0000' }, link(`${base}hub/login`)),
      ...(jupyter.classPassword === undefined
        ? []
        : [
            line(
              'portal.hubLogin',
              { password: '\u0000' },
              el('code', { id: 'class-password' }, jupyter.classPassword),
            ),
          ]),
    );
  } else if (jupyter.state === 'running') {
    const url = `${base}tree${jupyter.token === undefined ? '' : `?token=${encodeURIComponent(jupyter.token)}`}`;
    box.replaceChildren(
      line('portal.jupyterSingle', { url: '\u0000' }, link(url)),
      ...(jupyter.token === undefined
        ? []
        : [line('portal.jupyterToken', { token: '\u0000' }, el('code', { id: 'jupyter-token' }, jupyter.token))]),
    );
  } else if (jupyter.state === 'starting' || jupyter.state === 'none') {
    box.replaceChildren(el('p', { class: 'muted' }, t('portal.jupyterStarting')));
  } else {
    box.replaceChildren(el('p', { class: 'error' }, t('portal.jupyterDown', { state: jupyter.state })));
  }
  box.dataset.state = jupyter.state;
}

/** Asks the service for the notebook server's state until it runs or failed, and relinks the notebooks each time. */
async function watchJupyter(api: Api, index: KeyIndex): Promise<void> {
  const hostname = location.hostname;
  for (let attempt = 0; attempt < 120; attempt += 1) {
    const jupyter = await api.jupyter().catch((): JupyterState => ({ state: 'none' }));
    renderJupyter(jupyter, hostname);
    renderLinks('notebooks', 'notebooks-section', index.notebooks, (l) => notebookHref(l, jupyter, hostname));
    if (jupyter.state === 'running' || jupyter.state === 'failed' || jupyter.state === 'stopped') return;
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
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
  renderLinks('docs', 'docs-section', (index?.docs ?? []).map(inLanguage), (l) => docHref(l, false));
  renderLinks('notebooks', 'notebooks-section', index?.notebooks ?? [], (l) => l.path);
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
  renderLinks('docs', 'docs-section', (index?.docs ?? []).map(inLanguage), (l) => docHref(l, true));
  byId('datasets-source').textContent = t('portal.live');
  document.body.dataset.mode = 'live';
  if (index?.jupyter !== undefined) await watchJupyter(new Api(siteRoot()), index);
}

main().catch((error: unknown) => {
  const status = document.getElementById('service-status');
  if (status !== null) setStatus(status, t('portal.failed', { message: String(error) }), 'error');
  document.body.dataset.mode = 'error';
});
