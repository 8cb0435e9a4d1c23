/** Draws the analyser's result with JSROOT: simulation as a THStack by sample, data as points with √N errors. */
import '../shared/jsroot-settings.ts';
import { getColor } from 'jsroot/colors';
import {
  clTCanvas,
  clTH1D,
  clTHStack,
  clTLegend,
  clTLegendEntry,
  clTLine,
  clTList,
  create,
  createHistogram,
} from 'jsroot/core';
import { cleanup, makeImage, redraw } from 'jsroot/draw';
import { type Hist, type Sample, rebin, simulationTotal } from './model.ts';

/** TH1 bit that hides the statistics box (TH1::kNoStats). */
const kNoStats = 1 << 9;

/** ROOT colour indices for the stacked samples, chosen to stay apart for colour-blind readers. */
const palette = [38, 46, 30, 41, 40, 29, 42, 49, 33, 45, 8, 9];

export function sampleColor(index: number): number {
  return palette[index % palette.length] ?? 38;
}

export function cssColor(index: number): string {
  return String(getColor(sampleColor(index)) ?? '#888');
}

export interface PlotSpec {
  samples: Sample[];
  xTitle: string;
  log: boolean;
  rebin: number;
  window: [number, number] | undefined;
}

// JSROOT's objects are plain JSON-like records; its module has no type declarations.
type RootObject = Record<string, unknown> & { arr?: unknown[]; opt?: string[] };

function list(): RootObject {
  return create(clTList) as RootObject;
}

function add(target: RootObject, obj: unknown, opt = ''): void {
  target.arr?.push(obj);
  target.opt?.push(opt);
}

function th1(h: Hist, name: string, title: string, xTitle: string, yTitle: string): RootObject {
  const json = createHistogram(clTH1D, h.nbins) as RootObject & { fXaxis: RootObject; fYaxis: RootObject };
  json.fXaxis.fXmin = h.min;
  json.fXaxis.fXmax = h.max;
  json.fXaxis.fTitle = xTitle;
  json.fYaxis.fTitle = yTitle;
  json.fYaxis.fTitleOffset = 1.5;
  json.fName = name;
  json.fTitle = title;
  json.fArray = Float64Array.from(h.values);
  json.fSumw2 = h.sumw2.slice();
  json.fEntries = h.values.reduce((a, b) => a + b, 0);
  json.fBits = Number(json.fBits ?? 0) | kNoStats;
  return json;
}

function maxBin(h: Hist, withErrors: boolean): number {
  let m = 0;
  for (let b = 1; b <= h.nbins; b++) {
    const v = (h.values[b] ?? 0) + (withErrors ? Math.sqrt(h.sumw2[b] ?? 0) : 0);
    if (v > m) m = v;
  }
  return m;
}

function minPositive(h: Hist): number {
  let m = Infinity;
  for (let b = 1; b <= h.nbins; b++) {
    const v = h.values[b] ?? 0;
    if (v > 0 && v < m) m = v;
  }
  return Number.isFinite(m) ? m : 1;
}

/** Builds the TCanvas JSROOT draws and exports; the same object is used for the page and for PNG/SVG files. */
export function buildCanvas(spec: PlotSpec): RootObject {
  const canvas = create(clTCanvas) as RootObject;
  canvas.fName = 'openkey';
  canvas.fLogy = spec.log ? 1 : 0;
  canvas.fLeftMargin = 0.14;
  canvas.fRightMargin = 0.04;
  canvas.fTopMargin = 0.06;
  canvas.fBottomMargin = 0.12;
  const primitives = list();
  canvas.fPrimitives = primitives;

  const samples = spec.samples.map((s) => ({ ...s, hist: rebin(s.hist, spec.rebin) }));
  const sim = samples.filter((s) => s.kind === 'simulation');
  const data = samples.filter((s) => s.kind === 'data');
  const total = simulationTotal(samples);
  let ymax = 0;
  let ymin = Infinity;
  if (total !== undefined) {
    ymax = maxBin(total, false);
    ymin = Math.min(ymin, minPositive(total));
  }
  for (const d of data) {
    ymax = Math.max(ymax, maxBin(d.hist, true));
    ymin = Math.min(ymin, minPositive(d.hist));
  }
  if (ymax <= 0) ymax = 1;
  const top = spec.log ? ymax * 20 : ymax * 1.25;
  const bottom = spec.log ? Math.max(ymin * 0.3, 1e-3) : 0;
  const yTitle = 'Events / bin';

  const legend = create(clTLegend) as RootObject;
  Object.assign(legend, { fX1NDC: 0.68, fX2NDC: 0.95, fY1NDC: 0.92 - 0.055 * samples.length, fY2NDC: 0.93 });
  Object.assign(legend, { fX1: 0.68, fX2: 0.95, fY1: 0.92 - 0.055 * samples.length, fY2: 0.93, fBorderSize: 0 });
  const entries = list();
  legend.fPrimitives = entries;

  let first = true;
  if (sim.length > 0) {
    const stack = create(clTHStack) as RootObject;
    stack.fName = 'simulation';
    stack.fTitle = '';
    stack.fMaximum = top;
    stack.fMinimum = bottom;
    const hists = list();
    stack.fHists = hists;
    // Given a frame histogram, JSROOT takes the axis titles and the range from it rather than from the first sample.
    const frame = th1(
      sim[0]?.hist ?? { nbins: 1, min: 0, max: 1, values: [0, 0, 0], sumw2: [0, 0, 0] },
      'frame',
      '',
      spec.xTitle,
      yTitle,
    );
    Object.assign(frame, { fMaximum: top, fMinimum: bottom });
    (frame.fArray as Float64Array).fill(0);
    stack.fHistogram = frame;
    sim.forEach((s, i) => {
      const h = th1(s.hist, s.name, s.name, spec.xTitle, yTitle);
      Object.assign(h, { fFillColor: sampleColor(i), fFillStyle: 1001, fLineColor: 1, fLineWidth: 1 });
      add(hists, h);
    });
    add(primitives, stack, 'hist');
    first = false;
    // The legend lists the top of the stack first, as it is drawn.
    for (let i = sim.length - 1; i >= 0; i--) {
      const entry = create(clTLegendEntry) as RootObject;
      Object.assign(entry, { fLabel: sim[i]?.name ?? '', fObject: hists.arr?.[i], fOption: 'f' });
      add(entries, entry);
    }
  }
  for (const d of data) {
    const h = th1(d.hist, d.name, first ? '' : d.name, spec.xTitle, yTitle);
    Object.assign(h, {
      fMarkerStyle: 20,
      fMarkerSize: 0.9,
      fMarkerColor: 1,
      fLineColor: 1,
      fMaximum: top,
      fMinimum: bottom,
    });
    add(primitives, h, first ? 'e1 p' : 'e1 p same');
    const entry = create(clTLegendEntry) as RootObject;
    Object.assign(entry, { fLabel: d.name, fObject: h, fOption: 'lep' });
    entries.arr?.unshift(entry);
    entries.opt?.unshift('');
    first = false;
  }
  if (spec.window !== undefined) {
    for (const x of spec.window) {
      const line = create(clTLine) as RootObject;
      Object.assign(line, {
        fX1: x,
        fX2: x,
        fY1: bottom,
        fY2: spec.log ? ymax * 3 : ymax * 1.1,
        fLineColor: 2,
        fLineStyle: 2,
        fLineWidth: 2,
      });
      add(primitives, line);
    }
  }
  if (samples.length > 0) add(primitives, legend);
  return canvas;
}

export async function drawCanvas(dom: HTMLElement, canvas: RootObject): Promise<void> {
  await redraw(dom, canvas, '');
}

export function clearPlot(dom: HTMLElement): void {
  cleanup(dom);
  dom.replaceChildren();
}

export async function exportImage(canvas: RootObject, format: 'png' | 'svg'): Promise<string> {
  return String(await makeImage({ format, object: canvas, width: 1200, height: 800 }));
}
