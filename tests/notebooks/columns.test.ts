/**
 * POST /api/columns and openkey.arrays: the values equal jsroot's for every readable branch of real files (every
 * compression, counted arrays, fixed arrays, vectors), through the route and through the Python client.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../services/analysis/app.ts';
import { decodeColumns } from '../../services/analysis/columns.ts';
import { readTreeMeta } from '../../rootio/read/meta.ts';
import { linkInside } from '../service/fixtures.ts';
import { ATLAS, COMPRESSIONS, jsrootValues, SKHEP } from '../service/jsroot-helpers.ts';
import { PYTHON, PYTHON_PATH } from './python.ts';

const FILES: Record<string, { path: string; tree: string }> = {
  ...Object.fromEntries(
    COMPRESSIONS.map((c) => [`hzz${c || '-default'}`, { path: `${SKHEP}uproot-HZZ${c}.root`, tree: 'events' }]),
  ),
  'sample-lz4': { path: `${SKHEP}uproot-sample-6.20.04-lz4.root`, tree: 'sample' },
  'sample-zlib': { path: `${SKHEP}uproot-sample-6.20.04-zlib.root`, tree: 'sample' },
  atlas: { path: `${ATLAS}mc_105986.ZZ.root`, tree: 'mini' },
};

let root: string;
let app: FastifyInstance;
let small: FastifyInstance;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'openkey-columns-'));
  for (const [id, { path }] of Object.entries(FILES)) {
    mkdirSync(join(root, id));
    linkInside(root, path, join(root, id), 'file.root');
  }
  // Two files in one dataset: entry ranges run across them in order.
  mkdirSync(join(root, 'two'));
  linkInside(root, `${SKHEP}uproot-HZZ-zlib.root`, join(root, 'two'), 'a.root');
  linkInside(root, `${SKHEP}uproot-HZZ-lz4.root`, join(root, 'two'), 'b.root');
  app = await buildApp({ datasets: root, workers: 1 });
  small = await buildApp({ datasets: root, workers: 1, columnsLimits: { maxEntries: 1000, maxBytes: 4096 } });
});

afterAll(async () => {
  await app?.close();
  await small?.close();
  rmSync(root, { recursive: true, force: true });
});

async function columns(body: object, on = app) {
  const response = await on.inject({ method: 'POST', url: '/api/columns', payload: body });
  return response;
}

function perEvent(column: { values: number[]; offsets?: number[] }): (number | number[])[] {
  if (column.offsets === undefined) return column.values;
  const out: number[][] = [];
  for (let i = 0; i + 1 < column.offsets.length; i++)
    out.push(column.values.slice(column.offsets[i], column.offsets[i + 1]));
  return out;
}

async function readableBranches(path: string, tree: string): Promise<string[]> {
  const meta = await readTreeMeta(path, tree);
  // ai1 is a fixed Char_t array that jsroot reads as a string (see tests/service/reader.test.ts).
  return meta.tree!.branches.filter((b) => b.element !== undefined && b.name !== 'ai1').map((b) => b.name);
}

// jsroot reads each branch of a file separately: a few seconds a file, more on a loaded machine.
describe('POST /api/columns equals jsroot', { timeout: 180_000 }, () => {
  for (const [id, { path, tree }] of Object.entries(FILES)) {
    it(`${id}: every readable branch`, async () => {
      const names = await readableBranches(path, tree);
      expect(names.length).toBeGreaterThan(10);
      const response = await columns({ dataset: id, columns: names });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.headers['content-type']).toBe('application/octet-stream');
      const decoded = decodeColumns(response.rawPayload);
      for (const name of names) {
        const expected = await jsrootValues(path, tree, name);
        expect({ name, values: perEvent(decoded.columns[name]!) }).toEqual({ name, values: expected });
      }
    });
  }

  it('a selection keeps exactly the passing events, a per-element one those with any passing element', async () => {
    const path = FILES['hzz-zlib']!.path;
    const nmuon = (await jsrootValues(path, 'events', 'NMuon')) as number[];
    const px = (await jsrootValues(path, 'events', 'Muon_Px')) as number[][];
    const response = await columns({ dataset: 'hzz-zlib', columns: ['NMuon', 'Muon_Px'], selection: 'NMuon>=2' });
    const decoded = decodeColumns(response.rawPayload);
    expect(decoded.columns['NMuon']!.values).toEqual(nmuon.filter((n) => n >= 2));
    expect(perEvent(decoded.columns['Muon_Px']!)).toEqual(px.filter((_, i) => nmuon[i]! >= 2));
    const perElement = decodeColumns(
      (await columns({ dataset: 'hzz-zlib', columns: ['NMuon'], selection: 'Muon_Px > 20' })).rawPayload,
    );
    expect(perElement.columns['NMuon']!.values).toEqual(nmuon.filter((_, i) => px[i]!.some((x) => x > 20)));
  });

  it('entryStart/entryStop count over the files of a dataset in order', async () => {
    const a = (await jsrootValues(`${SKHEP}uproot-HZZ-zlib.root`, 'events', 'Muon_Px')) as number[][];
    const b = (await jsrootValues(`${SKHEP}uproot-HZZ-lz4.root`, 'events', 'Muon_Px')) as number[][];
    const both = [...a, ...b];
    const start = a.length - 5;
    const stop = a.length + 7;
    const decoded = decodeColumns(
      (await columns({ dataset: 'two', columns: ['Muon_Px'], entryStart: start, entryStop: stop })).rawPayload,
    );
    expect(decoded.entries).toBe(12);
    expect(perEvent(decoded.columns['Muon_Px']!)).toEqual(both.slice(start, stop));
  });
});

describe('POST /api/columns refuses what it cannot answer', () => {
  it('an unknown branch is a 404 with "did you mean"', async () => {
    const response = await columns({ dataset: 'atlas', columns: ['lep_ptt'] });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({
      code: 'E_UNKNOWN_BRANCH',
      message: 'unknown branch "lep_ptt" in dataset "atlas"',
      hint: 'did you mean "lep_pt"?',
    });
  });
  it('too many entries is a 413 naming the limit, before reading', async () => {
    const response = await columns({ dataset: 'atlas', columns: ['lep_n'] }, small);
    expect(response.statusCode).toBe(413);
    expect(response.json().code).toBe('E_TOO_LARGE');
    expect(response.json().message).toMatch(/^the request scans \d+ entries; the limit is 1000$/);
  });
  it('an answer over the byte limit is a 413', async () => {
    const response = await columns({ dataset: 'atlas', columns: ['lep_pt', 'lep_eta'], entryStop: 1000 }, small);
    expect(response.statusCode).toBe(413);
    expect(response.json().message).toMatch(/^the answer would exceed 4096 bytes/);
  });
  it('a bad selection is a 400 naming the field', async () => {
    const response = await columns({ dataset: 'atlas', columns: ['lep_n'], selection: 'lep_n >' });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/selection/);
  });
  it('unknown fields and an empty column list are 400s', async () => {
    expect((await columns({ dataset: 'atlas', columns: ['lep_n'], cut: 'x' })).statusCode).toBe(400);
    expect((await columns({ dataset: 'atlas', columns: [] })).statusCode).toBe(400);
  });
});

describe('openkey.arrays (Python) over HTTP', { timeout: 180_000 }, () => {
  it('returns jsroot values for scalars, counted arrays and vectors, with a cut and an entry range', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const script = `
import json, numpy as np, openkey as ok
a = ok.arrays("atlas", ["lep_n", "lep_pt", "met_et", "lep_type"], cut="lep_n>=2", entry_stop=3000)
lead = a["lep_pt"][:, 0]
print(json.dumps({
  "lep_n": a["lep_n"].tolist(),
  "met_et": a["met_et"].tolist(),
  "lep_pt": [a["lep_pt"].event(i).tolist() for i in range(len(a["lep_pt"]))],
  "lead": lead.tolist(),
  "counts": a["lep_type"].counts.tolist(),
  "dtypes": [str(a["met_et"].dtype), str(a["lep_pt"].content.dtype), str(a["lep_n"].dtype)],
}))
`;
    // Asynchronous: the service answering the client runs in this very process.
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', script], {
      env: { ...process.env, OPENKEY_URL: `http://127.0.0.1:${port}`, PYTHONPATH: PYTHON_PATH },
      timeout: 120_000,
    });
    const got = JSON.parse(stdout) as Record<string, unknown>;
    const path = FILES['atlas']!.path;
    const n = ((await jsrootValues(path, 'mini', 'lep_n')) as number[]).slice(0, 3000);
    const keep = (_: unknown, i: number) => n[i]! >= 2;
    const pt = ((await jsrootValues(path, 'mini', 'lep_pt')) as number[][]).slice(0, 3000).filter(keep);
    const met = ((await jsrootValues(path, 'mini', 'met_et')) as number[]).slice(0, 3000).filter(keep);
    expect(pt.length).toBeGreaterThan(100);
    expect(got['lep_n']).toEqual(n.filter(keep));
    expect(got['met_et']).toEqual(met);
    expect(got['lep_pt']).toEqual(pt);
    expect(got['lead']).toEqual(pt.map((event) => event[0]));
    expect(got['counts']).toEqual(n.filter(keep));
    expect(got['dtypes']).toEqual(['float32', 'float32', 'uint32']);
  });
});
