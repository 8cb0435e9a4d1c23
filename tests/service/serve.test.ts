/** `openkey serve` through the CLI entry: it listens on loopback, answers, and stops when its signal aborts. */
import { describe, expect, it } from 'vitest';
import { main } from '../../builder/cli.ts';
import type { CommandIo } from '../../builder/commands/types.ts';
import { makeDatasets } from './fixtures.ts';

function io(controller: AbortController, out: string[], err: string[]): CommandIo {
  return {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    cwd: process.cwd(),
    env: {},
    signal: controller.signal,
    isTTY: false,
  };
}

describe('openkey serve', () => {
  it('serves until interrupted, then exits 0', async () => {
    const fixture = makeDatasets();
    const controller = new AbortController();
    const out: string[] = [];
    const err: string[] = [];
    try {
      const done = main(
        ['serve', '--datasets', fixture.root, '--port', '0', '--workers', '1'],
        io(controller, out, err),
      );
      let url: string | undefined;
      for (let i = 0; i < 200 && url === undefined; i++) {
        await new Promise((r) => setTimeout(r, 50));
        url = /listening on (http:\/\/127\.0\.0\.1:\d+) \(1 workers\)/.exec(out.join(''))?.[1];
      }
      expect(url).toBeDefined();
      const health = await (await fetch(`${url}/api/health`)).json();
      expect(health).toMatchObject({ status: 'ok', workers: 1 });
      const datasets = (await (await fetch(`${url}/api/datasets`)).json()) as { id: string }[];
      expect(datasets.map((d) => d.id)).toEqual(['atlas', 'broken', 'hzz', 'zmumu']);
      controller.abort();
      expect(await done).toBe(0);
      expect(out.join('')).toContain('analysis service stopped');
      expect(err).toEqual([]);
    } finally {
      fixture.dispose();
    }
  });

  it('usage errors exit 2 with a hint', async () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(await main(['serve'], io(new AbortController(), out, err))).toBe(2);
    expect(err.join('')).toBe(
      'openkey: error[E_USAGE]: --datasets DIR is required\n  hint: openkey serve --datasets ../shared/data\n',
    );
    err.length = 0;
    expect(await main(['serve', '--datasets', '.', '--workers', 'many'], io(new AbortController(), out, err))).toBe(2);
    expect(err.join('')).toBe('openkey: error[E_USAGE]: --workers many: give a whole number from 1 to 256\n');
    err.length = 0;
    expect(await main(['serve', '--datasets', '/nonexistent/datasets'], io(new AbortController(), out, err))).toBe(2);
    expect(err.join('')).toBe('openkey: error[E_USAGE]: --datasets /nonexistent/datasets: no such directory\n');
  });
});
