import { P4, quadrature } from './kinematics.ts';
import type { Rng } from './random.ts';

/**
 * A parametric detector: truth particles become reconstructed objects with ATLAS-like acceptance, efficiency and
 * resolution, applied to the 13 TeV open-data object definitions (leptons pT > 7 GeV, photons and taus pT > 25 /
 * 20 GeV, jets pT > 20 GeV and |η| < 2.5, large-R jets pT > 250 GeV). Energies in MeV throughout.
 */

export const GEV = 1000;
export const ELECTRON_MASS = 0.511;
export const MUON_MASS = 105.658;

export interface Lepton {
  p: P4;
  charge: number;
  /** 11 electron, 13 muon. */
  type: number;
  tight: boolean;
  truthMatched: boolean;
  trigMatched: boolean;
  z0: number;
  d0: number;
  d0sig: number;
  ptcone30: number;
  etcone20: number;
  ptSyst: number;
}

export interface Jet {
  p: P4;
  /** 0 light, 4 charm, 5 bottom (jet_trueflav). */
  flavour: number;
  truthMatched: boolean;
  jvt: number;
  mv2c10: number;
  ptSyst: number;
}

export interface Photon {
  p: P4;
  tight: boolean;
  truthMatched: boolean;
  trigMatched: boolean;
  ptcone30: number;
  etcone20: number;
  convType: number;
  ptSyst: number;
}

export interface Tau {
  p: P4;
  charge: number;
  tight: boolean;
  truthMatched: boolean;
  trigMatched: boolean;
  nTracks: number;
  bdt: number;
  ptSyst: number;
}

export interface LargeRJet {
  p: P4;
  m: number;
  truthMatched: number;
  d2: number;
  tau32: number;
  ptSyst: number;
}

export interface RecoEvent {
  leptons: Lepton[];
  jets: Jet[];
  photons: Photon[];
  taus: Tau[];
  largeRJets: LargeRJet[];
  /** Missing transverse momentum vector (MeV). */
  metX: number;
  metY: number;
  metSyst: number;
}

export function emptyEvent(): RecoEvent {
  return { leptons: [], jets: [], photons: [], taus: [], largeRJets: [], metX: 0, metY: 0, metSyst: 0 };
}

function inCrack(eta: number): boolean {
  const a = Math.abs(eta);
  return a > 1.37 && a < 1.52;
}

/** Calorimeter energy resolution σ/E = a/√E ⊕ c, with E in GeV. */
function caloSmear(rng: Rng, energy: number, stochastic: number, constant: number): number {
  const eGeV = energy / GEV;
  const sigma = quadrature(stochastic / Math.sqrt(Math.max(eGeV, 1e-3)), constant);
  return energy * Math.max(0.05, 1 + sigma * rng.gauss());
}

function isolation(rng: Rng, prompt: boolean): { ptcone30: number; etcone20: number } {
  const mean = prompt ? 400 : 4000;
  return {
    ptcone30: rng.bernoulli(prompt ? 0.75 : 0.1) ? 0 : rng.exponential(mean),
    etcone20: rng.normal(prompt ? 200 : 3000, prompt ? 900 : 2500),
  };
}

export class Detector {
  constructor(
    private readonly rng: Rng,
    /** Data carry no truth: truth flags are false and jet_trueflav 0. */
    private readonly isData: boolean,
  ) {}

  /** Rescales the three-momentum to `energy` keeping direction and mass. */
  private rescaled(p: P4, energy: number, mass: number): P4 {
    const pmag = Math.sqrt(Math.max(energy * energy - mass * mass, 0));
    const scale = pmag / Math.max(p.p, 1e-9);
    return new P4(p.px * scale, p.py * scale, p.pz * scale, energy);
  }

  electron(truth: P4, charge: number): Lepton | null {
    const rng = this.rng;
    const eta = truth.eta;
    if (Math.abs(eta) > 2.47 || inCrack(eta) || !rng.bernoulli(0.95)) return null;
    const p = this.rescaled(truth, caloSmear(rng, truth.e, 0.1, 0.007), ELECTRON_MASS);
    if (p.pt < 7 * GEV) return null;
    return this.lepton(p, charge, 11, 0.9);
  }

  muon(truth: P4, charge: number): Lepton | null {
    const rng = this.rng;
    if (Math.abs(truth.eta) > 2.5 || !rng.bernoulli(0.97)) return null;
    const ptGeV = truth.pt / GEV;
    const sigma = quadrature(0.017, 0.00012 * ptGeV);
    const scale = Math.max(0.05, 1 + sigma * rng.gauss());
    const p = new P4(truth.px * scale, truth.py * scale, truth.pz * scale, 0);
    p.e = Math.sqrt(p.p * p.p + MUON_MASS * MUON_MASS);
    if (p.pt < 7 * GEV) return null;
    return this.lepton(p, charge, 13, 0.95);
  }

  private lepton(p: P4, charge: number, type: number, tightEfficiency: number): Lepton {
    const rng = this.rng;
    const iso = isolation(rng, true);
    const d0 = rng.normal(0, 0.012);
    const d0Error = 0.008 + 0.02 * rng.uniform();
    return {
      p,
      charge,
      type,
      tight: rng.bernoulli(tightEfficiency),
      truthMatched: !this.isData,
      trigMatched: false,
      z0: rng.normal(0, 0.25),
      d0,
      d0sig: Math.abs(d0) / d0Error,
      ptcone30: iso.ptcone30,
      etcone20: iso.etcone20,
      ptSyst: p.pt * (type === 11 ? 0.004 : 0.003) * (1 + 0.2 * rng.gauss()),
    };
  }

  photon(truth: P4): Photon | null {
    const rng = this.rng;
    const eta = truth.eta;
    if (Math.abs(eta) > 2.37 || inCrack(eta) || !rng.bernoulli(0.92)) return null;
    const p = this.rescaled(truth, caloSmear(rng, truth.e, 0.1, 0.007), 0);
    if (p.pt < 25 * GEV) return null;
    const iso = isolation(rng, true);
    const converted = rng.bernoulli(0.3);
    return {
      p,
      tight: rng.bernoulli(0.88),
      truthMatched: !this.isData,
      trigMatched: false,
      ptcone30: iso.ptcone30,
      etcone20: iso.etcone20,
      convType: converted ? 1 + rng.int(5) : 0,
      ptSyst: p.pt * 0.005 * (1 + 0.2 * rng.gauss()),
    };
  }

  /** A jet from a parton of the given flavour (0 light/gluon, 4 charm, 5 bottom). */
  jet(truth: P4, flavour: number): Jet | null {
    const rng = this.rng;
    if (Math.abs(truth.eta) > 2.5) return null;
    const ptGeV = Math.max(truth.pt / GEV, 1);
    const sigma = quadrature(0.65 / Math.sqrt(ptGeV), 0.035);
    const scale = Math.max(0.1, 1 + sigma * rng.gauss());
    const mass = truth.pt * (0.05 + 0.1 * rng.uniform());
    const pt = truth.pt * scale;
    if (pt < 20 * GEV) return null;
    const p = P4.ptEtaPhiM(pt, truth.eta + rng.normal(0, 0.01), truth.phi + rng.normal(0, 0.01), mass);
    return {
      p,
      flavour: this.isData ? 0 : flavour,
      truthMatched: !this.isData,
      jvt: pt < 60 * GEV ? Math.min(1, 0.92 + 0.08 * rng.uniform()) : 1,
      mv2c10: this.tagger(flavour),
      ptSyst: pt * 0.02 * (1 + 0.2 * rng.gauss()),
    };
  }

  /** MV2c10-like score in [-1, 1]: b-jets pile up near 1, light jets near -1, charm in between. */
  private tagger(flavour: number): number {
    const rng = this.rng;
    if (flavour === 5) return 1 - 2 * Math.pow(rng.uniform(), 6);
    if (flavour === 4) return -1 + 2 * Math.pow(rng.uniform(), 0.8);
    return -1 + 2 * Math.pow(rng.uniform(), 5);
  }

  /** Soft pile-up jets just above threshold (no truth match, low JVT). */
  pileupJets(mean: number): Jet[] {
    const rng = this.rng;
    const n = rng.poisson(mean);
    const jets: Jet[] = [];
    for (let i = 0; i < n; i++) {
      const pt = 20 * GEV + rng.exponential(8 * GEV);
      const p = P4.ptEtaPhiM(pt, rng.range(-2.5, 2.5), rng.range(-Math.PI, Math.PI), pt * 0.1);
      jets.push({
        p,
        flavour: 0,
        truthMatched: false,
        jvt: pt < 60 * GEV ? 0.6 * rng.uniform() : 1,
        mv2c10: this.tagger(0),
        ptSyst: pt * 0.03,
      });
    }
    return jets;
  }

  /** A hadronic tau from the visible part of its decay (the neutrino is the caller's missing energy). */
  tau(visible: P4, charge: number): Tau | null {
    const rng = this.rng;
    const truth = visible;
    const pt = truth.pt * Math.max(0.1, 1 + 0.08 * rng.gauss());
    if (pt < 20 * GEV || Math.abs(truth.eta) > 2.5 || inCrack(truth.eta) || !rng.bernoulli(0.8)) return null;
    const p = P4.ptEtaPhiM(pt, truth.eta, truth.phi, 800 + 600 * rng.uniform());
    return {
      p,
      charge,
      tight: rng.bernoulli(0.7),
      truthMatched: !this.isData,
      trigMatched: false,
      nTracks: rng.bernoulli(0.72) ? 1 : 3,
      bdt: 0.6 + 0.4 * Math.pow(rng.uniform(), 0.5),
      ptSyst: pt * 0.03,
    };
  }

  /** A boosted hadronic top as one large-R jet. */
  largeRJet(truth: P4, mass: number): LargeRJet | null {
    const rng = this.rng;
    const pt = truth.pt * Math.max(0.1, 1 + 0.06 * rng.gauss());
    if (pt < 250 * GEV || Math.abs(truth.eta) > 2.0) return null;
    const m = Math.max(30 * GEV, mass * (1 + 0.08 * rng.gauss()));
    return {
      p: P4.ptEtaPhiM(pt, truth.eta, truth.phi, m),
      m,
      truthMatched: this.isData ? 0 : 1,
      d2: 1 + 1.5 * rng.uniform(),
      tau32: 0.3 + 0.35 * rng.uniform(),
      ptSyst: pt * 0.02,
    };
  }

  /** Missing transverse momentum: the invisible particles plus a soft-term resolution. */
  setMet(event: RecoEvent, invisible: readonly P4[], extraSigma = 0): void {
    const rng = this.rng;
    let x = 0;
    let y = 0;
    for (const p of invisible) {
      x += p.px;
      y += p.py;
    }
    const sigma = quadrature(7 * GEV, extraSigma);
    event.metX = x + rng.normal(0, sigma);
    event.metY = y + rng.normal(0, sigma);
    event.metSyst = quadrature(event.metX, event.metY) * 0.02;
  }
}

/** Orders a collection by decreasing pT, as the ntuples store it. */
export function byPt<T extends { p: P4 }>(items: T[]): T[] {
  if (items.length < 2) return items;
  if (items.length === 2) {
    if (items[1]!.p.pt > items[0]!.p.pt) items.reverse();
    return items;
  }
  const keyed = items.map((item) => ({ item, pt: item.p.pt }));
  keyed.sort((a, b) => b.pt - a.pt);
  for (let i = 0; i < keyed.length; i++) items[i] = keyed[i]!.item;
  return items;
}
