/**
 * Our histograms equal jsroot's treeDraw bin for bin, on several expressions and every compression; the
 * expressions jsroot cannot evaluate are checked against a hand-written loop over jsroot's TSelector.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createHistogram } from 'jsroot/core';
import { buildApp } from '../../services/analysis/app.ts';
import type { AnalysisView } from '../../services/analysis/api.ts';
import { makeDatasets, type Fixture } from './fixtures.ts';
import { ATLAS, COMPRESSIONS, jsrootDraw, openTree, SKHEP, TSelector, treeProcess } from './jsroot-helpers.ts';

let fixture: Fixture;
let app: FastifyInstance;

beforeAll(async () => {
  fixture = makeDatasets();
  app = await buildApp({ datasets: fixture.root, workers: 2 });
});
afterAll(async () => {
  await app.close();
  fixture.dispose();
});

async function ours(
  dataset: string,
  file: string,
  expr: string,
  bins: number,
  min: number,
  max: number,
  selection?: string,
): Promise<number[]> {
  const payload: Record<string, unknown> = {
    dataset,
    files: [file],
    histograms: [{ name: 'h', expr, bins, min, max }],
  };
  if (selection !== undefined) payload.selection = selection;
  const res = await app.inject({ method: 'POST', url: '/api/analyses?wait=1', payload });
  const view = res.json<AnalysisView>();
  expect(view.error).toBeUndefined();
  expect(view.state).toBe('done');
  return view.result!.histograms.h!.fArray;
}

// [expression, bins, min, max, cut (jsroot multiplies the fill weight by it, as our selection does)]. jsroot
// evaluates expressions as JavaScript, so the reference gets Math.sqrt where we take TTree::Draw's sqrt.
const forJsroot = (expr: string) =>
  expr.replace(/\b(sqrt|atan2|cosh|cos|sin|exp|log)\(/g, 'Math.$1(').replace(/\babs\(/g, 'TMath::Abs(');
const HZZ_CASES: [string, number, number, number, string?][] = [
  ['Muon_Px', 40, -100, 100],
  ['Jet_E', 50, 0, 500],
  ['sqrt(MET_px*MET_px+MET_py*MET_py)', 30, 0, 150, 'EventWeight'],
  ['Muon_Px*Muon_Px+Muon_Py*Muon_Py', 25, 0, 5000],
  ['abs(Electron_Pz)', 20, 0, 200],
  ['atan2(MET_py, MET_px)', 16, -3.2, 3.2, 'MET_px>0'],
];
const ZMUMU_CASES: [string, number, number, number, string?][] = [
  ['M', 60, 60, 120],
  ['sqrt(px1*px1+py1*py1)', 40, 0, 100, 'Q1*Q2<0'],
  ['eta1-eta2', 30, -3, 3],
  ['E1+E2', 50, 0, 250, 'E1 > E2'],
];

describe('histograms equal jsroot treeDraw bin for bin', () => {
  it('the same TH1D layout as jsroot createHistogram', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/analyses?wait=1',
      payload: {
        dataset: 'zmumu',
        files: ['uproot-Zmumu.root'],
        histograms: [{ name: 'm', expr: 'M', bins: 3, min: 80, max: 100 }],
      },
    });
    const h = res.json<AnalysisView>().result!.histograms.m!;
    expect(h).toMatchObject({
      _typename: 'TH1D',
      fName: 'm',
      fNcells: 5,
      fXaxis: { _typename: 'TAxis', fNbins: 3, fXmin: 80, fXmax: 100, fTitle: 'M' },
      fEntries: 2304,
    });
    expect(h.fArray).toHaveLength(5);
    const reference = JSON.parse(JSON.stringify(createHistogram('TH1D', 3))) as Record<string, unknown>;
    expect(Object.keys(h).sort()).toEqual(Object.keys(reference).sort());
    expect(Object.keys(h.fXaxis).sort()).toEqual(Object.keys(reference.fXaxis as object).sort());
    expect(h.fSumw2).toEqual(h.fArray); // unit weights: Σw² = Σw
    const inRange = h.fArray[1]! + h.fArray[2]! + h.fArray[3]!;
    expect(h.fTsumw).toBe(inRange);
    expect(h.fTsumw2).toBe(inRange);
    expect(h.fTsumwx / h.fTsumw).toBeGreaterThan(80);
    expect(h.fTsumwx / h.fTsumw).toBeLessThan(100);
  });

  for (const c of COMPRESSIONS) {
    it(`uproot-HZZ${c}.root: counted arrays, functions, weights`, async () => {
      const file = `uproot-HZZ${c}.root`;
      for (const [expr, bins, min, max, cut] of HZZ_CASES) {
        const expected = await jsrootDraw(`${SKHEP}${file}`, 'events', forJsroot(expr), bins, min, max, cut);
        expect({ expr, bins: await ours('hzz', file, expr, bins, min, max, cut) }).toEqual({ expr, bins: expected });
      }
    });
    it(`uproot-Zmumu${c}.root: flat branches, selections, ternary`, async () => {
      const file = `uproot-Zmumu${c}.root`;
      for (const [expr, bins, min, max, cut] of ZMUMU_CASES) {
        const expected = await jsrootDraw(`${SKHEP}${file}`, 'events', forJsroot(expr), bins, min, max, cut);
        expect({ expr, bins: await ours('zmumu', file, expr, bins, min, max, cut) }).toEqual({ expr, bins: expected });
      }
    });
  }

  it('ATLAS 8 TeV: MeV arrays, bools and a weight', async () => {
    const file = 'mc_105986.ZZ.root';
    for (const [expr, bins, min, max, cut] of [
      ['lep_pt/1000', 50, 0, 250, 'mcWeight*scaleFactor_PILEUP'],
      ['met_et/1000', 40, 0, 200, 'trigE || trigM'],
      ['lep_eta', 30, -3, 3],
      ['jet_n', 10, 0, 10],
    ] as [string, number, number, number, string?][]) {
      const expected = await jsrootDraw(`${ATLAS}${file}`, 'mini', forJsroot(expr), bins, min, max, cut);
      expect({ expr, bins: await ours('atlas', file, expr, bins, min, max, cut) }).toEqual({ expr, bins: expected });
    }
  });
});

describe('expressions jsroot 7.11 cannot evaluate, against a hand-written TSelector loop', () => {
  it('jsroot itself refuses a counter with its counted array', async () => {
    await expect(
      jsrootDraw(`${ATLAS}mc_105986.ZZ.root`, 'mini', 'lep_pt[1]', 10, 0, 1e5, 'lep_n==2 && lep_pt[1]>25000'),
    ).rejects.toThrow(/Fail to add branch/);
  });

  for (const c of ['', '-lz4', '-lzma']) {
    it(`lep_n==2 && lep_pt[1]>25000, Length$ and Sum$ (uproot-HZZ${c} and ATLAS)`, async () => {
      // Reference: per-event loop over the arrays jsroot reads, counting elements ourselves.
      const hist = (n: number) => new Array<number>(n + 2).fill(0);
      const fill = (h: number[], n: number, min: number, max: number, x: number, w: number) => {
        if (w === 0) return;
        let bin = Number.isFinite(x) ? Math.floor((x - min) * (n / (max - min))) : n + 1;
        bin = bin < 0 ? 0 : bin >= n ? n + 1 : bin + 1;
        h[bin] = h[bin]! + w;
      };
      {
        const { tree } = await openTree(`${ATLAS}mc_105986.ZZ.root`, 'mini');
        const h1 = hist(20);
        const h2 = hist(8);
        const sel = new TSelector();
        sel.addBranch('lep_pt', 'pt');
        sel.Process = function () {
          const pt = this.tgtobj.pt as number[];
          fill(h1, 20, 0, 200000, pt[1] ?? NaN, pt.length === 2 && pt[1]! > 25000 ? 1 : 0);
          fill(h2, 8, 0, 8, pt.length, 1);
        };
        await treeProcess(tree, sel);
        expect(
          await ours('atlas', 'mc_105986.ZZ.root', 'lep_pt[1]', 20, 0, 200000, 'lep_n==2 && lep_pt[1]>25000'),
        ).toEqual(h1);
        expect(await ours('atlas', 'mc_105986.ZZ.root', 'Length$(lep_pt)', 8, 0, 8)).toEqual(h2);
      }
      {
        const file = `uproot-HZZ${c}.root`;
        const { tree } = await openTree(`${SKHEP}${file}`, 'events');
        const h = hist(30);
        const sel = new TSelector();
        sel.addBranch('Muon_Px', 'px');
        sel.Process = function () {
          const px = this.tgtobj.px as number[];
          let sum = 0;
          for (const v of px) sum += v;
          fill(h, 30, -150, 150, sum, px.length >= 2 ? 1 : 0);
        };
        await treeProcess(tree, sel);
        expect(await ours('hzz', file, 'Sum$(Muon_Px)', 30, -150, 150, 'NMuon>=2')).toEqual(h);
      }
    });
  }
});
