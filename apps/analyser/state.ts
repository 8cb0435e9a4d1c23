/**
 * The whole analysis as a URL fragment, so it can be shared (and works the same from any host or port):
 *   #dataset=…&preset=…&expr=…&bins=…&min=…&max=…&sel=…&w=…&cut=…&cut=…&log=1&rebin=2&win=80,100&sig=ZZ&run=1
 * A slider cut is `s~OP~VALUE~MIN~MAX~EXPR` (EXPR last, as it may contain '~'); a typed cut is `e~EXPR`.
 */
import type { AnalysisRequest } from '../shared/api.ts';
import type { Variable } from './variables.ts';

export const cutOps = ['>', '>=', '<', '<=', '==', '!='] as const;
export type CutOp = (typeof cutOps)[number];

/**
 * Student mode's cuts name a variable (`var`: `pT(ℓ1) > 40` in GeV; `range`: 80 ≤ m_ℓℓ ≤ 100, also what dragging
 * on a linked histogram makes); Advanced keeps the raw ones (`slider` over any expression, `expr` typed).
 */
export type Cut =
  | { kind: 'var'; variable: string; op: CutOp; value: number }
  | { kind: 'range'; variable: string; lo: number; hi: number }
  | { kind: 'slider'; expr: string; op: CutOp; value: number; min: number; max: number }
  | { kind: 'expr'; text: string };

export type Mode = 'plot' | 'linked';

export interface FitState {
  shape: 'gauss' | 'bw';
  degree: number;
  lo: number;
  hi: number;
}

export interface AnalyserState {
  mode: Mode;
  dataset: string;
  /** The samples compared (data and simulation datasets); empty: the dataset alone. */
  datasets: string[];
  /** fb⁻¹ for simulation when no data sets it; undefined: the data's own. */
  luminosity: number | undefined;
  /** Student mode's variable (its id in variables.ts); '' when the expression is typed under Advanced. */
  variable: string;
  fit: FitState | undefined;
  preset: string;
  tree: string;
  expr: string;
  bins: number;
  min: number;
  max: number;
  /** The preset's selection (editable); the cuts are added to it with &&. */
  selection: string;
  weight: string;
  cuts: Cut[];
  log: boolean;
  rebin: number;
  window: [number, number] | undefined;
  /** Samples counted as signal in S/√B; the other simulation samples are background. */
  signal: string[];
  /** Run the analysis as soon as the page opens (set in shared links). */
  run: boolean;
}

export function defaultState(): AnalyserState {
  return {
    mode: 'plot',
    dataset: '',
    datasets: [],
    luminosity: undefined,
    variable: '',
    fit: undefined,
    preset: '',
    tree: '',
    expr: '',
    bins: 50,
    min: 0,
    max: 100,
    selection: '',
    weight: '',
    cuts: [],
    log: false,
    rebin: 1,
    window: undefined,
    signal: [],
    run: false,
  };
}

export type VariableLookup = (id: string) => Pick<Variable, 'expr'> | undefined;

export function cutExpression(cut: Cut, lookup: VariableLookup = () => undefined): string {
  if (cut.kind === 'slider') return `${paren(cut.expr)} ${cut.op} ${cut.value}`;
  if (cut.kind === 'expr') return cut.text.trim();
  const v = lookup(cut.variable);
  if (v === undefined) return '';
  if (cut.kind === 'var') return `${paren(v.expr)} ${cut.op} ${cut.value}`;
  return `${paren(v.expr)} >= ${cut.lo} && ${paren(v.expr)} <= ${cut.hi}`;
}

function paren(expr: string): string {
  return /^[A-Za-z_][\w.]*(\[\d+\])?$/.test(expr.trim()) ? expr.trim() : `(${expr.trim()})`;
}

/** The preset's selection and every cut (but those `skip` refuses), each in parentheses, joined by &&. */
export function fullSelection(
  state: Pick<AnalyserState, 'selection' | 'cuts'>,
  lookup: VariableLookup = () => undefined,
  skip: (cut: Cut) => boolean = () => false,
): string {
  const parts = [
    state.selection.trim(),
    ...state.cuts.filter((c) => !skip(c)).map((c) => cutExpression(c, lookup)),
  ].filter((p) => p !== '');
  if (parts.length <= 1) return parts[0] ?? '';
  return parts.map((p) => `(${p})`).join(' && ');
}

export const histogramName = 'h';

/** Where the request reads: the dataset alone, or the samples (data and simulation) it is compared with. */
export function requestSource(state: AnalyserState): Pick<AnalysisRequest, 'dataset' | 'datasets' | 'luminosity'> {
  if (state.datasets.length === 0) return { dataset: state.dataset };
  const source: Pick<AnalysisRequest, 'datasets' | 'luminosity'> = { datasets: state.datasets.slice() };
  if (state.luminosity !== undefined) source.luminosity = state.luminosity;
  return source;
}

export function toRequest(state: AnalyserState, lookup: VariableLookup = () => undefined): AnalysisRequest {
  const request: AnalysisRequest = {
    ...requestSource(state),
    histograms: [{ name: histogramName, expr: state.expr, bins: state.bins, min: state.min, max: state.max }],
  };
  if (state.tree !== '') request.tree = state.tree;
  const selection = fullSelection(state, lookup);
  if (selection !== '') request.selection = selection;
  if (state.weight.trim() !== '') request.weight = state.weight.trim();
  return request;
}

function encodeCut(cut: Cut): string {
  switch (cut.kind) {
    case 'slider':
      return ['s', cut.op, cut.value, cut.min, cut.max, cut.expr].join('~');
    case 'expr':
      return `e~${cut.text}`;
    case 'var':
      return ['v', cut.op, cut.value, cut.variable].join('~');
    case 'range':
      return ['r', cut.lo, cut.hi, cut.variable].join('~');
  }
}

export function encodeState(state: AnalyserState): string {
  const p = new URLSearchParams();
  if (state.mode !== 'plot') p.set('mode', state.mode);
  p.set('dataset', state.dataset);
  for (const d of state.datasets) p.append('ds', d);
  if (state.luminosity !== undefined) p.set('lumi', String(state.luminosity));
  if (state.variable) p.set('var', state.variable);
  if (state.fit) p.set('fit', [state.fit.shape, state.fit.degree, state.fit.lo, state.fit.hi].join('~'));
  if (state.preset) p.set('preset', state.preset);
  if (state.tree) p.set('tree', state.tree);
  p.set('expr', state.expr);
  p.set('bins', String(state.bins));
  p.set('min', String(state.min));
  p.set('max', String(state.max));
  if (state.selection) p.set('sel', state.selection);
  if (state.weight) p.set('w', state.weight);
  for (const cut of state.cuts) p.append('cut', encodeCut(cut));
  if (state.log) p.set('log', '1');
  if (state.rebin !== 1) p.set('rebin', String(state.rebin));
  if (state.window) p.set('win', state.window.join(','));
  for (const s of state.signal) p.append('sig', s);
  if (state.run) p.set('run', '1');
  return p.toString();
}

function finite(text: string | null, fallback: number): number {
  if (text === null || text.trim() === '') return fallback;
  const n = Number(text);
  return Number.isFinite(n) ? n : fallback;
}

export function decodeCut(text: string): Cut | undefined {
  if (text.startsWith('e~')) return { kind: 'expr', text: text.slice(2) };
  if (text.startsWith('v~')) {
    const [, op, value, ...rest] = text.split('~');
    const variable = rest.join('~');
    if (!cutOps.includes(op as CutOp) || variable === '' || !Number.isFinite(Number(value))) return undefined;
    return { kind: 'var', op: op as CutOp, value: Number(value), variable };
  }
  if (text.startsWith('r~')) {
    const [, lo, hi, ...rest] = text.split('~');
    const variable = rest.join('~');
    const a = Number(lo);
    const b = Number(hi);
    if (variable === '' || !Number.isFinite(a) || !Number.isFinite(b) || !(b > a)) return undefined;
    return { kind: 'range', lo: a, hi: b, variable };
  }
  if (!text.startsWith('s~')) return undefined;
  const parts = text.split('~');
  const [, op, value, min, max] = parts;
  const expr = parts.slice(5).join('~');
  if (!cutOps.includes(op as CutOp) || expr === '') return undefined;
  const lo = finite(min ?? null, 0);
  const hi = finite(max ?? null, 100);
  return { kind: 'slider', op: op as CutOp, value: finite(value ?? null, lo), min: lo, max: hi, expr };
}

/** Reads a fragment (with or without '#'); anything missing or malformed keeps its default. */
export function decodeState(hash: string): AnalyserState {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const state = defaultState();
  state.mode = p.get('mode') === 'linked' ? 'linked' : 'plot';
  state.dataset = p.get('dataset') ?? '';
  state.datasets = p.getAll('ds').filter((d) => d !== '');
  const lumi = finite(p.get('lumi'), Number.NaN);
  state.luminosity = lumi > 0 ? lumi : undefined;
  state.variable = p.get('var') ?? '';
  const [shape, degree, flo, fhi] = (p.get('fit') ?? '').split('~');
  if ((shape === 'gauss' || shape === 'bw') && Number(fhi) > Number(flo))
    state.fit = {
      shape,
      degree: Math.max(0, Math.min(3, Math.round(finite(degree ?? null, 1)))),
      lo: Number(flo),
      hi: Number(fhi),
    };
  state.preset = p.get('preset') ?? '';
  state.tree = p.get('tree') ?? '';
  state.expr = p.get('expr') ?? '';
  state.bins = Math.max(1, Math.min(10000, Math.round(finite(p.get('bins'), state.bins))));
  state.min = finite(p.get('min'), state.min);
  state.max = finite(p.get('max'), state.max);
  state.selection = p.get('sel') ?? '';
  state.weight = p.get('w') ?? '';
  state.cuts = p.getAll('cut').flatMap((c) => decodeCut(c) ?? []);
  state.log = p.get('log') === '1';
  state.rebin = Math.max(1, Math.round(finite(p.get('rebin'), 1)));
  const win = (p.get('win') ?? '').split(',');
  const [lo, hi] = win.map((w) => finite(w, Number.NaN));
  if (win.length === 2 && lo !== undefined && hi !== undefined && hi > lo) state.window = [lo, hi];
  state.signal = p.getAll('sig');
  state.run = p.get('run') === '1';
  return state;
}
