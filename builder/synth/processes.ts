import { byPt, Detector, ELECTRON_MASS, emptyEvent, GEV, MUON_MASS, type Lepton, type RecoEvent } from './detector.ts';
import { P4, twoBodyDecay, twoBodyMomentum, type Angular } from './kinematics.ts';
import type { Rng } from './random.ts';

/**
 * Physics-shaped toy processes with known truth. Each process is a set of channels (an ATLAS dataset id, a name,
 * a cross-section in pb and a generator); a file of N events holds each channel in proportion to its
 * cross-section, with exact counts, so every channel's SumWeights is known before the first event is written.
 * The generators are simple on purpose — a boson with a Drell–Yan-like recoil, exact two-body decays with the
 * right angular shapes, a parametric detector — and every number that shapes an answer is recorded as truth.
 */

export const PROCESSES = ['zll', 'wlnu', 'ttbar', 'hyy', 'zz4l', 'mystery', 'data-mix'] as const;
export type ProcessName = (typeof PROCESSES)[number];

export const Z_MASS = 91187.6;
export const Z_WIDTH = 2495.2;
export const W_MASS = 80379;
export const W_WIDTH = 2085;
export const TOP_MASS = 172500;
export const TOP_WIDTH = 1320;
export const HIGGS_MASS = 125000;
const B_MASS = 4800;
const TAU_MASS = 1776.9;

/** The hidden particle of the "find the hidden particle" exercise: a Z′-like vector boson decaying to ℓℓ. */
export const MYSTERY_MASS = 420000;
export const MYSTERY_WIDTH = 12000;
/** The high-mass Drell–Yan continuum under it falls as m^-MYSTERY_SLOPE between these masses (GeV). */
const MYSTERY_SLOPE = 4;
const MYSTERY_WINDOW_GEV = [100, 700] as const;

/** Injected H→γγ strength relative to the SM ggF rate, large enough to see the peak in a classroom sample. */
export const HYY_SIGNAL_STRENGTH = 10;
const SM_GGF_HYY_PB = 0.1102;
const SM_GGF_H4L_PB = 0.006;

export interface GenContext {
  rng: Rng;
  det: Detector;
}

export interface Channel {
  dsid: number;
  name: string;
  /** pb, as the XSection branch stores it. */
  xsection: number;
  /** The signal of its file (a Higgs inside a background): dataset.json then lists each channel as a sample. */
  signal?: boolean;
  /** The channel's name in a plot legend, when it is a sample of its own. */
  sample?: string;
  generate(ctx: GenContext): RecoEvent;
}

export interface ProcessDef {
  name: ProcessName;
  title: string;
  description: string;
  /** The `sample` label of dataset.json. */
  sample: string;
  kind: 'simulation' | 'data';
  channels: Channel[];
  /** Constants a teacher may want: masses, widths, generator windows, injected signals (MeV unless named). */
  truth: Record<string, unknown>;
}

/** A boson of mass m with a Drell–Yan-like transverse recoil and a Gaussian rapidity. */
function boson(rng: Rng, mass: number, q0: number, sigmaY: number): P4 {
  let y: number;
  do y = rng.normal(0, sigmaY);
  while (Math.abs(y) > 4);
  return P4.ptYPhiM(rng.recoilPt(q0), y, rng.range(-Math.PI, Math.PI), mass);
}

type Flavour = 'e' | 'mu';
const leptonMass = (flavour: Flavour) => (flavour === 'e' ? ELECTRON_MASS : MUON_MASS);

function reconstructLepton(det: Detector, truth: P4, flavour: Flavour, charge: number): Lepton | null {
  return flavour === 'e' ? det.electron(truth, charge) : det.muon(truth, charge);
}

/** Initial-state-radiation jets: a Poisson number of partons with a falling pT spectrum. */
function radiation(ctx: GenContext, event: RecoEvent, mean: number): void {
  const { rng, det } = ctx;
  const n = rng.poisson(mean);
  for (let i = 0; i < n; i++) {
    const pt = 15 * GEV + rng.exponential(25 * GEV);
    const flavour = rng.bernoulli(0.04) ? 5 : rng.bernoulli(0.06) ? 4 : 0;
    const jet = det.jet(P4.ptEtaPhiM(pt, rng.normal(0, 1.8), rng.range(-Math.PI, Math.PI), 0), flavour);
    if (jet) event.jets.push(jet);
  }
  event.jets.push(...det.pileupJets(0.25));
}

function finish(event: RecoEvent): RecoEvent {
  byPt(event.leptons);
  byPt(event.jets);
  byPt(event.photons);
  byPt(event.taus);
  byPt(event.largeRJets);
  return event;
}

/**
 * A neutral vector boson decaying to a lepton pair (1 + cos²θ), with initial-state radiation and the MET that
 * follows: the event of every dilepton channel, whatever made the boson.
 */
function dileptonDecay(ctx: GenContext, parent: P4, flavour: Flavour, radiationMean: number): RecoEvent {
  const { rng, det } = ctx;
  const event = emptyEvent();
  const ml = leptonMass(flavour);
  const [lminus, lplus] = twoBodyDecay(rng, parent, ml, ml, 'vector');
  for (const [p, q] of [
    [lminus, -1],
    [lplus, 1],
  ] as const) {
    const lepton = reconstructLepton(det, p, flavour, q);
    if (lepton) event.leptons.push(lepton);
  }
  radiation(ctx, event, radiationMean);
  det.setMet(event, []);
  return finish(event);
}

/** Z/γ* → ℓℓ in 60 < mℓℓ < 120 GeV: relativistic Breit–Wigner, 1 + cos²θ decay. */
function drellYan(flavour: Flavour): Channel['generate'] {
  return (ctx) => {
    const z = boson(ctx.rng, ctx.rng.breitWigner(Z_MASS, Z_WIDTH, 60 * GEV, 120 * GEV), 5 * GEV, 1.9);
    return dileptonDecay(ctx, z, flavour, 0.6);
  };
}

/** Draws m in [low, high) from a power law m^-n (n ≠ 1) by inverting its cumulative distribution. */
function powerLaw(rng: Rng, low: number, high: number, n: number): number {
  const a = low ** (1 - n);
  const b = high ** (1 - n);
  return (a + rng.range(0, 1) * (b - a)) ** (1 / (1 - n));
}

/** High-mass ℓℓ: the falling Drell–Yan continuum, or (signal) the hidden resonance on top of it. */
function highMassDilepton(flavour: Flavour, signal: boolean): Channel['generate'] {
  return (ctx) => {
    const { rng } = ctx;
    const [low, high] = [MYSTERY_WINDOW_GEV[0] * GEV, MYSTERY_WINDOW_GEV[1] * GEV];
    const mass = signal
      ? rng.breitWigner(MYSTERY_MASS, MYSTERY_WIDTH, low, high)
      : powerLaw(rng, low, high, MYSTERY_SLOPE);
    return dileptonDecay(ctx, boson(rng, mass, 8 * GEV, 1.6), flavour, 0.7);
  };
}

/** W → ℓν with 40 < mW < 200 GeV: the lepton follows the V−A shape, the neutrino is missing energy. */
function wDecay(flavour: Flavour, charge: number): Channel['generate'] {
  return (ctx) => {
    const { rng, det } = ctx;
    const event = emptyEvent();
    const w = boson(rng, rng.breitWigner(W_MASS, W_WIDTH, 40 * GEV, 200 * GEV), 5 * GEV, 2.0);
    // The quark usually comes from the side the W moves to; the charged lepton's helicity does the rest.
    const forward = w.pz >= 0;
    const angular: Angular = charge > 0 === forward ? 'vminusa-minus' : 'vminusa-plus';
    const [lepton, neutrino] = twoBodyDecay(rng, w, leptonMass(flavour), 0, angular);
    const reco = reconstructLepton(det, lepton, flavour, charge);
    if (reco) event.leptons.push(reco);
    radiation(ctx, event, 0.7);
    det.setMet(event, [neutrino]);
    return finish(event);
  };
}

/** tt̄ with at least one leptonic W (e, μ or τ): b-tagged jets, leptons, missing energy, boosted tops. */
function topPair(ctx: GenContext): RecoEvent {
  const { rng, det } = ctx;
  const event = emptyEvent();
  const invisible: P4[] = [];
  const mt1 = rng.breitWigner(TOP_MASS, TOP_WIDTH, 150 * GEV, 195 * GEV);
  const mt2 = rng.breitWigner(TOP_MASS, TOP_WIDTH, 150 * GEV, 195 * GEV);
  const pair = boson(rng, mt1 + mt2 + rng.exponential(130 * GEV), 25 * GEV, 1.1);
  const tops = twoBodyDecay(rng, pair, mt1, mt2);
  // W decay modes: e, μ, τ with 1/9 each, hadronic 6/9; the sample keeps events with a leptonic W.
  let modes: number[];
  do modes = [rng.choose([1, 1, 1, 6]), rng.choose([1, 1, 1, 6])];
  while (modes[0] === 3 && modes[1] === 3);
  tops.forEach((top, i) => {
    const charge = i === 0 ? 1 : -1;
    const mt = top.mass;
    const mw = rng.breitWigner(W_MASS, W_WIDTH, 50 * GEV, Math.min(110 * GEV, mt - B_MASS - 1));
    const [w, b] = twoBodyDecay(rng, top, mw, B_MASS);
    const bjet = det.jet(b, 5);
    if (bjet) event.jets.push(bjet);
    const mode = modes[i]!;
    if (mode === 3) {
      const [q1, q2] = twoBodyDecay(rng, w, 0, 0);
      const charm = rng.bernoulli(0.5);
      for (const [q, flavour] of [
        [q1, charm ? 4 : 0],
        [q2, 0],
      ] as const) {
        const jet = det.jet(q, flavour);
        if (jet) event.jets.push(jet);
      }
      const large = det.largeRJet(top, mt);
      if (large) event.largeRJets.push(large);
    } else if (mode === 2) {
      const [tau, nu] = twoBodyDecay(rng, w, TAU_MASS, 0);
      invisible.push(nu);
      if (rng.bernoulli(0.35)) {
        // Leptonic tau: a softer electron or muon, the rest invisible.
        const fraction = rng.range(0.2, 0.8);
        const flavour: Flavour = rng.bernoulli(0.5) ? 'e' : 'mu';
        const visible = new P4(tau.px * fraction, tau.py * fraction, tau.pz * fraction, tau.e * fraction);
        invisible.push(new P4(tau.px - visible.px, tau.py - visible.py, tau.pz - visible.pz, tau.e - visible.e));
        const lepton = reconstructLepton(det, visible, flavour, charge);
        if (lepton) event.leptons.push(lepton);
      } else {
        const fraction = rng.range(0.35, 0.95);
        invisible.push(
          new P4(tau.px * (1 - fraction), tau.py * (1 - fraction), tau.pz * (1 - fraction), tau.e * (1 - fraction)),
        );
        const hadronic = det.tau(
          new P4(tau.px * fraction, tau.py * fraction, tau.pz * fraction, tau.e * fraction),
          charge,
        );
        if (hadronic) event.taus.push(hadronic);
      }
    } else {
      const flavour: Flavour = mode === 0 ? 'e' : 'mu';
      const [lepton, nu] = twoBodyDecay(rng, w, leptonMass(flavour), 0);
      invisible.push(nu);
      const reco = reconstructLepton(det, lepton, flavour, charge);
      if (reco) event.leptons.push(reco);
    }
  });
  radiation(ctx, event, 1.0);
  det.setMet(event, invisible, 5 * GEV);
  return finish(event);
}

/** Two photons: a resonance at m_H (isotropic decay) or a falling continuum in 100–160 GeV. */
function diphoton(signal: boolean): Channel['generate'] {
  return (ctx) => {
    const { rng, det } = ctx;
    const event = emptyEvent();
    const system = signal
      ? boson(rng, HIGGS_MASS, 12 * GEV, 1.4)
      : boson(rng, rng.truncatedExponential(30 * GEV, 100 * GEV, 160 * GEV), 8 * GEV, 1.5);
    const [g1, g2] = twoBodyDecay(rng, system, 0, 0, signal ? 'isotropic' : 'vector');
    for (const g of [g1, g2]) {
      const photon = det.photon(g);
      if (photon) event.photons.push(photon);
    }
    radiation(ctx, event, signal ? 0.9 : 0.5);
    det.setMet(event, []);
    return finish(event);
  };
}

function zToLeptons(ctx: GenContext, event: RecoEvent, z: P4): void {
  const flavour: Flavour = ctx.rng.bernoulli(0.5) ? 'e' : 'mu';
  const ml = leptonMass(flavour);
  const [lminus, lplus] = twoBodyDecay(ctx.rng, z, ml, ml, 'vector');
  for (const [p, q] of [
    [lminus, -1],
    [lplus, 1],
  ] as const) {
    const lepton = reconstructLepton(ctx.det, p, flavour, q);
    if (lepton) event.leptons.push(lepton);
  }
}

/** ZZ → 4ℓ: the on-shell continuum above 2 m_Z, or H → ZZ* → 4ℓ at m_H with one off-shell Z. */
function fourLeptons(signal: boolean): Channel['generate'] {
  return (ctx) => {
    const { rng } = ctx;
    const event = emptyEvent();
    let m1: number;
    let m2: number;
    let system: P4;
    if (signal) {
      m1 = rng.breitWigner(Z_MASS, Z_WIDTH, 40 * GEV, HIGGS_MASS - 12 * GEV - 1);
      // The off-shell Z: Breit–Wigner tail times the phase space left by the first.
      const pmax = twoBodyMomentum(HIGGS_MASS, m1, 12 * GEV);
      do m2 = rng.breitWigner(Z_MASS, Z_WIDTH, 12 * GEV, HIGGS_MASS - m1 - 1);
      while (rng.uniform() * pmax > twoBodyMomentum(HIGGS_MASS, m1, m2));
      system = boson(rng, HIGGS_MASS, 12 * GEV, 1.4);
    } else {
      m1 = rng.breitWigner(Z_MASS, Z_WIDTH, 66 * GEV, 116 * GEV);
      m2 = rng.breitWigner(Z_MASS, Z_WIDTH, 66 * GEV, 116 * GEV);
      system = boson(rng, m1 + m2 + rng.exponential(70 * GEV), 15 * GEV, 1.5);
    }
    const [z1, z2] = twoBodyDecay(rng, system, m1, m2, signal ? 'isotropic' : 'vector');
    zToLeptons(ctx, event, z1);
    zToLeptons(ctx, event, z2);
    radiation(ctx, event, signal ? 0.9 : 0.6);
    ctx.det.setMet(event, []);
    return finish(event);
  };
}

const CHANNELS = {
  zee: { dsid: 361106, name: 'Zee', xsection: 1950.5, generate: drellYan('e') },
  zmumu: { dsid: 361107, name: 'Zmumu', xsection: 1950.6, generate: drellYan('mu') },
  wplusenu: { dsid: 361100, name: 'Wplusenu', xsection: 11306, generate: wDecay('e', 1) },
  wplusmunu: { dsid: 361101, name: 'Wplusmunu', xsection: 11306, generate: wDecay('mu', 1) },
  wminusenu: { dsid: 361103, name: 'Wminusenu', xsection: 8282.6, generate: wDecay('e', -1) },
  wminusmunu: { dsid: 361104, name: 'Wminusmunu', xsection: 8282.6, generate: wDecay('mu', -1) },
  // σ(tt̄) = 452.3 pb times the 5/9 fraction with at least one leptonic W.
  ttbar: { dsid: 410000, name: 'ttbar_lep', xsection: 251.3, generate: topPair },
  yy: { dsid: 364352, name: 'yy_continuum', sample: 'γγ continuum', xsection: 40, generate: diphoton(false) },
  hyy: {
    dsid: 343981,
    name: 'ggH125_gamgam',
    sample: 'H→γγ (ggF)',
    signal: true,
    xsection: SM_GGF_HYY_PB * HYY_SIGNAL_STRENGTH,
    generate: diphoton(true),
  },
  zz: { dsid: 363490, name: 'llll', sample: 'ZZ→4ℓ', xsection: 1.2557, generate: fourLeptons(false) },
  h4l: {
    dsid: 345060,
    name: 'ggH125_ZZ4lep',
    sample: 'H→ZZ→4ℓ (ggF)',
    signal: true,
    xsection: SM_GGF_H4L_PB,
    generate: fourLeptons(true),
  },
} satisfies Record<string, Channel>;

/**
 * The mystery sample's channels stay out of CHANNELS: data-mix mixes every channel there, and the hidden particle
 * must not change the existing samples. DSIDs in the range ATLAS leaves for exotic signals, made up.
 */
const MYSTERY_CHANNELS = {
  dyee: { dsid: 301000, name: 'DYee_highmass', xsection: 4.95, generate: highMassDilepton('e', false) },
  dymumu: { dsid: 301020, name: 'DYmumu_highmass', xsection: 4.95, generate: highMassDilepton('mu', false) },
  xee: { dsid: 307000, name: 'hidden_ee', xsection: 0.05, generate: highMassDilepton('e', true) },
  xmumu: { dsid: 307001, name: 'hidden_mumu', xsection: 0.05, generate: highMassDilepton('mu', true) },
} satisfies Record<string, Channel>;

const SIMULATION: Record<Exclude<ProcessName, 'data-mix'>, Omit<ProcessDef, 'name' | 'kind'>> = {
  zll: {
    title: 'Z→ℓℓ teaching sample',
    description: 'Drell–Yan Z/γ* → e⁺e⁻ and μ⁺μ⁻ (60 < mℓℓ < 120 GeV): the dilepton mass peaks at the Z mass.',
    sample: 'Zll',
    channels: [CHANNELS.zee, CHANNELS.zmumu],
    truth: { zMassMeV: Z_MASS, zWidthMeV: Z_WIDTH, generatorMllWindowGeV: [60, 120] },
  },
  wlnu: {
    title: 'W→ℓν teaching sample',
    description: 'W⁺ and W⁻ → eν and μν: the transverse mass shows the Jacobian edge at the W mass.',
    sample: 'Wlnu',
    channels: [CHANNELS.wplusenu, CHANNELS.wplusmunu, CHANNELS.wminusenu, CHANNELS.wminusmunu],
    truth: { wMassMeV: W_MASS, wWidthMeV: W_WIDTH, generatorMassWindowGeV: [40, 200] },
  },
  ttbar: {
    title: 'tt̄ teaching sample',
    description: 'Top-quark pairs with at least one leptonic W: b-tagged jets, leptons, missing energy, boosted tops.',
    sample: 'ttbar_lep',
    channels: [CHANNELS.ttbar],
    truth: { topMassMeV: TOP_MASS, topWidthMeV: TOP_WIDTH, wMassMeV: W_MASS, filter: 'at least one W → eν, μν or τν' },
  },
  hyy: {
    title: 'H→γγ search sample',
    description: 'A falling diphoton continuum (100–160 GeV) with a Higgs boson hidden in it. Find the peak.',
    sample: 'yy',
    channels: [CHANNELS.yy, CHANNELS.hyy],
    truth: {
      higgsMassMeV: HIGGS_MASS,
      signalStrength: HYY_SIGNAL_STRENGTH,
      signalStrengthMeaning: 'times the Standard Model ggF H→γγ rate',
      continuumMassWindowGeV: [100, 160],
      continuumSlopeGeV: 30,
      photonResolution: 'σE/E = 10%/√E ⊕ 0.7%',
    },
  },
  mystery: {
    title: 'Dileptons with a hidden particle',
    description:
      'High-mass e⁺e⁻ and μ⁺μ⁻ pairs (100–700 GeV): somewhere a new particle decays to two leptons. Find it.',
    sample: 'mystery',
    channels: Object.values(MYSTERY_CHANNELS),
    truth: {
      hiddenParticle: 'a Z′-like vector boson decaying to e⁺e⁻ and μ⁺μ⁻ equally',
      hiddenMassMeV: MYSTERY_MASS,
      hiddenWidthMeV: MYSTERY_WIDTH,
      signalFraction: 0.01,
      continuum: `Drell–Yan falling as m^-${MYSTERY_SLOPE}`,
      generatorMllWindowGeV: [...MYSTERY_WINDOW_GEV],
    },
  },
  zz4l: {
    title: 'ZZ→4ℓ sample with a Higgs peak',
    description: 'ZZ → 4ℓ above 2 m_Z and H → ZZ* → 4ℓ at 125 GeV at the Standard Model rate.',
    sample: 'llll',
    channels: [CHANNELS.zz, CHANNELS.h4l],
    truth: { higgsMassMeV: HIGGS_MASS, signalStrength: 1, zMassMeV: Z_MASS },
  },
};

export function processDef(name: ProcessName): ProcessDef {
  if (name === 'data-mix') {
    const channels = Object.values(CHANNELS);
    return {
      name,
      kind: 'data',
      title: 'Pseudo-data: a mix of all processes',
      description:
        'Every simulated process drawn in proportion to its cross-section, labelled as data, to compare with the simulation.',
      sample: 'data',
      channels,
      truth: {
        composition: 'each channel in proportion to its cross-section (see channels)',
        channelsAreThoseOf: ['zll', 'wlnu', 'ttbar', 'hyy', 'zz4l'],
      },
    };
  }
  return { name, kind: 'simulation', ...SIMULATION[name] };
}

/** Exact event counts per channel, proportional to cross-section (largest remainder, deterministic). */
export function channelCounts(channels: readonly Channel[], events: number): number[] {
  const total = channels.reduce((sum, c) => sum + c.xsection, 0);
  const exact = channels.map((c) => (events * c.xsection) / total);
  const counts = exact.map(Math.floor);
  let left = events - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) counts[order[k]!.i]! += 1;
  return counts;
}

/** Runs of 2016 that the pseudo-data borrow their run numbers from. */
export const DATA_RUNS = [298687, 300345, 302393, 303338, 304008, 305380, 307732, 309440, 310969, 311481];
/** The run number ATLAS MC16a simulation carries. */
export const MC_RUN_NUMBER = 284500;
