/**
 * The whole analysis as a URL fragment, so it can be shared (and works the same from any host or port):
 *   #dataset=…&preset=…&expr=…&bins=…&min=…&max=…&sel=…&w=…&cut=…&cut=…&log=1&rebin=2&win=80,100&sig=ZZ&run=1
 * A slider cut is `s~OP~VALUE~MIN~MAX~EXPR` (EXPR last, as it may contain '~'); a typed cut is `e~EXPR`.
 */
import type { AnalysisRequest } from '../shared/api.ts';

export const cutOps = ['>', '>=', '<', '<=', '==', '!='] as const;
export type CutOp = (typeof cutOps)[number];

export type Cut =
  { kind: 'slider'; expr: string; op: CutOp; value: number; min: number; max: number } | { kind: 'expr'; text: string };

export interface AnalyserState {
  dataset: string;
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
    dataset: '',
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

export function cutExpression(cut: Cut): string {
  return cut.kind === 'slider' ? `${paren(cut.expr)} ${cut.op} ${cut.value}` : cut.text.trim();
}

function paren(expr: string): string {
  return /^[A-Za-z_][\w.]*(\[\d+\])?$/.test(expr.trim()) ? expr.trim() : `(${expr.trim()})`;
}

/** The preset's selection and every cut, each in parentheses, joined by &&. */
export function fullSelection(state: AnalyserState): string {
  const parts = [state.selection.trim(), ...state.cuts.map(cutExpression)].filter((p) => p !== '');
  if (parts.length <= 1) return parts[0] ?? '';
  return parts.map((p) => `(${p})`).join(' && ');
}

export const histogramName = 'h';

export function toRequest(state: AnalyserState): AnalysisRequest {
  const request: AnalysisRequest = {
    dataset: state.dataset,
    histograms: [{ name: histogramName, expr: state.expr, bins: state.bins, min: state.min, max: state.max }],
  };
  if (state.tree !== '') request.tree = state.tree;
  const selection = fullSelection(state);
  if (selection !== '') request.selection = selection;
  if (state.weight.trim() !== '') request.weight = state.weight.trim();
  return request;
}

export function encodeState(state: AnalyserState): string {
  const p = new URLSearchParams();
  p.set('dataset', state.dataset);
  if (state.preset) p.set('preset', state.preset);
  if (state.tree) p.set('tree', state.tree);
  p.set('expr', state.expr);
  p.set('bins', String(state.bins));
  p.set('min', String(state.min));
  p.set('max', String(state.max));
  if (state.selection) p.set('sel', state.selection);
  if (state.weight) p.set('w', state.weight);
  for (const cut of state.cuts) {
    p.append(
      'cut',
      cut.kind === 'slider' ? ['s', cut.op, cut.value, cut.min, cut.max, cut.expr].join('~') : `e~${cut.text}`,
    );
  }
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
  state.dataset = p.get('dataset') ?? '';
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
