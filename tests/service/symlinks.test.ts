/**
 * Symlinks and traversal (issue 11 item 4): /data/… and the apps (--apps) never follow a symlink out of their
 * folders; symlinks inside them still work. Real symlinks in temp folders, real requests through inject().
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisView, DatasetDetail } from '../../services/analysis/api.ts';
import { buildApp } from '../../services/analysis/app.ts';
import { makeDatasets, type Fixture } from './fixtures.ts';
import { SKHEP } from './jsroot-helpers.ts';

let fixture: Fixture;
let outside: string;
let apps: string;
let app: FastifyInstance;

beforeAll(async () => {
  fixture = makeDatasets();
  // A folder outside both served folders, with a ROOT file and a secret in it.
  outside = mkdtempSync(join(tmpdir(), 'openkey-outside-'));
  copyFileSync(`${SKHEP}uproot-HZZ-zlib.root`, join(outside, 'real.root'));
  writeFileSync(join(outside, 'secret.txt'), 'root:x:0:0:secret\n');
  mkdirSync(join(outside, 'ds'));
  copyFileSync(`${SKHEP}uproot-HZZ-zlib.root`, join(outside, 'ds', 'a.root'));
  const leaky = join(fixture.root, 'leaky');
  mkdirSync(leaky);
  symlinkSync(join(outside, 'real.root'), join(leaky, 'out.root'));
  symlinkSync('../hzz/uproot-HZZ-zlib.root', join(leaky, 'in.root'));
  symlinkSync(join(outside, 'ds'), join(fixture.root, 'linked'));

  apps = mkdtempSync(join(tmpdir(), 'openkey-apps-'));
  writeFileSync(join(apps, 'index.html'), '<!doctype html><title>portal</title>');
  symlinkSync(join(outside, 'secret.txt'), join(apps, 'secret.txt'));
  symlinkSync(outside, join(apps, 'out'));
  symlinkSync('index.html', join(apps, 'alias.html'));
  app = await buildApp({ datasets: fixture.root, apps, workers: 1 });
});
afterAll(async () => {
  await app.close();
  fixture.dispose();
  rmSync(outside, { recursive: true, force: true });
  rmSync(apps, { recursive: true, force: true });
});

describe('/data', () => {
  it('serves a symlink that stays inside the datasets folder', async () => {
    const res = await app.inject('/data/leaky/in.root');
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.subarray(0, 4).toString()).toBe('root');
  });

  it('does not serve a symlink out of the datasets folder', async () => {
    const res = await app.inject('/data/leaky/out.root');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'E_NOT_FOUND', message: 'no file "out.root" in dataset "leaky"' });
    expect((await app.inject({ url: '/data/leaky/out.root', headers: { range: 'bytes=0-3' } })).statusCode).toBe(404);
  });

  it('lists such a file with its error, and an analysis of it fails naming it', async () => {
    const detail = (await app.inject('/api/datasets/leaky')).json<DatasetDetail>();
    expect(detail.files.find((f) => f.name === 'out.root')).toMatchObject({
      entries: 0,
      error: 'a symlink out of the datasets folder: not read and not served',
    });
    const view = (
      await app.inject({
        method: 'POST',
        url: '/api/analyses?wait=1',
        payload: {
          dataset: 'leaky',
          files: ['out.root'],
          histograms: [{ name: 'px', expr: 'Muon_Px', bins: 4, min: -100, max: 100 }],
        },
      })
    ).json<AnalysisView>();
    expect(view.state).toBe('failed');
    expect(view.error?.message).toBe('out.root: a symlink out of the datasets folder: not read and not served');
  });

  it('a dataset folder that is a symlink out of the datasets folder is no dataset', async () => {
    expect((await app.inject('/api/datasets/linked')).json()).toMatchObject({ code: 'E_UNKNOWN_DATASET' });
    expect((await app.inject('/data/linked/a.root')).statusCode).toBe(404);
  });
});

describe('--apps', () => {
  for (const bad of [
    '/secret.txt',
    '/out/secret.txt',
    '/out/real.root',
    '/..%2F..%2Fetc%2Fpasswd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/out/..%2F..%2Fetc/passwd',
  ]) {
    it(`does not follow a symlink or a traversal out of the apps folder: ${bad}`, async () => {
      const res = await app.inject(bad);
      expect(res.statusCode).toBe(404);
      expect(res.body.includes('root:')).toBe(false);
    });
  }

  it('serves a symlink inside the apps folder', async () => {
    const res = await app.inject('/alias.html');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<title>portal</title>');
  });
});
