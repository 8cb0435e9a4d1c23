/**
 * The ATLAS 13 TeV presets on a dataset in that format (std::vector branches, written by openkey synth with known
 * physics): each runs, and the peaks sit where the generator put them.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeSyntheticFile } from '../../builder/synth/index.ts';
import type { AnalysisView } from '../../services/analysis/api.ts';
import { buildApp } from '../../services/analysis/app.ts';

let root: string;
let app: FastifyInstance;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'openkey-presets-'));
  mkdirSync(join(root, 'mini13'));
  for (const process of ['zll', 'wlnu', 'hyy', 'zz4l'])
    await writeSyntheticFile(
      { schema: 'atlas13-mini', process, events: 8000, seed: 3 },
      join(root, 'mini13', `${process}.root`),
    );
  app = await buildApp({ datasets: root, workers: 2 });
});
afterAll(async () => {
  await app.close();
  rmSync(root, { recursive: true, force: true });
});

/** Centre of the fullest bin of the one histogram of a file's result. */
function peak(view: AnalysisView, file: string): number {
  const h = Object.values(view.result!.byFile[file]!)[0]!;
  const bins = h.fArray.slice(1, -1);
  const i = bins.indexOf(Math.max(...bins));
  const { fNbins, fXmin, fXmax } = h.fXaxis;
  return fXmin + ((i + 0.5) * (fXmax - fXmin)) / fNbins;
}

it('atlas13 presets match the dataset and find the Z peak, the W edge and the ZZ threshold', async () => {
  const presets = (await app.inject('/api/presets')).json<{ id: string; datasets: string[]; request: object }[]>();
  const atlas13 = presets.filter((p) => p.id.startsWith('atlas13'));
  expect(atlas13.map((p) => [p.id, p.datasets])).toEqual([
    ['atlas13-zll', ['mini13']],
    ['atlas13-wlnu', ['mini13']],
    ['atlas13-hyy', ['mini13']],
    ['atlas13-h4l', ['mini13']],
  ]);
  const run = async (id: string) => {
    const p = atlas13.find((x) => x.id === id)!;
    const res = await app.inject({
      method: 'POST',
      url: '/api/analyses?wait=1',
      payload: { ...p.request, dataset: 'mini13' },
    });
    const view = res.json<AnalysisView>();
    expect(view.error).toBeUndefined();
    expect(view.result!.selected).toBeGreaterThan(0);
    return view;
  };
  expect(Math.abs(peak(await run('atlas13-zll'), 'zll.root') - 91.2)).toBeLessThan(2);
  const w = peak(await run('atlas13-wlnu'), 'wlnu.root');
  expect(w).toBeGreaterThan(55);
  expect(w).toBeLessThan(85);
  expect(peak(await run('atlas13-h4l'), 'zz4l.root')).toBeGreaterThan(180);
  const hyy = await run('atlas13-hyy');
  expect(Object.values(hyy.result!.byFile['hyy.root']!)[0]!.fEntries).toBeGreaterThan(100);
});
