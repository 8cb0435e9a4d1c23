/**
 * Byte budgets and limits (issue 11): bins over all histograms, analyses per client, the memory of results and
 * finished analyses, event streams whose client does not read; then a bounded load of 50 LAN clients (loopback,
 * stops by itself) that records RSS and /api/health p99 and checks the budgets held and nothing crashed. How fast
 * health answers is a figure of scripts/bench-load.ts, not asserted here.
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisView } from '../../services/analysis/api.ts';
import { buildApp } from '../../services/analysis/app.ts';
import { makeDatasets, type Fixture } from './fixtures.ts';
import { runLoad } from '../../services/analysis/bench/load-clients.ts';

let fixture: Fixture;
beforeAll(() => {
  fixture = makeDatasets(20);
});
afterAll(() => fixture.dispose());

let serial = 0;
const hist = (bins: number) => ({ name: `h${serial++}`, expr: 'Muon_Px', bins, min: -100, max: 100 });

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe('limits', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp({ datasets: fixture.root, workers: 1, maxActive: 1, maxPerClient: 2 });
  });
  afterAll(async () => app.close());

  it('refuses more than a million bins over all histograms', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/analyses',
      payload: { dataset: 'hzz', histograms: Array.from({ length: 11 }, () => hist(100_000)) },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'E_TOO_MANY_BINS',
      message: 'histograms: 1100000 bins in all; one analysis may have at most 1000000',
    });
  });

  it('lets one client have 2 analyses running or waiting, then 429; another client still gets in', async () => {
    const long = () => ({
      dataset: 'long',
      histograms: [{ name: `n${serial++}`, expr: 'lep_n', bins: 5, min: 0, max: 5 }],
    });
    const from = (remoteAddress: string) => ({ method: 'POST' as const, url: '/api/analyses', remoteAddress });
    const a = await app.inject({ ...from('10.0.0.5'), payload: long() });
    const b = await app.inject({ ...from('10.0.0.5'), payload: long() });
    const c = await app.inject({ ...from('10.0.0.5'), payload: long() });
    const d = await app.inject({ ...from('10.0.0.6'), payload: long() });
    expect([a.statusCode, b.statusCode, c.statusCode, d.statusCode]).toEqual([202, 202, 429, 202]);
    expect(c.headers['retry-after']).toBe('5');
    expect(c.json()).toMatchObject({
      code: 'E_CLIENT_BUSY',
      message: 'this client already has 2 analyses running or waiting (at most 2)',
      hint: 'wait for one to end, or cancel one',
    });
    // Cancelling one frees the client's place.
    await app.inject({ method: 'DELETE', url: `/api/analyses/${a.json<{ id: string }>().id}` });
    expect((await app.inject({ ...from('10.0.0.5'), payload: long() })).statusCode).toBe(202);
    app.analysis.manager.close();
  });
});

describe('memory budgets', () => {
  it('keeps results and finished analyses under their byte budgets, the oldest evicted first', async () => {
    const app = await buildApp({
      datasets: fixture.root,
      workers: 2,
      cacheBytes: 5 * 2 ** 20,
      keepBytes: 3 * 2 ** 20,
    });
    try {
      const ids: string[] = [];
      // Each result: 20 000 bins in the total and in each of the 6 files, about 2.3 MB.
      for (let i = 0; i < 6; i++) {
        const res = await app.inject({
          method: 'POST',
          url: '/api/analyses?wait=1',
          payload: { dataset: 'hzz', histograms: [hist(20_000)] },
        });
        expect(res.json<AnalysisView>().state).toBe('done');
        ids.push(res.json<AnalysisView>().id);
        const memory = app.analysis.manager.memory;
        expect(memory.resultBytes).toBeLessThanOrEqual(3 * 2 ** 20);
        expect(memory.cacheBytes).toBeLessThanOrEqual(5 * 2 ** 20);
      }
      expect((await app.inject(`/api/analyses/${ids[0]}`)).json()).toMatchObject({ code: 'E_UNKNOWN_ANALYSIS' });
      expect((await app.inject(`/api/analyses/${ids.at(-1)}`)).json<AnalysisView>().state).toBe('done');
      // Two results fit the cache's 5 MiB, one the 3 MiB of finished analyses.
      expect(app.analysis.manager.memory).toMatchObject({ cacheEntries: 2, analyses: 1 });
    } finally {
      await app.close();
    }
  });
});

describe('event streams', () => {
  it('drops a client that does not read its stream, and the service goes on', async () => {
    const app = await buildApp({ datasets: fixture.root, workers: 2, sseStallMs: 1000, maxByFileCells: 1e8 });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = Number(new URL(base).port);
      // About 28 MB of result: far more than the kernel's socket buffers take for a client that does not read.
      const payload = { dataset: 'hzz', histograms: Array.from({ length: 10 }, () => hist(100_000)) };
      const { id } = (await app.inject({ method: 'POST', url: '/api/analyses', payload })).json<{ id: string }>();
      const socket = connect({ port, host: '127.0.0.1' });
      socket.on('error', () => undefined);
      socket.write(`GET /api/analyses/${id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      socket.pause();
      expect(await until(() => app.analysis.streams.open === 1, 20_000)).toBe(true);
      expect(await until(() => app.analysis.streams.dropped === 1, 60_000)).toBe(true);
      expect(app.analysis.streams.open).toBe(0);
      socket.destroy();
      expect((await app.inject(`/api/analyses/${id}`)).json<AnalysisView>().state).toBe('done');
      expect((await app.inject('/api/health')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  }, 120_000);
});

describe('50 LAN clients', () => {
  it('hold the budgets: no crash, health always answers, results and streams bounded', async () => {
    const app = await buildApp({ datasets: fixture.root, workers: 2 });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const report = await runLoad({
        base,
        dataset: 'atlas',
        expr: 'lep_pt[0]/1000',
        clients: 50,
        durationMs: 8000,
        // Real load however busy the machine is (at a load of 15, 8 s once saw no analysis accepted): at most 80 s.
        minAccepted: 11,
        maxBins: 100_000,
        stalled: 5,
      });
      console.log(
        `50 clients, ${report.seconds.toFixed(1)} s: health p50 ${report.health.p50.toFixed(1)} ms, ` +
          `p99 ${report.health.p99.toFixed(1)} ms (${report.health.count} requests); RSS (test process) ` +
          `${report.rss.startMiB.toFixed(0)} → peak ${report.rss.peakMiB.toFixed(0)} → ${report.rss.endMiB.toFixed(0)} MiB; ` +
          `analyses ${JSON.stringify(report.analyses)}; memory ${JSON.stringify(app.analysis.manager.memory)}`,
      );
      expect(report.health.errors).toBe(0);
      expect(report.health.count).toBeGreaterThan(0);
      expect(report.analyses.accepted).toBeGreaterThan(10);
      expect(report.analyses.other).toBe(0);
      const memory = app.analysis.manager.memory;
      expect(memory.resultBytes).toBeLessThanOrEqual(256 * 2 ** 20);
      expect(memory.cacheBytes).toBeLessThanOrEqual(128 * 2 ** 20);
      expect(memory.analyses).toBeLessThanOrEqual(256 + 4 + 16);
      // Memory bounded: the budgets (384 MiB) plus the service's own working set, not growing with the load.
      expect(report.rss.peakMiB - report.rss.startMiB).toBeLessThan(1024);
      app.analysis.manager.close();
      expect(await until(() => app.analysis.streams.open === 0, 20_000)).toBe(true);
      expect((await app.inject('/api/health')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  }, 120_000);
});
