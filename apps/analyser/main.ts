/**
 * The histogram analyser: dataset → preset or variable → cuts → run on the service → stacked plot, S/√B, exports.
 * Everything the user chose lives in `state`, mirrored in the URL fragment so the analysis can be shared.
 */
import {
  Api,
  type Analysis,
  type AnalysisResult,
  type DatasetDetail,
  type DatasetSummary,
  type Preset,
} from '../shared/api.ts';
import { byId, el, setStatus, siteRoot } from '../shared/dom.ts';
import { formatCount, formatValue } from '../shared/format.ts';
import { type Sample, fromTH1, groupSamples, rebinFactors, significance, toCsv, total } from './model.ts';
import { buildCanvas, clearPlot, cssColor, drawCanvas, exportImage } from './plot.ts';
import { type AnalyserState, type Cut, cutOps, decodeState, encodeState, histogramName, toRequest } from './state.ts';

const api = new Api(siteRoot());
const state: AnalyserState = decodeState(location.hash);

let datasets: DatasetSummary[] = [];
let detail: DatasetDetail | undefined;
let presets: Preset[] = [];
let result: AnalysisResult | undefined;
let samples: Sample[] = [];
let running: { id: string; stop: () => void } | undefined;
let runToken = 0;
let rerunTimer: ReturnType<typeof setTimeout> | undefined;

const statusLine = byId('status');
const input = <T extends HTMLElement = HTMLInputElement>(id: string) => byId<T>(id);

function saveHash(): void {
  history.replaceState(null, '', `#${encodeState({ ...state, run: false })}`);
}

// ---- dataset and preset -------------------------------------------------------------------------------------

function presetsFor(d: DatasetSummary | undefined): Preset[] {
  const trees = new Set(d?.files.map((f) => f.tree) ?? []);
  return presets.filter((p) => {
    // The service says which datasets a preset fits; otherwise its dataset or tree decides.
    if (p.datasets !== undefined) return d !== undefined && p.datasets.includes(d.id);
    if (p.request.dataset !== undefined) return p.request.dataset === d?.id;
    return p.request.tree === undefined || trees.has(p.request.tree);
  });
}

function fillPresets(): void {
  const select = input<HTMLSelectElement>('preset');
  const list = presetsFor(datasets.find((d) => d.id === state.dataset));
  select.replaceChildren(
    el('option', { value: '' }, list.length === 0 ? '— none for this dataset —' : '— choose a preset —'),
    ...list.map((p) => el('option', { value: p.id, selected: p.id === state.preset }, p.title)),
  );
  const current = list.find((p) => p.id === state.preset);
  byId('preset-help').textContent = current?.description ?? '';
}

function applyPreset(preset: Preset): void {
  const h = preset.request.histograms[0];
  state.preset = preset.id;
  state.tree = preset.request.tree ?? '';
  state.selection = preset.request.selection ?? '';
  state.weight = preset.request.weight ?? '';
  state.cuts = [];
  state.window = undefined;
  state.signal = [];
  state.rebin = 1;
  if (h !== undefined) {
    state.expr = h.expr;
    state.bins = h.bins;
    state.min = h.min;
    state.max = h.max;
  }
}

async function selectDataset(id: string): Promise<void> {
  state.dataset = id;
  detail = undefined;
  input<HTMLSelectElement>('dataset').value = id;
  fillPresets();
  try {
    detail = await api.dataset(id);
  } catch (error) {
    setStatus(statusLine, `Cannot read dataset ${id}: ${(error as Error).message}`, 'error');
    return;
  }
  byId('branches').replaceChildren(
    ...detail.branches.map((b) => el('option', { value: b.name }, `${b.type}${b.isArray ? '[]' : ''}`)),
  );
  if (state.tree === '' && detail.files[0] !== undefined) state.tree = detail.files[0].tree;
}

// ---- form <-> state -------------------------------------------------------------------------------------------

function writeForm(): void {
  input('expr').value = state.expr;
  input('bins').value = String(state.bins);
  input('min').value = String(state.min);
  input('max').value = String(state.max);
  input<HTMLTextAreaElement>('selection').value = state.selection;
  input('weight').value = state.weight;
  input('log').checked = state.log;
  input('win-lo').value = state.window ? String(state.window[0]) : '';
  input('win-hi').value = state.window ? String(state.window[1]) : '';
  renderCuts();
  renderRebin();
}

function readForm(): void {
  state.expr = input('expr').value.trim();
  state.bins = Math.max(1, Math.round(Number(input('bins').value) || 1));
  state.min = Number(input('min').value) || 0;
  state.max = Number(input('max').value) || 0;
  state.selection = input<HTMLTextAreaElement>('selection').value.trim();
  state.weight = input('weight').value.trim();
}

function renderRebin(): void {
  const select = input<HTMLSelectElement>('rebin');
  const factors = rebinFactors(state.bins);
  if (!factors.includes(state.rebin)) state.rebin = 1;
  select.replaceChildren(
    ...factors.map((f) => el('option', { value: f, selected: f === state.rebin }, f === 1 ? 'none' : `×${f}`)),
  );
}

function renderCuts(): void {
  const box = byId('cuts');
  box.replaceChildren(...state.cuts.map((cut, i) => (cut.kind === 'slider' ? sliderCut(cut, i) : exprCut(cut, i))));
  if (state.cuts.length === 0) box.append(el('p', { class: 'muted', style: 'margin:0' }, 'No cuts added.'));
}

function removeButton(i: number): HTMLButtonElement {
  const button = el('button', { type: 'button', 'aria-label': `Remove cut ${i + 1}`, title: 'Remove this cut' }, '✕');
  button.addEventListener('click', () => {
    state.cuts.splice(i, 1);
    renderCuts();
    changed(true);
    (
      document.getElementById(
        state.cuts.length > 0 ? `cut-${Math.max(0, i - 1)}-expr` : 'add-slider',
      ) as HTMLElement | null
    )?.focus();
  });
  return button;
}

function sliderCut(cut: Extract<Cut, { kind: 'slider' }>, i: number): HTMLElement {
  const expr = el('input', {
    id: `cut-${i}-expr`,
    type: 'text',
    list: 'branches',
    value: cut.expr,
    spellcheck: 'false',
    'aria-label': `Cut ${i + 1} variable`,
    style: 'flex:1;min-width:0',
  });
  const op = el(
    'select',
    { 'aria-label': `Cut ${i + 1} comparison` },
    ...cutOps.map((o) => el('option', { value: o, selected: o === cut.op }, o)),
  );
  const step = cut.max > cut.min ? (cut.max - cut.min) / 100 : 1;
  const range = el('input', {
    type: 'range',
    min: cut.min,
    max: cut.max,
    step: 'any',
    value: cut.value,
    'aria-label': `Cut ${i + 1} threshold`,
  });
  range.step = String(step);
  const value = el('input', { type: 'number', step: 'any', value: cut.value, 'aria-label': `Cut ${i + 1} value` });
  const lo = el('input', { type: 'number', step: 'any', value: cut.min, 'aria-label': `Cut ${i + 1} slider minimum` });
  const hi = el('input', { type: 'number', step: 'any', value: cut.max, 'aria-label': `Cut ${i + 1} slider maximum` });
  expr.addEventListener('change', () => {
    cut.expr = expr.value.trim();
    changed(true);
  });
  op.addEventListener('change', () => {
    cut.op = op.value as Cut extends { op: infer O } ? O : never;
    changed(true);
  });
  range.addEventListener('input', () => {
    cut.value = Number(range.value);
    value.value = range.value;
  });
  // Re-run when the slider is released (or a key press settles), not on every pixel of a drag.
  range.addEventListener('change', () => changed(true));
  value.addEventListener('change', () => {
    cut.value = Number(value.value) || 0;
    range.value = String(cut.value);
    changed(true);
  });
  const bounds = () => {
    cut.min = Number(lo.value) || 0;
    cut.max = Number(hi.value) || 0;
    renderCuts();
    saveHash();
  };
  lo.addEventListener('change', bounds);
  hi.addEventListener('change', bounds);
  return el(
    'div',
    { class: 'cut', 'data-cut': i },
    el('div', { class: 'row' }, expr, removeButton(i)),
    el('div', { class: 'row' }, op, value),
    range,
    el('div', { class: 'row muted' }, 'slider from', lo, 'to', hi),
  );
}

function exprCut(cut: Extract<Cut, { kind: 'expr' }>, i: number): HTMLElement {
  const text = el('input', {
    id: `cut-${i}-expr`,
    type: 'text',
    list: 'branches',
    value: cut.text,
    spellcheck: 'false',
    placeholder: 'e.g. abs(lep_eta[0]) < 2.5',
    'aria-label': `Cut ${i + 1} expression`,
    style: 'flex:1;min-width:0',
  });
  text.addEventListener('change', () => {
    cut.text = text.value;
    changed(true);
  });
  return el('div', { class: 'cut', 'data-cut': i }, el('div', { class: 'row' }, text, removeButton(i)));
}

// ---- running ----------------------------------------------------------------------------------------------------

function setProgress(done: number, totalEntries: number): void {
  const bar = input<HTMLProgressElement>('progress');
  bar.max = Math.max(1, totalEntries);
  bar.value = Math.min(done, bar.max);
  byId('progress-text').textContent =
    totalEntries > 0 ? `${formatCount(done)} / ${formatCount(totalEntries)} events` : '';
}

function isTerminal(a: Pick<Analysis, 'state'>): boolean {
  return a.state === 'done' || a.state === 'failed' || a.state === 'cancelled';
}

/**
 * Follows an analysis to its end: Server-Sent Events for progress, with a slow poll beside them so a dropped
 * stream (or a browser without EventSource) still finishes. Resolves with the final GET /api/analyses/:id.
 */
function follow(
  id: string,
  onProgress: (done: number, total: number) => void,
): { done: Promise<Analysis>; stop: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  let resolveDone: (a: Analysis) => void = () => {};
  let rejectDone: (e: unknown) => void = () => {};
  const done = new Promise<Analysis>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  const stop = () => {
    finished = true;
    source?.close();
    if (timer !== undefined) clearTimeout(timer);
  };
  const finish = async () => {
    if (finished) return;
    stop();
    try {
      resolveDone(await api.analysis(id));
    } catch (error) {
      rejectDone(error);
    }
  };
  // Only the events the service sends (the contract's ANALYSIS_EVENTS); the poll below takes over if the stream
  // closes.
  const source = api.follow(id, {
    progress: (p) => onProgress(p.progress.entriesDone, p.progress.entriesTotal),
    result: () => void finish(),
  });
  const poll = async () => {
    if (finished) return;
    try {
      const a = await api.analysis(id);
      onProgress(a.progress.entriesDone, a.progress.entriesTotal);
      if (isTerminal(a)) {
        stop();
        resolveDone(a);
        return;
      }
    } catch (error) {
      stop();
      rejectDone(error);
      return;
    }
    timer = setTimeout(
      () => void poll(),
      source !== undefined && source.readyState !== EventSource.CLOSED ? 1000 : 250,
    );
  };
  timer = setTimeout(() => void poll(), 250);
  return { done, stop };
}

async function cancelRunning(): Promise<void> {
  if (running === undefined) return;
  const { id, stop } = running;
  running = undefined;
  stop();
  await api.cancel(id).catch(() => undefined);
}

function setRunning(on: boolean): void {
  input<HTMLButtonElement>('cancel').disabled = !on;
  document.body.dataset.running = on ? '1' : '0';
}

async function run(): Promise<void> {
  readForm();
  saveHash();
  if (state.dataset === '' || state.expr === '') {
    setStatus(statusLine, 'Choose a dataset and a variable (or a preset) first.', 'error');
    return;
  }
  if (!(state.max > state.min)) {
    setStatus(statusLine, `The histogram's max (${state.max}) must be above its min (${state.min}).`, 'error');
    return;
  }
  await cancelRunning();
  const token = ++runToken;
  setRunning(true);
  setProgress(0, 0);
  setStatus(statusLine, 'Submitting the analysis…');
  try {
    const request = toRequest(state);
    const { id } = await api.submit(request);
    if (token !== runToken) return;
    setStatus(statusLine, 'Running…');
    const follower = follow(id, (done, totalEntries) => {
      if (token === runToken) setProgress(done, totalEntries);
    });
    running = { id, stop: follower.stop };
    const analysis = await follower.done;
    if (token !== runToken) return;
    running = undefined;
    if (analysis.state === 'done' && analysis.result !== undefined) {
      setProgress(analysis.progress.entriesTotal, analysis.progress.entriesTotal);
      result = analysis.result;
      await render();
      // Which request the drawing shows, for tests and for anyone scripting the page.
      document.body.dataset.drawnSelection = request.selection ?? '';
      setStatus(statusLine, `Done: ${formatCount(result.selected)} events selected in ${result.seconds.toFixed(2)} s.`);
    } else if (analysis.state === 'cancelled') {
      setStatus(statusLine, 'Cancelled.');
    } else {
      const e = analysis.error;
      setStatus(
        statusLine,
        `The analysis failed: ${typeof e === 'string' ? e : (e?.message ?? 'no reason given')}`,
        'error',
      );
    }
  } catch (error) {
    if (token === runToken) setStatus(statusLine, `The analysis failed: ${(error as Error).message}`, 'error');
  } finally {
    if (token === runToken) setRunning(false);
  }
}

/** Something changed: the URL follows; a change to the request re-runs it once a result is on screen. */
function changed(affectsRequest: boolean): void {
  readForm();
  saveHash();
  if (!affectsRequest) {
    void render();
    return;
  }
  if (result === undefined) return;
  if (rerunTimer !== undefined) clearTimeout(rerunTimer);
  rerunTimer = setTimeout(() => void run(), 300);
}

// ---- drawing ------------------------------------------------------------------------------------------------

function currentSamples(r: AnalysisResult): Sample[] {
  const grouped = groupSamples(detail?.files ?? [], r.byFile ?? {}, histogramName);
  if (grouped.length > 0) return grouped;
  const merged = r.histograms[histogramName];
  return merged === undefined ? [] : [{ name: 'All files', kind: 'simulation', files: [], hist: fromTH1(merged) }];
}

function renderSummary(r: AnalysisResult): void {
  const merged = r.histograms[histogramName];
  const sum = merged === undefined ? 0 : total(fromTH1(merged));
  byId('entries').textContent = formatCount(r.entries);
  byId('selected').textContent = formatCount(r.selected);
  byId('total').textContent = formatValue(sum, 6);
  byId('total').dataset.value = String(sum);
  byId('seconds').textContent = `${r.seconds.toFixed(2)} s`;
  const sim = samples.filter((s) => s.kind === 'simulation');
  byId('samples').replaceChildren(
    ...samples.map((s) => {
      const index = sim.indexOf(s);
      const box = el('input', {
        type: 'checkbox',
        checked: state.signal.includes(s.name),
        disabled: s.kind !== 'simulation',
        'aria-label': `${s.name} is signal`,
      });
      box.addEventListener('change', () => {
        state.signal = box.checked ? [...state.signal, s.name] : state.signal.filter((n) => n !== s.name);
        changed(false);
      });
      return el(
        'tr',
        { 'data-sample': s.name },
        el(
          'td',
          {},
          el('span', {
            class: 'swatch',
            style: s.kind === 'simulation' ? `background:${cssColor(index)}` : 'background:#000;border-radius:6px',
          }),
          ' ',
          s.name,
        ),
        el('td', {}, s.kind),
        el('td', { class: 'num', title: s.files.join('\n') }, String(s.files.length)),
        el('td', { class: 'num' }, formatValue(total(s.hist), 5)),
        el('td', {}, box),
      );
    }),
  );
  const win = state.window;
  const z = win === undefined ? undefined : significance(samples, new Set(state.signal), win[0], win[1]);
  byId('sig-s').textContent = z === undefined ? 'set a window' : formatValue(z.s);
  byId('sig-b').textContent = z === undefined ? '' : formatValue(z.b);
  byId('sig-z').textContent =
    z === undefined
      ? ''
      : state.signal.length === 0
        ? 'tick a signal sample'
        : Number.isNaN(z.z)
          ? 'B = 0'
          : formatValue(z.z, 3);
  byId('summary').hidden = false;
}

/** The x-axis title: the expression, or the preset's name for it when the expression is a preset's long formula. */
function xTitle(): string {
  const preset = presets.find((p) => p.id === state.preset);
  if (state.expr.length <= 40 || preset === undefined || preset.request.histograms[0]?.expr !== state.expr)
    return state.expr;
  return preset.title.replace(/\s*\(.*\)\s*$/, '');
}

function canvasObject() {
  return buildCanvas({
    samples,
    xTitle: xTitle(),
    log: state.log,
    rebin: state.rebin,
    window: state.window,
  });
}

async function render(): Promise<void> {
  const plot = byId('plot');
  if (result === undefined) return;
  samples = currentSamples(result);
  renderSummary(result);
  clearPlot(plot);
  await drawCanvas(plot, canvasObject());
  plot.setAttribute('aria-label', `Histogram of ${state.expr}: ${samples.map((s) => s.name).join(', ')}`);
  for (const id of ['export-png', 'export-svg', 'export-csv']) input<HTMLButtonElement>(id).disabled = false;
  document.body.dataset.drawn = String(Number(document.body.dataset.drawn ?? '0') + 1);
}

// ---- exports ------------------------------------------------------------------------------------------------

function fileStem(): string {
  return `openkey-${state.dataset}-${state.expr}`.replace(/[^\w.-]+/g, '_').slice(0, 80);
}

function download(href: string, name: string): void {
  const a = el('a', { href, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

async function exportAs(format: 'png' | 'svg' | 'csv'): Promise<void> {
  if (result === undefined) return;
  if (format === 'csv') {
    const url = URL.createObjectURL(new Blob([toCsv(samples, state.rebin)], { type: 'text/csv' }));
    download(url, `${fileStem()}.csv`);
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    return;
  }
  const image = await exportImage(canvasObject(), format);
  if (format === 'png') download(image, `${fileStem()}.png`);
  else {
    const url = URL.createObjectURL(new Blob([image], { type: 'image/svg+xml' }));
    download(url, `${fileStem()}.svg`);
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

async function copyLink(): Promise<void> {
  const url = new URL(location.href);
  url.hash = encodeState({ ...state, run: true });
  const text = url.href;
  const note = byId('link-status');
  try {
    await navigator.clipboard.writeText(text);
    note.textContent = 'Link copied.';
  } catch {
    // Clipboard access needs a secure context (https or localhost); show the link to copy by hand instead.
    const field = el('input', {
      type: 'text',
      value: text,
      readonly: true,
      'aria-label': 'Link to this analysis',
      size: 40,
    });
    note.replaceChildren(field);
    field.select();
  }
}

// ---- wiring -------------------------------------------------------------------------------------------------

function wire(): void {
  byId('controls').addEventListener('submit', (event) => {
    event.preventDefault();
    void run();
  });
  input<HTMLSelectElement>('dataset').addEventListener('change', async (event) => {
    const id = (event.target as HTMLSelectElement).value;
    state.preset = '';
    state.tree = '';
    result = undefined;
    await selectDataset(id);
    saveHash();
  });
  input<HTMLSelectElement>('preset').addEventListener('change', (event) => {
    const preset = presets.find((p) => p.id === (event.target as HTMLSelectElement).value);
    if (preset === undefined) {
      state.preset = '';
      byId('preset-help').textContent = '';
      saveHash();
      return;
    }
    applyPreset(preset);
    if (state.tree === '' && detail?.files[0] !== undefined) state.tree = detail.files[0].tree;
    byId('preset-help').textContent = preset.description ?? '';
    writeForm();
    saveHash();
    void run();
  });
  for (const id of ['expr', 'min', 'max', 'selection', 'weight'])
    input(id).addEventListener('change', () => changed(true));
  input('bins').addEventListener('change', () => {
    readForm();
    renderRebin();
    changed(true);
  });
  input('log').addEventListener('change', () => {
    state.log = input('log').checked;
    changed(false);
  });
  input<HTMLSelectElement>('rebin').addEventListener('change', () => {
    state.rebin = Number(input<HTMLSelectElement>('rebin').value) || 1;
    changed(false);
  });
  const windowChanged = () => {
    const lo = input('win-lo').value;
    const hi = input('win-hi').value;
    state.window = lo !== '' && hi !== '' && Number(hi) > Number(lo) ? [Number(lo), Number(hi)] : undefined;
    changed(false);
  };
  input('win-lo').addEventListener('change', windowChanged);
  input('win-hi').addEventListener('change', windowChanged);
  byId('add-slider').addEventListener('click', () => {
    readForm();
    state.cuts.push({ kind: 'slider', expr: state.expr, op: '>', value: state.min, min: state.min, max: state.max });
    renderCuts();
    document.getElementById(`cut-${state.cuts.length - 1}-expr`)?.focus();
    changed(true);
  });
  byId('add-expr').addEventListener('click', () => {
    state.cuts.push({ kind: 'expr', text: '' });
    renderCuts();
    document.getElementById(`cut-${state.cuts.length - 1}-expr`)?.focus();
    saveHash();
  });
  byId('cancel').addEventListener('click', () => {
    runToken++;
    void cancelRunning().then(() => {
      setRunning(false);
      setStatus(statusLine, 'Cancelled.');
    });
  });
  byId('export-png').addEventListener('click', () => void exportAs('png'));
  byId('export-svg').addEventListener('click', () => void exportAs('svg'));
  byId('export-csv').addEventListener('click', () => void exportAs('csv'));
  byId('copy-link').addEventListener('click', () => void copyLink());
}

async function main(): Promise<void> {
  wire();
  setStatus(statusLine, 'Connecting to the analysis service…');
  [datasets, presets] = await Promise.all([api.datasets(), api.presets().catch(() => [])]);
  const select = input<HTMLSelectElement>('dataset');
  select.replaceChildren(
    ...datasets.map((d) => el('option', { value: d.id }, `${d.title} (${formatCount(d.entries)} events)`)),
  );
  if (datasets.length === 0) {
    setStatus(statusLine, 'The service lists no datasets.', 'error');
    return;
  }
  const wanted = datasets.find((d) => d.id === state.dataset) ?? datasets[0];
  const fromLink = state.run && state.expr !== '';
  if (wanted !== undefined) await selectDataset(wanted.id);
  if (!fromLink && state.expr === '') {
    const preset = presetsFor(wanted)[0];
    if (preset !== undefined) {
      applyPreset(preset);
      if (state.tree === '' && detail?.files[0] !== undefined) state.tree = detail.files[0].tree;
    }
  }
  fillPresets();
  writeForm();
  saveHash();
  setStatus(statusLine, 'Ready: choose a preset or a variable, then run.');
  document.body.dataset.ready = '1';
  if (fromLink) await run();
}

main().catch((error: unknown) =>
  setStatus(statusLine, `Cannot reach the analysis service: ${(error as Error).message}`, 'error'),
);
