/**
 * The engine against JSROOT 7.11's own treeDraw on the real files in ../shared/data, bin for bin. JSROOT evaluates
 * its expressions as JavaScript, so where the syntax differs (sqrt → Math.sqrt) the JSROOT side is written in its
 * dialect; the engine always gets the ROOT syntax users write. Our selection × weight is JSROOT's cut `(S)*(W)`.
 */
import { describe, expect, it } from 'vitest';
import { compileDraw } from '../../services/analysis/expr/index.ts';
import { jsrootDraw, JsrootLikeHistogram, openTree, readBatch, type Binning } from './jsroot-helpers.ts';

const ZZ = 'atlas-8tev-mc/mc_105986.ZZ.root';
const TOP = 'atlas-8tev-mc/mc_110090.stop_tchan_top.root';
const HZZ = 'scikit-hep-testdata/uproot-HZZ.root';
const ZMUMU = 'scikit-hep-testdata/uproot-Zmumu.root';
const WEIGHT = 'mcWeight*scaleFactor_PILEUP*scaleFactor_ELE*scaleFactor_MUON*scaleFactor_TRIGGER';

interface Case {
  file: string;
  tree: string;
  expr: string;
  /** The same expression in JSROOT's JavaScript dialect, when it differs. */
  jsExpr?: string;
  selection?: string;
  weight?: string;
  /** JSROOT's cut, when it is not simply `(selection)*(weight)`. */
  jsCut?: string;
  binning: Binning;
  /** At least this many fills, so a case cannot pass by filling nothing. */
  minFills: number;
}

const cases: Case[] = [
  { file: ZZ, tree: 'mini', expr: 'lep_pt/1000', binning: { bins: 100, min: 0, max: 200 }, minFills: 20000 },
  {
    file: ZZ,
    tree: 'mini',
    expr: 'lep_eta',
    weight: WEIGHT,
    binning: { bins: 50, min: -3, max: 3 },
    minFills: 19000,
  },
  {
    file: ZZ,
    tree: 'mini',
    expr: 'lep_pt[0]/1000',
    selection: 'met_et>30000',
    binning: { bins: 40, min: 0, max: 200 },
    minFills: 5000,
  },
  {
    file: ZZ,
    tree: 'mini',
    expr: 'TMath::Abs(lep_eta)',
    selection: 'trigE || trigM',
    binning: { bins: 25, min: 0, max: 2.5 },
    minFills: 15000,
  },
  {
    file: ZZ,
    tree: 'mini',
    expr: 'lep_pt*cosh(lep_eta)/1000',
    jsExpr: 'lep_pt*Math.cosh(lep_eta)/1000',
    selection: 'met_et > 20000 && passGRL',
    weight: 'mcWeight*scaleFactor_PILEUP',
    binning: { bins: 60, min: 0, max: 600 },
    minFills: 10000,
  },
  {
    // events without jets fill nothing on either side
    file: ZZ,
    tree: 'mini',
    expr: 'jet_pt[0]/1000',
    weight: 'mcWeight',
    binning: { bins: 50, min: 0, max: 250 },
    minFills: 9000,
  },
  {
    file: ZZ,
    tree: 'mini',
    expr: 'met_et/1000',
    weight: 'lep_n > 1 ? 2 : 0.5',
    binning: { bins: 40, min: 0, max: 200 },
    minFills: 12500,
  },
  {
    file: ZZ,
    tree: 'mini',
    expr: 'eventNumber % 7',
    binning: { bins: 10, min: -0.5, max: 9.5 },
    minFills: 12500,
  },
  {
    file: ZZ,
    tree: 'mini',
    expr: 'lep_charge*lep_type',
    binning: { bins: 40, min: -20, max: 20 },
    minFills: 20000,
  },
  {
    file: ZZ,
    tree: 'mini',
    expr: 'pow(lep_pt/1000, 2) + log(lep_E) - exp(-lep_pt/100000)',
    jsExpr: 'Math.pow(lep_pt/1000, 2) + Math.log(lep_E) - Math.exp(-lep_pt/100000)',
    binning: { bins: 100, min: 0, max: 10000 },
    minFills: 20000,
  },
  {
    // JSROOT draws a boolean expression as a two-bin true/false histogram whatever the binning; "*1" makes it a number
    file: ZZ,
    tree: 'mini',
    expr: 'lep_pt > 25000 && abs(lep_eta) < 2.47',
    jsExpr: '(lep_pt > 25000 && Math.abs(lep_eta) < 2.47)*1',
    binning: { bins: 4, min: -1, max: 3 },
    minFills: 20000,
  },
  {
    file: TOP,
    tree: 'mini',
    expr: 'atan2(lep_eta, lep_phi)',
    jsExpr: 'Math.atan2(lep_eta, lep_phi)',
    selection: 'met_et > 25000',
    weight: WEIGHT,
    binning: { bins: 64, min: -3.2, max: 3.2 },
    minFills: 8000,
  },
  {
    file: HZZ,
    tree: 'events',
    expr: 'sqrt(Muon_Px*Muon_Px + Muon_Py*Muon_Py)',
    jsExpr: 'Math.sqrt(Muon_Px*Muon_Px + Muon_Py*Muon_Py)',
    weight: 'EventWeight',
    binning: { bins: 50, min: 0, max: 100 },
    minFills: 3000,
  },
  {
    file: HZZ,
    tree: 'events',
    expr: 'Jet_E',
    selection: 'MET_px*MET_px + MET_py*MET_py > 400',
    binning: { bins: 50, min: 0, max: 250 },
    minFills: 300,
  },
  {
    file: HZZ,
    tree: 'events',
    expr: 'Muon_Px[0]',
    selection: 'triggerIsoMu24',
    binning: { bins: 40, min: -100, max: 100 },
    minFills: 2000,
  },
  {
    file: HZZ,
    tree: 'events',
    expr: 'TMath::ATan2(Electron_Py, Electron_Px)',
    jsExpr: 'Math.atan2(Electron_Py, Electron_Px)',
    binning: { bins: 64, min: -3.2, max: 3.2 },
    minFills: 20,
  },
  {
    // the branch Photon_E holds the leaf Photons_E
    file: HZZ,
    tree: 'events',
    expr: 'Photon_E',
    selection: 'MET_px > 0',
    binning: { bins: 50, min: 0, max: 200 },
    minFills: 20,
  },
  {
    file: ZMUMU,
    tree: 'events',
    expr: 'M',
    selection: 'Q1*Q2 < 0',
    binning: { bins: 60, min: 60, max: 120 },
    minFills: 1500,
  },
  {
    file: ZMUMU,
    tree: 'events',
    expr: 'sqrt(px1*px1 + py1*py1)',
    jsExpr: 'Math.sqrt(px1*px1 + py1*py1)',
    selection: 'pt2 > 20 && abs(eta2) < 2.4',
    jsCut: 'pt2 > 20 && Math.abs(eta2) < 2.4',
    binning: { bins: 50, min: 0, max: 100 },
    minFills: 1500,
  },
  {
    file: ZMUMU,
    tree: 'events',
    expr: 'log10(E1 + E2)',
    jsExpr: 'Math.log10(E1 + E2)',
    weight: 'Run > 148000 ? 2 : 0.5',
    binning: { bins: 40, min: 1, max: 3 },
    minFills: 2000,
  },
];

const jsCutOf = (c: Case): string =>
  c.jsCut ??
  (c.selection && c.weight ? `(${c.selection})*(${c.weight})` : (c.selection ?? c.weight ?? '')).replaceAll(
    /\babs\(/g,
    'Math.abs(',
  );

describe('the engine against JSROOT treeDraw, bin for bin', () => {
  it.each(cases)('$file: $expr [$selection] × [$weight]', async (c) => {
    const opened = await openTree(c.file, c.tree);
    const spec = {
      expressions: [c.expr],
      ...(c.selection === undefined ? {} : { selection: c.selection }),
      ...(c.weight === undefined ? {} : { weight: c.weight }),
    };
    const program = compileDraw(spec, opened.branches);
    const batch = await readBatch(opened, program.branches);
    const ours = new JsrootLikeHistogram(c.binning);
    program.processBatch(batch, (h, value, weight) => {
      expect(h).toBe(0);
      ours.fill(value, weight);
    });
    const reference = await jsrootDraw(opened, c.jsExpr ?? c.expr, jsCutOf(c), c.binning);
    expect(ours.fills).toBeGreaterThanOrEqual(c.minFills);
    expect(Array.from(ours.array)).toEqual(Array.from(reference));
  });
});
