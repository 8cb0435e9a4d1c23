/**
 * The build's stage scheduler (builder/build.ts runStages) with stand-in stages that take real time: stages that
 * read each other wait, independent ones overlap, never more than two at once, and a failure stops the others and
 * is thrown only after they stopped.
 */
import { describe, expect, it } from 'vitest';
import { runStages } from '../../builder/build.ts';
import type { StageName } from '../../builder/stages/registry.ts';

const stage = (name: string, dependsOn: string[] = []) => ({
  stage: { name: name as StageName, dependsOn: dependsOn as StageName[] },
});
/** The key's tail after one doc changed: iso and disk both read content, usb reads disk. */
const TAIL = [stage('content'), stage('iso', ['content']), stage('disk', ['content']), stage('usb', ['disk'])];

function recorder(millis: Record<string, number>, failing?: string) {
  const events: string[] = [];
  let live = 0;
  let most = 0;
  const runOne = async (name: StageName, signal: AbortSignal) => {
    events.push(`start ${name}`);
    most = Math.max(most, ++live);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, millis[name] ?? 10);
        const onAbort = () => {
          clearTimeout(timer);
          events.push(`stop ${name}`);
          reject(new Error(`${name} stopped`));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
      if (name === failing) throw new Error(`${name} failed`);
      events.push(`end ${name}`);
      return name.toUpperCase();
    } finally {
      live--;
    }
  };
  return { events, runOne, most: () => most };
}

describe('runStages', () => {
  it('runs the ISO and the disk side by side once content is done, and usb after the disk', async () => {
    const { events, runOne, most } = recorder({ content: 20, iso: 200, disk: 60, usb: 20 });
    const results = await runStages(TAIL, runOne);
    expect(events).toEqual([
      'start content',
      'end content',
      'start iso',
      'start disk',
      'end disk',
      'start usb',
      'end usb',
      'end iso',
    ]);
    expect(most()).toBe(2);
    expect([...results.entries()].sort()).toEqual([
      ['content', 'CONTENT'],
      ['disk', 'DISK'],
      ['iso', 'ISO'],
      ['usb', 'USB'],
    ]);
  });

  it('runs one at a time when told, in plan order', async () => {
    const { events, runOne, most } = recorder({});
    await runStages(TAIL, runOne, { atOnce: 1 });
    expect(events.filter((e) => e.startsWith('start'))).toEqual([
      'start content',
      'start iso',
      'start disk',
      'start usb',
    ]);
    expect(most()).toBe(1);
  });

  it('stops the other stages when one fails, and throws that failure after they stopped', async () => {
    // The ISO would take a minute: it ends only because the disk's failure stopped it (no wall-clock bound needed).
    const { events, runOne } = recorder({ content: 10, iso: 60_000, disk: 50 }, 'disk');
    await expect(runStages(TAIL, runOne)).rejects.toThrow('disk failed');
    expect(events).toEqual(['start content', 'end content', 'start iso', 'start disk', 'stop iso']);
  });

  it("stops on the caller's abort and throws its reason", async () => {
    const { runOne } = recorder({ content: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('interrupted')), 50);
    await expect(runStages(TAIL, runOne, { signal: controller.signal })).rejects.toThrow('content stopped');
  });

  it('names the stages that wait for a stage that is not planned', async () => {
    const { runOne } = recorder({});
    await expect(runStages([stage('iso', ['content'])], runOne)).rejects.toThrow(
      'stages iso wait for stages that never run',
    );
  });
});
