/**
 * Named analyses for the open-data schemas we know. A preset is a request body (without the dataset) plus the
 * tree and branches it needs; GET /api/presets fills in the datasets whose tree has them.
 */
import type { AnalysisRequest } from './api.ts';

export interface Preset {
  id: string;
  title: string;
  description: string;
  /** The schema: which tree and release this is written for. */
  schema: string;
  tree: string;
  /** Branches the request reads; a dataset matches when its tree has all of them. */
  needs: string[];
  request: Omit<AnalysisRequest, 'dataset'>;
  /**
   * The samples it compares, by the `process` label of dataset.json: the main process first (a dataset of that
   * process opens this preset), then the other simulation it needs, and the data.
   */
  samples?: { data: string[]; simulation: string[] };
}

/** The synthetic samples (builder/synth): the pseudo-data mixes every process, so each preset lists its backgrounds. */
const SYNTH = {
  zll: { data: ['data-mix'], simulation: ['zll', 'wlnu', 'ttbar'] },
  wlnu: { data: ['data-mix'], simulation: ['wlnu', 'zll', 'ttbar'] },
  // The pseudo-data hold about one Higgs boson: the Higgs presets show the simulation (its own signal and background).
  hyy: { data: [], simulation: ['hyy'] },
  h4l: { data: [], simulation: ['zz4l'] },
};

/** Invariant mass of two objects from (pt, eta, phi), massless approximation. */
function pairMass(pt: string, eta: string, phi: string, scale: string): string {
  return `sqrt(2*${pt}[0]*${pt}[1]*(cosh(${eta}[0]-${eta}[1])-cos(${phi}[0]-${phi}[1])))${scale}`;
}

/** Invariant mass of all objects of an event from (pt, eta, phi, E) arrays. */
function allMass(pt: string, eta: string, phi: string, e: string, scale: string): string {
  return (
    `sqrt(pow(Sum$(${e}),2)-pow(Sum$(${pt}*cos(${phi})),2)-pow(Sum$(${pt}*sin(${phi})),2)` +
    `-pow(Sum$(${pt}*sinh(${eta})),2))${scale}`
  );
}

function transverseMass(pt: string, phi: string, met: string, metPhi: string, scale: string): string {
  return `sqrt(2*${pt}[0]*${met}*(1-cos(${phi}[0]-${metPhi})))${scale}`;
}

const ATLAS_8_WEIGHT = 'mcWeight*scaleFactor_PILEUP*scaleFactor_ELE*scaleFactor_MUON*scaleFactor_TRIGGER';
const ATLAS_13_LEP_WEIGHT = 'mcWeight*scaleFactor_PILEUP*scaleFactor_ELE*scaleFactor_MUON*scaleFactor_LepTRIGGER';
const ATLAS_13_GAM_WEIGHT = 'mcWeight*scaleFactor_PILEUP*scaleFactor_PHOTON*scaleFactor_PhotonTRIGGER';
const ATLAS_25_LEP_WEIGHT = 'mcWeight*ScaleFactor_PILEUP*ScaleFactor_ELE*ScaleFactor_MUON*ScaleFactor_LepTRIGGER';
const ATLAS_25_GAM_WEIGHT = 'mcWeight*ScaleFactor_PILEUP*ScaleFactor_PHOTON';

/** Z→ℓℓ selection: exactly two leptons, opposite charge, same flavour, both above the pT threshold. */
function zll(pt: string, threshold: number): string {
  return `lep_n==2 && lep_charge[0]*lep_charge[1]<0 && lep_type[0]==lep_type[1] && ${pt}[0]>${threshold} && ${pt}[1]>${threshold}`;
}

/** H→ZZ→4ℓ: four leptons, zero total charge, flavours in pairs (4e, 2e2μ, 4μ), staggered pT thresholds. */
function h4l(pt: string, t: [number, number, number]): string {
  return (
    `lep_n==4 && Sum$(lep_charge)==0 && (Sum$(lep_type)==44 || Sum$(lep_type)==48 || Sum$(lep_type)==52)` +
    ` && ${pt}[0]>${t[0]} && ${pt}[1]>${t[1]} && ${pt}[2]>${t[2]}`
  );
}

export const PRESETS: Preset[] = [
  // ATLAS 8 TeV open data, tree "mini": counted arrays, energies in MeV.
  {
    id: 'atlas8-zll',
    title: 'Z→ℓℓ dilepton mass (ATLAS 8 TeV)',
    description:
      'Exactly two leptons, opposite charge, same flavour, pT > 25 GeV; weighted by mcWeight and the scale factors.',
    schema: 'ATLAS 8 TeV mini',
    tree: 'mini',
    needs: ['lep_n', 'lep_pt', 'lep_eta', 'lep_phi', 'lep_charge', 'lep_type', 'mcWeight', 'scaleFactor_TRIGGER'],
    request: {
      tree: 'mini',
      selection: zll('lep_pt', 25000),
      weight: ATLAS_8_WEIGHT,
      histograms: [
        { name: 'mll', expr: pairMass('lep_pt', 'lep_eta', 'lep_phi', '/1000'), bins: 60, min: 60, max: 120 },
      ],
    },
  },
  {
    id: 'atlas8-wlnu',
    title: 'W→ℓν transverse mass (ATLAS 8 TeV)',
    description:
      'Exactly one lepton with pT > 25 GeV and missing ET > 25 GeV; weighted by mcWeight and the scale factors.',
    schema: 'ATLAS 8 TeV mini',
    tree: 'mini',
    needs: ['lep_n', 'lep_pt', 'lep_phi', 'met_et', 'met_phi', 'mcWeight', 'scaleFactor_TRIGGER'],
    request: {
      tree: 'mini',
      selection: 'lep_n==1 && lep_pt[0]>25000 && met_et>25000',
      weight: ATLAS_8_WEIGHT,
      histograms: [
        {
          name: 'mtw',
          expr: transverseMass('lep_pt', 'lep_phi', 'met_et', 'met_phi', '/1000'),
          bins: 40,
          min: 0,
          max: 200,
        },
      ],
    },
  },
  {
    id: 'atlas8-h4l',
    title: 'H→ZZ→4ℓ four-lepton mass (ATLAS 8 TeV)',
    description:
      'Four leptons, zero total charge, same-flavour pairs, pT > 25, 15, 10 GeV; weighted by mcWeight and the scale factors.',
    schema: 'ATLAS 8 TeV mini',
    tree: 'mini',
    needs: [
      'lep_n',
      'lep_pt',
      'lep_eta',
      'lep_phi',
      'lep_E',
      'lep_charge',
      'lep_type',
      'mcWeight',
      'scaleFactor_TRIGGER',
    ],
    request: {
      tree: 'mini',
      selection: h4l('lep_pt', [25000, 15000, 10000]),
      weight: ATLAS_8_WEIGHT,
      histograms: [
        { name: 'm4l', expr: allMass('lep_pt', 'lep_eta', 'lep_phi', 'lep_E', '/1000'), bins: 34, min: 80, max: 250 },
      ],
    },
  },
  // ATLAS 13 TeV open data (2020 release), tree "mini": std::vector branches, energies in MeV.
  {
    id: 'atlas13-zll',
    samples: SYNTH.zll,
    title: 'Z→ℓℓ dilepton mass (ATLAS 13 TeV 2020)',
    description:
      'Exactly two leptons, opposite charge, same flavour, pT > 25 GeV; weighted by mcWeight and the scale factors.',
    schema: 'ATLAS 13 TeV 2020 mini',
    tree: 'mini',
    needs: ['lep_n', 'lep_pt', 'lep_eta', 'lep_phi', 'lep_charge', 'lep_type', 'mcWeight', 'scaleFactor_LepTRIGGER'],
    request: {
      tree: 'mini',
      selection: zll('lep_pt', 25000),
      weight: ATLAS_13_LEP_WEIGHT,
      histograms: [
        { name: 'mll', expr: pairMass('lep_pt', 'lep_eta', 'lep_phi', '/1000'), bins: 60, min: 60, max: 120 },
      ],
    },
  },
  {
    id: 'atlas13-wlnu',
    samples: SYNTH.wlnu,
    title: 'W→ℓν transverse mass (ATLAS 13 TeV 2020)',
    description:
      'Exactly one tight lepton with pT > 25 GeV and missing ET > 25 GeV; weighted by mcWeight and the scale factors.',
    schema: 'ATLAS 13 TeV 2020 mini',
    tree: 'mini',
    needs: ['lep_n', 'lep_pt', 'lep_phi', 'lep_isTightID', 'met_et', 'met_phi', 'mcWeight', 'scaleFactor_LepTRIGGER'],
    request: {
      tree: 'mini',
      selection: 'lep_n==1 && lep_isTightID[0] && lep_pt[0]>25000 && met_et>25000',
      weight: ATLAS_13_LEP_WEIGHT,
      histograms: [
        {
          name: 'mtw',
          expr: transverseMass('lep_pt', 'lep_phi', 'met_et', 'met_phi', '/1000'),
          bins: 40,
          min: 0,
          max: 200,
        },
      ],
    },
  },
  {
    id: 'atlas13-hyy',
    samples: SYNTH.hyy,
    title: 'H→γγ diphoton mass (ATLAS 13 TeV 2020)',
    description: 'Two tight photons with pT > 40 and 30 GeV; weighted by mcWeight and the photon scale factors.',
    schema: 'ATLAS 13 TeV 2020 mini',
    tree: 'mini',
    needs: [
      'photon_n',
      'photon_pt',
      'photon_eta',
      'photon_phi',
      'photon_isTightID',
      'mcWeight',
      'scaleFactor_PhotonTRIGGER',
    ],
    request: {
      tree: 'mini',
      selection:
        'photon_n==2 && photon_isTightID[0] && photon_isTightID[1] && photon_pt[0]>40000 && photon_pt[1]>30000',
      weight: ATLAS_13_GAM_WEIGHT,
      histograms: [
        { name: 'myy', expr: pairMass('photon_pt', 'photon_eta', 'photon_phi', '/1000'), bins: 55, min: 105, max: 160 },
      ],
    },
  },
  {
    id: 'atlas13-h4l',
    samples: SYNTH.h4l,
    title: 'H→ZZ→4ℓ four-lepton mass (ATLAS 13 TeV 2020)',
    description:
      'Four leptons, zero total charge, same-flavour pairs, pT > 25, 15, 10 GeV; weighted by mcWeight and the scale factors.',
    schema: 'ATLAS 13 TeV 2020 mini',
    tree: 'mini',
    needs: [
      'lep_n',
      'lep_pt',
      'lep_eta',
      'lep_phi',
      'lep_E',
      'lep_charge',
      'lep_type',
      'mcWeight',
      'scaleFactor_LepTRIGGER',
    ],
    request: {
      tree: 'mini',
      selection: h4l('lep_pt', [25000, 15000, 10000]),
      weight: ATLAS_13_LEP_WEIGHT,
      histograms: [
        { name: 'm4l', expr: allMass('lep_pt', 'lep_eta', 'lep_phi', 'lep_E', '/1000'), bins: 34, min: 80, max: 250 },
      ],
    },
  },
  // ATLAS open data for education (2025 release), tree "analysis": std::vector branches, energies in GeV.
  {
    id: 'atlas25-zll',
    title: 'Z→ℓℓ dilepton mass (ATLAS 2025)',
    description:
      'Exactly two leptons, opposite charge, same flavour, pT > 25 GeV; weighted by mcWeight and the scale factors.',
    schema: 'ATLAS 2025 analysis',
    tree: 'analysis',
    needs: ['lep_n', 'lep_pt', 'lep_eta', 'lep_phi', 'lep_charge', 'lep_type', 'mcWeight', 'ScaleFactor_LepTRIGGER'],
    request: {
      tree: 'analysis',
      selection: zll('lep_pt', 25),
      weight: ATLAS_25_LEP_WEIGHT,
      histograms: [{ name: 'mll', expr: pairMass('lep_pt', 'lep_eta', 'lep_phi', ''), bins: 60, min: 60, max: 120 }],
    },
  },
  {
    id: 'atlas25-wlnu',
    title: 'W→ℓν transverse mass (ATLAS 2025)',
    description:
      'Exactly one tight lepton with pT > 25 GeV and missing ET > 25 GeV; weighted by mcWeight and the scale factors.',
    schema: 'ATLAS 2025 analysis',
    tree: 'analysis',
    needs: ['lep_n', 'lep_pt', 'lep_phi', 'lep_isTightID', 'met', 'met_phi', 'mcWeight', 'ScaleFactor_LepTRIGGER'],
    request: {
      tree: 'analysis',
      selection: 'lep_n==1 && lep_isTightID[0] && lep_pt[0]>25 && met>25',
      weight: ATLAS_25_LEP_WEIGHT,
      histograms: [
        { name: 'mtw', expr: transverseMass('lep_pt', 'lep_phi', 'met', 'met_phi', ''), bins: 40, min: 0, max: 200 },
      ],
    },
  },
  {
    id: 'atlas25-hyy',
    title: 'H→γγ diphoton mass (ATLAS 2025)',
    description: 'Two tight photons with pT > 40 and 30 GeV; weighted by mcWeight and the photon scale factors.',
    schema: 'ATLAS 2025 analysis',
    tree: 'analysis',
    needs: ['photon_n', 'photon_pt', 'photon_eta', 'photon_phi', 'photon_isTightID', 'mcWeight', 'ScaleFactor_PHOTON'],
    request: {
      tree: 'analysis',
      selection: 'photon_n==2 && photon_isTightID[0] && photon_isTightID[1] && photon_pt[0]>40 && photon_pt[1]>30',
      weight: ATLAS_25_GAM_WEIGHT,
      histograms: [
        { name: 'myy', expr: pairMass('photon_pt', 'photon_eta', 'photon_phi', ''), bins: 55, min: 105, max: 160 },
      ],
    },
  },
  {
    id: 'atlas25-h4l',
    title: 'H→ZZ→4ℓ four-lepton mass (ATLAS 2025)',
    description:
      'Four leptons, zero total charge, same-flavour pairs, pT > 20, 15, 10 GeV; weighted by mcWeight and the scale factors.',
    schema: 'ATLAS 2025 analysis',
    tree: 'analysis',
    needs: [
      'lep_n',
      'lep_pt',
      'lep_eta',
      'lep_phi',
      'lep_e',
      'lep_charge',
      'lep_type',
      'mcWeight',
      'ScaleFactor_LepTRIGGER',
    ],
    request: {
      tree: 'analysis',
      selection: h4l('lep_pt', [20, 15, 10]),
      weight: ATLAS_25_LEP_WEIGHT,
      histograms: [
        { name: 'm4l', expr: allMass('lep_pt', 'lep_eta', 'lep_phi', 'lep_e', ''), bins: 34, min: 80, max: 250 },
      ],
    },
  },
  // CMS open-data derived HZZ sample (scikit-hep uproot-HZZ), tree "events": counted arrays of Cartesian momenta, GeV.
  {
    id: 'cms-zmumu',
    title: 'Z→μμ dimuon mass (CMS events)',
    description: 'Exactly two opposite-charge muons; weighted by EventWeight.',
    schema: 'CMS events (uproot-HZZ)',
    tree: 'events',
    needs: ['NMuon', 'Muon_Px', 'Muon_Py', 'Muon_Pz', 'Muon_E', 'Muon_Charge', 'EventWeight'],
    request: {
      tree: 'events',
      selection: 'NMuon==2 && Muon_Charge[0]*Muon_Charge[1]<0',
      weight: 'EventWeight',
      histograms: [
        {
          name: 'mmumu',
          expr: 'sqrt(pow(Muon_E[0]+Muon_E[1],2)-pow(Muon_Px[0]+Muon_Px[1],2)-pow(Muon_Py[0]+Muon_Py[1],2)-pow(Muon_Pz[0]+Muon_Pz[1],2))',
          bins: 60,
          min: 60,
          max: 120,
        },
      ],
    },
  },
  {
    id: 'cms-wmunu',
    title: 'W→μν transverse mass (CMS events)',
    description: 'Exactly one muon with pT > 25 GeV and missing ET > 25 GeV; weighted by EventWeight.',
    schema: 'CMS events (uproot-HZZ)',
    tree: 'events',
    needs: ['NMuon', 'Muon_Px', 'Muon_Py', 'MET_px', 'MET_py', 'EventWeight'],
    request: {
      tree: 'events',
      selection:
        'NMuon==1 && sqrt(Muon_Px[0]*Muon_Px[0]+Muon_Py[0]*Muon_Py[0])>25 && sqrt(MET_px*MET_px+MET_py*MET_py)>25',
      weight: 'EventWeight',
      histograms: [
        {
          name: 'mtw',
          expr:
            'sqrt(2*(sqrt(Muon_Px[0]*Muon_Px[0]+Muon_Py[0]*Muon_Py[0])*sqrt(MET_px*MET_px+MET_py*MET_py)' +
            '-Muon_Px[0]*MET_px-Muon_Py[0]*MET_py))',
          bins: 40,
          min: 0,
          max: 200,
        },
      ],
    },
  },
  {
    id: 'cms-hyy',
    title: 'H→γγ diphoton mass (CMS events)',
    description: 'Exactly two photons; weighted by EventWeight.',
    schema: 'CMS events (uproot-HZZ)',
    tree: 'events',
    needs: ['NPhoton', 'Photon_Px', 'Photon_Py', 'Photon_Pz', 'Photon_E', 'EventWeight'],
    request: {
      tree: 'events',
      selection: 'NPhoton==2',
      weight: 'EventWeight',
      histograms: [
        {
          name: 'myy',
          expr: 'sqrt(pow(Sum$(Photon_E),2)-pow(Sum$(Photon_Px),2)-pow(Sum$(Photon_Py),2)-pow(Sum$(Photon_Pz),2))',
          bins: 50,
          min: 0,
          max: 200,
        },
      ],
    },
  },
  {
    id: 'cms-h4mu',
    title: 'H→ZZ→4μ four-muon mass (CMS events)',
    description: 'Exactly four muons with zero total charge; weighted by EventWeight.',
    schema: 'CMS events (uproot-HZZ)',
    tree: 'events',
    needs: ['NMuon', 'Muon_Px', 'Muon_Py', 'Muon_Pz', 'Muon_E', 'Muon_Charge', 'EventWeight'],
    request: {
      tree: 'events',
      selection: 'NMuon==4 && Sum$(Muon_Charge)==0',
      weight: 'EventWeight',
      histograms: [
        {
          name: 'm4mu',
          expr: 'sqrt(pow(Sum$(Muon_E),2)-pow(Sum$(Muon_Px),2)-pow(Sum$(Muon_Py),2)-pow(Sum$(Muon_Pz),2))',
          bins: 34,
          min: 80,
          max: 250,
        },
      ],
    },
  },
];
