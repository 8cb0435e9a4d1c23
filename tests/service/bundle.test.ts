/**
 * The service as the key runs it: esbuild's main.js and analysis-worker.js, started with plain node (no tsx), on
 * every compression (the zstd and LZMA decoders must survive bundling). Loopback only; stopped with SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AnalysisView } from '../../services/analysis/api.ts';
import { bundleService } from '../../services/analysis/bundle.ts';
import { makeDatasets, type Fixture } from './fixtures.ts';

let out: string;
let fixture: Fixture;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'openkey-bundle-'));
  fixture = makeDatasets();
});
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  fixture.dispose();
});

it('the bundled service starts with node, analyses every compression, and stops on SIGTERM', async () => {
  const { main, worker } = await bundleService(out);
  expect(main.endsWith('main.js') && worker.endsWith('analysis-worker.js')).toBe(true);
  const child = spawn(process.execPath, [main, '--datasets', fixture.root, '--port', '0', '--workers', '2'], {
    cwd: tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 60 s:\n${log}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${log}`)));
  });
  try {
    expect(await (await fetch(`${url}/api/health`)).json()).toMatchObject({ status: 'ok', workers: 2 });
    const res = await fetch(`${url}/api/analyses?wait=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        dataset: 'hzz',
        histograms: [{ name: 'px', expr: 'Muon_Px', bins: 4, min: -100, max: 100 }],
      }),
    });
    const view = (await res.json()) as AnalysisView;
    expect(view.error).toBeUndefined();
    // Six compressions of the same file: six times the same counts.
    expect(view.result!.histograms.px!.fArray).toEqual([41, 316, 1585, 1553, 289, 41].map((n) => 6 * n));
    for (const f of Object.values(view.result!.byFile)) expect(f.px!.fArray).toEqual([41, 316, 1585, 1553, 289, 41]);
  } finally {
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
}, 120_000);
