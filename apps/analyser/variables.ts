/**
 * Student mode's named variables: what a preset's branches mean, in GeV, with a sensible binning. A cut on a
 * variable is typed in the variable's unit and becomes `(expr) > value` in the request, so `lepton pT > 40` means
 * 40 GeV whatever unit the tree stores (MeV in the ATLAS mini trees).
 */
import type { MessageKey } from '../shared/i18n.ts';

export interface Variable {
  id: string;
  /** i18n key of its name ("Leading lepton pT"). */
  label: MessageKey;
  /** Short symbol for axis titles: "m_ℓℓ", "p_T^ℓ1". */
  symbol: string;
  unit: 'GeV' | '';
  expr: string;
  bins: number;
  min: number;
  max: number;
  /** Counts (numbers of objects): integer bins, cuts on whole numbers. */
  integer?: boolean;
}

type Scale = '/1000' | '';

function pairMass(obj: string, scale: Scale): string {
  return `sqrt(2*${obj}_pt[0]*${obj}_pt[1]*(cosh(${obj}_eta[0]-${obj}_eta[1])-cos(${obj}_phi[0]-${obj}_phi[1])))${scale}`;
}

function fourMass(e: string, scale: Scale): string {
  return (
    `sqrt(pow(Sum$(${e}),2)-pow(Sum$(lep_pt*cos(lep_phi)),2)-pow(Sum$(lep_pt*sin(lep_phi)),2)` +
    `-pow(Sum$(lep_pt*sinh(lep_eta)),2))${scale}`
  );
}

/** The variables of the ATLAS mini and analysis trees; `met` and `e` name what the release calls them. */
function atlas(scale: Scale, met: string, e: string, jetN: string): Record<string, Variable> {
  const v = (x: Omit<Variable, 'unit'> & { unit?: Variable['unit'] }): Variable => ({ unit: 'GeV', ...x });
  return {
    mll: v({ id: 'mll', label: 'var.mll', symbol: 'm_ℓℓ', expr: pairMass('lep', scale), bins: 60, min: 60, max: 120 }),
    lep_pt0: v({
      id: 'lep_pt0',
      label: 'var.lep_pt0',
      symbol: 'p_T(ℓ1)',
      expr: `lep_pt[0]${scale}`,
      bins: 50,
      min: 0,
      max: 200,
    }),
    lep_pt1: v({
      id: 'lep_pt1',
      label: 'var.lep_pt1',
      symbol: 'p_T(ℓ2)',
      expr: `lep_pt[1]${scale}`,
      bins: 50,
      min: 0,
      max: 200,
    }),
    lep_eta0: v({
      id: 'lep_eta0',
      label: 'var.lep_eta0',
      symbol: 'η(ℓ1)',
      unit: '',
      expr: 'lep_eta[0]',
      bins: 50,
      min: -2.5,
      max: 2.5,
    }),
    met: v({ id: 'met', label: 'var.met', symbol: 'E_T^miss', expr: `${met}${scale}`, bins: 50, min: 0, max: 200 }),
    lep_n: v({
      id: 'lep_n',
      label: 'var.lep_n',
      symbol: 'N(ℓ)',
      unit: '',
      expr: 'lep_n',
      bins: 6,
      min: 0,
      max: 6,
      integer: true,
    }),
    jet_n: v({
      id: 'jet_n',
      label: 'var.jet_n',
      symbol: 'N(jets)',
      unit: '',
      expr: jetN,
      bins: 10,
      min: 0,
      max: 10,
      integer: true,
    }),
    mtw: v({
      id: 'mtw',
      label: 'var.mtw',
      symbol: 'm_T(W)',
      expr: `sqrt(2*lep_pt[0]*${met}*(1-cos(lep_phi[0]-${met.replace(/_et$/, '')}_phi)))${scale}`,
      bins: 40,
      min: 0,
      max: 200,
    }),
    myy: v({
      id: 'myy',
      label: 'var.myy',
      symbol: 'm_γγ',
      expr: pairMass('photon', scale),
      bins: 55,
      min: 105,
      max: 160,
    }),
    photon_pt0: v({
      id: 'photon_pt0',
      label: 'var.photon_pt0',
      symbol: 'p_T(γ1)',
      expr: `photon_pt[0]${scale}`,
      bins: 50,
      min: 0,
      max: 200,
    }),
    photon_pt1: v({
      id: 'photon_pt1',
      label: 'var.photon_pt1',
      symbol: 'p_T(γ2)',
      expr: `photon_pt[1]${scale}`,
      bins: 50,
      min: 0,
      max: 200,
    }),
    photon_eta0: v({
      id: 'photon_eta0',
      label: 'var.photon_eta0',
      symbol: 'η(γ1)',
      unit: '',
      expr: 'photon_eta[0]',
      bins: 50,
      min: -2.5,
      max: 2.5,
    }),
    photon_n: v({
      id: 'photon_n',
      label: 'var.photon_n',
      symbol: 'N(γ)',
      unit: '',
      expr: 'photon_n',
      bins: 6,
      min: 0,
      max: 6,
      integer: true,
    }),
    m4l: v({ id: 'm4l', label: 'var.m4l', symbol: 'm_4ℓ', expr: fourMass(e, scale), bins: 34, min: 80, max: 250 }),
  };
}

const ATLAS13 = atlas('/1000', 'met_et', 'lep_E', 'jet_n');
const ATLAS8 = atlas('/1000', 'met_et', 'lep_E', 'jet_n');
const ATLAS25 = atlas('', 'met', 'lep_e', 'jet_n');

function pick(table: Record<string, Variable>, ids: string[]): Variable[] {
  return ids.flatMap((id) => table[id] ?? []);
}

/** The variables a preset offers, its own histogram first; the linked view draws the first four to eight. */
const BY_KIND: Record<string, string[]> = {
  zll: ['mll', 'lep_pt0', 'lep_pt1', 'met', 'lep_eta0', 'jet_n', 'lep_n'],
  wlnu: ['mtw', 'lep_pt0', 'met', 'lep_eta0', 'jet_n', 'lep_n'],
  hyy: ['myy', 'photon_pt0', 'photon_pt1', 'photon_eta0', 'met', 'jet_n', 'photon_n'],
  h4l: ['m4l', 'lep_pt0', 'lep_pt1', 'met', 'jet_n', 'lep_n'],
};

export function variablesFor(presetId: string): Variable[] {
  const [schema, kind] = presetId.split('-');
  const ids = BY_KIND[kind ?? ''];
  if (ids === undefined) return [];
  if (schema === 'atlas13') return pick(ATLAS13, ids);
  if (schema === 'atlas8') return pick(ATLAS8, ids);
  if (schema === 'atlas25') return pick(ATLAS25, ids);
  return [];
}

/** "m_ℓℓ [GeV]" */
export function axisTitle(v: Pick<Variable, 'symbol' | 'unit'>): string {
  return v.unit === '' ? v.symbol : `${v.symbol} [${v.unit}]`;
}

/** "Events / 2 GeV" for a bin width of 2 in the variable's unit. */
export function binWidthText(width: number, unit: string): string {
  const w = Number(width.toPrecision(3));
  return unit === '' ? (w === 1 ? '' : ` / ${w}`) : ` / ${w} ${unit}`;
}
