/**
 * What JSROOT 7.11 cannot evaluate (a counter branch next to its counted arrays, Length$/Sum$/Max$/Min$, array
 * selections, ":" inside an expression) checked against a per-event loop written by hand over jsroot's TSelector,
 * with ROOT's TTree::Draw semantics spelled out in plain JavaScript.
 */
import { describe, expect, it } from 'vitest';
import { compileDraw } from '../../services/analysis/expr/index.ts';
import {
  eachEvent,
  jsrootDraw,
  JsrootLikeHistogram,
  openTree,
  readBatch,
  type Binning,
  type EventValues,
} from './jsroot-helpers.ts';

const ZZ = 'atlas-8tev-mc/mc_105986.ZZ.root';
const TOP = 'atlas-8tev-mc/mc_110090.stop_tchan_top.root';

const Z_SELECTION =
  'lep_n==2 && lep_charge[0]*lep_charge[1]<0 && lep_type[0]==lep_type[1] && lep_pt[0]>25000 && lep_pt[1]>25000';
const Z_WEIGHT = 'mcWeight*scaleFactor_PILEUP*scaleFactor_ELE*scaleFactor_MUON*scaleFactor_TRIGGER';
const Z_MASS = 'sqrt(2*lep_pt[0]*lep_pt[1]*(cosh(lep_eta[0]-lep_eta[1])-cos(lep_phi[0]-lep_phi[1])))/1000';

const arr = (event: EventValues, name: string): number[] => event[name] as number[];
const num = (event: EventValues, name: string): number => event[name] as number;

interface Case {
  name: string;
  file: string;
  selection?: string;
  weight?: string;
  expr: string;
  binning: Binning;
  /** Branches the hand-written loop reads. */
  reads: string[];
  /** The hand-written TTree::Draw of one event. */
  each: (event: EventValues, fill: (value: number, weight: number) => void) => void;
  minFills: number;
}

const cases: Case[] = [
  {
    name: 'Z→ℓℓ: two opposite-charge same-flavour leptons above 25 GeV, weighted dilepton mass',
    file: ZZ,
    selection: Z_SELECTION,
    weight: Z_WEIGHT,
    expr: Z_MASS,
    binning: { bins: 60, min: 60, max: 120 },
    reads: ['lep_n', 'lep_charge', 'lep_type', 'lep_pt', 'lep_eta', 'lep_phi', ...Z_WEIGHT.split('*')],
    each: (ev, fill) => {
      const [pt, eta, phi, q, type] = ['lep_pt', 'lep_eta', 'lep_phi', 'lep_charge', 'lep_type'].map((n) => arr(ev, n));
      if (num(ev, 'lep_n') !== 2) return;
      if (!(q![0]! * q![1]! < 0 && type![0] === type![1] && pt![0]! > 25000 && pt![1]! > 25000)) return;
      const w = Z_WEIGHT.split('*')
        .map((n) => num(ev, n))
        .reduce((a, b) => a * b);
      const mass = Math.sqrt(2 * pt![0]! * pt![1]! * (Math.cosh(eta![0]! - eta![1]!) - Math.cos(phi![0]! - phi![1]!)));
      if (w !== 0) fill(mass / 1000, w);
    },
    minFills: 4000,
  },
  {
    name: 'the same on a second file',
    file: TOP,
    selection: Z_SELECTION,
    weight: Z_WEIGHT,
    expr: Z_MASS,
    binning: { bins: 40, min: 0, max: 200 },
    reads: ['lep_n', 'lep_charge', 'lep_type', 'lep_pt', 'lep_eta', 'lep_phi', ...Z_WEIGHT.split('*')],
    each: (ev, fill) => {
      const [pt, eta, phi, q, type] = ['lep_pt', 'lep_eta', 'lep_phi', 'lep_charge', 'lep_type'].map((n) => arr(ev, n));
      if (num(ev, 'lep_n') !== 2) return;
      if (!(q![0]! * q![1]! < 0 && type![0] === type![1] && pt![0]! > 25000 && pt![1]! > 25000)) return;
      const w = Z_WEIGHT.split('*')
        .map((n) => num(ev, n))
        .reduce((a, b) => a * b);
      const mass = Math.sqrt(2 * pt![0]! * pt![1]! * (Math.cosh(eta![0]! - eta![1]!) - Math.cos(phi![0]! - phi![1]!)));
      if (w !== 0) fill(mass / 1000, w);
    },
    minFills: 10, // single-top events rarely have two leptons
  },
  {
    name: 'a counter branch with its counted array ("Branch lep_n already configured" in JSROOT)',
    file: ZZ,
    selection: 'lep_n==2 && lep_pt[1]>25000',
    expr: 'lep_pt[1]/1000',
    binning: { bins: 50, min: 0, max: 250 },
    reads: ['lep_n', 'lep_pt'],
    each: (ev, fill) => {
      const pt = arr(ev, 'lep_pt');
      if (num(ev, 'lep_n') === 2 && pt[1]! > 25000) fill(pt[1]! / 1000, 1);
    },
    minFills: 5000,
  },
  {
    name: 'an index out of range skips the event (lep_pt[1] with one lepton)',
    file: ZZ,
    expr: 'lep_pt[1]/1000',
    binning: { bins: 50, min: 0, max: 250 },
    reads: ['lep_pt'],
    each: (ev, fill) => {
      const pt = arr(ev, 'lep_pt');
      if (pt.length > 1) fill(pt[1]! / 1000, 1);
    },
    minFills: 8000,
  },
  {
    name: 'a conditional only evaluates the index it takes',
    file: ZZ,
    expr: 'lep_n >= 2 ? lep_pt[1]/1000 : -1',
    binning: { bins: 52, min: -10, max: 250 },
    reads: ['lep_n', 'lep_pt'],
    each: (ev, fill) => {
      fill(num(ev, 'lep_n') >= 2 ? arr(ev, 'lep_pt')[1]! / 1000 : -1, 1);
    },
    minFills: 12500,
  },
  {
    name: 'Length$ counts the elements',
    file: ZZ,
    expr: 'Length$(lep_pt) - lep_n',
    binning: { bins: 5, min: -2.5, max: 2.5 },
    reads: ['lep_n', 'lep_pt'],
    each: (ev, fill) => fill(arr(ev, 'lep_pt').length - num(ev, 'lep_n'), 1),
    minFills: 12500,
  },
  {
    name: 'Sum$ of a comparison counts the elements passing it',
    file: ZZ,
    selection: 'lep_n >= 2',
    expr: 'Sum$(jet_pt > 25000)',
    binning: { bins: 10, min: -0.5, max: 9.5 },
    reads: ['lep_n', 'jet_pt'],
    each: (ev, fill) => {
      if (num(ev, 'lep_n') >= 2) fill(arr(ev, 'jet_pt').filter((pt) => pt > 25000).length, 1);
    },
    minFills: 8000,
  },
  {
    name: 'Sum$ of values, weighted',
    file: ZZ,
    weight: 'mcWeight',
    expr: 'Sum$(lep_pt)/1000',
    binning: { bins: 50, min: 0, max: 500 },
    reads: ['mcWeight', 'lep_pt'],
    each: (ev, fill) => {
      const w = num(ev, 'mcWeight');
      if (w !== 0) fill(arr(ev, 'lep_pt').reduce((a, b) => a + b, 0) / 1000, w);
    },
    minFills: 12000,
  },
  {
    name: 'Max$ of an empty array is 0',
    file: ZZ,
    expr: 'Max$(jet_pt)/1000',
    binning: { bins: 50, min: -5, max: 245 },
    reads: ['jet_pt'],
    each: (ev, fill) => {
      const pt = arr(ev, 'jet_pt');
      fill((pt.length ? pt.reduce((a, b) => (b > a ? b : a)) : 0) / 1000, 1);
    },
    minFills: 12500,
  },
  {
    name: 'Min$ of an array',
    file: ZZ,
    expr: 'Min$(lep_pt)/1000 + Min$(jet_eta)',
    binning: { bins: 60, min: -5, max: 145 },
    reads: ['lep_pt', 'jet_eta'],
    each: (ev, fill) => {
      const min = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => (b < a ? b : a)) : 0);
      fill(min(arr(ev, 'lep_pt')) / 1000 + min(arr(ev, 'jet_eta')), 1);
    },
    minFills: 12500,
  },
  {
    name: 'an array selection selects elements of the array expression',
    file: ZZ,
    selection: 'lep_pt > 25000 && lep_type == 13',
    expr: 'lep_pt/1000',
    binning: { bins: 50, min: 0, max: 250 },
    reads: ['lep_pt', 'lep_type'],
    each: (ev, fill) => {
      const pt = arr(ev, 'lep_pt');
      const type = arr(ev, 'lep_type');
      for (let i = 0; i < pt.length; i++) if (pt[i]! > 25000 && type[i] === 13) fill(pt[i]! / 1000, 1);
    },
    minFills: 8000,
  },
  {
    name: 'an array selection with a scalar expression fills it once per passing element',
    file: ZZ,
    selection: 'lep_pt > 25000',
    expr: 'met_et/1000',
    binning: { bins: 50, min: 0, max: 250 },
    reads: ['lep_pt', 'met_et'],
    each: (ev, fill) => {
      for (const pt of arr(ev, 'lep_pt')) if (pt > 25000) fill(num(ev, 'met_et') / 1000, 1);
    },
    minFills: 15000,
  },
  {
    name: 'arrays of different lengths give as many instances as the shortest',
    file: ZZ,
    expr: '(jet_pt - lep_pt)/1000',
    binning: { bins: 80, min: -200, max: 200 },
    reads: ['jet_pt', 'lep_pt'],
    each: (ev, fill) => {
      const jet = arr(ev, 'jet_pt');
      const lep = arr(ev, 'lep_pt');
      for (let i = 0; i < Math.min(jet.length, lep.length); i++) fill((jet[i]! - lep[i]!) / 1000, 1);
    },
    minFills: 10000,
  },
  {
    name: 'a conditional in a histogram expression (JSROOT splits it at the ":")',
    file: ZZ,
    expr: 'met_et > 40000 ? met_et/1000 : -met_et/1000',
    binning: { bins: 80, min: -200, max: 200 },
    reads: ['met_et'],
    each: (ev, fill) => {
      const met = num(ev, 'met_et');
      fill(met > 40000 ? met / 1000 : -met / 1000, 1);
    },
    minFills: 12500,
  },
  {
    name: 'an index computed per event, and a bitwise and',
    file: ZZ,
    selection: '(lep_flag[lep_n-1] & 512) != 0',
    expr: 'lep_eta[lep_n-1]',
    binning: { bins: 50, min: -3, max: 3 },
    reads: ['lep_n', 'lep_flag', 'lep_eta'],
    each: (ev, fill) => {
      const last = num(ev, 'lep_n') - 1;
      if ((arr(ev, 'lep_flag')[last]! & 512) !== 0) fill(arr(ev, 'lep_eta')[last]!, 1);
    },
    minFills: 10000,
  },
];

describe('the engine against hand-written per-event loops over jsroot', () => {
  it.each(cases)('$name', async (c) => {
    const opened = await openTree(c.file, 'mini');
    const spec = {
      expressions: [c.expr],
      ...(c.selection === undefined ? {} : { selection: c.selection }),
      ...(c.weight === undefined ? {} : { weight: c.weight }),
    };
    const program = compileDraw(spec, opened.branches);
    const ours = new JsrootLikeHistogram(c.binning);
    program.processBatch(await readBatch(opened, program.branches), (_h, value, weight) => ours.fill(value, weight));
    const reference = new JsrootLikeHistogram(c.binning);
    await eachEvent(opened, c.reads, (event) => c.each(event, (value, weight) => reference.fill(value, weight)));
    expect(ours.fills).toBeGreaterThanOrEqual(c.minFills);
    expect(ours.fills).toBe(reference.fills);
    expect(Array.from(ours.array)).toEqual(Array.from(reference.array));
  });

  it('differs from JSROOT only where JSROOT puts an out-of-range element (NaN) in the overflow bin', async () => {
    const opened = await openTree(ZZ, 'mini');
    const binning = { bins: 50, min: 0, max: 250 };
    const program = compileDraw({ expressions: ['lep_pt[1]/1000'] }, opened.branches);
    const ours = new JsrootLikeHistogram(binning);
    program.processBatch(await readBatch(opened, program.branches), (_h, value, weight) => ours.fill(value, weight));
    const jsroot = await jsrootDraw(opened, 'lep_pt[1]/1000', '', binning);
    let oneLepton = 0;
    await eachEvent(opened, ['lep_n'], (event) => void (num(event, 'lep_n') === 1 && oneLepton++));
    expect(oneLepton).toBe(4390);
    expect(Array.from(ours.array.subarray(0, 51))).toEqual(Array.from(jsroot.subarray(0, 51)));
    expect(jsroot[51]! - ours.array[51]!).toBe(oneLepton);
  });
});
