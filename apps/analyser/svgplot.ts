/**
 * The analyser's plot as plain SVG: simulation stacked by process, its statistical uncertainty as a hatched band,
 * data as points with √N errors, a data/simulation ratio panel, axis titles with units, a fitted curve, a bin
 * readout on hover and from the keyboard, and (for the linked view) a range dragged with the pointer. Drawn by
 * hand rather than with JSROOT because the readout, the drag and the ratio panel need to know every pixel's bin.
 */
import { formatNumber, t } from '../shared/i18n.ts';
import type { FitResult } from './fit.ts';
import { type Hist, type Sample, binEdges, rebin, simulationTotal } from './model.ts';

const SVG = 'http://www.w3.org/2000/svg';

/** Colour-blind-safe palette (Okabe–Ito, then Tol's muted), in stacking order. */
const PALETTE = ['#56B4E9', '#E69F00', '#009E73', '#CC79A7', '#0072B2', '#D55E00', '#F0E442', '#88CCEE', '#999933'];

export function sampleColour(index: number): string {
  return PALETTE[index % PALETTE.length] ?? '#888';
}

export interface PlotOptions {
  samples: Sample[];
  xTitle: string;
  yTitle: string;
  log: boolean;
  rebin: number;
  window?: [number, number] | undefined;
  fit?: FitResult | undefined;
  /** The data/simulation panel, when there are both. */
  ratio?: boolean;
  /** Small plots of the linked view: fewer ticks, no legend. */
  compact?: boolean;
  /** A range shown as selected (the linked view's cut on this variable). */
  brush?: [number, number] | undefined;
  /** Called with the range the pointer dragged, snapped to bin edges. */
  onBrush?: (lo: number, hi: number) => void;
  /** Called while the pointer drags, with the range so far (snapped like onBrush's), each time it changes. */
  onBrushMove?: (lo: number, hi: number) => void;
  /** Called with the bin under the pointer or the keyboard's bin (0 when none). */
  onReadout?: (text: string) => void;
  width?: number;
  height?: number;
  title?: string;
}

/** Below this width (a phone) the legend goes under the plot instead of into its top right corner. */
const LEGEND_BESIDE_MIN_WIDTH = 520;

function node<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  parent?: Element,
): SVGElementTagNameMap[K] {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  parent?.append(n);
  return n;
}

function text(parent: Element, x: number, y: number, content: string, attrs: Record<string, string | number> = {}) {
  const n = node('text', { x, y, 'font-size': 12, fill: '#1b1f24', ...attrs }, parent);
  n.textContent = content;
  return n;
}

/** Round tick steps (1, 2, 5 × 10ⁿ) for about `target` ticks over [lo, hi]. */
export function niceTicks(lo: number, hi: number, target: number): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * span; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function stepPath(h: Hist, x: (v: number) => number, y: (v: number) => number, base: number[], top: number[]): string {
  const up: string[] = [];
  const down: string[] = [];
  for (let b = 1; b <= h.nbins; b++) {
    const [a, z] = binEdges(h, b);
    up.push(`${x(a).toFixed(1)},${y(top[b]!).toFixed(1)}`, `${x(z).toFixed(1)},${y(top[b]!).toFixed(1)}`);
    // Pushed left to right and reversed below: the lower edge is walked right to left, bin by bin.
    down.push(`${x(a).toFixed(1)},${y(base[b]!).toFixed(1)}`, `${x(z).toFixed(1)},${y(base[b]!).toFixed(1)}`);
  }
  return `M${up.join('L')}L${down.reverse().join('L')}Z`;
}

export interface DrawnPlot {
  svg: SVGSVGElement;
  /** The histograms as drawn (rebinned), for the readout and tests. */
  data: Hist | undefined;
  total: Hist | undefined;
}

export function drawPlot(container: HTMLElement, options: PlotOptions): DrawnPlot {
  const width = Math.max(260, Math.round(options.width ?? (container.clientWidth || 640)));
  const compact = options.compact === true;
  const samples = options.samples.map((s) => ({ ...s, hist: rebin(s.hist, options.rebin) }));
  const sim = samples.filter((s) => s.kind === 'simulation');
  const dataSamples = samples.filter((s) => s.kind === 'data');
  const total = simulationTotal(samples);
  let data: Hist | undefined;
  for (const d of dataSamples) {
    if (data === undefined) data = { ...d.hist, values: d.hist.values.slice(), sumw2: d.hist.sumw2.slice() };
    else
      for (let i = 0; i < data.values.length; i++) {
        data.values[i] = data.values[i]! + (d.hist.values[i] ?? 0);
        data.sumw2[i] = data.sumw2[i]! + (d.hist.sumw2[i] ?? 0);
      }
  }
  const withRatio = options.ratio === true && data !== undefined && total !== undefined && !compact;
  const mainHeight = Math.round(options.height ?? (compact ? 170 : Math.min(460, Math.max(240, width * 0.55))));
  const ratioHeight = withRatio ? Math.round(mainHeight * 0.3) : 0;
  const m = compact
    ? { l: 44, r: 16, t: options.title ? 20 : 8, b: 34 }
    : { l: 62, r: 14, t: 12, b: withRatio ? 8 : 44 };
  const plotHeight = mainHeight + (withRatio ? ratioHeight + 44 : 0);
  // Legend: data first, then the stack from its top. Beside the data in the top right corner where the plot is wide;
  // below the plot, in as many columns as fit, on a phone, where a corner legend would cover the peak.
  const entries: { label: string; kind: 'data' | 'fill' | 'band' | 'fit'; colour?: string }[] = [];
  if (!compact && samples.length > 0) {
    if (data !== undefined) entries.push({ label: t('plot.data'), kind: 'data' });
    for (let i = sim.length - 1; i >= 0; i--)
      entries.push({ label: sim[i]!.name, kind: 'fill', colour: sampleColour(i) });
    if (total !== undefined) entries.push({ label: t('plot.uncertainty'), kind: 'band' });
    if (options.fit !== undefined) entries.push({ label: t('plot.fit'), kind: 'fit' });
  }
  const legendBelow = width < LEGEND_BESIDE_MIN_WIDTH;
  const legendColumn = 150;
  const legendColumns = legendBelow ? Math.max(1, Math.floor((width - 10) / legendColumn)) : 1;
  const legendRows = Math.ceil(entries.length / legendColumns);
  const legendHeight = legendBelow && entries.length > 0 ? legendRows * 18 + 10 : 0;
  const height = plotHeight + legendHeight;
  const svg = node('svg', {
    xmlns: SVG,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    'font-family': 'system-ui, DejaVu Sans, sans-serif',
    tabindex: 0,
    role: 'img',
  });
  node('rect', { x: 0, y: 0, width, height, fill: '#fff' }, svg);
  const defs = node('defs', {}, svg);
  const hatch = node(
    'pattern',
    { id: `hatch-${Math.random().toString(36).slice(2, 8)}`, patternUnits: 'userSpaceOnUse', width: 6, height: 6 },
    defs,
  );
  node('path', { d: 'M0,6L6,0M-1,1L1,-1M5,7L7,5', stroke: '#333', 'stroke-width': 1 }, hatch);

  const ref = total ?? data ?? samples[0]?.hist;
  const xmin = ref?.min ?? 0;
  const xmax = ref?.max ?? 1;
  const pw = width - m.l - m.r;
  const ph = mainHeight - m.t - m.b;
  const x = (v: number) => m.l + ((v - xmin) / (xmax - xmin)) * pw;

  // y range: the stack's top with its error, the data with theirs.
  let ymax = 0;
  let ymin = Infinity;
  for (const h of [total, data]) {
    if (h === undefined) continue;
    for (let b = 1; b <= h.nbins; b++) {
      const v = h.values[b]!;
      ymax = Math.max(ymax, v + Math.sqrt(h.sumw2[b]!));
      if (v > 0) ymin = Math.min(ymin, v);
    }
  }
  if (!(ymax > 0)) ymax = 1;
  if (!Number.isFinite(ymin)) ymin = 0.1;
  const log = options.log;
  const top = log ? ymax * 8 : ymax * (compact ? 1.1 : 1.3);
  const bottom = log ? Math.max(ymin / 3, 1e-4) : 0;
  const y = (v: number) => {
    if (log) {
      const l = Math.log10(Math.max(v, bottom));
      return m.t + ph - ((l - Math.log10(bottom)) / (Math.log10(top) - Math.log10(bottom))) * ph;
    }
    return m.t + ph - ((v - bottom) / (top - bottom)) * ph;
  };

  // The frame of the data (tests check that nothing else, the legend above all, is drawn over it).
  node('rect', { x: m.l, y: m.t, width: pw, height: ph, fill: 'none', class: 'data-region' }, svg);
  const plot = node('g', {}, svg);
  node('clipPath', { id: 'none' }, defs);
  // Stack.
  if (ref !== undefined) {
    let base = Array.from({ length: ref.nbins + 2 }, () => (log ? bottom : 0));
    sim.forEach((s, i) => {
      const topv = base.map((v, b) => v + (s.hist.values[b] ?? 0));
      node(
        'path',
        {
          d: stepPath(s.hist, x, y, base, topv),
          fill: sampleColour(i),
          stroke: '#1b1f24',
          'stroke-width': 0.6,
          'data-sample': s.name,
        },
        plot,
      );
      base = topv;
    });
    // Statistical uncertainty of the simulation: hatched band over total ± √Σw².
    if (total !== undefined) {
      const lo = total.values.map((v, b) => Math.max(log ? bottom : 0, v - Math.sqrt(total.sumw2[b]!)));
      const hi = total.values.map((v, b) => v + Math.sqrt(total.sumw2[b]!));
      node(
        'path',
        { d: stepPath(total, x, y, lo, hi), fill: `url(#${hatch.id})`, stroke: 'none', class: 'band' },
        plot,
      );
    }
  }
  // Fit.
  if (options.fit !== undefined) {
    const f = options.fit;
    // The fit is made to the histogram as drawn (rebinned), so its curve is in the drawn bins' units.
    const scale = 1;
    const pts: string[] = [];
    const bpts: string[] = [];
    for (let i = 0; i <= 200; i++) {
      const v = f.lo + ((f.hi - f.lo) * i) / 200;
      pts.push(`${x(v).toFixed(1)},${y(f.curve(v) * scale).toFixed(1)}`);
      bpts.push(`${x(v).toFixed(1)},${y(f.background(v) * scale).toFixed(1)}`);
    }
    node(
      'path',
      { d: `M${bpts.join('L')}`, fill: 'none', stroke: '#c0392b', 'stroke-width': 1.5, 'stroke-dasharray': '5 4' },
      plot,
    );
    node('path', { d: `M${pts.join('L')}`, fill: 'none', stroke: '#c0392b', 'stroke-width': 2.2, class: 'fit' }, plot);
  }
  // Data points with √N errors.
  if (data !== undefined) {
    const bars: string[] = [];
    const g = node('g', { class: 'data' }, plot);
    for (let b = 1; b <= data.nbins; b++) {
      const v = data.values[b]!;
      if (v <= 0) continue;
      const [a, z] = binEdges(data, b);
      const cx = x((a + z) / 2);
      const e = Math.sqrt(data.sumw2[b]!);
      bars.push(`M${cx.toFixed(1)},${y(v - e).toFixed(1)}V${y(v + e).toFixed(1)}`);
      node('circle', { cx: cx.toFixed(1), cy: y(v).toFixed(1), r: compact ? 2 : 3, fill: '#000' }, g);
    }
    node('path', { d: bars.join(''), stroke: '#000', 'stroke-width': 1.2 }, g);
  }
  // Window lines (S/√B) and the linked view's range.
  if (options.window !== undefined) {
    for (const w of options.window)
      node(
        'line',
        { x1: x(w), x2: x(w), y1: m.t, y2: m.t + ph, stroke: '#d62728', 'stroke-width': 2, 'stroke-dasharray': '6 4' },
        plot,
      );
  }
  const brushRect = node(
    'rect',
    { y: m.t, height: ph, fill: '#1d4f91', 'fill-opacity': 0.18, stroke: '#1d4f91', class: 'brush' },
    svg,
  );
  const showBrush = (lo: number, hi: number) => {
    brushRect.setAttribute('x', String(Math.min(x(lo), x(hi))));
    brushRect.setAttribute('width', String(Math.abs(x(hi) - x(lo))));
    brushRect.setAttribute('visibility', 'visible');
  };
  brushRect.setAttribute('visibility', 'hidden');
  if (options.brush !== undefined) showBrush(options.brush[0], options.brush[1]);

  // Axes.
  const axes = node('g', { stroke: '#1b1f24', 'stroke-width': 1, fill: 'none' }, svg);
  node('rect', { x: m.l, y: m.t, width: pw, height: ph }, axes);
  const xt = niceTicks(xmin, xmax, compact ? 4 : Math.max(4, Math.round(pw / 80)));
  for (const v of xt) {
    node('path', { d: `M${x(v)},${m.t + ph}v-6M${x(v)},${m.t}v6` }, axes);
    if (!withRatio) text(svg, x(v), m.t + ph + 15, formatNumber(v), { 'text-anchor': 'middle' });
  }
  const yTicks = log
    ? Array.from({ length: 12 }, (_, i) => 10 ** (Math.floor(Math.log10(bottom)) + i)).filter(
        (v) => v >= bottom && v <= top,
      )
    : niceTicks(0, top, compact ? 3 : 5);
  for (const v of yTicks) {
    node('path', { d: `M${m.l},${y(v)}h6M${m.l + pw},${y(v)}h-6` }, axes);
    text(svg, m.l - 4, y(v) + 4, formatNumber(v, 3), { 'text-anchor': 'end', 'font-size': compact ? 10 : 12 });
  }
  const titleY = withRatio ? plotHeight - 8 : m.t + ph + (compact ? 28 : 34);
  text(svg, m.l + pw, titleY, options.xTitle, {
    'text-anchor': 'end',
    'font-size': compact ? 11 : 13,
    class: 'x-title',
  });
  if (!compact)
    text(svg, 14, m.t, options.yTitle, {
      'text-anchor': 'end',
      transform: `rotate(-90 14 ${m.t})`,
      'font-size': 13,
      class: 'y-title',
    });
  if (options.title) text(svg, m.l, 14, options.title, { 'font-size': 12, 'font-weight': 600 });

  // Ratio panel: data / simulation with the data's errors, and the simulation's relative uncertainty.
  if (withRatio && data !== undefined && total !== undefined) {
    const r0 = mainHeight;
    const rh = ratioHeight;
    const ry = (v: number) => r0 + rh - ((Math.min(Math.max(v, 0.5), 1.5) - 0.5) / 1.0) * rh;
    const g = node('g', {}, svg);
    const lo = total.values.map((v, b) => (v > 0 ? 1 - Math.sqrt(total.sumw2[b]!) / v : 1));
    const hi = total.values.map((v, b) => (v > 0 ? 1 + Math.sqrt(total.sumw2[b]!) / v : 1));
    node('path', { d: stepPath(total, x, ry, lo, hi), fill: `url(#${hatch.id})`, stroke: 'none' }, g);
    node('line', { x1: m.l, x2: m.l + pw, y1: ry(1), y2: ry(1), stroke: '#888', 'stroke-dasharray': '4 3' }, g);
    const bars: string[] = [];
    for (let b = 1; b <= data.nbins; b++) {
      const d = data.values[b]!;
      const s = total.values[b]!;
      if (d <= 0 || s <= 0) continue;
      const [a, z] = binEdges(data, b);
      const cx = x((a + z) / 2);
      const r = d / s;
      const e = Math.sqrt(data.sumw2[b]!) / s;
      bars.push(`M${cx.toFixed(1)},${ry(r - e).toFixed(1)}V${ry(r + e).toFixed(1)}`);
      if (r >= 0.5 && r <= 1.5) node('circle', { cx: cx.toFixed(1), cy: ry(r).toFixed(1), r: 2.5, fill: '#000' }, g);
    }
    node('path', { d: bars.join(''), stroke: '#000', 'stroke-width': 1.1 }, g);
    const ra = node('g', { stroke: '#1b1f24', fill: 'none' }, svg);
    node('rect', { x: m.l, y: r0, width: pw, height: rh }, ra);
    for (const v of [0.5, 1, 1.5]) {
      node('path', { d: `M${m.l},${ry(v)}h5` }, ra);
      text(svg, m.l - 4, ry(v) + 4, formatNumber(v), { 'text-anchor': 'end', 'font-size': 11 });
    }
    for (const v of xt) {
      node('path', { d: `M${x(v)},${r0 + rh}v-5` }, ra);
      text(svg, x(v), r0 + rh + 15, formatNumber(v), { 'text-anchor': 'middle' });
    }
    text(svg, 14, r0 + rh / 2, t('plot.ratio'), {
      'text-anchor': 'middle',
      transform: `rotate(-90 14 ${r0 + rh / 2})`,
      'font-size': 12,
    });
  }

  if (entries.length > 0) {
    const legend = node('g', { class: 'legend' }, svg);
    const maxChars = legendBelow ? 17 : 20;
    entries.forEach((e, i) => {
      const lx = legendBelow ? 10 + (i % legendColumns) * legendColumn : m.l + pw - 150;
      const ly = legendBelow ? plotHeight + 14 + Math.floor(i / legendColumns) * 18 : m.t + 14 + i * 18;
      if (e.kind === 'data') {
        node('circle', { cx: lx + 9, cy: ly - 4, r: 3, fill: '#000' }, legend);
        node('path', { d: `M${lx + 9},${ly - 10}V${ly + 2}`, stroke: '#000' }, legend);
      } else if (e.kind === 'fit') {
        node('path', { d: `M${lx},${ly - 4}h18`, stroke: '#c0392b', 'stroke-width': 2.2 }, legend);
      } else {
        node(
          'rect',
          {
            x: lx,
            y: ly - 10,
            width: 18,
            height: 11,
            fill: e.kind === 'band' ? `url(#${hatch.id})` : e.colour!,
            stroke: '#1b1f24',
            'stroke-width': 0.6,
          },
          legend,
        );
      }
      text(legend, lx + 24, ly, e.label.length > maxChars ? `${e.label.slice(0, maxChars - 1)}…` : e.label);
    });
  }

  // Readout: the bin under the pointer, or moved with the arrow keys.
  const cursor = node(
    'rect',
    { y: m.t, height: ph, fill: '#f59e0b', 'fill-opacity': 0.25, visibility: 'hidden', 'pointer-events': 'none' },
    svg,
  );
  let activeBin = 0;
  const grid = ref;
  const showBin = (b: number) => {
    if (grid === undefined) return;
    activeBin = Math.max(1, Math.min(grid.nbins, b));
    const [a, z] = binEdges(grid, activeBin);
    cursor.setAttribute('x', String(x(a)));
    cursor.setAttribute('width', String(Math.max(1, x(z) - x(a))));
    cursor.setAttribute('visibility', 'visible');
    const parts = [`${formatNumber(a)} – ${formatNumber(z)}`];
    if (data !== undefined)
      parts.push(
        `${t('plot.data')} ${formatNumber(data.values[activeBin]!)} ± ${formatNumber(Math.sqrt(data.sumw2[activeBin]!), 3)}`,
      );
    if (total !== undefined)
      parts.push(
        `${t('plot.simulation')} ${formatNumber(total.values[activeBin]!, 4)} ± ${formatNumber(Math.sqrt(total.sumw2[activeBin]!), 2)}`,
      );
    if (sim.length > 1) for (const s of sim) parts.push(`${s.name} ${formatNumber(s.hist.values[activeBin]!, 4)}`);
    options.onReadout?.(parts.join(' · '));
  };
  const binAt = (clientX: number) => {
    if (grid === undefined) return 0;
    const box = svg.getBoundingClientRect();
    const px = ((clientX - box.left) * width) / (box.width || width);
    const v = xmin + ((px - m.l) / pw) * (xmax - xmin);
    return Math.floor(((v - xmin) / (xmax - xmin)) * grid.nbins) + 1;
  };
  const valueAt = (clientX: number) => {
    const box = svg.getBoundingClientRect();
    const px = ((clientX - box.left) * width) / (box.width || width);
    return xmin + ((Math.min(Math.max(px, m.l), m.l + pw) - m.l) / pw) * (xmax - xmin);
  };
  const snap = (v: number) => {
    if (grid === undefined) return v;
    const w = (grid.max - grid.min) / grid.nbins;
    return Number((grid.min + Math.round((v - grid.min) / w) * w).toPrecision(12));
  };
  svg.addEventListener('pointermove', (event) => {
    const b = binAt(event.clientX);
    if (grid !== undefined && b >= 1 && b <= grid.nbins) showBin(b);
  });
  svg.addEventListener('pointerleave', () => cursor.setAttribute('visibility', 'hidden'));
  svg.addEventListener('keydown', (event) => {
    if (grid === undefined) return;
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, PageDown: -5, PageUp: 5 };
    if (event.key in moves) showBin((activeBin || 1) + (moves[event.key] ?? 0) * (activeBin === 0 ? 0 : 1));
    else if (event.key === 'Home') showBin(1);
    else if (event.key === 'End') showBin(grid.nbins);
    else return;
    event.preventDefault();
  });
  svg.addEventListener('focus', () => {
    if (activeBin === 0 && grid !== undefined) showBin(Math.ceil(grid.nbins / 2));
  });
  if (options.onBrush !== undefined) {
    const onBrush = options.onBrush;
    let start: number | undefined;
    svg.style.touchAction = 'none';
    svg.style.cursor = 'crosshair';
    svg.addEventListener('pointerdown', (event) => {
      start = valueAt(event.clientX);
      svg.setPointerCapture?.(event.pointerId);
      showBrush(start, start);
    });
    let moved = '';
    svg.addEventListener('pointermove', (event) => {
      if (start === undefined) return;
      const end = valueAt(event.clientX);
      showBrush(start, end);
      const lo = snap(Math.min(start, end));
      const hi = snap(Math.max(start, end));
      if (hi > lo && `${lo} ${hi}` !== moved) {
        moved = `${lo} ${hi}`;
        options.onBrushMove?.(lo, hi);
      }
    });
    svg.addEventListener('pointerup', (event) => {
      if (start === undefined) return;
      const end = valueAt(event.clientX);
      const lo = snap(Math.min(start, end));
      const hi = snap(Math.max(start, end));
      start = undefined;
      moved = '';
      if (hi > lo) onBrush(lo, hi);
      else brushRect.setAttribute('visibility', 'hidden');
    });
  }
  container.replaceChildren(svg);
  return { svg, data, total };
}

/** The plot as a standalone SVG document. */
export function svgText(svg: SVGSVGElement): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  for (const n of copy.querySelectorAll('[visibility="hidden"]')) n.remove();
  return new XMLSerializer().serializeToString(copy);
}

/** The plot as a PNG data URL, drawn at twice its size. */
export async function pngDataUrl(svg: SVGSVGElement): Promise<string> {
  const source = svgText(svg);
  const width = Number(svg.getAttribute('width'));
  const height = Number(svg.getAttribute('height'));
  const image = new Image();
  const url = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(source)}`;
  await new Promise<void>((resolve, reject) => {
    image.onload = () => resolve();
    image.onerror = () => reject(new Error('the plot could not be rendered as an image'));
    image.src = url;
  });
  const canvas = document.createElement('canvas');
  canvas.width = width * 2;
  canvas.height = height * 2;
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('no 2D canvas');
  ctx.scale(2, 2);
  ctx.drawImage(image, 0, 0);
  return canvas.toDataURL('image/png');
}
