/**
 * Fitting a peak: a Gaussian or a Breit–Wigner over a polynomial background, to the bins of a histogram in a
 * range, by weighted least squares (Levenberg–Marquardt, errors √bin content or √Σw²). The errors of the
 * parameters come from the inverse of the curvature matrix at the minimum. Written here because the fit is a few
 * dozen lines over arrays the page already has; a fitting library would bring far more than this needs.
 */
import type { Hist } from './model.ts';

export type PeakShape = 'gauss' | 'bw';

export interface FitSpec {
  shape: PeakShape;
  /** Degree of the background polynomial, 0 to 3. */
  degree: number;
  lo: number;
  hi: number;
}

export interface FitResult {
  shape: PeakShape;
  mass: number;
  massError: number;
  /** σ for a Gaussian, Γ for a Breit–Wigner. */
  width: number;
  widthError: number;
  /** Signal yield (events under the peak). */
  signal: number;
  chi2: number;
  ndf: number;
  /** The fitted function, in events per bin of the histogram it was fitted to. */
  curve: (x: number) => number;
  background: (x: number) => number;
  lo: number;
  hi: number;
}

interface Point {
  x: number;
  y: number;
  s2: number;
}

function shapeValue(shape: PeakShape, x: number, mass: number, width: number): number {
  const w = Math.abs(width);
  if (shape === 'gauss') return Math.exp(-0.5 * ((x - mass) / w) ** 2) / (w * Math.sqrt(2 * Math.PI));
  return w / (2 * Math.PI) / ((x - mass) ** 2 + (w * w) / 4);
}

/** Solves A·x = b by Gaussian elimination with partial pivoting; undefined when A is singular. */
function solve(a: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    if (Math.abs(m[p]![c]!) < 1e-300) return undefined;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k] = m[r]![k]! - f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

function invert(a: number[][]): number[][] | undefined {
  const n = a.length;
  const columns: number[][] = [];
  for (let i = 0; i < n; i++) {
    const e = Array.from({ length: n }, (_, j) => (i === j ? 1 : 0));
    const col = solve(a, e);
    if (col === undefined) return undefined;
    columns.push(col);
  }
  return a.map((_, i) => columns.map((col) => col[i]!));
}

export function fitPeak(h: Hist, spec: FitSpec): FitResult | undefined {
  const binWidth = (h.max - h.min) / h.nbins;
  const points: Point[] = [];
  for (let b = 1; b <= h.nbins; b++) {
    const x = h.min + (b - 0.5) * binWidth;
    if (x < spec.lo || x > spec.hi) continue;
    const y = h.values[b] ?? 0;
    // Empty bins still count (an error of one event); weighted bins use their Σw².
    const s2 = Math.max(h.sumw2[b] ?? Math.abs(y), y > 0 ? 1e-12 : 0) || minVariance(h);
    points.push({ x, y, s2 });
  }
  const degree = Math.max(0, Math.min(3, Math.round(spec.degree)));
  const nPar = 3 + degree + 1;
  if (points.length <= nPar) return undefined;
  const centre = (spec.lo + spec.hi) / 2;
  const half = (spec.hi - spec.lo) / 2 || 1;

  const bkg = (p: number[], x: number) => {
    const t = (x - centre) / half;
    let v = 0;
    for (let k = degree; k >= 0; k--) v = v * t + p[3 + k]!;
    return v;
  };
  const model = (p: number[], x: number) => p[0]! * binWidth * shapeValue(spec.shape, x, p[1]!, p[2]!) + bkg(p, x);

  // Starting point: a straight background through the edges, the peak where the excess is largest.
  const edge = Math.max(1, Math.floor(points.length / 8));
  const left = points.slice(0, edge);
  const right = points.slice(-edge);
  const avg = (ps: Point[]) => ps.reduce((s, q) => s + q.y, 0) / ps.length;
  const yl = avg(left);
  const yr = avg(right);
  const p0: number[] = [0, centre, binWidth * 2, (yl + yr) / 2, (yr - yl) / 2, 0, 0].slice(0, nPar);
  if (degree === 0) p0[3] = Math.min(yl, yr);
  let best = points[0]!;
  let excess = 0;
  for (const q of points) {
    const e = q.y - bkg(p0, q.x);
    if (e > 0) excess += e;
    if (e > best.y - bkg(p0, best.x)) best = q;
  }
  const peakHeight = best.y - bkg(p0, best.x);
  let aboveHalf = 0;
  for (const q of points) if (q.y - bkg(p0, q.x) > peakHeight / 2) aboveHalf++;
  const fwhm = Math.max(binWidth, aboveHalf * binWidth);
  p0[1] = best.x;
  p0[2] = spec.shape === 'gauss' ? fwhm / 2.355 : fwhm;
  p0[0] = Math.max(excess, 1e-9);

  const chi2 = (p: number[]) => points.reduce((s, q) => s + (q.y - model(p, q.x)) ** 2 / q.s2, 0);
  const jacobian = (p: number[]) =>
    points.map((q) =>
      p.map((v, k) => {
        const d = 1e-6 * Math.max(Math.abs(v), k === 1 ? half : 1e-3);
        const up = p.slice();
        up[k] = v + d;
        return (model(up, q.x) - model(p, q.x)) / d / Math.sqrt(q.s2);
      }),
    );
  let p = p0;
  let current = chi2(p);
  let lambda = 1e-3;
  let curvature: number[][] = [];
  for (let iteration = 0; iteration < 300; iteration++) {
    const j = jacobian(p);
    const r = points.map((q) => (q.y - model(p, q.x)) / Math.sqrt(q.s2));
    const a = p.map((_, i) => p.map((__, k) => j.reduce((s, row) => s + row[i]! * row[k]!, 0)));
    const g = p.map((_, i) => j.reduce((s, row, n) => s + row[i]! * r[n]!, 0));
    curvature = a;
    const damped = a.map((row, i) => row.map((v, k) => (i === k ? v * (1 + lambda) + 1e-12 : v)));
    const step = solve(damped, g);
    if (step === undefined) break;
    const next = p.map((v, i) => v + step[i]!);
    const value = chi2(next);
    if (value < current) {
      const gain = current - value;
      p = next;
      current = value;
      lambda = Math.max(lambda / 10, 1e-9);
      if (gain < 1e-9 * Math.max(1, current)) break;
    } else {
      lambda *= 10;
      if (lambda > 1e12) break;
    }
  }
  const cov = invert(curvature);
  if (cov === undefined || !Number.isFinite(p[1]!)) return undefined;
  const err = (i: number) => Math.sqrt(Math.max(0, cov[i]![i]!));
  const final = p;
  return {
    shape: spec.shape,
    mass: final[1]!,
    massError: err(1),
    width: Math.abs(final[2]!),
    widthError: err(2),
    signal: final[0]!,
    chi2: current,
    ndf: points.length - nPar,
    curve: (x) => model(final, x),
    background: (x) => bkg(final, x),
    lo: spec.lo,
    hi: spec.hi,
  };
}

function minVariance(h: Hist): number {
  let m = Infinity;
  for (const v of h.sumw2) if (v > 0 && v < m) m = v;
  return Number.isFinite(m) ? m : 1;
}
