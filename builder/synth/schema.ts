import type { Rng } from './random.ts';
import { GEV, type RecoEvent } from './detector.ts';
import { quadrature } from './kinematics.ts';
import type { ArrayValue, BranchSpec, Value } from '../../rootio/write/tree.ts';

/**
 * The ATLAS 13 TeV open-data (2020 release) `mini` tree: 81 branches, energies in MeV, collections as
 * std::vector with their multiplicity in a UInt_t. Branch names, types and order follow the release's
 * MakeClass headers; the tau and large-R jet collections are present in every file and simply empty when a
 * process produces none.
 */
export const SCHEMAS = ['atlas13-mini'] as const;
export type SchemaName = (typeof SCHEMAS)[number];

export const ATLAS13_MINI_TREE = 'mini';

const f = (name: string): BranchSpec => ({ name, type: 'Float_t' });
const vf = (name: string): BranchSpec => ({ name, vector: 'float' });
const vi = (name: string): BranchSpec => ({ name, vector: 'int' });
const vu = (name: string): BranchSpec => ({ name, vector: 'unsigned int' });
const vb = (name: string): BranchSpec => ({ name, vector: 'bool' });

export const ATLAS13_MINI_BRANCHES: readonly BranchSpec[] = [
  { name: 'runNumber', type: 'Int_t' },
  { name: 'eventNumber', type: 'Int_t' },
  { name: 'channelNumber', type: 'Int_t' },
  f('mcWeight'),
  f('scaleFactor_PILEUP'),
  f('scaleFactor_ELE'),
  f('scaleFactor_MUON'),
  f('scaleFactor_PHOTON'),
  f('scaleFactor_TAU'),
  f('scaleFactor_BTAG'),
  f('scaleFactor_LepTRIGGER'),
  f('scaleFactor_PhotonTRIGGER'),
  { name: 'trigE', type: 'Bool_t' },
  { name: 'trigM', type: 'Bool_t' },
  { name: 'trigP', type: 'Bool_t' },
  { name: 'lep_n', type: 'UInt_t' },
  vb('lep_truthMatched'),
  vb('lep_trigMatched'),
  vf('lep_pt'),
  vf('lep_eta'),
  vf('lep_phi'),
  vf('lep_E'),
  vf('lep_z0'),
  vi('lep_charge'),
  vu('lep_type'),
  vb('lep_isTightID'),
  vf('lep_ptcone30'),
  vf('lep_etcone20'),
  vf('lep_trackd0pvunbiased'),
  vf('lep_tracksigd0pvunbiased'),
  f('met_et'),
  f('met_phi'),
  { name: 'jet_n', type: 'UInt_t' },
  vf('jet_pt'),
  vf('jet_eta'),
  vf('jet_phi'),
  vf('jet_E'),
  vf('jet_jvt'),
  vi('jet_trueflav'),
  vb('jet_truthMatched'),
  vf('jet_MV2c10'),
  { name: 'photon_n', type: 'UInt_t' },
  vb('photon_truthMatched'),
  vb('photon_trigMatched'),
  vf('photon_pt'),
  vf('photon_eta'),
  vf('photon_phi'),
  vf('photon_E'),
  vb('photon_isTightID'),
  vf('photon_ptcone30'),
  vf('photon_etcone20'),
  vi('photon_convType'),
  { name: 'largeRjet_n', type: 'UInt_t' },
  vf('largeRjet_pt'),
  vf('largeRjet_eta'),
  vf('largeRjet_phi'),
  vf('largeRjet_E'),
  vf('largeRjet_m'),
  vi('largeRjet_truthMatched'),
  vf('largeRjet_D2'),
  vf('largeRjet_tau32'),
  { name: 'tau_n', type: 'UInt_t' },
  vf('tau_pt'),
  vf('tau_eta'),
  vf('tau_phi'),
  vf('tau_E'),
  vi('tau_charge'),
  vb('tau_isTightID'),
  vb('tau_truthMatched'),
  vb('tau_trigMatched'),
  vi('tau_nTracks'),
  vf('tau_BDTid'),
  f('ditau_m'),
  vf('lep_pt_syst'),
  f('met_et_syst'),
  vf('jet_pt_syst'),
  vf('photon_pt_syst'),
  vf('largeRjet_pt_syst'),
  vf('tau_pt_syst'),
  f('XSection'),
  f('SumWeights'),
];

/** Per-event bookkeeping that is not physics: identifiers and normalisation. */
export interface EventMeta {
  runNumber: number;
  eventNumber: number;
  channelNumber: number;
  mcWeight: number;
  xsection: number;
  sumWeights: number;
  isData: boolean;
}

/**
 * Data carry no scale factors (1); the value is drawn either way so data and simulation use the random stream
 * alike. A function of the module, not a closure per event: tsx names every closure it creates, at a cost.
 */
function scaleFactor(isData: boolean, value: number): number {
  return isData ? 1 : value;
}

/** Builds the positional row TreeWriter.fill expects, reusing its arrays from event to event. */
export class MiniRowBuilder {
  private readonly index = new Map(ATLAS13_MINI_BRANCHES.map((spec, i) => [spec.name, i]));
  private readonly vectors: number[][] = [];
  private readonly row: (Value | ArrayValue)[] = ATLAS13_MINI_BRANCHES.map((spec) => {
    if (!('vector' in spec)) return 0;
    const vector: number[] = [];
    this.vectors.push(vector);
    return vector;
  });

  constructor(private readonly rng: Rng) {}

  private column(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`no branch ${name}`);
    return i;
  }

  // Column indices resolved once.
  private readonly c = {
    runNumber: this.column('runNumber'),
    eventNumber: this.column('eventNumber'),
    channelNumber: this.column('channelNumber'),
    mcWeight: this.column('mcWeight'),
    sfPileup: this.column('scaleFactor_PILEUP'),
    sfEle: this.column('scaleFactor_ELE'),
    sfMuon: this.column('scaleFactor_MUON'),
    sfPhoton: this.column('scaleFactor_PHOTON'),
    sfTau: this.column('scaleFactor_TAU'),
    sfBtag: this.column('scaleFactor_BTAG'),
    sfLepTrig: this.column('scaleFactor_LepTRIGGER'),
    sfPhotonTrig: this.column('scaleFactor_PhotonTRIGGER'),
    trigE: this.column('trigE'),
    trigM: this.column('trigM'),
    trigP: this.column('trigP'),
    lepN: this.column('lep_n'),
    metEt: this.column('met_et'),
    metPhi: this.column('met_phi'),
    jetN: this.column('jet_n'),
    photonN: this.column('photon_n'),
    largeRN: this.column('largeRjet_n'),
    tauN: this.column('tau_n'),
    ditauM: this.column('ditau_m'),
    metSyst: this.column('met_et_syst'),
    xsection: this.column('XSection'),
    sumWeights: this.column('SumWeights'),
  };

  private vec(name: string): number[] {
    return this.row[this.column(name)] as number[];
  }
  private readonly v = {
    lepTruth: this.vec('lep_truthMatched'),
    lepTrig: this.vec('lep_trigMatched'),
    lepPt: this.vec('lep_pt'),
    lepEta: this.vec('lep_eta'),
    lepPhi: this.vec('lep_phi'),
    lepE: this.vec('lep_E'),
    lepZ0: this.vec('lep_z0'),
    lepCharge: this.vec('lep_charge'),
    lepType: this.vec('lep_type'),
    lepTight: this.vec('lep_isTightID'),
    lepPtcone: this.vec('lep_ptcone30'),
    lepEtcone: this.vec('lep_etcone20'),
    lepD0: this.vec('lep_trackd0pvunbiased'),
    lepD0sig: this.vec('lep_tracksigd0pvunbiased'),
    jetPt: this.vec('jet_pt'),
    jetEta: this.vec('jet_eta'),
    jetPhi: this.vec('jet_phi'),
    jetE: this.vec('jet_E'),
    jetJvt: this.vec('jet_jvt'),
    jetFlav: this.vec('jet_trueflav'),
    jetTruth: this.vec('jet_truthMatched'),
    jetMv2: this.vec('jet_MV2c10'),
    phTruth: this.vec('photon_truthMatched'),
    phTrig: this.vec('photon_trigMatched'),
    phPt: this.vec('photon_pt'),
    phEta: this.vec('photon_eta'),
    phPhi: this.vec('photon_phi'),
    phE: this.vec('photon_E'),
    phTight: this.vec('photon_isTightID'),
    phPtcone: this.vec('photon_ptcone30'),
    phEtcone: this.vec('photon_etcone20'),
    phConv: this.vec('photon_convType'),
    lrPt: this.vec('largeRjet_pt'),
    lrEta: this.vec('largeRjet_eta'),
    lrPhi: this.vec('largeRjet_phi'),
    lrE: this.vec('largeRjet_E'),
    lrM: this.vec('largeRjet_m'),
    lrTruth: this.vec('largeRjet_truthMatched'),
    lrD2: this.vec('largeRjet_D2'),
    lrTau32: this.vec('largeRjet_tau32'),
    tauPt: this.vec('tau_pt'),
    tauEta: this.vec('tau_eta'),
    tauPhi: this.vec('tau_phi'),
    tauE: this.vec('tau_E'),
    tauCharge: this.vec('tau_charge'),
    tauTight: this.vec('tau_isTightID'),
    tauTruth: this.vec('tau_truthMatched'),
    tauTrig: this.vec('tau_trigMatched'),
    tauNTracks: this.vec('tau_nTracks'),
    tauBdt: this.vec('tau_BDTid'),
    lepPtSyst: this.vec('lep_pt_syst'),
    jetPtSyst: this.vec('jet_pt_syst'),
    phPtSyst: this.vec('photon_pt_syst'),
    lrPtSyst: this.vec('largeRjet_pt_syst'),
    tauPtSyst: this.vec('tau_pt_syst'),
  };

  /** Fills the row for one reconstructed event: triggers, scale factors, objects and normalisation. */
  build(event: RecoEvent, meta: EventMeta): readonly (Value | ArrayValue)[] {
    const rng = this.rng;
    const row = this.row;
    const c = this.c;
    const v = this.v;
    // Most vectors (taus, large-R jets, photons) stay empty: setting the length of an empty array costs as much.
    for (const vector of this.vectors) if (vector.length !== 0) vector.length = 0;

    // Single-lepton triggers at 25 GeV (lepton matched), diphoton trigger at 35/25 GeV.
    let trigE = false;
    let trigM = false;
    let sfEle = 1;
    let sfMuon = 1;
    for (const l of event.leptons) {
      const matched = l.p.pt > 27 * GEV && rng.bernoulli(l.type === 11 ? 0.96 : 0.88);
      l.trigMatched = matched;
      if (l.type === 11) {
        trigE ||= matched;
        sfEle *= rng.normal(1, 0.012);
      } else {
        trigM ||= matched;
        sfMuon *= rng.normal(1, 0.008);
      }
    }
    let sfPhoton = 1;
    const photons = event.photons;
    const trigP = photons.length >= 2 && photons[0]!.p.pt > 35 * GEV && rng.bernoulli(0.97);
    for (let i = 0; i < photons.length; i++) {
      photons[i]!.trigMatched = trigP && i < 2;
      sfPhoton *= rng.normal(1, 0.015);
    }
    let sfBtag = 1;
    for (let i = 0; i < event.jets.length; i++) sfBtag *= rng.normal(1, 0.015);
    let sfTau = 1;
    for (let i = 0; i < event.taus.length; i++) sfTau *= rng.normal(1, 0.03);

    row[c.runNumber] = meta.runNumber;
    row[c.eventNumber] = meta.eventNumber;
    row[c.channelNumber] = meta.channelNumber;
    row[c.mcWeight] = meta.mcWeight;
    // The toy detector is the same for data and simulation, so true scale factors scatter around 1; centred
    // elsewhere, normalised simulation would sit a few per cent below the pseudo-data.
    const data = meta.isData;
    row[c.sfPileup] = scaleFactor(data, Math.max(0.05, rng.normal(1, 0.12)));
    row[c.sfEle] = scaleFactor(data, sfEle);
    row[c.sfMuon] = scaleFactor(data, sfMuon);
    row[c.sfPhoton] = scaleFactor(data, sfPhoton);
    row[c.sfTau] = scaleFactor(data, sfTau);
    row[c.sfBtag] = scaleFactor(data, sfBtag);
    row[c.sfLepTrig] = scaleFactor(data, trigE || trigM ? rng.normal(1, 0.01) : 1);
    row[c.sfPhotonTrig] = scaleFactor(data, trigP ? rng.normal(1, 0.005) : 1);
    row[c.trigE] = trigE;
    row[c.trigM] = trigM;
    row[c.trigP] = trigP;

    row[c.lepN] = event.leptons.length;
    for (const l of event.leptons) {
      v.lepTruth.push(l.truthMatched ? 1 : 0);
      v.lepTrig.push(l.trigMatched ? 1 : 0);
      v.lepPt.push(l.p.pt);
      v.lepEta.push(l.p.eta);
      v.lepPhi.push(l.p.phi);
      v.lepE.push(l.p.e);
      v.lepZ0.push(l.z0);
      v.lepCharge.push(l.charge);
      v.lepType.push(l.type);
      v.lepTight.push(l.tight ? 1 : 0);
      v.lepPtcone.push(l.ptcone30);
      v.lepEtcone.push(l.etcone20);
      v.lepD0.push(l.d0);
      v.lepD0sig.push(l.d0sig);
      v.lepPtSyst.push(l.ptSyst);
    }
    row[c.metEt] = quadrature(event.metX, event.metY);
    row[c.metPhi] = Math.atan2(event.metY, event.metX);
    row[c.metSyst] = event.metSyst;

    row[c.jetN] = event.jets.length;
    for (const j of event.jets) {
      v.jetPt.push(j.p.pt);
      v.jetEta.push(j.p.eta);
      v.jetPhi.push(j.p.phi);
      v.jetE.push(j.p.e);
      v.jetJvt.push(j.jvt);
      v.jetFlav.push(j.flavour);
      v.jetTruth.push(j.truthMatched ? 1 : 0);
      v.jetMv2.push(j.mv2c10);
      v.jetPtSyst.push(j.ptSyst);
    }

    row[c.photonN] = photons.length;
    for (const p of photons) {
      v.phTruth.push(p.truthMatched ? 1 : 0);
      v.phTrig.push(p.trigMatched ? 1 : 0);
      v.phPt.push(p.p.pt);
      v.phEta.push(p.p.eta);
      v.phPhi.push(p.p.phi);
      v.phE.push(p.p.e);
      v.phTight.push(p.tight ? 1 : 0);
      v.phPtcone.push(p.ptcone30);
      v.phEtcone.push(p.etcone20);
      v.phConv.push(p.convType);
      v.phPtSyst.push(p.ptSyst);
    }

    row[c.largeRN] = event.largeRJets.length;
    for (const j of event.largeRJets) {
      v.lrPt.push(j.p.pt);
      v.lrEta.push(j.p.eta);
      v.lrPhi.push(j.p.phi);
      v.lrE.push(j.p.e);
      v.lrM.push(j.m);
      v.lrTruth.push(j.truthMatched);
      v.lrD2.push(j.d2);
      v.lrTau32.push(j.tau32);
      v.lrPtSyst.push(j.ptSyst);
    }

    row[c.tauN] = event.taus.length;
    for (const t of event.taus) {
      v.tauPt.push(t.p.pt);
      v.tauEta.push(t.p.eta);
      v.tauPhi.push(t.p.phi);
      v.tauE.push(t.p.e);
      v.tauCharge.push(t.charge);
      v.tauTight.push(t.tight ? 1 : 0);
      v.tauTruth.push(t.truthMatched ? 1 : 0);
      v.tauTrig.push(t.trigMatched ? 1 : 0);
      v.tauNTracks.push(t.nTracks);
      v.tauBdt.push(t.bdt);
      v.tauPtSyst.push(t.ptSyst);
    }
    row[c.ditauM] = event.taus.length >= 2 ? event.taus[0]!.p.plus(event.taus[1]!.p).mass : 0;

    row[c.xsection] = meta.xsection;
    row[c.sumWeights] = meta.sumWeights;
    return row;
  }
}
