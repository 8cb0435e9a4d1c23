/**
 * The ROOT browser: JSROOT reads files on the key remotely through /data/:dataset/:file (HTTP Range requests, so only
 * the bytes it needs cross the wire), shows their content in its hierarchy browser, and draws a chosen branch.
 * Branches are also listed as buttons so that keyboard users can draw them.
 */
import '../shared/jsroot-settings.ts';
import { draw, cleanup } from 'jsroot/draw';
import { HierarchyPainter } from 'jsroot/hierarchy';
import { openFile, type RootFile } from 'jsroot/io';
import { treeDraw } from 'jsroot/tree';
import { Api, type DatasetSummary } from '../shared/api.ts';
import { byId, el, setStatus, siteRoot } from '../shared/dom.ts';
import { describeError } from '../shared/errors.ts';
import { formatBytes } from '../shared/format.ts';
import { formatNumber as formatCount, setupPage, t } from '../shared/i18n.ts';
import { readKeyIndex } from '../shared/key-index.ts';

setupPage(readKeyIndex(window.OPENKEY_INDEX)?.locale);

const api = new Api(siteRoot());
const statusLine = byId('status');
const drawArea = byId('draw');
let painter: HierarchyPainter | undefined;
let file: RootFile | undefined;
let tree: Record<string, unknown> | undefined;
let openToken = 0;

interface BranchInfo {
  name: string;
  title: string;
}

function branchesOf(t: Record<string, unknown>): BranchInfo[] {
  const out: BranchInfo[] = [];
  const walk = (list: unknown, prefix: string) => {
    const arr = (list as { arr?: Record<string, unknown>[] } | undefined)?.arr ?? [];
    for (const b of arr) {
      const name = `${prefix}${String(b.fName)}`;
      const sub = (b.fBranches as { arr?: unknown[] } | undefined)?.arr ?? [];
      if (sub.length > 0) walk(b.fBranches, `${name}.`);
      else out.push({ name, title: String(b.fTitle ?? '') });
    }
  };
  walk(t.fBranches, '');
  return out;
}

function renderBranches(): void {
  const filter = byId<HTMLInputElement>('branch-filter').value.trim().toLowerCase();
  const box = byId('branches');
  if (tree === undefined) {
    box.replaceChildren();
    return;
  }
  const list = branchesOf(tree).filter((b) => b.name.toLowerCase().includes(filter));
  box.replaceChildren(
    ...list.map((b) => {
      const button = el(
        'button',
        { type: 'button', 'aria-pressed': 'false', title: b.title, 'data-branch': b.name },
        b.name,
      );
      button.addEventListener('click', () => void drawBranch(b.name, button));
      return button;
    }),
  );
}

async function drawBranch(name: string, button?: HTMLButtonElement): Promise<void> {
  if (tree === undefined) return;
  for (const b of byId('branches').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === button));
  setStatus(statusLine, t('browser.drawing', { name }));
  try {
    const hist = await treeDraw(tree, name);
    cleanup(drawArea);
    await draw(drawArea, hist, 'hist');
    drawArea.setAttribute('aria-label', t('browser.drawLabel', { name }));
    const filled = Array.from(hist.fArray as ArrayLike<number>).reduce((a, b) => a + b, 0);
    setStatus(statusLine, t('browser.drawn', { name, n: formatCount(filled) }));
    document.body.dataset.drawn = name;
  } catch (error) {
    setStatus(statusLine, t('browser.cannotDraw', { name, message: describeError(error) }), 'error');
  }
}

async function selectTree(name: string): Promise<void> {
  if (file === undefined) return;
  tree = undefined;
  renderBranches();
  try {
    tree = await file.readObject(name);
  } catch (error) {
    setStatus(statusLine, t('browser.cannotReadTree', { name, message: describeError(error) }), 'error');
    return;
  }
  renderBranches();
  byId('file-info').textContent +=
    ` · ${t('browser.treeEntries', { name, n: formatCount(Number(tree.fEntries ?? 0)) })}`;
}

async function open(source: string | File, title: string, info: string, button?: HTMLButtonElement): Promise<void> {
  const token = ++openToken;
  delete document.body.dataset.opened;
  delete document.body.dataset.drawn;
  for (const b of byId('datasets').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === button));
  setStatus(statusLine, t('browser.opening', { title }));
  byId('file-title').textContent = title;
  byId('file-info').textContent = info;
  cleanup(drawArea);
  drawArea.replaceChildren();
  tree = undefined;
  renderBranches();
  try {
    const opened = await openFile(source);
    if (token !== openToken) return;
    file = opened;
    // JSROOT's own browser: expand the file, its directories and trees with the mouse; draws go to the same area.
    painter?.cleanup();
    const hierarchy = byId('hierarchy');
    hierarchy.replaceChildren();
    painter = new HierarchyPainter('openkey', hierarchy);
    painter.setDisplay('simple', drawArea);
    await painter.openRootFile(source);
    const trees = opened.fKeys.filter((k) => k.fClassName === 'TTree' || k.fClassName === 'TNtuple');
    const select = byId<HTMLSelectElement>('tree');
    select.replaceChildren(...trees.map((k) => el('option', { value: k.fName }, `${k.fName} (${k.fClassName})`)));
    select.disabled = trees.length === 0;
    setStatus(statusLine, t('browser.opened', { title, n: opened.fKeys.length }));
    if (trees[0] !== undefined) await selectTree(trees[0].fName);
    document.body.dataset.opened = title;
  } catch (error) {
    setStatus(statusLine, t('browser.cannotOpen', { title, message: describeError(error) }), 'error');
  }
}

function renderDatasets(datasets: DatasetSummary[]): void {
  byId('datasets').replaceChildren(
    ...datasets.map((d) =>
      el(
        'section',
        { 'aria-label': d.title },
        el('h3', {}, d.title),
        el(
          'ul',
          { class: 'filelist' },
          ...d.files.map((f) => {
            const button = el(
              'button',
              { type: 'button', 'aria-pressed': 'false', 'data-file': `${d.id}/${f.name}` },
              f.name,
              el('span', { class: 'muted' }, ` ${formatBytes(f.size)}`),
            );
            button.addEventListener(
              'click',
              () =>
                void open(
                  api.dataUrl(d.id, f.name),
                  f.name,
                  `${d.title} · ${formatBytes(f.size)} · ${t('browser.byRange')}`,
                  button,
                ),
            );
            return el('li', {}, button);
          }),
        ),
      ),
    ),
  );
}

async function main(): Promise<void> {
  byId<HTMLSelectElement>('tree').addEventListener(
    'change',
    (e) => void selectTree((e.target as HTMLSelectElement).value),
  );
  byId('branch-filter').addEventListener('input', renderBranches);
  byId<HTMLInputElement>('local-file').addEventListener('change', (e) => {
    const picked = (e.target as HTMLInputElement).files?.[0];
    if (picked !== undefined)
      void open(picked, picked.name, `${t('browser.fromComputer')} · ${formatBytes(picked.size)}`);
  });
  setStatus(statusLine, t('analyser.connecting'));
  const datasets = await api.datasets();
  renderDatasets(datasets);
  setStatus(statusLine, t('browser.chooseFile'));
  document.body.dataset.ready = '1';
  const wanted = new URLSearchParams(location.hash.slice(1)).get('file');
  if (wanted !== null) document.querySelector<HTMLButtonElement>(`button[data-file="${CSS.escape(wanted)}"]`)?.click();
}

main().catch((error: unknown) => {
  setStatus(statusLine, t('analyser.noService', { message: describeError(error) }), 'error');
  document.body.dataset.ready = '1';
});
