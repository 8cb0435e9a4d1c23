/** The worker pool's cancel, driven with a stand-in worker whose tasks just sleep, so timings are exact. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Task } from '../../services/analysis/pool/protocol.ts';
import { TaskError, WorkerPool } from '../../services/analysis/pool/pool.ts';

/** A task that sleeps `ms` in the stand-in worker and reports `tag` as its entry count. */
function sleep(ms: number, tag: number): Task {
  return {
    fileId: 0,
    file: `task${tag}`,
    first: ms,
    last: tag,
    branchInfo: [],
    draw: { expressions: [] },
    histograms: [],
  };
}

async function outcome(promise: Promise<{ entries: number }>): Promise<number | string> {
  try {
    return (await promise).entries;
  } catch (error) {
    return (error as TaskError).code;
  }
}

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

async function ready(p: WorkerPool): Promise<void> {
  // A zero-length task answers once the worker has started.
  await p.run(sleep(0, 0), 'warmup');
}

describe('WorkerPool.cancel', () => {
  it("cancelling a group whose job only waits behind another group's job does not kill that job", async () => {
    pool = new WorkerPool({ size: 1, workerUrl: new URL('./sleep-worker.ts', import.meta.url), cancelGraceMs: 100 });
    await ready(pool);
    const running = outcome(pool.run(sleep(600, 1), 'a'));
    let runningEnded = false;
    void running.then(() => (runningEnded = true));
    const waiting = outcome(pool.run(sleep(600, 2), 'b'));
    await new Promise((r) => setTimeout(r, 50));
    pool.cancel('b');
    // The waiting job answers without waiting for the running one (no wall-clock bound: the order proves it).
    expect(await waiting).toBe('E_CANCELLED');
    expect(runningEnded).toBe(false);
    expect(await running).toBe(1);
    expect(pool.restarts).toBe(0);
    // The skipped job never ran: nothing is queued or busy, and the next job runs on the same worker.
    expect(pool.queued).toBe(0);
    expect(pool.busy).toBe(0);
    expect(await outcome(pool.run(sleep(0, 3), 'c'))).toBe(3);
    expect(pool.restarts).toBe(0);
  });

  it('cancelling the running job terminates its worker; a job of another group waiting behind it runs again', async () => {
    pool = new WorkerPool({ size: 1, workerUrl: new URL('./sleep-worker.ts', import.meta.url), cancelGraceMs: 100 });
    await ready(pool);
    const running = outcome(pool.run(sleep(5000, 1), 'a'));
    const waiting = outcome(pool.run(sleep(10, 2), 'b'));
    await new Promise((r) => setTimeout(r, 50));
    pool.cancel('a');
    expect(await running).toBe('E_CANCELLED');
    expect(await waiting).toBe(2);
    expect(pool.restarts).toBe(1);
  });
});
