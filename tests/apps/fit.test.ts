/** The peak fit on histograms of known shape, and the URL of the new analyser state. */
import { describe, expect, it } from 'vitest';
import { fitPeak } from '../../apps/analyser/fit.ts';
import type { Hist } from '../../apps/analyser/model.ts';
import { decodeState, defaultState, encodeState, fullSelection } from '../../apps/analyser/state.ts';

/** Expected bin contents of N·shape + a + b·x, with √N errors (no noise: the fit must give back the inputs). */
function histogram(
  shape: (x: number) => number,
  n: number,
  a: number,
  b: number,
  lo: number,
  hi: number,
  bins: number,
): Hist {
  const w = (hi - lo) / bins;
  const values = [0];
  for (let i = 0; i < bins; i++) {
    const x = lo + (i + 0.5) * w;
    values.push(n * w * shape(x) + a + b * x);
  }
  values.push(0);
  return { nbins: bins, min: lo, max: hi, values, sumw2: values.map((v) => Math.max(v, 1)) };
}

const gauss = (m: number, s: number) => (x: number) =>
  Math.exp(-0.5 * ((x - m) / s) ** 2) / (s * Math.sqrt(2 * Math.PI));
const bw = (m: number, g: number) => (x: number) => g / (2 * Math.PI) / ((x - m) ** 2 + (g * g) / 4);

describe('fitPeak', () => {
  it('gives back a Gaussian over a straight background', () => {
    const h = histogram(gauss(125.3, 1.7), 500, 200, -1, 105, 160, 55);
    const fit = fitPeak(h, { shape: 'gauss', degree: 1, lo: 105, hi: 160 })!;
    expect(fit.mass).toBeCloseTo(125.3, 3);
    expect(fit.width).toBeCloseTo(1.7, 3);
    expect(fit.signal).toBeCloseTo(500, 0);
    expect(fit.massError).toBeGreaterThan(0);
    expect(fit.massError).toBeLessThan(0.5);
    expect(fit.chi2).toBeLessThan(1e-6);
  });

  it('gives back a Breit–Wigner over a flat background', () => {
    const h = histogram(bw(91.19, 2.5), 5000, 10, 0, 60, 120, 60);
    const fit = fitPeak(h, { shape: 'bw', degree: 0, lo: 70, hi: 110 })!;
    expect(fit.mass).toBeCloseTo(91.19, 2);
    expect(fit.width).toBeCloseTo(2.5, 2);
  });

  it('refuses a range with fewer bins than parameters', () => {
    const h = histogram(gauss(125, 2), 100, 10, 0, 105, 160, 55);
    expect(fitPeak(h, { shape: 'gauss', degree: 3, lo: 124, hi: 126 })).toBeUndefined();
  });
});

describe('analyser state', () => {
  it('keeps samples, luminosity, variable, fit, mode and student cuts in the URL', () => {
    const state = {
      ...defaultState(),
      mode: 'linked' as const,
      dataset: 'data-mix',
      datasets: ['data-mix', 'zll'],
      luminosity: 10,
      variable: 'mll',
      fit: { shape: 'bw' as const, degree: 1, lo: 70, hi: 110 },
      cuts: [
        { kind: 'var' as const, variable: 'lep_pt0', op: '>' as const, value: 40 },
        { kind: 'range' as const, variable: 'mll', lo: 80, hi: 100 },
      ],
    };
    const back = decodeState(encodeState(state));
    expect(back).toMatchObject({ mode: 'linked', datasets: ['data-mix', 'zll'], luminosity: 10, variable: 'mll' });
    expect(back.fit).toEqual(state.fit);
    expect(back.cuts).toEqual(state.cuts);
  });

  it('writes student cuts in the variable’s expression, so GeV stay GeV', () => {
    const lookup = (id: string) => ({ lep_pt0: { expr: 'lep_pt[0]/1000' }, mll: { expr: 'mll' } })[id];
    const selection = fullSelection(
      {
        selection: 'lep_n==2',
        cuts: [
          { kind: 'var', variable: 'lep_pt0', op: '>', value: 40 },
          { kind: 'range', variable: 'mll', lo: 80, hi: 100 },
        ],
      },
      lookup,
    );
    expect(selection).toBe('(lep_n==2) && ((lep_pt[0]/1000) > 40) && (mll >= 80 && mll <= 100)');
  });
});
