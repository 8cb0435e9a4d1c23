import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSyntheticDataset, type DatasetJson } from '../../builder/synth/index.ts';
import { HIGGS_MASS, W_MASS, Z_MASS } from '../../builder/synth/processes.ts';
import { mass, readRows, sha256, tempDir, type Cell } from './helpers.ts';

const dir = tempDir();
afterAll(() => dir.remove());

const LEPTONS = ['lep_n', 'lep_pt', 'lep_eta', 'lep_phi', 'lep_E', 'lep_type', 'lep_charge'];
const PHOTONS = ['photon_n', 'photon_pt', 'photon_eta', 'photon_phi', 'photon_E'];
const nums = (cell: Cell | undefined) => cell as number[];

async function generate(process: string, events: number, seed = 7): Promise<string> {
  const out = join(dir.path, `${process}-${seed}`);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(out, { recursive: true });
  await writeSyntheticDataset({ schema: 'atlas13-mini', process, events, seed }, out);
  return out;
}

function histogram(values: number[], low: number, high: number, width: number): number[] {
  const bins = new Array<number>(Math.round((high - low) / width)).fill(0);
  for (const v of values) if (v >= low && v < high) bins[Math.floor((v - low) / width)]! += 1;
  return bins;
}

describe('physics-shaped samples', () => {
  it('zll: the dilepton mass of same-flavour opposite-charge pairs peaks at the Z mass within its resolution', async () => {
    const out = await generate('zll', 20_000);
    const rows = await readRows(join(out, 'zll.root'), LEPTONS);
    const masses: number[] = [];
    for (const row of rows) {
      if ((row.lep_n as number) < 2) continue;
      const type = nums(row.lep_type);
      const charge = nums(row.lep_charge);
      if (type[0] !== type[1] || charge[0]! * charge[1]! >= 0) continue;
      masses.push(mass(nums(row.lep_pt), nums(row.lep_eta), nums(row.lep_phi), nums(row.lep_E), [0, 1]));
    }
    expect(masses.length).toBeGreaterThan(8_000);
    const bins = histogram(masses, 80, 102, 0.5);
    const peak = 80 + 0.5 * (bins.indexOf(Math.max(...bins)) + 0.5);
    const window = masses.filter((m) => m > 86 && m < 96).sort((a, b) => a - b);
    const median = window[Math.floor(window.length / 2)]!;
    // Resolution at the Z: ≈ 1.5–2 GeV for these electrons and muons.
    expect(Math.abs(peak - Z_MASS / 1000)).toBeLessThan(1.0);
    expect(Math.abs(median - Z_MASS / 1000)).toBeLessThan(0.5);
  });

  it('hyy: the diphoton mass shows the injected Higgs peak at 125 GeV above the fitted continuum', async () => {
    const out = await generate('hyy', 30_000);
    const rows = await readRows(join(out, 'hyy.root'), PHOTONS);
    const masses = rows
      .filter((row) => (row.photon_n as number) >= 2)
      .map((row) => mass(nums(row.photon_pt), nums(row.photon_eta), nums(row.photon_phi), nums(row.photon_E), [0, 1]));
    const low = 105;
    const bins = histogram(masses, low, 160, 1);
    const centre = (i: number) => low + i + 0.5;
    // Exponential continuum from the sidebands (log-linear least squares), then the excess in the signal window.
    const side = bins.map((n, i) => ({ x: centre(i), n })).filter((b) => (b.x < 118 || b.x > 132) && b.n > 0);
    const mx = side.reduce((s, b) => s + b.x, 0) / side.length;
    const my = side.reduce((s, b) => s + Math.log(b.n), 0) / side.length;
    const slope =
      side.reduce((s, b) => s + (b.x - mx) * (Math.log(b.n) - my), 0) / side.reduce((s, b) => s + (b.x - mx) ** 2, 0);
    const fit = (x: number) => Math.exp(my + slope * (x - mx));
    let excess = 0;
    let moment = 0;
    let background = 0;
    for (let i = 0; i < bins.length; i++) {
      const x = centre(i);
      if (x < 119 || x > 131) continue;
      const s = bins[i]! - fit(x);
      excess += s;
      moment += s * x;
      background += fit(x);
    }
    expect(slope).toBeLessThan(0);
    expect(excess / Math.sqrt(background)).toBeGreaterThan(5);
    expect(Math.abs(moment / excess - HIGGS_MASS / 1000)).toBeLessThan(1.0);
  });

  it('zz4l: the four-lepton mass has the Higgs peak at 125 GeV below the ZZ threshold', async () => {
    const out = await generate('zz4l', 40_000);
    const rows = await readRows(join(out, 'zz4l.root'), LEPTONS);
    const masses = rows
      .filter((row) => (row.lep_n as number) >= 4)
      .map((row) => mass(nums(row.lep_pt), nums(row.lep_eta), nums(row.lep_phi), nums(row.lep_E), [0, 1, 2, 3]));
    const low = masses.filter((m) => m > 110 && m < 140);
    expect(low.length).toBeGreaterThan(20);
    const mean = low.reduce((a, b) => a + b, 0) / low.length;
    expect(Math.abs(mean - HIGGS_MASS / 1000)).toBeLessThan(1.5);
    // Nearly all of the continuum sits above 2 m_Z.
    expect(masses.filter((m) => m > 170).length).toBeGreaterThan(10 * low.length);
  });

  it('wlnu: the transverse mass has its Jacobian edge just below the W mass', async () => {
    const out = await generate('wlnu', 15_000);
    const rows = await readRows(join(out, 'wlnu.root'), ['lep_n', 'lep_pt', 'lep_phi', 'met_et', 'met_phi']);
    const mt = rows
      .filter((row) => (row.lep_n as number) === 1)
      .map((row) => {
        const pt = nums(row.lep_pt)[0]!;
        const dphi = nums(row.lep_phi)[0]! - (row.met_phi as number);
        return Math.sqrt(2 * pt * (row.met_et as number) * (1 - Math.cos(dphi))) / 1000;
      });
    const bins = histogram(mt, 40, 120, 2);
    const peak = 40 + 2 * (bins.indexOf(Math.max(...bins)) + 0.5);
    expect(peak).toBeGreaterThan(W_MASS / 1000 - 14);
    expect(peak).toBeLessThan(W_MASS / 1000 + 2);
    // Above the edge the distribution collapses.
    expect(mt.filter((m) => m > 100).length).toBeLessThan(0.05 * mt.length);
  });
});

describe('dataset.json and reproducibility', () => {
  it('labels each file: sample, process, cross-section, kind and the hidden truth', async () => {
    const out = await generate('zll', 500, 3);
    const json = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8')) as DatasetJson;
    expect(json).toMatchObject({ title: 'Z→ℓℓ teaching sample', licence: 'CC0-1.0', tree: 'mini' });
    expect(json.files['zll.root']).toMatchObject({
      sample: 'Zll',
      process: 'zll',
      crossSection: 3901.1,
      kind: 'simulation',
      truth: {
        zMassMeV: Z_MASS,
        seed: 3,
        channels: [
          { dsid: 361106, name: 'Zee', xsectionPb: 1950.5, events: 250 },
          { dsid: 361107, name: 'Zmumu', xsectionPb: 1950.6, events: 250 },
        ],
      },
    });
    const rows = await readRows(join(out, 'zll.root'), ['channelNumber', 'XSection', 'SumWeights', 'mcWeight']);
    const zee = rows.filter((r) => r.channelNumber === 361106);
    expect(zee).toHaveLength(250);
    expect(zee[0]).toMatchObject({ XSection: 1950.5, SumWeights: 250, mcWeight: 1 });
    // What normalising to a luminosity needs: σ × k × ε × L / Σw.
    expect(json.files['zll.root']).toMatchObject({
      role: 'simulation',
      crossSectionPb: 3901.1,
      kFactor: 1,
      filterEfficiency: 1,
      sumOfWeights: 500,
    });
    expect(json.files['zll.root']?.subsamples).toBeUndefined();
  });

  it('lists the Higgs and the continuum of the diphoton file as samples of their own', async () => {
    const out = await generate('hyy', 1000, 3);
    const json = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8')) as DatasetJson;
    const subsamples = json.files['hyy.root']?.subsamples ?? [];
    expect(subsamples.map((s) => [s.process, s.signal, s.selection])).toEqual([
      ['yy_continuum', false, 'channelNumber==364352'],
      ['ggH125_gamgam', true, 'channelNumber==343981'],
    ]);
    expect(subsamples.reduce((n, s) => n + s.sumOfWeights, 0)).toBe(1000);
    const rows = await readRows(join(out, 'hyy.root'), ['channelNumber']);
    expect(rows.filter((r) => r.channelNumber === 343981)).toHaveLength(subsamples[1]?.sumOfWeights ?? -1);
  });

  it('labels data-mix as data with the luminosity it is equivalent to, and no cross-section', async () => {
    const out = await generate('data-mix', 2000, 3);
    const json = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8')) as DatasetJson;
    const entry = json.files['data-mix.root']!;
    expect(entry.kind).toBe('data');
    expect(entry.crossSection).toBeUndefined();
    const channels = entry.truth.channels as { events: number }[];
    expect(channels.reduce((sum, c) => sum + c.events, 0)).toBe(2000);
    expect(entry.truth.equivalentLuminosityPerPb).toBeGreaterThan(0);
    expect(entry.role).toBe('data');
    expect(entry.luminosityFb).toBeCloseTo((entry.truth.equivalentLuminosityPerPb as number) / 1000, 12);
    const rows = await readRows(join(out, 'data-mix.root'), ['runNumber', 'channelNumber', 'XSection']);
    expect(rows.every((r) => r.channelNumber === r.runNumber && r.XSection === 0)).toBe(true);
  });

  it('gives identical bytes for identical inputs, and different ones for another seed', async () => {
    const a = await generate('ttbar', 3000, 11);
    const { renameSync } = await import('node:fs');
    renameSync(a, `${a}-first`);
    const b = await generate('ttbar', 3000, 11);
    const c = await generate('ttbar', 3000, 12);
    expect(sha256(join(`${a}-first`, 'ttbar.root'))).toBe(sha256(join(b, 'ttbar.root')));
    expect(sha256(join(`${a}-first`, 'dataset.json'))).toBe(sha256(join(b, 'dataset.json')));
    expect(sha256(join(c, 'ttbar.root'))).not.toBe(sha256(join(b, 'ttbar.root')));
  });
});
