/**
 * The histogram analyser: dataset → preset → named variable and cuts in GeV (student mode; the raw selection,
 * weight and expression under Advanced) → run on the service over the preset's data and simulation samples →
 * stacked plot with data points, uncertainty band, ratio panel, a peak fit and S/√B; or the linked view, where
 * dragging a range on one histogram cuts all the others. Everything chosen lives in `state`, mirrored in the URL.
 */
import {
  Api,
  type Analysis,
  type AnalysisRequest,
  type AnalysisResult,
  type DatasetDetail,
  type DatasetSummary,
  type Preset,
} from '../shared/api.ts';
import { byId, el, setStatus, siteRoot } from '../shared/dom.ts';
import { describeError, noticeText, type RequestText } from '../shared/errors.ts';
import { formatNumber, language, type MessageKey, setupPage, t } from '../shared/i18n.ts';
import { readKeyIndex } from '../shared/key-index.ts';
import { fitPeak, type FitResult } from './fit.ts';
import { drawLinked, linkedVariables, withRange } from './linked.ts';
import {
  type Sample,
  fromSampleResults,
  fromTH1,
  groupSamples,
  rebin,
  rebinFactors,
  significance,
  simulationTotal,
  toCsv,
  total,
} from './model.ts';
import {
  type AnalyserState,
  type Cut,
  type FitState,
  cutExpression,
  cutOps,
  decodeState,
  encodeState,
  histogramName,
  requestSource,
  toRequest,
} from './state.ts';
import { drawPlot, pngDataUrl, sampleColour, svgText, type DrawnPlot } from './svgplot.ts';
import { type Variable, axisTitle, binWidthText, variablesFor } from './variables.ts';

setupPage(readKeyIndex(window.OPENKEY_INDEX)?.locale);

const api = new Api(siteRoot());
const state: AnalyserState = decodeState(location.hash);

let datasets: DatasetSummary[] = [];
let detail: DatasetDetail | undefined;
let presets: Preset[] = [];
let result: AnalysisResult | undefined;
let samples: Sample[] = [];
let drawn: DrawnPlot | undefined;
let fitted: FitResult | undefined;
let running: { id: string; stop: () => void } | undefined;
let runToken = 0;
let rerunTimer: ReturnType<typeof setTimeout> | undefined;

const statusLine = byId('status');
const input = <T extends HTMLElement = HTMLInputElement>(id: string) => byId<T>(id);

function saveHash(): void {
  history.replaceState(null, '', `${location.search}#${encodeState({ ...state, run: false })}`);
}

const currentPreset = () => presets.find((p) => p.id === state.preset);
const variables = (): Variable[] => variablesFor(state.preset);
const lookup = (id: string) => variables().find((v) => v.id === id);
const currentVariable = () => (state.variable === '' ? undefined : lookup(state.variable));

/** The last request sent, so an error's position can be shown in the expression it points into. */
let lastRequest: RequestText | undefined;

/** A service error in the page's language with its details (shared/errors.ts). */
function errorText(error: unknown): string {
  return describeError(error, (error as { request?: RequestText } | undefined)?.request ?? lastRequest);
}

// ---- dataset and preset -------------------------------------------------------------------------------------

function presetsFor(d: DatasetSummary | undefined): Preset[] {
  const trees = new Set(d?.files.map((f) => f.tree) ?? []);
  return presets.filter((p) => {
    if (p.datasets !== undefined) return d !== undefined && p.datasets.includes(d.id);
    if (p.request.dataset !== undefined) return p.request.dataset === d?.id;
    return p.request.tree === undefined || trees.has(p.request.tree);
  });
}

/** The preset a dataset opens: the one whose main sample it is, else the first that fits its tree. */
function presetFor(id: string): Preset | undefined {
  const list = presetsFor(datasets.find((d) => d.id === id));
  return list.find((p) => p.samples?.main.includes(id)) ?? list[0];
}

/** A preset's kind: its id without the release (zll, hyy …), or the whole id for the CMS ones. */
function presetKind(p: Pick<Preset, 'id'>): string {
  return p.id.startsWith('cms-') ? p.id : (p.id.split('-')[1] ?? p.id);
}

/** The preset's title in the page's language: its kind translated, the release in parentheses as the service says. */
function presetTitle(p: Preset): string {
  if (language() === 'en') return p.title;
  const key = `preset.${presetKind(p)}` as MessageKey;
  const release = p.title.match(/\(([^)]*)\)\s*$/)?.[1];
  return t(key) === key ? p.title : release === undefined ? t(key) : `${t(key)} (${release})`;
}

function presetDescription(p: Preset | undefined): string {
  if (p === undefined) return '';
  if (language() === 'en') return p.description ?? '';
  const key = `presetText.${presetKind(p)}` as MessageKey;
  return t(key) === key ? (p.description ?? '') : t(key);
}

function fillPresets(): void {
  const select = input<HTMLSelectElement>('preset');
  const list = presetsFor(datasets.find((d) => d.id === state.dataset));
  select.replaceChildren(
    el('option', { value: '' }, list.length === 0 ? t('analyser.noPreset') : t('analyser.choosePreset')),
    ...list.map((p) => el('option', { value: p.id, selected: p.id === state.preset }, presetTitle(p))),
  );
  byId('preset-help').textContent = presetDescription(currentPreset());
}

/** The fit a physicist starts from for each kind of preset. */
function defaultFit(presetId: string): FitState | undefined {
  const kind = presetId.split('-')[1];
  if (kind === 'zll') return { shape: 'bw', degree: 1, lo: 70, hi: 110 };
  if (kind === 'hyy') return { shape: 'gauss', degree: 3, lo: 105, hi: 160 };
  if (kind === 'h4l') return { shape: 'gauss', degree: 1, lo: 110, hi: 140 };
  return undefined;
}

/** The samples a preset compares for this dataset: its data and simulation, when the dataset is one of them. */
function samplesFor(preset: Preset, datasetId: string): string[] {
  const s = preset.samples;
  if (s === undefined) return [];
  const all = [...s.data, ...s.simulation];
  return all.includes(datasetId) ? all : [];
}

function applyPreset(preset: Preset): void {
  state.preset = preset.id;
  state.tree = preset.request.tree ?? '';
  state.selection = preset.request.selection ?? '';
  state.weight = preset.request.weight ?? '';
  state.cuts = [];
  state.window = undefined;
  state.signal = [];
  state.rebin = 1;
  state.datasets = samplesFor(preset, state.dataset);
  const hasData = state.datasets.some((id) => preset.samples?.data.includes(id));
  state.luminosity = state.datasets.length > 0 && !hasData ? 10 : undefined;
  state.fit = defaultFit(preset.id);
  const first = variablesFor(preset.id)[0];
  const h = preset.request.histograms[0];
  if (first !== undefined) {
    state.variable = first.id;
    state.expr = first.expr;
    state.bins = first.bins;
    state.min = first.min;
    state.max = first.max;
  } else if (h !== undefined) {
    state.variable = '';
    state.expr = h.expr;
    state.bins = h.bins;
    state.min = h.min;
    state.max = h.max;
  }
}

async function loadDetail(id: string): Promise<void> {
  detail = undefined;
  try {
    detail = await api.dataset(id);
  } catch (error) {
    setStatus(statusLine, t('analyser.cannotRead', { id, message: errorText(error) }), 'error');
    return;
  }
  byId('branches').replaceChildren(
    ...detail.branches.map((b) => el('option', { value: b.name }, `${b.type}${b.isArray ? '[]' : ''}`)),
  );
  if (state.tree === '' && detail.files[0] !== undefined) state.tree = detail.files[0].tree;
}

/** A dataset switch: the preset follows the dataset, and what belonged to the old one is reset. */
async function switchDataset(id: string): Promise<void> {
  state.dataset = id;
  result = undefined;
  const preset = presetFor(id);
  if (preset !== undefined) applyPreset(preset);
  else {
    Object.assign(state, { preset: '', tree: '', selection: '', weight: '', cuts: [], window: undefined });
    Object.assign(state, { signal: [], datasets: [], luminosity: undefined, fit: undefined, variable: '' });
  }
  await loadDetail(id);
  fillPresets();
  writeForm();
  saveHash();
}

// ---- form <-> state -------------------------------------------------------------------------------------------

function writeForm(): void {
  input<HTMLSelectElement>('dataset').value = state.dataset;
  renderVariables();
  input('expr').value = state.expr;
  input('bins').value = String(state.bins);
  input('min').value = String(state.min);
  input('max').value = String(state.max);
  input<HTMLTextAreaElement>('selection').value = state.selection;
  input('weight').value = state.weight;
  input('log').checked = state.log;
  input('win-lo').value = state.window ? String(state.window[0]) : '';
  input('win-hi').value = state.window ? String(state.window[1]) : '';
  input('lumi').value = state.luminosity === undefined ? '' : String(state.luminosity);
  input<HTMLSelectElement>('fit-shape').value = state.fit?.shape ?? '';
  input('fit-degree').value = String(state.fit?.degree ?? 1);
  input('fit-lo').value = state.fit ? String(state.fit.lo) : '';
  input('fit-hi').value = state.fit ? String(state.fit.hi) : '';
  const unit = currentVariable()?.unit ?? '';
  for (const node of document.querySelectorAll('.unit')) node.textContent = unit;
  renderSamplesChoice();
  renderCuts();
  renderRebin();
  renderMode();
}

function readForm(): void {
  state.expr = input('expr').value.trim();
  state.bins = Math.max(1, Math.round(Number(input('bins').value) || 1));
  state.min = Number(input('min').value) || 0;
  state.max = Number(input('max').value) || 0;
  state.selection = input<HTMLTextAreaElement>('selection').value.trim();
  state.weight = input('weight').value.trim();
  const lumi = Number(input('lumi').value);
  state.luminosity = input('lumi').value.trim() !== '' && lumi > 0 ? lumi : undefined;
}

function renderVariables(): void {
  const select = input<HTMLSelectElement>('variable');
  const vars = variables();
  select.replaceChildren(
    ...vars.map((v) => el('option', { value: v.id, selected: v.id === state.variable }, variableName(v))),
    el('option', { value: '', selected: state.variable === '' }, t('analyser.customVariable')),
  );
}

function variableName(v: Variable): string {
  return `${t(v.label)}${v.unit ? ` [${v.unit}]` : ''}`;
}

function renderSamplesChoice(): void {
  const preset = currentPreset();
  const box = byId('samples-choice');
  const s = preset?.samples;
  const all =
    s === undefined
      ? []
      : [...s.data.map((id) => [id, 'data'] as const), ...s.simulation.map((id) => [id, 'simulation'] as const)];
  byId('samples-fieldset').hidden = all.length === 0;
  box.replaceChildren(
    ...all.map(([id, role]) => {
      const box = el('input', { type: 'checkbox', value: id, checked: state.datasets.includes(id), 'data-role': role });
      box.addEventListener('change', () => {
        state.datasets = all.map(([d]) => d).filter((d) => (d === id ? box.checked : state.datasets.includes(d)));
        changed(true);
      });
      const title = datasets.find((d) => d.id === id)?.title ?? id;
      return el(
        'label',
        { class: 'check' },
        box,
        ` ${title} `,
        el('span', { class: 'badge' }, t(role === 'data' ? 'plot.data' : 'plot.simulation')),
      );
    }),
  );
}

function renderRebin(): void {
  const select = input<HTMLSelectElement>('rebin');
  const factors = rebinFactors(state.bins);
  if (!factors.includes(state.rebin)) state.rebin = 1;
  select.replaceChildren(
    ...factors.map((f) =>
      el('option', { value: f, selected: f === state.rebin }, f === 1 ? t('analyser.rebinNone') : `×${f}`),
    ),
  );
}

function renderMode(): void {
  const linked = state.mode === 'linked';
  byId('mode-plot').setAttribute('aria-pressed', String(!linked));
  byId('mode-linked').setAttribute('aria-pressed', String(linked));
  byId('single-view').hidden = linked;
  byId('linked-view').hidden = !linked;
}

function renderCuts(): void {
  const box = byId('cuts');
  box.replaceChildren(
    ...state.cuts.map((cut, i) => {
      if (cut.kind === 'slider') return sliderCut(cut, i);
      if (cut.kind === 'expr') return exprCut(cut, i);
      return variableCut(cut, i);
    }),
  );
  if (state.cuts.length === 0) box.append(el('p', { class: 'muted', style: 'margin:0' }, t('analyser.noCuts')));
}

function removeButton(i: number): HTMLButtonElement {
  const button = el(
    'button',
    {
      type: 'button',
      'aria-label': t('analyser.removeCut', { n: i + 1 }),
      title: t('analyser.removeCut', { n: i + 1 }),
    },
    '✕',
  );
  button.addEventListener('click', () => {
    state.cuts.splice(i, 1);
    renderCuts();
    changed(true);
    (
      document.getElementById(state.cuts.length > 0 ? `cut-${Math.max(0, i - 1)}-var` : 'add-cut') as HTMLElement | null
    )?.focus();
  });
  return button;
}

function variableSelect(cut: Extract<Cut, { kind: 'var' | 'range' }>, i: number): HTMLSelectElement {
  const select = el(
    'select',
    { id: `cut-${i}-var`, 'aria-label': t('analyser.cutVariable', { n: i + 1 }) },
    ...variables().map((v) => el('option', { value: v.id, selected: v.id === cut.variable }, variableName(v))),
  );
  select.addEventListener('change', () => {
    cut.variable = select.value;
    const v = lookup(cut.variable);
    // The slider's range follows the variable: a new variable starts at its own range.
    if (v !== undefined && cut.kind === 'var') cut.value = v.min;
    if (v !== undefined && cut.kind === 'range') Object.assign(cut, { lo: v.min, hi: v.max });
    renderCuts();
    changed(true);
  });
  return select;
}

function variableCut(cut: Extract<Cut, { kind: 'var' | 'range' }>, i: number): HTMLElement {
  const v = lookup(cut.variable);
  const unit = v?.unit ?? '';
  const warning = el('p', { class: 'cut-warning', id: `cut-${i}-warning`, role: 'status' });
  if (cut.kind === 'range') {
    const lo = el('input', {
      type: 'number',
      step: 'any',
      value: cut.lo,
      'aria-label': t('analyser.rangeLow', { n: i + 1 }),
    });
    const hi = el('input', {
      type: 'number',
      step: 'any',
      value: cut.hi,
      'aria-label': t('analyser.rangeHigh', { n: i + 1 }),
    });
    const update = () => {
      const a = Number(lo.value);
      const b = Number(hi.value);
      if (Number.isFinite(a) && Number.isFinite(b) && b > a) {
        cut.lo = a;
        cut.hi = b;
        changed(true);
      }
    };
    lo.addEventListener('change', update);
    hi.addEventListener('change', update);
    return el(
      'div',
      { class: 'cut', 'data-cut': i, 'data-kind': 'range' },
      el('div', { class: 'row' }, variableSelect(cut, i), removeButton(i)),
      el(
        'div',
        { class: 'row' },
        lo,
        el('span', {}, `≤ ${v?.symbol ?? ''} ≤`),
        hi,
        el('span', { class: 'muted' }, unit),
      ),
      warning,
    );
  }
  const op = el(
    'select',
    { 'aria-label': t('analyser.cutComparison', { n: i + 1 }) },
    ...cutOps.map((o) => el('option', { value: o, selected: o === cut.op }, o)),
  );
  const min = v?.min ?? 0;
  const max = v?.max ?? 100;
  const range = el('input', {
    type: 'range',
    min,
    max,
    step: v?.integer ? 1 : (max - min) / 100,
    value: cut.value,
    'aria-label': t('analyser.cutThreshold', { n: i + 1 }),
  });
  const value = el('input', {
    type: 'number',
    step: 'any',
    value: cut.value,
    'aria-label': t('analyser.cutValue', { n: i + 1 }),
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
  return el(
    'div',
    { class: 'cut', 'data-cut': i, 'data-kind': 'var' },
    el('div', { class: 'row' }, variableSelect(cut, i), removeButton(i)),
    el('div', { class: 'row' }, op, value, el('span', { class: 'muted' }, unit)),
    range,
    warning,
  );
}

function sliderCut(cut: Extract<Cut, { kind: 'slider' }>, i: number): HTMLElement {
  const expr = el('input', {
    id: `cut-${i}-var`,
    type: 'text',
    list: 'branches',
    value: cut.expr,
    spellcheck: 'false',
    'aria-label': t('analyser.cutExpression', { n: i + 1 }),
    style: 'flex:1;min-width:0',
  });
  const op = el(
    'select',
    { 'aria-label': t('analyser.cutComparison', { n: i + 1 }) },
    ...cutOps.map((o) => el('option', { value: o, selected: o === cut.op }, o)),
  );
  const range = el('input', {
    type: 'range',
    min: cut.min,
    max: cut.max,
    step: cut.max > cut.min ? (cut.max - cut.min) / 100 : 1,
    value: cut.value,
    'aria-label': t('analyser.cutThreshold', { n: i + 1 }),
  });
  const value = el('input', {
    type: 'number',
    step: 'any',
    value: cut.value,
    'aria-label': t('analyser.cutValue', { n: i + 1 }),
  });
  const lo = el('input', {
    type: 'number',
    step: 'any',
    value: cut.min,
    'aria-label': t('analyser.sliderMin', { n: i + 1 }),
  });
  const hi = el('input', {
    type: 'number',
    step: 'any',
    value: cut.max,
    'aria-label': t('analyser.sliderMax', { n: i + 1 }),
  });
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
    { class: 'cut', 'data-cut': i, 'data-kind': 'slider' },
    el('div', { class: 'row' }, expr, removeButton(i)),
    el('div', { class: 'row' }, op, value),
    range,
    el('div', { class: 'row muted' }, t('analyser.sliderFrom'), lo, t('analyser.sliderTo'), hi),
    el('p', { class: 'cut-warning', id: `cut-${i}-warning`, role: 'status' }),
  );
}

function exprCut(cut: Extract<Cut, { kind: 'expr' }>, i: number): HTMLElement {
  const text = el('input', {
    id: `cut-${i}-var`,
    type: 'text',
    list: 'branches',
    value: cut.text,
    spellcheck: 'false',
    placeholder: t('analyser.cutPlaceholder'),
    'aria-label': t('analyser.cutExpression', { n: i + 1 }),
    style: 'flex:1;min-width:0',
  });
  text.addEventListener('change', () => {
    cut.text = text.value;
    changed(true);
  });
  return el(
    'div',
    { class: 'cut', 'data-cut': i, 'data-kind': 'expr' },
    el('div', { class: 'row' }, text, removeButton(i)),
    el('p', { class: 'cut-warning', id: `cut-${i}-warning`, role: 'status' }),
  );
}

// ---- running ----------------------------------------------------------------------------------------------------

function setProgress(done: number, totalEntries: number): void {
  const bar = input<HTMLProgressElement>('progress');
  bar.max = Math.max(1, totalEntries);
  bar.value = Math.min(done, bar.max);
  byId('progress-text').textContent = totalEntries > 0 ? t('analyser.progress', { done, total: totalEntries }) : '';
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
  if (state.mode === 'linked') return runLinked();
  if (state.dataset === '' || state.expr === '') {
    setStatus(statusLine, t('analyser.needVariable'), 'error');
    return;
  }
  if (!(state.max > state.min)) {
    setStatus(statusLine, t('analyser.badRange', { min: state.min, max: state.max }), 'error');
    return;
  }
  await cancelRunning();
  const token = ++runToken;
  setRunning(true);
  setProgress(0, 0);
  setStatus(statusLine, t('analyser.submitting'));
  try {
    const request = toRequest(state, lookup);
    lastRequest = request;
    const { id } = await api.submit(request);
    if (token !== runToken) return;
    setStatus(statusLine, t('analyser.running'));
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
      render();
      // Which request the drawing shows, for tests and for anyone scripting the page.
      document.body.dataset.drawnSelection = request.selection ?? '';
      setStatus(
        statusLine,
        t('analyser.done', { selected: result.selected, seconds: formatNumber(result.seconds, 2) }),
      );
      void checkCuts(token);
    } else if (analysis.state === 'cancelled') {
      setStatus(statusLine, t('analyser.cancelled'));
    } else {
      setStatus(statusLine, t('analyser.failed', { message: errorText(analysis.error) }), 'error');
    }
  } catch (error) {
    if (token === runToken) setStatus(statusLine, t('analyser.failed', { message: errorText(error) }), 'error');
  } finally {
    if (token === runToken) setRunning(false);
  }
}

/**
 * Warns about cuts that keep every event or none: each cut is counted alone over the preset's selection in one
 * small analysis (a two-bin histogram of the cut's truth value per cut).
 */
async function checkCuts(token: number): Promise<void> {
  const cuts = state.cuts.map((c) => cutExpression(c, lookup));
  for (let i = 0; i < cuts.length; i++) {
    const node = document.getElementById(`cut-${i}-warning`);
    if (node) node.textContent = '';
  }
  const checked = cuts.map((c, i) => [c, i] as const).filter(([c]) => c !== '');
  if (checked.length === 0) return;
  const request: AnalysisRequest = {
    ...requestSource(state),
    histograms: checked.map(([c, i]) => ({ name: `cut${i}`, expr: `(${c}) ? 1 : 0`, bins: 2, min: 0, max: 2 })),
  };
  if (state.tree !== '') request.tree = state.tree;
  if (state.selection !== '') request.selection = state.selection;
  try {
    const a = await api.run(request);
    if (token !== runToken || a.result === undefined) return;
    for (const [, i] of checked) {
      const h = a.result.histograms[`cut${i}`];
      const node = document.getElementById(`cut-${i}-warning`);
      if (h === undefined || node === null) continue;
      const fail = h.fArray[1] ?? 0;
      const pass = h.fArray[2] ?? 0;
      node.textContent = pass === 0 ? t('analyser.cutKeepsNone') : fail === 0 ? t('analyser.cutKeepsAll') : '';
    }
  } catch {
    // A cut the service refuses already failed the main analysis with its message.
  }
}

async function runLinked(): Promise<void> {
  const vars = linkedVariables(variables());
  if (vars.length === 0) {
    setStatus(statusLine, t('linked.needPreset'), 'error');
    return;
  }
  const token = ++runToken;
  setRunning(true);
  setStatus(statusLine, t('analyser.running'));
  try {
    await drawLinked(byId('linked'), {
      api,
      state,
      variables: vars,
      lookup,
      isCurrent: () => token === runToken,
      onBrush: (variable, lo, hi) => {
        state.cuts = withRange(state, variable, lo, hi).cuts;
        renderCuts();
        saveHash();
        void run();
      },
      // What the live preview of a drag shows (the range, and how many redraws so far), for tests and scripts.
      onPreview: (variable, lo, hi) => {
        document.body.dataset.linkedPreview = `${variable} ${lo} ${hi}`;
        document.body.dataset.linkedPreviews = String(Number(document.body.dataset.linkedPreviews ?? '0') + 1);
      },
      onClear: (variable) => {
        state.cuts = state.cuts.filter((c) => !((c.kind === 'range' || c.kind === 'var') && c.variable === variable));
        renderCuts();
        saveHash();
        void run();
      },
    });
    if (token === runToken) {
      setStatus(statusLine, t('linked.done'));
      document.body.dataset.linked = String(Number(document.body.dataset.linked ?? '0') + 1);
    }
  } catch (error) {
    if (token === runToken) setStatus(statusLine, t('analyser.failed', { message: errorText(error) }), 'error');
  } finally {
    if (token === runToken) setRunning(false);
  }
}

/** Something changed: the URL follows; a change to the request re-runs it once a result is on screen. */
function changed(affectsRequest: boolean): void {
  readForm();
  saveHash();
  if (!affectsRequest) {
    render();
    return;
  }
  if (result === undefined && state.mode !== 'linked') return;
  if (rerunTimer !== undefined) clearTimeout(rerunTimer);
  rerunTimer = setTimeout(() => void run(), 300);
}

// ---- drawing ------------------------------------------------------------------------------------------------

function currentSamples(r: AnalysisResult): Sample[] {
  if (r.samples !== undefined) return fromSampleResults(r.samples, histogramName);
  const grouped = groupSamples(detail?.files ?? [], r.byFile ?? {}, histogramName);
  if (grouped.length > 0) return grouped;
  const merged = r.histograms[histogramName];
  return merged === undefined
    ? []
    : [{ name: t('analyser.allFiles'), kind: 'simulation', files: [], hist: fromTH1(merged) }];
}

function signalSet(): Set<string> {
  if (state.signal.length > 0) return new Set(state.signal);
  return new Set(samples.filter((s) => s.signal === true).map((s) => s.name));
}

function renderSummary(r: AnalysisResult): void {
  const merged = r.histograms[histogramName];
  const sum = merged === undefined ? 0 : total(fromTH1(merged));
  byId('entries').textContent = formatNumber(r.entries);
  byId('selected').textContent = formatNumber(r.selected);
  byId('selected').dataset.value = String(r.selected);
  byId('total').textContent = formatNumber(sum, 6);
  byId('total').dataset.value = String(sum);
  byId('seconds').textContent = `${formatNumber(r.seconds, 2)} s`;
  const lumi = r.luminosityFb;
  // Small luminosities (the pseudo-data's) read better in pb⁻¹.
  byId('lumi-used').textContent =
    lumi === undefined ? '–' : lumi < 0.1 ? `${formatNumber(lumi * 1000, 3)} pb⁻¹` : `${formatNumber(lumi, 3)} fb⁻¹`;
  const sim = samples.filter((s) => s.kind === 'simulation');
  const signal = signalSet();
  byId('samples').replaceChildren(
    ...samples.map((s) => {
      const index = sim.indexOf(s);
      const box = el('input', {
        type: 'checkbox',
        checked: signal.has(s.name),
        disabled: s.kind !== 'simulation',
        'aria-label': t('analyser.isSignal', { name: s.name }),
      });
      box.addEventListener('change', () => {
        const now = signalSet();
        if (box.checked) now.add(s.name);
        else now.delete(s.name);
        state.signal = [...now];
        changed(false);
      });
      const sampleTotal = total(s.hist);
      return el(
        'tr',
        { 'data-sample': s.name, 'data-total': sampleTotal },
        el(
          'td',
          {},
          el('span', {
            class: 'swatch',
            style: s.kind === 'simulation' ? `background:${sampleColour(index)}` : 'background:#000;border-radius:6px',
          }),
          ' ',
          s.name,
        ),
        el('td', {}, t(s.kind === 'data' ? 'plot.data' : 'plot.simulation')),
        el('td', { class: 'num', title: s.files.join('\n') }, String(s.files.length)),
        el('td', { class: 'num' }, formatNumber(sampleTotal, 5)),
        el('td', {}, box),
      );
    }),
  );
  // The service's warnings in the page's language (its notices: code and params); its English text only from a
  // service that sends no notices.
  const warnings =
    r.notices !== undefined ? r.notices.map((n) => noticeText(n.code, n.params ?? {})) : [...(r.warnings ?? [])];
  if (r.notices === undefined)
    for (const s of samples) if (s.unnormalised) warnings.unshift(t('analyser.unnormalised', { name: s.name }));
  byId('warnings').replaceChildren(...[...new Set(warnings)].map((w) => el('li', {}, w)));
  byId('warnings').hidden = warnings.length === 0;
  const win = state.window;
  const z = win === undefined ? undefined : significance(samples, signal, win[0], win[1]);
  byId('sig-s').textContent = z === undefined ? t('analyser.setWindow') : formatNumber(z.s, 4);
  byId('sig-b').textContent = z === undefined ? '' : formatNumber(z.b, 4);
  byId('sig-z').textContent =
    z === undefined
      ? ''
      : signal.size === 0
        ? t('analyser.tickSignal')
        : Number.isNaN(z.z)
          ? 'B = 0'
          : formatNumber(z.z, 3);
  byId('sig-z').dataset.value = z === undefined ? '' : String(z.z);
  byId('summary').hidden = false;
}

function titles(): { x: string; y: string } {
  const v = currentVariable();
  const width = ((state.max - state.min) / state.bins) * state.rebin;
  if (v !== undefined && v.expr === state.expr)
    return { x: axisTitle(v), y: `${t('plot.events')}${binWidthText(width, v.unit)}` };
  return {
    x: state.expr.length > 48 ? `${state.expr.slice(0, 47)}…` : state.expr,
    y: `${t('plot.events')}${binWidthText(width, '')}`,
  };
}

function renderFit(): void {
  const out = byId('fit-result');
  fitted = undefined;
  out.textContent = '';
  delete out.dataset.mass;
  if (state.fit === undefined || samples.length === 0) return;
  // Fit what a student sees: the data when there are data, else the simulation's total.
  const dataSamples = samples.filter((s) => s.kind === 'data');
  const source =
    dataSamples.length > 0
      ? simulationTotal(dataSamples.map((s) => ({ ...s, kind: 'simulation' as const })))
      : simulationTotal(samples);
  if (source === undefined) return;
  fitted = fitPeak(rebin(source, state.rebin), state.fit);
  if (fitted === undefined) {
    out.textContent = t('fit.failed');
    return;
  }
  const unit = currentVariable()?.unit ?? '';
  out.textContent = t(fitted.shape === 'gauss' ? 'fit.resultGauss' : 'fit.resultBw', {
    mass: formatNumber(fitted.mass, 5),
    error: formatNumber(fitted.massError, 2),
    width: formatNumber(fitted.width, 3),
    widthError: formatNumber(fitted.widthError, 2),
    unit,
    chi2: formatNumber(fitted.chi2, 3),
    ndf: fitted.ndf,
  });
  out.dataset.mass = String(fitted.mass);
  out.dataset.error = String(fitted.massError);
  out.dataset.width = String(fitted.width);
}

function render(): void {
  if (result === undefined) return;
  samples = currentSamples(result);
  renderSummary(result);
  renderFit();
  const { x, y } = titles();
  const plot = byId('plot');
  drawn = drawPlot(plot, {
    samples,
    xTitle: x,
    yTitle: y,
    log: state.log,
    rebin: state.rebin,
    window: state.window,
    fit: fitted,
    ratio: true,
    onReadout: (text) => (byId('readout').textContent = text),
  });
  drawn.svg.setAttribute('aria-label', t('plot.label', { x, samples: samples.map((s) => s.name).join(', ') }));
  for (const id of ['export-png', 'export-svg', 'export-csv']) input<HTMLButtonElement>(id).disabled = false;
  document.body.dataset.drawn = String(Number(document.body.dataset.drawn ?? '0') + 1);
}

// ---- exports ------------------------------------------------------------------------------------------------

function fileStem(): string {
  return `openkey-${state.dataset}-${state.variable || state.expr}`.replace(/[^\w.-]+/g, '_').slice(0, 80);
}

function download(href: string, name: string): void {
  const a = el('a', { href, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  download(url, name);
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function exportAs(format: 'png' | 'svg' | 'csv'): Promise<void> {
  if (result === undefined || drawn === undefined) return;
  if (format === 'csv')
    downloadBlob(new Blob([toCsv(samples, state.rebin)], { type: 'text/csv' }), `${fileStem()}.csv`);
  else if (format === 'svg')
    downloadBlob(new Blob([svgText(drawn.svg)], { type: 'image/svg+xml' }), `${fileStem()}.svg`);
  else download(await pngDataUrl(drawn.svg), `${fileStem()}.png`);
}

async function copyLink(): Promise<void> {
  const url = new URL(location.href);
  url.hash = encodeState({ ...state, run: true });
  const text = url.href;
  const note = byId('link-status');
  try {
    await navigator.clipboard.writeText(text);
    note.textContent = t('analyser.linkCopied');
  } catch {
    // Clipboard access needs a secure context (https or localhost); show the link to copy by hand instead.
    const field = el('input', {
      type: 'text',
      value: text,
      readonly: true,
      'aria-label': t('analyser.linkLabel'),
      size: 40,
    });
    note.replaceChildren(field);
    field.select();
  }
}

// ---- wiring -------------------------------------------------------------------------------------------------

function chooseVariable(id: string): void {
  const v = lookup(id);
  state.variable = v === undefined ? '' : v.id;
  if (v !== undefined) {
    Object.assign(state, { expr: v.expr, bins: v.bins, min: v.min, max: v.max, window: undefined, rebin: 1 });
    // A fit belongs to a peak of one variable.
    state.fit = v.id === variables()[0]?.id ? defaultFit(state.preset) : undefined;
  } else {
    (byId('advanced') as HTMLDetailsElement).open = true;
    input('expr').focus();
  }
  writeForm();
  changed(true);
}

function wire(): void {
  byId('controls').addEventListener('submit', (event) => {
    event.preventDefault();
    void run();
  });
  input<HTMLSelectElement>('dataset').addEventListener('change', async (event) => {
    await switchDataset((event.target as HTMLSelectElement).value);
    if (state.preset !== '') void run();
  });
  input<HTMLSelectElement>('preset').addEventListener('change', async (event) => {
    const preset = presets.find((p) => p.id === (event.target as HTMLSelectElement).value);
    if (preset === undefined) {
      state.preset = '';
      byId('preset-help').textContent = '';
      saveHash();
      return;
    }
    applyPreset(preset);
    if (state.tree === '' && detail?.files[0] !== undefined) state.tree = detail.files[0].tree;
    fillPresets();
    writeForm();
    saveHash();
    void run();
  });
  input<HTMLSelectElement>('variable').addEventListener('change', () =>
    chooseVariable(input<HTMLSelectElement>('variable').value),
  );
  input('expr').addEventListener('change', () => {
    const v = currentVariable();
    if (v !== undefined && v.expr !== input('expr').value.trim()) state.variable = '';
    renderVariables();
    changed(true);
  });
  for (const id of ['min', 'max', 'selection', 'weight', 'lumi'])
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
  const fitChanged = () => {
    const shape = input<HTMLSelectElement>('fit-shape').value;
    const lo = Number(input('fit-lo').value);
    const hi = Number(input('fit-hi').value);
    state.fit =
      shape === 'gauss' || shape === 'bw'
        ? {
            shape,
            degree: Math.max(0, Math.min(3, Math.round(Number(input('fit-degree').value) || 0))),
            lo: Number.isFinite(lo) && input('fit-lo').value !== '' ? lo : state.min,
            hi: hi > lo ? hi : state.max,
          }
        : undefined;
    writeForm();
    changed(false);
  };
  for (const id of ['fit-shape', 'fit-degree', 'fit-lo', 'fit-hi']) input(id).addEventListener('change', fitChanged);
  byId('add-cut').addEventListener('click', () => {
    const v = currentVariable() ?? variables()[0];
    if (v === undefined) {
      state.cuts.push({ kind: 'expr', text: '' });
    } else {
      state.cuts.push({ kind: 'var', variable: v.id, op: '>', value: v.min });
    }
    renderCuts();
    document.getElementById(`cut-${state.cuts.length - 1}-var`)?.focus();
    changed(true);
  });
  byId('add-slider').addEventListener('click', () => {
    readForm();
    state.cuts.push({ kind: 'slider', expr: state.expr, op: '>', value: state.min, min: state.min, max: state.max });
    renderCuts();
    document.getElementById(`cut-${state.cuts.length - 1}-var`)?.focus();
    changed(true);
  });
  byId('add-expr').addEventListener('click', () => {
    state.cuts.push({ kind: 'expr', text: '' });
    renderCuts();
    document.getElementById(`cut-${state.cuts.length - 1}-var`)?.focus();
    saveHash();
  });
  byId('cancel').addEventListener('click', () => {
    runToken++;
    void cancelRunning().then(() => {
      setRunning(false);
      setStatus(statusLine, t('analyser.cancelled'));
    });
  });
  for (const [id, mode] of [
    ['mode-plot', 'plot'],
    ['mode-linked', 'linked'],
  ] as const)
    byId(id).addEventListener('click', () => {
      if (state.mode === mode) return;
      state.mode = mode;
      renderMode();
      saveHash();
      void run();
    });
  byId('export-png').addEventListener('click', () => void exportAs('png'));
  byId('export-svg').addEventListener('click', () => void exportAs('svg'));
  byId('export-csv').addEventListener('click', () => void exportAs('csv'));
  byId('copy-link').addEventListener('click', () => void copyLink());
  // Phones: the plot comes first and the form starts folded.
  if (window.matchMedia('(max-width: 700px)').matches) (byId('form-panel') as HTMLDetailsElement).open = false;
  let width = window.innerWidth;
  window.addEventListener('resize', () => {
    if (Math.abs(window.innerWidth - width) < 40) return;
    width = window.innerWidth;
    render();
  });
}

async function main(): Promise<void> {
  wire();
  setStatus(statusLine, t('analyser.connecting'));
  [datasets, presets] = await Promise.all([api.datasets(), api.presets().catch(() => [])]);
  const select = input<HTMLSelectElement>('dataset');
  select.replaceChildren(
    ...datasets.map((d) => el('option', { value: d.id }, `${d.title} (${t('analyser.events', { n: d.entries })})`)),
  );
  if (datasets.length === 0) {
    setStatus(statusLine, t('analyser.noDatasets'), 'error');
    return;
  }
  const wanted = datasets.find((d) => d.id === state.dataset) ?? datasets[0]!;
  // A link naming only a dataset (the portal's) opens that dataset's preset; a full link keeps what it says.
  const fromLink = state.expr !== '';
  if (!fromLink) await switchDataset(wanted.id);
  else {
    state.dataset = wanted.id;
    await loadDetail(wanted.id);
  }
  fillPresets();
  writeForm();
  saveHash();
  setStatus(statusLine, t('analyser.ready'));
  document.body.dataset.ready = '1';
  if (state.run) await run();
}

main().catch((error: unknown) =>
  setStatus(statusLine, t('analyser.noService', { message: errorText(error) }), 'error'),
);
