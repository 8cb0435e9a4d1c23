/** The zips students download: a dataset's files byte for byte (checked with unzip), the docs, 404s. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../services/analysis/app.ts';
import { ATLAS_FILES, makeDatasets, type Fixture } from './fixtures.ts';

let fixture: Fixture;
let app: FastifyInstance;
const work = mkdtempSync(join(tmpdir(), 'openkey-zip-'));
const apps = join(work, 'apps');

beforeAll(async () => {
  fixture = makeDatasets();
  mkdirSync(join(apps, 'docs', 'intro'), { recursive: true });
  writeFileSync(join(apps, 'docs', 'intro', 'index.md'), '# Start here\n');
  writeFileSync(join(apps, 'docs', 'cuts.md'), 'Cut and count.\n');
  app = await buildApp({ datasets: fixture.root, apps, workers: 1 });
});

afterAll(async () => {
  await app.close();
  fixture.dispose();
  rmSync(work, { recursive: true, force: true });
});

function unzipList(zip: string): string[] {
  return execFileSync('zipinfo', ['-1', zip], { encoding: 'utf8' }).trim().split('\n').sort();
}

describe('GET /api/datasets/:id/zip and /api/docs/zip', () => {
  it("zips a dataset: every .root file byte for byte, and dataset.json without the teachers' truth", async () => {
    const response = await app.inject({ method: 'GET', url: '/api/datasets/atlas/zip' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/zip');
    expect(response.headers['content-disposition']).toBe('attachment; filename="atlas.zip"');
    const zip = join(work, 'atlas.zip');
    writeFileSync(zip, response.rawPayload);
    execFileSync('unzip', ['-tq', zip]);
    const names = ATLAS_FILES.map((f) => `atlas/${f.split('/').pop()}`);
    expect(unzipList(zip)).toEqual([...names, 'atlas/dataset.json'].sort());
    for (const file of ATLAS_FILES) {
      const inside = execFileSync('unzip', ['-p', zip, `atlas/${file.split('/').pop()}`], { maxBuffer: 1 << 28 });
      const original = readFileSync(realpathSync(join(fixture.root, 'atlas', file.split('/').pop() ?? '')));
      expect(inside.equals(original)).toBe(true);
    }
    const json = JSON.parse(execFileSync('unzip', ['-p', zip, 'atlas/dataset.json'], { encoding: 'utf8' })) as {
      files: Record<string, { truth?: unknown; sample?: string }>;
    };
    expect(json.files['mc_105986.ZZ.root']).toEqual({
      sample: 'ZZ',
      process: 'zz',
      crossSection: 0.677,
      kind: 'simulation',
    });
  });

  it('zips the docs folder', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/docs/zip' });
    expect(response.statusCode).toBe(200);
    const zip = join(work, 'docs.zip');
    writeFileSync(zip, response.rawPayload);
    expect(unzipList(zip)).toEqual(['docs/cuts.md', 'docs/intro/index.md']);
    expect(execFileSync('unzip', ['-p', zip, 'docs/intro/index.md'], { encoding: 'utf8' })).toBe('# Start here\n');
  });

  it('answers 404 for an unknown dataset and 400 for an unknown query field', async () => {
    const unknown = await app.inject({ method: 'GET', url: '/api/datasets/nope/zip' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'E_UNKNOWN_DATASET' });
    expect((await app.inject({ method: 'GET', url: '/api/datasets/atlas/zip?x=1' })).statusCode).toBe(400);
  });
});
