/**
 * Linked histograms (after the ATLAS Open Data histogram analyser): four to eight variables of the preset drawn
 * together; each shows the events passing every cut but its own, so dragging a range on one cuts all the others.
 * A dragged range is an ordinary `range` cut of the state, the same as one typed in the form. Histograms that
 * share a selection go to the service in one request.
 */
import type { Api, AnalysisRequest } from '../shared/api.ts';
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
  onClear: (variable: string) => void;
}

/** The selection histogram `v` is drawn with: every cut except those on `v` itself. */
export function linkedSelection(state: AnalyserState, v: Variable, lookup: VariableLookup): string {
  return fullSelection(state, lookup, (c) => (c.kind === 'range' || c.kind === 'var') && c.variable === v.id);
}

export async function drawLinked(container: HTMLElement, o: LinkedOptions): Promise<void> {
  const groups = new Map<string, Variable[]>();
  for (const v of o.variables) {
    const sel = linkedSelection(o.state, v, o.lookup);
    groups.set(sel, [...(groups.get(sel) ?? []), v]);
  }
  const results = await Promise.all(
    [...groups].map(async ([selection, vars]) => {
      const request: AnalysisRequest = {
        ...requestSource(o.state),
        histograms: vars.map((v) => ({ name: v.id, expr: v.expr, bins: v.bins, min: v.min, max: v.max })),
      };
      if (o.state.tree !== '') request.tree = o.state.tree;
      if (selection !== '') request.selection = selection;
      if (o.state.weight !== '') request.weight = o.state.weight;
      // The failed request goes with the error, so its message can point into the selection.
      const a = await o.api.run(request).catch((error: unknown) => {
        throw Object.assign(error as object, { request });
      });
      if (a.state !== 'done' || a.result === undefined)
        throw Object.assign(new Error(a.error?.message ?? a.state), {
          code: a.error?.code,
          params: a.error?.params,
          request,
        });
      return { selection, vars, result: a.result };
    }),
  );
  if (!o.isCurrent()) return;
  const cells: HTMLElement[] = [];
  for (const { selection, vars, result } of results) {
    for (const v of vars) {
      const samples: Sample[] =
        result.samples !== undefined
          ? fromSampleResults(result.samples, v.id)
          : groupSamples([], result.byFile, v.id).length > 0
            ? groupSamples([], result.byFile, v.id)
            : result.histograms[v.id] !== undefined
              ? [{ name: v.id, kind: 'simulation', files: [], hist: fromTH1(result.histograms[v.id]!) }]
              : [];
      const merged = result.histograms[v.id];
      const sum = merged === undefined ? 0 : total(fromTH1(merged));
      const cut = o.state.cuts.find((c) => c.kind === 'range' && c.variable === v.id);
      const plot = el('div', { class: 'linked-plot' });
      const readout = el('p', { class: 'readout muted', 'aria-live': 'polite' });
      const clear = el(
        'button',
        { type: 'button', class: 'linked-clear', hidden: cut === undefined },
        t('linked.clear'),
      );
      clear.addEventListener('click', () => o.onClear(v.id));
      const cell = el(
        'figure',
        { class: 'linked-cell', 'data-variable': v.id, 'data-total': sum, 'data-selection': selection },
        plot,
        el(
          'figcaption',
          { class: 'row' },
          el('span', {}, `${t(v.label)}: `, el('b', { class: 'linked-total' }, formatNumber(sum, 5))),
          clear,
        ),
        readout,
      );
      cells.push(cell);
      // Drawn once the cell is in the page, so it takes the grid's width.
      queueMicrotask(() =>
        drawPlot(plot, {
          samples,
          xTitle: axisTitle(v),
          yTitle: t('plot.events'),
          log: false,
          rebin: 1,
          compact: true,
          title: t(v.label),
          brush: cut?.kind === 'range' ? [cut.lo, cut.hi] : undefined,
          onBrush: (lo, hi) => o.onBrush(v.id, lo, hi),
          onReadout: (text) => (readout.textContent = text),
        }).svg.setAttribute('aria-label', t('linked.plotLabel', { name: t(v.label) })),
      );
    }
  }
  // Keep the preset's order whatever order the requests came back in.
  const order = new Map(o.variables.map((v, i) => [v.id, i]));
  cells.sort((a, b) => (order.get(a.dataset.variable ?? '') ?? 0) - (order.get(b.dataset.variable ?? '') ?? 0));
  container.replaceChildren(...cells);
  await new Promise((resolve) => setTimeout(resolve, 0));
}
