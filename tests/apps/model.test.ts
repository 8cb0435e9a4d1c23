import { describe, expect, it } from 'vitest';
import type { DatasetFile, TH1DJson } from '../../apps/shared/api.ts';
import { normalisePresets } from '../../apps/shared/api.ts';
import { formatBytes, formatCount, formatValue } from '../../apps/shared/format.ts';
import { readKeyIndex } from '../../apps/shared/key-index.ts';
import {
  classify,
  fromTH1,
  groupSamples,
  rebin,
  rebinFactors,
  significance,
  toCsv,
  total,
  windowSum,
} from '../../apps/analyser/model.ts';
import {
  decodeCut,
  decodeState,
  defaultState,
  encodeState,
  fullSelection,
  toRequest,
} from '../../apps/analyser/state.ts';

function th1(values: number[], min = 0, max = values.length - 2, sumw2?: number[]): TH1DJson {
  return {
    _typename: 'TH1D',
    fXaxis: { fNbins: values.length - 2, fXmin: min, fXmax: max },
    fArray: values,
    ...(sumw2 === undefined ? {} : { fSumw2: sumw2 }),
    fEntries: values.reduce((a, b) => a + b, 0),
  };
}

const file = (name: string, labels?: DatasetFile['labels']): DatasetFile => ({
  name,
  size: 1,
  entries: 1,
  tree: 'mini',
  ...(labels === undefined ? {} : { labels }),
});

describe('histograms', () => {
  it('takes √N errors from counts when the service sends no fSumw2', () => {
    expect(fromTH1(th1([1, 4, 9, 0])).sumw2).toEqual([1, 4, 9, 0]);
    expect(fromTH1(th1([1, 4, 9, 0], 0, 2, [0.5, 2, 3, 0])).sumw2).toEqual([0.5, 2, 3, 0]);
  });

  it('rebins by whole bins, keeping underflow and overflow', () => {
    const h = fromTH1(th1([7, 1, 2, 3, 4, 5, 6, 8], 0, 6));
    expect(rebin(h, 2)).toEqual({ nbins: 3, min: 0, max: 6, values: [7, 3, 7, 11, 8], sumw2: [7, 3, 7, 11, 8] });
    expect(rebin(h, 3).values).toEqual([7, 6, 15, 8]);
    expect(total(rebin(h, 3))).toBe(total(h));
    expect(() => rebin(h, 4)).toThrow('rebin factor 4 does not divide 6 bins');
    expect(rebinFactors(40)).toEqual([1, 2, 4, 5, 8, 10, 20]);
  });

  it('sums the bins whose centre is in the window, and gives S/√B', () => {
    const h = fromTH1(th1([100, 1, 2, 3, 4, 100], 0, 4));
    expect(windowSum(h, 1, 3)).toBe(2 + 3);
    const samples = [
      { name: 'H', kind: 'simulation' as const, files: [], hist: fromTH1(th1([0, 0, 8, 0, 0, 0], 0, 4)) },
      { name: 'ZZ', kind: 'simulation' as const, files: [], hist: fromTH1(th1([0, 4, 4, 4, 4, 0], 0, 4)) },
      { name: 'Data', kind: 'data' as const, files: [], hist: fromTH1(th1([0, 9, 9, 9, 9, 0], 0, 4)) },
    ];
    expect(significance(samples, new Set(['H']), 1, 3)).toEqual({ s: 8, b: 8, z: 8 / Math.sqrt(8) });
    expect(significance(samples, new Set(['H']), 1, 2)).toEqual({ s: 8, b: 4, z: 4 });
    expect(significance(samples, new Set(['H', 'ZZ']), 1, 2).z).toBeNaN();
  });
});

describe('samples', () => {
  it('classifies files from labels first, then from their names', () => {
    expect(classify(file('mc_105986.ZZ.root'))).toEqual({ sample: 'ZZ', kind: 'simulation' });
    expect(classify(file('data_A.root'))).toEqual({ sample: 'Data', kind: 'data' });
    expect(classify(file('x.root', { sample: 'Single top', kind: 'simulation' }))).toEqual({
      sample: 'Single top',
      kind: 'simulation',
    });
    expect(classify(file('x.root', { process: 'ttbar' }))).toEqual({ sample: 'ttbar', kind: 'simulation' });
    expect(classify(file('x.root', { kind: 'data' }))).toEqual({ sample: 'Data', kind: 'data' });
    expect(classify(file('data15.root', { kind: 'mc', sample: 'fake' }))).toEqual({
      sample: 'fake',
      kind: 'simulation',
    });
  });

  it('adds the files of one sample and lists data last', () => {
    const files = [
      file('data_A.root'),
      file('top.root', { sample: 'Top' }),
      file('antitop.root', { sample: 'Top' }),
      file('zz.root', { sample: 'ZZ' }),
    ];
    const byFile = {
      'data_A.root': { h: th1([0, 5, 0]) },
      'top.root': { h: th1([0, 1, 1]) },
      'antitop.root': { h: th1([0, 2, 0]) },
      'zz.root': { h: th1([0, 3, 0]) },
    };
    const samples = groupSamples(files, byFile, 'h');
    expect(samples.map((s) => [s.name, s.kind, s.files.length, s.hist.values])).toEqual([
      ['Top', 'simulation', 2, [0, 3, 1]],
      ['ZZ', 'simulation', 1, [0, 3, 0]],
      ['Data', 'data', 1, [0, 5, 0]],
    ]);
    expect(toCsv(samples)).toBe(
      [
        'bin,low,high,Top,ZZ,Data,simulation,simulation_err,data_err',
        `0,-inf,0,0,0,0,0,0,0`,
        `1,0,1,3,3,5,6,${Math.sqrt(6)},${Math.sqrt(5)}`,
        `2,1,inf,1,0,0,1,1,0`,
        '',
      ].join('\n'),
    );
  });
});

describe('analysis state in the URL', () => {
  it('round-trips every field, including cuts with awkward characters', () => {
    const state = {
      ...defaultState(),
      dataset: 'atlas-8tev',
      preset: 'zll',
      tree: 'mini',
      expr: 'sqrt(2*lep_pt[0]*lep_pt[1]*(cosh(lep_eta[0]-lep_eta[1])-cos(lep_phi[0]-lep_phi[1])))/1000',
      bins: 30,
      min: 60,
      max: 120,
      selection: 'lep_n==2 && lep_charge[0]!=lep_charge[1]',
      weight: 'mcWeight*scaleFactor_PILEUP',
      cuts: [
        { kind: 'slider' as const, expr: 'met_et/1000', op: '<' as const, value: 30, min: 0, max: 200 },
        { kind: 'expr' as const, text: 'abs(lep_eta[0]) < 2.5 && a~b&c=#d' },
      ],
      log: true,
      rebin: 2,
      window: [80, 100] as [number, number],
      signal: ['Z → ee', 'ZZ'],
      run: true,
    };
    expect(decodeState(`#${encodeState(state)}`)).toEqual(state);
  });

  it('ignores malformed values instead of failing', () => {
    const state = decodeState('bins=-3&min=abc&cut=s~%3C%3E~1~0~1~x&cut=q~x&win=1,&rebin=0');
    expect(state).toMatchObject({ bins: 1, min: 0, cuts: [], window: undefined, rebin: 1 });
    expect(decodeCut('s~>=~2~0~10~a~b')).toEqual({ kind: 'slider', op: '>=', value: 2, min: 0, max: 10, expr: 'a~b' });
  });

  it('joins the selection and the cuts into one request', () => {
    const state = {
      ...defaultState(),
      dataset: 'd',
      expr: 'x',
      selection: 'n==2',
      weight: ' w ',
      cuts: [
        { kind: 'slider' as const, expr: 'pt[0]', op: '>' as const, value: 25, min: 0, max: 100 },
        { kind: 'slider' as const, expr: 'a+b', op: '<=' as const, value: 3, min: 0, max: 9 },
        { kind: 'expr' as const, text: '  ' },
      ],
    };
    expect(fullSelection(state)).toBe('(n==2) && (pt[0] > 25) && ((a+b) <= 3)');
    expect(toRequest(state)).toEqual({
      dataset: 'd',
      selection: '(n==2) && (pt[0] > 25) && ((a+b) <= 3)',
      weight: 'w',
      histograms: [{ name: 'h', expr: 'x', bins: 50, min: 0, max: 100 }],
    });
  });
});

describe('shared helpers', () => {
  it('formats sizes and counts', () => {
    expect([formatBytes(999), formatBytes(2_027_246), formatBytes(9_400_000_000)]).toEqual([
      '999 B',
      '2.0 MB',
      '9.4 GB',
    ]);
    expect([formatCount(1234567), formatCount(-1000), formatCount(12.5)]).toEqual([
      '1\u2009234\u2009567',
      '-1\u2009000',
      '12.5',
    ]);
    expect([formatValue(61738.123, 6), formatValue(0.0001), formatValue(0)]).toEqual(['61738.1', '1.000e-4', '0']);
  });

  it('reads key-index.js defensively', () => {
    expect(readKeyIndex(undefined)).toBeUndefined();
    expect(
      readKeyIndex({
        name: 'Key',
        version: '1',
        datasets: [{ id: 'a', size: 'big', events: 3 }, { title: 'no id' }],
        docs: [{ id: 'd', path: 'docs/a.md' }, { id: 'nopath' }],
        vm: { ova: 'vm/openkey.ova' },
        service: { port: 8080, lan: 'yes' },
        jupyter: { port: 8888, lan: true },
      }),
    ).toEqual({
      name: 'Key',
      version: '1',
      datasets: [{ id: 'a', title: 'a', events: 3 }],
      docs: [{ id: 'd', title: 'd', path: 'docs/a.md' }],
      notebooks: [],
      vm: { ova: 'vm/openkey.ova' },
      service: { port: 8080, lan: false },
      jupyter: { port: 8888, lan: true, mode: 'single' },
    });
    expect(readKeyIndex({ name: 'K', jupyter: { port: 'x' } })?.jupyter).toBeUndefined();
  });

  it('accepts presets as a list or keyed by id', () => {
    const h = [{ name: 'm', expr: 'x', bins: 1, min: 0, max: 1 }];
    expect(normalisePresets([{ id: 'a', title: 'A', request: { tree: 't', histograms: h } }])).toEqual([
      { id: 'a', title: 'A', request: { tree: 't', histograms: h } },
    ]);
    expect(normalisePresets({ b: { selection: 's', histograms: h }, bad: { title: 'no histograms' } })).toEqual([
      { id: 'b', title: 'b', request: { selection: 's', histograms: h } },
    ]);
    expect(
      normalisePresets([{ id: 'c', title: 'C', tree: 'mini', datasets: ['x', 1], request: { histograms: h } }]),
    ).toEqual([{ id: 'c', title: 'C', datasets: ['x'], request: { tree: 'mini', histograms: h } }]);
  });
});
