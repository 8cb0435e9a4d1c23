/**
 * Linked histograms (after the ATLAS Open Data histogram analyser): four to eight variables of the preset drawn
 * together; each shows the events passing every cut but its own, so dragging a range on one cuts all the others.
 * A dragged range is an ordinary `range` cut of the state, the same as one typed in the form. Histograms that
 * share a selection go to the service in one request.
 *
 * While the pointer drags, the other histograms follow live: the moves are coalesced to one per animation frame,
 * at most one request is in flight (the newest range waits for it, the ranges in between are dropped), and
 * results are cached by request, so dragging back over a range, and the redraw at release, ask the service nothing
 * again. The dragged histogram itself keeps its plot (and the pointer's capture) until the release.
 */
import type { Api, AnalysisRequest, AnalysisResult } from '../shared/api.ts';
import { el } from '../shared/dom.ts';
import { formatNumber, t } from '../shared/i18n.ts';
import { fromSampleResults, fromTH1, groupSamples, total, type Sample } from './model.ts';
import { type AnalyserState, type VariableLookup, fullSelection, requestSource } from './state.ts';
import { drawPlot } from './svgplot.ts';
import { axisTitle, type Variable } from './variables.ts';

export function linkedVariables(all: Variable[]): Variable[] {
  return all.length < 4 ? all : all.slice(0, 8);
}

export interface LinkedOptions {
  api: Api;
  state: AnalyserState;
  variables: Variable[];
  lookup: VariableLookup;
  isCurrent: () => boolean;
  onBrush: (variable: string, lo: number, hi: number) => void;
  /** Called after each live redraw during a drag, with the range it shows (for tests and scripts). */
  onPreview?: (variable: string, lo: number, hi: number) => void;
  onClear: (variable: string) => void;
}

/** The selection histogram `v` is drawn with: every cut except those on `v` itself. */
export function linkedSelection(state: AnalyserState, v: Variable, lookup: VariableLookup): string {
  return fullSelection(state, lookup, (c) => (c.kind === 'range' || c.kind === 'var') && c.variable === v.id);
}

/** The state with a dragged range on `variable`: its range cut moved, or a new one (what a release makes too). */
export function withRange(state: AnalyserState, variable: string, lo: number, hi: number): AnalyserState {
  let found = false;
  const cuts = state.cuts.map((c) => {
    if (found || c.kind !== 'range' || c.variable !== variable) return c;
    found = true;
    return { ...c, lo, hi };
  });
  if (!found) cuts.push({ kind: 'range', variable, lo, hi });
  return { ...state, cuts };
}

/** The requests that draw `vars` under `state`: one per distinct selection, with those histograms. */
export function linkedRequests(
  state: AnalyserState,
  vars: Variable[],
  lookup: VariableLookup,
): { selection: string; vars: Variable[]; request: AnalysisRequest }[] {
  const groups = new Map<string, Variable[]>();
  for (const v of vars) {
    const sel = linkedSelection(state, v, lookup);
    groups.set(sel, [...(groups.get(sel) ?? []), v]);
  }
  return [...groups].map(([selection, group]) => {
    const request: AnalysisRequest = {
      ...requestSource(state),
      histograms: group.map((v) => ({ name: v.id, expr: v.expr, bins: v.bins, min: v.min, max: v.max })),
    };
    if (state.tree !== '') request.tree = state.tree;
    if (selection !== '') request.selection = selection;
    if (state.weight !== '') request.weight = state.weight;
    return { selection, vars: group, request };
  });
}

/**
 * Results by histogram: the key is the request without its histograms plus one histogram's spec, the value the
 * result of the request that filled it (which holds that histogram). The data on the key does not change while the
 * page is open, so a group whose every histogram is here asks nothing; the oldest entries go first.
 */
const cache = new Map<string, Promise<AnalysisResult>>();
const CACHE_ENTRIES = 256;

function remember(key: string, result: Promise<AnalysisResult>): void {
  cache.delete(key);
  cache.set(key, result);
  // A failure is not kept: the next try asks again.
  result.catch(() => {
    if (cache.get(key) === result) cache.delete(key);
  });
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
}

function runRequest(api: Api, request: AnalysisRequest): Promise<AnalysisResult> {
  return api
    .run(request)
    .catch((error: unknown) => {
      // The failed request goes with the error, so its message can point into the selection.
      throw Object.assign(error as object, { request });
    })
    .then((a) => {
      if (a.state !== 'done' || a.result === undefined)
        throw Object.assign(new Error(a.error?.message ?? a.state), {
          code: a.error?.code,
          params: a.error?.params,
          request,
        });
      return a.result;
    });
}

type Fetched = { selection: string; v: Variable; result: AnalysisResult }[];

async function fetchLinked(o: LinkedOptions, state: AnalyserState, vars: Variable[]): Promise<Fetched> {
  const groups = await Promise.all(
    linkedRequests(state, vars, o.lookup).map(async ({ selection, vars: group, request }) => {
      const { histograms, ...rest } = request;
      const keys = histograms.map((h) => JSON.stringify([rest, h]));
      const hits = keys.map((k) => cache.get(k));
      let results: AnalysisResult[];
      if (hits.every((h) => h !== undefined)) {
        for (const [i, k] of keys.entries()) remember(k, hits[i]!);
        results = await Promise.all(hits);
      } else {
        const result = runRequest(o.api, request);
        for (const k of keys) remember(k, result);
        const r = await result;
        results = group.map(() => r);
      }
      return group.map((v, i) => ({ selection, v, result: results[i]! }));
    }),
  );
  return groups.flat();
}

function samplesOf(result: AnalysisResult, v: Variable): Sample[] {
  if (result.samples !== undefined) return fromSampleResults(result.samples, v.id);
  const grouped = groupSamples([], result.byFile, v.id);
  if (grouped.length > 0) return grouped;
  const h = result.histograms[v.id];
  return h !== undefined ? [{ name: v.id, kind: 'simulation', files: [], hist: fromTH1(h) }] : [];
}

/** Draws (or redraws, during a drag) one variable's plot and total into its cell. */
function fillCell(
  cell: HTMLElement,
  v: Variable,
  selection: string,
  result: AnalysisResult,
  state: AnalyserState,
  o: LinkedOptions,
  onBrushMove: (v: Variable, lo: number, hi: number) => void,
): void {
  const merged = result.histograms[v.id];
  const sum = merged === undefined ? 0 : total(fromTH1(merged));
  cell.dataset.total = String(sum);
  cell.dataset.selection = selection;
  cell.querySelector('.linked-total')!.textContent = formatNumber(sum, 5);
  const readout = cell.querySelector<HTMLElement>('.readout')!;
  const cut = state.cuts.find((c) => c.kind === 'range' && c.variable === v.id);
  drawPlot(cell.querySelector<HTMLElement>('.linked-plot')!, {
    samples: samplesOf(result, v),
    xTitle: axisTitle(v),
    yTitle: t('plot.events'),
    log: false,
    rebin: 1,
    compact: true,
    title: t(v.label),
    brush: cut?.kind === 'range' ? [cut.lo, cut.hi] : undefined,
    onBrush: (lo, hi) => o.onBrush(v.id, lo, hi),
    onBrushMove: (lo, hi) => onBrushMove(v, lo, hi),
    onReadout: (text) => (readout.textContent = text),
  }).svg.setAttribute('aria-label', t('linked.plotLabel', { name: t(v.label) }));
}

export async function drawLinked(container: HTMLElement, o: LinkedOptions): Promise<void> {
  const results = await fetchLinked(o, o.state, o.variables);
  if (!o.isCurrent()) return;
  const cells = new Map<string, HTMLElement>();
  const fills: (() => void)[] = [];

  // The live preview of a drag: the newest range waits here for the one request in flight.
  let pending: { v: Variable; lo: number; hi: number } | undefined;
  let frame = 0;
  let busy = false;
  const pump = async (): Promise<void> => {
    if (busy || pending === undefined) return;
    const { v, lo, hi } = pending;
    pending = undefined;
    busy = true;
    try {
      const preview = withRange(o.state, v.id, lo, hi);
      const others = o.variables.filter((w) => w.id !== v.id);
      const fetched = await fetchLinked(o, preview, others);
      if (!o.isCurrent()) return;
      for (const { selection, v: w, result } of fetched)
        fillCell(cells.get(w.id)!, w, selection, result, preview, o, onBrushMove);
      o.onPreview?.(v.id, lo, hi);
    } catch {
      // A preview that fails shows nothing new; the release runs the real request and reports its error.
    } finally {
      busy = false;
      if (pending !== undefined && frame === 0) frame = requestAnimationFrame(tick);
    }
  };
  const tick = () => {
    frame = 0;
    void pump();
  };
  const onBrushMove = (v: Variable, lo: number, hi: number) => {
    if (!o.isCurrent()) return;
    pending = { v, lo, hi };
    if (frame === 0 && !busy) frame = requestAnimationFrame(tick);
  };

  for (const { selection, v, result } of results) {
    const cut = o.state.cuts.find((c) => c.kind === 'range' && c.variable === v.id);
    const clear = el('button', { type: 'button', class: 'linked-clear', hidden: cut === undefined }, t('linked.clear'));
    clear.addEventListener('click', () => o.onClear(v.id));
    const cell = el(
      'figure',
      { class: 'linked-cell', 'data-variable': v.id },
      el('div', { class: 'linked-plot' }),
      el('figcaption', { class: 'row' }, el('span', {}, `${t(v.label)}: `, el('b', { class: 'linked-total' })), clear),
      el('p', { class: 'readout muted', 'aria-live': 'polite' }),
    );
    cells.set(v.id, cell);
    // Drawn once the cell is in the page, so it takes the grid's width.
    fills.push(() => fillCell(cell, v, selection, result, o.state, o, onBrushMove));
  }
  // Keep the preset's order whatever order the requests came back in.
  container.replaceChildren(...o.variables.flatMap((v) => cells.get(v.id) ?? []));
  for (const fill of fills) fill();
  await new Promise((resolve) => setTimeout(resolve, 0));
}
