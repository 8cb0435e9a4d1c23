/**
 * Cancel, the bounded queue, crashed workers and health under load, on a long dataset (the ATLAS files
 * repeated as symlinks). Everything listens on loopback only and stops by itself.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisView } from '../../services/analysis/api.ts';
import { buildApp } from '../../services/analysis/app.ts';
import { ATLAS_ENTRIES, makeDatasets, type Fixture } from './fixtures.ts';

const REPEATS = 100;
let fixture: Fixture;

const ZLL = {
  dataset: 'long',
  selection:
    'lep_n==2 && lep_charge[0]*lep_charge[1]<0 && lep_type[0]==lep_type[1] && lep_pt[0]>25000 && lep_pt[1]>25000',
  weight: 'mcWeight*scaleFactor_PILEUP*scaleFactor_ELE*scaleFactor_MUON*scaleFactor_TRIGGER',
  histograms: [
    {
      name: 'mll',
      expr: 'sqrt(2*lep_pt[0]*lep_pt[1]*(cosh(lep_eta[0]-lep_eta[1])-cos(lep_phi[0]-lep_phi[1])))/1000',
      bins: 60,
      min: 60,
      max: 120,
    },
  ],
};

/** A distinct request each time (the result cache would answer a repeated one at once). */
let serial = 0;
function longRequest(): typeof ZLL {
  return { ...ZLL, histograms: [{ ...ZLL.histograms[0]!, name: `mll${serial++}` }] };
}

async function submit(app: FastifyInstance, payload: unknown) {
  return app.inject({ method: 'POST', url: '/api/analyses', payload: payload as Record<string, unknown> });
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

beforeAll(() => {
  fixture = makeDatasets(REPEATS);
});
afterAll(() => fixture.dispose());

describe('cancel', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp({ datasets: fixture.root, workers: 2 });
  });
  afterAll(async () => app.close());

  it('DELETE stops the analysis and its workers', async () => {
    const { id } = (await submit(app, longRequest())).json<{ id: string }>();
    expect(
      await until(
        async () => (await app.inject(`/api/analyses/${id}`)).json<AnalysisView>().progress.entriesDone > 0,
        10_000,
      ),
    ).toBe(true);
    const res = await app.inject({ method: 'DELETE', url: `/api/analyses/${id}` });
    expect(res.statusCode).toBe(200);
    const view = res.json<AnalysisView>();
    expect(view.state).toBe('cancelled');
    expect(view.progress.entriesDone).toBeLessThan(REPEATS * ATLAS_ENTRIES);
    // The workers stop (the pool's grace is 300 ms); how soon is bounded, not timed: the machine is shared.
    const { pool } = app.analysis;
    expect(await until(async () => pool.busy === 0 && pool.queued === 0, 10_000)).toBe(true);
    // Still cancelled, and the service goes on.
    expect((await app.inject(`/api/analyses/${id}`)).json<AnalysisView>().state).toBe('cancelled');
    const next = await app.inject({
      method: 'POST',
      url: '/api/analyses?wait=1',
      payload: { dataset: 'zmumu', histograms: [{ name: 'm', expr: 'M', bins: 10, min: 0, max: 200 }] },
    });
    expect(next.json<AnalysisView>().state).toBe('done');
  });
});

describe('the bounded queue', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp({ datasets: fixture.root, workers: 1, maxActive: 1, maxQueued: 1 });
  });
  afterAll(async () => app.close());

  it('beyond it, 503 with Retry-After', async () => {
    const first = await submit(app, longRequest());
    const second = await submit(app, longRequest());
    const third = await submit(app, longRequest());
    expect([first.statusCode, second.statusCode, third.statusCode]).toEqual([202, 202, 503]);
    expect(third.headers['retry-after']).toBe('5');
    expect(third.json()).toEqual({
      statusCode: 503,
      code: 'E_QUEUE_FULL',
      error: 'Service Unavailable',
      message: 'the analysis queue is full (1 waiting)',
      hint: 'retry in a few seconds',
      params: { limit: 1 },
    });
    const queued = (await app.inject(`/api/analyses/${second.json<{ id: string }>().id}`)).json<AnalysisView>();
    expect(queued.state).toBe('queued');
    for (const r of [first, second])
      await app.inject({ method: 'DELETE', url: `/api/analyses/${r.json<{ id: string }>().id}` });
    expect((await submit(app, longRequest())).statusCode).toBe(202);
  });
});

describe('a crashing worker', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp({
      datasets: fixture.root,
      workers: 2,
      workerUrl: new URL('./crash-worker.ts', import.meta.url),
    });
  });
  afterAll(async () => app.close());

  it('is replaced; its task fails cleanly naming the file; the service keeps serving', async () => {
    const before = app.analysis.pool.restarts;
    const res = await app.inject({
      method: 'POST',
      url: '/api/analyses?wait=1',
      payload: { dataset: 'hzz', histograms: [{ name: 'px', expr: 'Muon_Px', bins: 10, min: -50, max: 50 }] },
    });
    const view = res.json<AnalysisView>();
    expect(view.state).toBe('failed');
    // The dataset's six small files travel in one task, which names them all.
    expect(view.error).toEqual({
      code: 'E_WORKER_CRASHED',
      message: 'uproot-HZZ-lz4.root and 5 more files: worker exited with code 70; the task was abandoned',
      params: { file: 'uproot-HZZ-lz4.root and 5 more files' },
    });
    expect(app.analysis.pool.restarts).toBe(before + 1);
    const ok = await app.inject({
      method: 'POST',
      url: '/api/analyses?wait=1',
      payload: {
        dataset: 'hzz',
        files: ['uproot-HZZ-zlib.root'],
        histograms: [{ name: 'px', expr: 'Muon_Px', bins: 10, min: -50, max: 50 }],
      },
    });
    expect(ok.json<AnalysisView>().state).toBe('done');
    expect((await app.inject('/api/health')).json()).toMatchObject({ status: 'ok', workers: 2 });
  });
});

describe('health under load', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = await buildApp({ datasets: fixture.root, workers: 2 });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => app.close());

  // How fast it answers is a figure of scripts/bench-load.ts, not a test: the machine is shared (issue 9).
  it('GET /api/health answers every request, with the counts, while 4 analyses run', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${base}/api/analyses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(longRequest()),
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${base}/api/health`);
      expect(res.status).toBe(200);
      const health = (await res.json()) as { analyses: { active: number; queued: number } };
      expect(health.analyses.active + health.analyses.queued).toBeLessThanOrEqual(4);
    }
    const states = await Promise.all(
      ids.map(async (id) => (await app.inject(`/api/analyses/${id}`)).json<AnalysisView>().state),
    );
    // The analyses were still running for the whole measurement.
    expect(states.filter((s) => s === 'running').length).toBeGreaterThanOrEqual(3);
    for (const id of ids) await app.inject({ method: 'DELETE', url: `/api/analyses/${id}` });
  });
});

describe('closing the service', () => {
  it('app.close() returns promptly while an SSE client and a ?wait=1 request wait on running analyses', async () => {
    const app = await buildApp({ datasets: fixture.root, workers: 2 });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { id } = (await submit(app, longRequest())).json<{ id: string }>();
      const events = await fetch(`${address}/api/analyses/${id}/events`);
      const reader = events.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: progress');
      const waiting = fetch(`${address}/api/analyses?wait=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(longRequest()),
      }).then(
        (r) => r.status,
        () => 'aborted',
      );
      expect(await until(async () => app.analysis.manager.counts.active === 2, 10_000)).toBe(true);
      const start = Date.now();
      await app.close();
      expect(Date.now() - start).toBeLessThan(2000);
      await waiting;
      await reader.cancel();
    } finally {
      await app.close();
    }
  });
});
