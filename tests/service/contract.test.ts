/**
 * The one contract (services/analysis/api.ts) against what the service really answers: every route's answer
 * validates against the contract's full schemas (histograms and labels included, which the routes pass through as
 * they are), and the event stream sends only the contract's events.
 */
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANALYSIS_EVENTS,
  analysisViewSchema,
  datasetDetailSchema,
  datasetSummarySchema,
  errorSchema,
  healthSchema,
  presetSchema,
  progressEventSchema,
} from '../../services/analysis/api.ts';
import { buildApp } from '../../services/analysis/app.ts';
import { makeDatasets, type Fixture } from './fixtures.ts';

let fixture: Fixture;
let app: FastifyInstance;
const ajv = new Ajv({ strict: false, allErrors: true });

function valid(schema: object, value: unknown): string {
  const check = ajv.compile(schema);
  return check(value) ? 'valid' : ajv.errorsText(check.errors);
}

beforeAll(async () => {
  fixture = makeDatasets();
  app = await buildApp({ datasets: fixture.root, workers: 2 });
});
afterAll(async () => {
  await app.close();
  fixture.dispose();
});

const request = {
  dataset: 'atlas',
  selection: 'lep_n>=2',
  weight: 'mcWeight',
  histograms: [{ name: 'pt', expr: 'lep_pt[0]/1000', bins: 20, min: 0, max: 200 }],
};

describe('the contract', () => {
  it('describes every answer: health, datasets, a dataset, presets, an analysis, an error', async () => {
    expect(valid(healthSchema, (await app.inject('/api/health')).json())).toBe('valid');
    expect(valid({ type: 'array', items: datasetSummarySchema }, (await app.inject('/api/datasets')).json())).toBe(
      'valid',
    );
    expect(valid(datasetDetailSchema, (await app.inject('/api/datasets/atlas')).json())).toBe('valid');
    expect(valid({ type: 'array', items: presetSchema }, (await app.inject('/api/presets')).json())).toBe('valid');
    const done = await app.inject({ method: 'POST', url: '/api/analyses?wait=1', payload: request });
    expect(done.json()).toMatchObject({ state: 'done' });
    expect(valid(analysisViewSchema, done.json())).toBe('valid');
    const missing = await app.inject('/api/datasets/nope');
    expect(valid(errorSchema, missing.json())).toBe('valid');
  });

  it('the event stream sends only the contract events: progress, then one result', async () => {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const { id } = (
      await app.inject({ method: 'POST', url: '/api/analyses', payload: { ...request, weight: '2*mcWeight' } })
    ).json<{ id: string }>();
    const text = await (await fetch(`${base}/api/analyses/${id}/events`)).text();
    const events = [...text.matchAll(/^event: (.*)\ndata: (.*)$/gm)].map((m) => ({
      name: m[1]!,
      data: JSON.parse(m[2]!) as unknown,
    }));
    expect(events.length).toBeGreaterThanOrEqual(1);
    for (const e of events) expect(ANALYSIS_EVENTS).toContain(e.name);
    expect(events.filter((e) => e.name === 'result')).toHaveLength(1);
    expect(events.at(-1)!.name).toBe('result');
    expect(valid(analysisViewSchema, events.at(-1)!.data)).toBe('valid');
    for (const e of events.slice(0, -1)) expect(valid(progressEventSchema, e.data)).toBe('valid');
  });
});
