/** The analysis manager's places: released however an analysis ends, and nothing starts while the service closes. */
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Executor } from '../../services/analysis/analyses/execute.ts';
import type { AnalysisView } from '../../services/analysis/api.ts';
import { buildApp } from '../../services/analysis/app.ts';
import { makeDatasets, type Fixture } from './fixtures.ts';

let fixture: Fixture;
let app: FastifyInstance;
beforeAll(async () => {
  fixture = makeDatasets(20);
  app = await buildApp({ datasets: fixture.root, workers: 1, maxActive: 1 });
});
afterAll(async () => {
  await app.close();
  fixture.dispose();
});
afterEach(() => {
  vi.restoreAllMocks();
});

let serial = 0;
function request() {
  return { dataset: 'long', histograms: [{ name: `n${serial++}`, expr: 'lep_n', bins: 5, min: 0, max: 5 }] };
}

describe('AnalysisManager', () => {
  it('an analysis that fails unexpectedly still frees its place: the next one runs', async () => {
    const { manager } = app.analysis;
    const execute = vi.spyOn(Executor.prototype, 'run').mockRejectedValueOnce(new Error('boom'));
    const first = await manager.submit(request());
    await manager.wait(first);
    expect(manager.view(first).error).toEqual({ code: 'E_INTERNAL', message: 'internal error (a bug): boom' });
    execute.mockRestore();
    const second = await manager.submit(request());
    expect(second.state).toBe('running');
    manager.cancel(second);
  });

  it('close() cancels waiting analyses without starting them', async () => {
    const closing = await buildApp({ datasets: fixture.root, workers: 1, maxActive: 1 });
    try {
      const { manager } = closing.analysis;
      const running = await manager.submit(request());
      const waiting = await manager.submit(request());
      expect(waiting.state).toBe('queued');
      const states: AnalysisView['state'][] = [];
      manager.subscribe(waiting, (v) => states.push(v.state));
      manager.close();
      expect(states).toEqual(['cancelled']);
      expect(manager.view(running).state).toBe('cancelled');
      expect(manager.counts).toEqual({ active: 0, queued: 0 });
      // A request arriving while the server closes is refused rather than started.
      await expect(manager.submit(request())).rejects.toMatchObject({ code: 'E_SHUTTING_DOWN' });
    } finally {
      await closing.close();
    }
  });
});
