/**
 * Analyses over several samples on the real service (inject) and real synthetic files: simulation normalised by
 * σ × k × ε × L / Σw agrees with the pseudo-data, and the bad inputs of issue 14 are clear 400s.
 */
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../services/analysis/app.ts';
import { PRESETS } from '../../services/analysis/presets.ts';
import { partsOf, perLuminosity, type SamplesResult } from '../../services/analysis/samples.ts';
import { ATLAS } from './jsroot-helpers.ts';
import { linkInside } from './fixtures.ts';
import { SYNTH_EVENTS, synthFixture } from './synth-samples.ts';

let fixture: { root: string; dispose: () => void };
let app: FastifyInstance;

beforeAll(async () => {
  fixture = await synthFixture();
  // A simulation sample with no labels at all, and a dataset of another schema (8 TeV branch names).
  mkdirSync(join(fixture.root, 'unlabelled'));
  symlinkSync(join(fixture.root, 'zll', 'zll.root'), join(fixture.root, 'unlabelled', 'zll-copy.root'));
  mkdirSync(join(fixture.root, 'atlas8'));
  linkInside(fixture.root, join(ATLAS, 'mc_105986.ZZ.root'), join(fixture.root, 'atlas8'));
  app = await buildApp({ datasets: fixture.root, workers: 2 });
}, 120_000);

afterAll(async () => {
  await app?.close();
  fixture?.dispose();
});

const zll = PRESETS.find((p) => p.id === 'atlas13-zll')!.request;

async function post(body: Record<string, unknown>) {
  const response = await app.inject({ method: 'POST', url: '/api/analyses?wait=1', payload: body });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

describe('normalisation labels', () => {
  it('scales by σ × k × ε / Σw and names what is missing', () => {
    expect(perLuminosity({ crossSectionPb: 10, kFactor: 1.2, filterEfficiency: 0.5, sumOfWeights: 3 })).toEqual({
      value: 2,
      missing: [],
    });
    expect(perLuminosity({ crossSectionPb: 10 }).missing).toEqual(['sumOfWeights']);
    expect(perLuminosity({ filterEfficiency: 2, sumOfWeights: 1 }).missing).toEqual([
      'crossSectionPb',
      'filterEfficiency',
    ]);
  });

  it('splits a file into its labelled subsamples', () => {
    const labels = JSON.parse(readFileSync(join(fixture.root, 'hyy', 'dataset.json'), 'utf8')).files['hyy.root'];
    const parts = partsOf('hyy', [{ name: 'hyy.root', labels }]);
    expect(parts.map((p) => [p.process, p.signal, p.selection])).toEqual([
      ['yy_continuum', false, 'channelNumber==364352'],
      ['ggH125_gamgam', true, 'channelNumber==343981'],
    ]);
  });
});

describe('POST /api/analyses with datasets', () => {
  it('Z→ℓℓ: normalised simulation agrees with the pseudo-data within 3σ', async () => {
    const { status, body } = await post({ ...zll, datasets: ['data-mix', 'zll', 'wlnu', 'ttbar', 'zz4l'] });
    expect(status, JSON.stringify(body)).toBe(200);
    const result = body.result as SamplesResult;
    expect(result.warnings).toEqual([]);
    const data = result.samples.filter((s) => s.role === 'data');
    const sim = result.samples.filter((s) => s.role === 'simulation');
    expect(data.map((s) => s.dataset)).toEqual(['data-mix']);
    expect(sim.map((s) => s.process)).toEqual(['zll', 'wlnu', 'ttbar', 'llll', 'ggH125_ZZ4lep']);
    // The luminosity the pseudo-data states, and the zll sample's scale from its labels.
    const labels = JSON.parse(readFileSync(join(fixture.root, 'data-mix', 'dataset.json'), 'utf8')).files[
      'data-mix.root'
    ];
    expect(result.luminosityFb).toBeCloseTo(labels.luminosityFb, 12);
    expect(sim[0]?.scale).toBeCloseTo((3901.1 * labels.luminosityFb * 1000) / SYNTH_EVENTS.zll, 9);
    expect(data[0]?.scale).toBe(1);
    const nData = sum(data[0]!.histograms.mll!.fArray);
    const nSim = sum(sim.map((s) => sum(s.histograms.mll!.fArray)));
    const varSim = sum(sim.map((s) => sum(s.histograms.mll!.fSumw2)));
    expect(nData).toBeGreaterThan(500);
    console.log(`Z→ℓℓ: data ${nData}, normalised simulation ${nSim.toFixed(1)} ± ${Math.sqrt(varSim).toFixed(1)}`);
    expect(Math.abs(nData - nSim) / Math.sqrt(nData + varSim)).toBeLessThan(3);
    // The total is the data's.
    expect(sum(result.histograms.mll!.fArray)).toBe(nData);
  }, 60_000);

  it('H→γγ: the signal and the continuum are samples of their own; a luminosity can be given', async () => {
    const hyy = PRESETS.find((p) => p.id === 'atlas13-hyy')!.request;
    const { status, body } = await post({ ...hyy, datasets: ['hyy'], luminosity: 10 });
    expect(status, JSON.stringify(body)).toBe(200);
    const result = body.result as SamplesResult;
    expect(result.luminosityFb).toBe(10);
    expect(result.samples.map((s) => [s.sample, s.signal])).toEqual([
      ['γγ continuum', false],
      ['H→γγ (ggF)', true],
    ]);
    const signal = result.samples[1]!;
    expect(signal.normalised).toBe(true);
    const labels = JSON.parse(readFileSync(join(fixture.root, 'hyy', 'dataset.json'), 'utf8')).files['hyy.root'];
    expect(signal.scale).toBeCloseTo((1.102 * 10_000) / labels.subsamples[1].sumOfWeights, 9);
  }, 60_000);

  it('refuses a luminosity ≤ 0', async () => {
    for (const luminosity of [0, -1]) {
      const { status, body } = await post({ ...zll, datasets: ['data-mix', 'zll'], luminosity });
      expect(status).toBe(400);
      expect(body).toMatchObject({ code: 'E_BAD_LUMINOSITY' });
      expect(body.message).toContain('above 0');
    }
  });

  it('names each dataset whose tree lacks a branch the request reads', async () => {
    const { status, body } = await post({ ...zll, datasets: ['data-mix', 'zll', 'atlas8'] });
    expect(status).toBe(400);
    expect(body.code).toBe('E_SAMPLES');
    expect(body.message).toMatch(/^dataset "atlas8": .*scaleFactor_LepTRIGGER/);
    expect(body.message).not.toContain('"zll"');
  });

  it('draws a simulation sample without cross-section labels unnormalised, and says so', async () => {
    const { status, body } = await post({ ...zll, datasets: ['data-mix', 'unlabelled'] });
    expect(status, JSON.stringify(body)).toBe(200);
    const result = body.result as SamplesResult;
    const sample = result.samples.find((s) => s.dataset === 'unlabelled')!;
    expect(sample).toMatchObject({ role: 'simulation', normalised: false, scale: 1 });
    expect(result.warnings).toEqual([
      'unlabelled/zll-copy.root: no crossSectionPb, sumOfWeights in dataset.json, drawn unnormalised',
    ]);
  }, 60_000);

  it('keeps single-dataset requests as they were, and refuses a luminosity there', async () => {
    const one = await post({ ...zll, dataset: 'zll' });
    expect(one.status).toBe(200);
    expect((one.body.result as Record<string, unknown>).samples).toBeUndefined();
    const bad = await post({ ...zll, dataset: 'zll', luminosity: 1 });
    expect(bad.status).toBe(400);
    const none = await post({ histograms: zll.histograms });
    expect(none.status).toBe(400);
    expect(none.body.message).toContain('"datasets"');
  }, 60_000);
});

describe('GET /api/presets', () => {
  it('names the data and simulation datasets of each preset, and the dataset that opens it', async () => {
    const presets = (await app.inject({ url: '/api/presets' })).json() as {
      id: string;
      samples?: { main: string[]; data: string[]; simulation: string[] };
    }[];
    const byId = new Map(presets.map((p) => [p.id, p.samples]));
    expect(byId.get('atlas13-hyy')).toEqual({ main: ['hyy'], data: [], simulation: ['hyy'] });
    expect(byId.get('atlas13-zll')).toEqual({
      main: ['zll'],
      data: ['data-mix'],
      simulation: ['zll', 'wlnu', 'ttbar'],
    });
  });
});
