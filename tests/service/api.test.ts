/** The HTTP API through inject() on the real files: datasets, analyses, SSE, cache, presets, /data, apps. */
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisView } from '../../services/analysis/api.ts';
import { buildApp } from '../../services/analysis/app.ts';
import { parseRange } from '../../services/analysis/routes/data.ts';
import { ATLAS_ENTRIES, linkInside, makeDatasets, type Fixture } from './fixtures.ts';
import { ATLAS, SKHEP } from './jsroot-helpers.ts';

let fixture: Fixture;
let app: FastifyInstance;
let apps: string;

beforeAll(async () => {
  fixture = makeDatasets();
  apps = join(fixture.root, '..', `${fixture.root.split('/').pop()}-apps`);
  mkdirSync(join(apps, 'analyser'), { recursive: true });
  writeFileSync(join(apps, 'index.html'), '<!doctype html><title>portal</title>');
  writeFileSync(join(apps, 'analyser', 'index.html'), '<!doctype html><title>analyser</title>');
  app = await buildApp({ datasets: fixture.root, apps, workers: 2 });
});
afterAll(async () => {
  await app.close();
  fixture.dispose();
  rmSync(apps, { recursive: true, force: true });
});

async function analyse(payload: Record<string, unknown>): Promise<AnalysisView> {
  const res = await app.inject({ method: 'POST', url: '/api/analyses?wait=1', payload });
  expect(res.statusCode).toBe(200);
  return res.json<AnalysisView>();
}

describe('health, datasets, presets', () => {
  it('GET /api/health', async () => {
    const res = await app.inject('/api/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', version: '0.1.0', workers: 2 });
  });

  it('GET /api/datasets: ids, entries, files with labels (truth hidden), unreadable files say why', async () => {
    const res = await app.inject('/api/datasets');
    expect(res.statusCode).toBe(200);
    const list = res.json<{ id: string; title: string; entries: number; files: Record<string, unknown>[] }[]>();
    expect(list.map((d) => d.id)).toEqual(['atlas', 'broken', 'hzz', 'zmumu']);
    const atlas = list.find((d) => d.id === 'atlas')!;
    expect(atlas).toMatchObject({
      title: 'ATLAS 8 TeV MC sample',
      licence: 'CC0-1.0',
      tree: 'mini',
      entries: ATLAS_ENTRIES,
    });
    expect(atlas.files[0]).toEqual({
      name: 'mc_105986.ZZ.root',
      size: statSync(`${ATLAS}mc_105986.ZZ.root`).size,
      entries: 12500,
      tree: 'mini',
      labels: { sample: 'ZZ', process: 'zz', crossSection: 0.677, xsec: 0.677, kind: 'simulation' },
    });
    expect(list.find((d) => d.id === 'hzz')!.entries).toBe(6 * 2421);
    const broken = list.find((d) => d.id === 'broken')!;
    expect(broken.files.map((f) => [f.name, f.entries])).toEqual([
      ['good.root', 2421],
      ['truncated.root', 0],
    ]);
    expect(broken.files[1]!.error).toMatch(/^truncated\.root: not a readable ROOT file/);
  });

  it('GET /api/datasets/:id lists the branches; an unknown id is a 404 naming the closest', async () => {
    const res = await app.inject('/api/datasets/atlas');
    expect(res.statusCode).toBe(200);
    const d = res.json<{ branches: { name: string; type: string; isArray: boolean }[] }>();
    expect(d.branches).toHaveLength(46);
    expect(d.branches.find((b) => b.name === 'lep_pt')).toEqual({
      name: 'lep_pt',
      type: 'Float_t[lep_n]',
      isArray: true,
    });
    expect(d.branches.find((b) => b.name === 'lep_n')).toEqual({ name: 'lep_n', type: 'UInt_t', isArray: false });
    expect(d.branches.find((b) => b.name === 'trigE')).toEqual({ name: 'trigE', type: 'Bool_t', isArray: false });
    const missing = await app.inject('/api/datasets/atlass');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({
      statusCode: 404,
      code: 'E_UNKNOWN_DATASET',
      error: 'Not Found',
      message: 'unknown dataset "atlass"',
      hint: 'closest: atlas, broken, hzz',
      params: { dataset: 'atlass', suggestions: 'atlas, broken, hzz' },
    });
  });

  it('a new dataset folder is served without a restart', async () => {
    const dir = join(fixture.root, 'zz-new');
    mkdirSync(dir);
    linkInside(fixture.root, `${ATLAS}mc_173045.DYtautauM08to15.root`, dir, 'dy.root');
    const res = await app.inject('/api/datasets/zz-new');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: 'zz-new', title: 'zz-new', entries: 999 });
    rmSync(dir, { recursive: true });
    expect((await app.inject('/api/datasets/zz-new')).statusCode).toBe(404);
  });

  it('GET /api/presets: every schema; the ones matching our datasets run', async () => {
    const res = await app.inject('/api/presets');
    expect(res.statusCode).toBe(200);
    const presets = res.json<{ id: string; datasets: string[]; request: Record<string, unknown> }[]>();
    expect(presets.map((p) => p.id)).toEqual([
      'atlas8-zll',
      'atlas8-wlnu',
      'atlas8-h4l',
      'atlas13-zll',
      'atlas13-wlnu',
      'atlas13-hyy',
      'atlas13-h4l',
      'atlas25-zll',
      'atlas25-wlnu',
      'atlas25-hyy',
      'atlas25-h4l',
      'cms-zmumu',
      'cms-wmunu',
      'cms-hyy',
      'cms-h4mu',
    ]);
    for (const p of presets) {
      if (p.id.startsWith('atlas8')) expect(p.datasets).toEqual(['atlas']);
      if (p.id.startsWith('cms')) expect(p.datasets).toEqual(['broken', 'hzz']);
      if (p.id.startsWith('atlas13') || p.id.startsWith('atlas25')) expect(p.datasets).toEqual([]);
      if (p.datasets.length === 0) continue;
      const dataset = p.datasets.includes('hzz') ? 'hzz' : p.datasets[0];
      const view = await analyse({ ...p.request, dataset });
      expect({ id: p.id, state: view.state }).toEqual({ id: p.id, state: 'done' });
      expect(view.result!.selected).toBeGreaterThan(0);
    }
  });
});

describe('analyses', () => {
  it('selected counts events, not the elements of an array selection', async () => {
    const histograms = [{ name: 'px', expr: 'Muon_Px', bins: 10, min: -50, max: 50 }];
    const perElement = await analyse({ dataset: 'hzz', selection: 'Muon_Px > 0', histograms });
    const perEvent = await analyse({ dataset: 'hzz', selection: 'Sum$(Muon_Px > 0) > 0', histograms });
    const fills = perElement.result!.histograms.px!.fEntries;
    expect(perEvent.result!.selected).toBeGreaterThan(0);
    expect(perElement.result!.selected).toBe(perEvent.result!.selected);
    expect(fills).toBeGreaterThan(perElement.result!.selected);
  });

  it('202 then GET, and the result: entries, selected, histograms and byFile', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/analyses',
      payload: {
        dataset: 'atlas',
        selection: 'lep_n==2',
        weight: 'mcWeight',
        histograms: [
          { name: 'pt', expr: 'lep_pt/1000', bins: 20, min: 0, max: 200 },
          { name: 'n', expr: 'lep_n', bins: 5, min: 0, max: 5 },
        ],
      },
    });
    expect(res.statusCode).toBe(202);
    const { id } = res.json<{ id: string }>();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    let view: AnalysisView;
    for (let polls = 0; ; polls++) {
      view = (await app.inject(`/api/analyses/${id}`)).json<AnalysisView>();
      if ((view.state !== 'queued' && view.state !== 'running') || polls > 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(view.state).toBe('done');
    expect(view.progress).toEqual({ entriesDone: ATLAS_ENTRIES, entriesTotal: ATLAS_ENTRIES });
    const r = view.result!;
    expect(r.entries).toBe(ATLAS_ENTRIES);
    expect(r.cached).toBe(false);
    expect(Object.keys(r.byFile)).toHaveLength(7);
    // Every selected event has two leptons: n fills bin [2,3) only, pt fills twice per event.
    const n = r.histograms.n!;
    expect(n.fEntries).toBe(r.selected);
    expect(n.fArray.map((v, i) => (i === 3 ? 0 : v))).toEqual(new Array(7).fill(0));
    expect(r.histograms.pt!.fEntries).toBe(2 * r.selected);
    // The total is the sum of the files.
    const sum = Object.values(r.byFile).reduce((s, f) => s + f.n!.fArray[3]!, 0);
    expect(n.fArray[3]).toBeCloseTo(sum, 6);
  });

  it('the same request again comes from the cache', async () => {
    const payload = { dataset: 'zmumu', histograms: [{ name: 'm', expr: 'M', bins: 30, min: 60, max: 120 }] };
    const first = await analyse(payload);
    const second = await analyse(payload);
    expect(first.result!.cached).toBe(false);
    expect(second.result!.cached).toBe(true);
    expect(second.id).not.toBe(first.id);
    expect(second.result!.histograms).toEqual(first.result!.histograms);
  });

  it('per-file histograms are left out past the limit of bins in all', async () => {
    const small = await buildApp({ datasets: fixture.root, workers: 1, maxByFileCells: 100 });
    try {
      const run = async (bins: number) =>
        (
          await small.inject({
            method: 'POST',
            url: '/api/analyses?wait=1',
            payload: { dataset: 'zmumu', histograms: [{ name: 'm', expr: 'M', bins, min: 60, max: 120 }] },
          })
        ).json<AnalysisView>().result!;
      const few = await run(10); // 6 files × 12 cells
      expect(Object.keys(few.byFile)).toHaveLength(6);
      expect(few.byFileOmitted).toBeUndefined();
      const many = await run(30); // 6 files × 32 cells
      expect(many.byFile).toEqual({});
      expect(many.byFileOmitted).toBe(true);
      expect(many.histograms.m!.fEntries).toBe(6 * 2304);
    } finally {
      await small.close();
    }
  });

  it('maxEntries stops after that many entries', async () => {
    const view = await analyse({
      dataset: 'atlas',
      maxEntries: 20000,
      histograms: [{ name: 'n', expr: 'lep_n', bins: 5, min: 0, max: 5 }],
    });
    expect(view.result!.entries).toBe(20000);
    expect(view.result!.histograms.n!.fEntries).toBe(20000);
  });

  it('GET /api/analyses/:id/events: progress then the result', async () => {
    const { id } = (
      await app.inject({
        method: 'POST',
        url: '/api/analyses',
        payload: { dataset: 'hzz', histograms: [{ name: 'px', expr: 'Muon_Px', bins: 10, min: -50, max: 50 }] },
      })
    ).json<{ id: string }>();
    const res = await app.inject(`/api/analyses/${id}/events`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const events = res.body
      .trim()
      .split('\n\n')
      .map((block) => {
        const [event, data] = block.split('\n');
        return { event: event!.replace('event: ', ''), data: JSON.parse(data!.replace('data: ', '')) as AnalysisView };
      });
    expect(events.at(-1)!.event).toBe('result');
    expect(events.at(-1)!.data.state).toBe('done');
    expect(events.at(-1)!.data.result!.entries).toBe(6 * 2421);
    for (const e of events.slice(0, -1)) expect(e.event).toBe('progress');
  });

  it('unknown analysis ids are 404', async () => {
    for (const [method, url] of [
      ['GET', '/api/analyses/nope'],
      ['DELETE', '/api/analyses/nope'],
      ['GET', '/api/analyses/nope/events'],
    ] as const) {
      const res = await app.inject({ method, url });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'E_UNKNOWN_ANALYSIS', message: 'unknown analysis "nope"' });
    }
  });
});

describe('bad input', () => {
  const histogram = { name: 'h', expr: 'lep_pt', bins: 10, min: 0, max: 100 };
  const cases: [string, unknown, number, Record<string, unknown>][] = [
    [
      'malformed JSON',
      '{"dataset": "atlas", ',
      400,
      { code: 'E_BAD_BODY', message: "Body is not valid JSON but content-type is set to 'application/json'" },
    ],
    [
      'an unknown field',
      { dataset: 'atlas', histograms: [histogram], colour: 'red' },
      400,
      { code: 'E_BAD_REQUEST', message: 'body: unknown field "colour"' },
    ],
    [
      'an unknown field in a histogram',
      { dataset: 'atlas', histograms: [{ ...histogram, title: 'x' }] },
      400,
      { code: 'E_BAD_REQUEST', message: 'body.histograms.0: unknown field "title"' },
    ],
    [
      'no histograms',
      { dataset: 'atlas' },
      400,
      { code: 'E_BAD_REQUEST', message: "body must have required property 'histograms'" },
    ],
    [
      'bins as a string',
      { dataset: 'atlas', histograms: [{ ...histogram, bins: '10' }] },
      400,
      { code: 'E_BAD_REQUEST', message: 'body/histograms/0/bins must be integer' },
    ],
    [
      'a billion bins',
      { dataset: 'atlas', histograms: [{ ...histogram, bins: 1e9 }] },
      400,
      { code: 'E_BAD_REQUEST', message: 'body/histograms/0/bins must be <= 100000' },
    ],
    [
      'an inverted range',
      { dataset: 'atlas', histograms: [{ ...histogram, min: 100, max: 0 }] },
      400,
      { code: 'E_BAD_BINNING', message: 'histograms[0]: min 100 must be below max 0', hint: 'swap min and max' },
    ],
    [
      'a histogram name used twice',
      { dataset: 'atlas', histograms: [histogram, histogram] },
      400,
      { code: 'E_BAD_HISTOGRAM', message: 'histograms[1].name: "h" is used twice' },
    ],
    [
      'an unknown dataset',
      { dataset: 'atlass', histograms: [histogram] },
      404,
      { code: 'E_UNKNOWN_DATASET', message: 'unknown dataset "atlass"', hint: 'closest: atlas, broken, hzz' },
    ],
    [
      'an unknown file',
      { dataset: 'atlas', files: ['mc_105986.ZZZ.root'], histograms: [histogram] },
      404,
      { code: 'E_UNKNOWN_FILE', message: 'dataset "atlas" has no file "mc_105986.ZZZ.root"' },
    ],
    [
      'an unknown tree',
      { dataset: 'atlas', tree: 'minii', histograms: [histogram] },
      404,
      { code: 'E_UNKNOWN_TREE', message: 'no tree "minii" in dataset "atlas"', hint: 'the files have: mini' },
    ],
    [
      'an unknown branch',
      { dataset: 'atlas', histograms: [{ ...histogram, expr: 'lep_ptt/1000' }] },
      404,
      {
        code: 'E_UNKNOWN_BRANCH',
        message: 'histograms[0].expr: column 1: unknown branch "lep_ptt" (did you mean lep_pt, lep_eta, lep_phi?)',
        hint: 'closest branches: lep_pt, lep_eta, lep_phi',
      },
    ],
    [
      'a syntax error in an expression',
      { dataset: 'atlas', histograms: [{ ...histogram, expr: 'lep_pt +* 2' }] },
      400,
      { code: 'E_EXPR_SYNTAX', message: 'histograms[0].expr: column 9: unexpected "*" (expected an expression)' },
    ],
    [
      'a syntax error in the selection',
      { dataset: 'atlas', selection: 'lep_n == 2 &&', histograms: [histogram] },
      400,
      { code: 'E_EXPR_SYNTAX', message: 'selection: column 14: unexpected end of expression (expected an expression)' },
    ],
    [
      'a deeply nested expression',
      { dataset: 'atlas', histograms: [{ ...histogram, expr: `${'('.repeat(4000)}lep_n${')'.repeat(4000)}` }] },
      400,
      { code: 'E_EXPR_TOO_DEEP' },
    ],
  ];
  for (const [name, payload, status, body] of cases) {
    it(`${name} → ${status}`, async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/analyses',
        headers: { 'content-type': 'application/json' },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
      expect(res.statusCode).toBe(status);
      expect(res.json()).toMatchObject({ statusCode: status, ...body });
    });
  }

  it('a truncated file: the analysis fails naming the file, the service keeps serving', async () => {
    const view = await analyse({
      dataset: 'broken',
      files: ['truncated.root'],
      histograms: [{ ...histogram, expr: 'NMuon' }],
    });
    expect(view.state).toBe('failed');
    expect(view.error!.code).toBe('E_ROOT_CORRUPT');
    expect(view.error!.message).toMatch(/^truncated\.root: not a readable ROOT file/);
    expect((await app.inject('/api/health')).statusCode).toBe(200);
    const good = await analyse({
      dataset: 'broken',
      files: ['good.root'],
      histograms: [{ ...histogram, expr: 'NMuon' }],
    });
    expect(good.state).toBe('done');
  });

  it('a damaged basket: the worker reports it with the file name', async () => {
    const { readTreeMeta } = await import('../../rootio/read/meta.ts');
    const { parseBasketHeader, readAt } = await import('../../rootio/read/basket.ts');
    const { openSync, closeSync } = await import('node:fs');
    const source = `${SKHEP}uproot-HZZ-zlib.root`;
    const meta = (await readTreeMeta(source, 'events')).tree!;
    const branch = meta.branches.find((b) => b.name === 'Muon_Px')!;
    const fd = openSync(source, 'r');
    const header = parseBasketHeader(readAt(fd, branch.baskets.seek[0]!, branch.baskets.bytes[0]!));
    closeSync(fd);
    const bytes = Buffer.from(readFileSync(source));
    bytes.fill(0x5a, branch.baskets.seek[0]! + header.keylen + 11, branch.baskets.seek[0]! + header.keylen + 200);
    writeFileSync(join(fixture.root, 'broken', 'damaged.root'), bytes);
    const view = await analyse({
      dataset: 'broken',
      files: ['damaged.root'],
      histograms: [{ ...histogram, expr: 'Muon_Px' }],
    });
    expect(view.state).toBe('failed');
    expect(view.error!.code).toBe('E_ROOT_CORRUPT');
    expect(view.error!.message).toMatch(
      /^damaged\.root: basket 0 of Muon_Px \(at byte \d+\) (is damaged|fails its checksum): /,
    );
    // Other branches of the same file are intact.
    const other = await analyse({
      dataset: 'broken',
      files: ['damaged.root'],
      histograms: [{ ...histogram, expr: 'MET_px' }],
    });
    expect(other.state).toBe('done');
  });
});

describe('unknown query fields are a 400', () => {
  it.each([
    '/api/health?x=1',
    '/api/datasets?limit=5',
    '/api/datasets/atlas?x=1',
    '/api/presets?x=1',
    '/api/analyses/some-id?x=1',
    '/api/analyses/some-id/events?x=1',
    '/data/atlas/mc_105986.ZZ.root?x=1',
  ])('%s', async (url) => {
    const res = await app.inject(url);
    expect(res.statusCode).toBe(400);
    const field = url.includes('limit') ? 'limit' : 'x';
    expect(res.json()).toMatchObject({ code: 'E_BAD_REQUEST', message: `querystring: unknown field "${field}"` });
  });

  it("JSROOT's ?stamp= on /data and ?wait=1 on POST /api/analyses are accepted", async () => {
    const data = await app.inject({
      url: '/data/atlas/mc_105986.ZZ.root?stamp=1700000000000',
      headers: { range: 'bytes=0-3' },
    });
    expect(data.statusCode).toBe(206);
    expect(data.rawPayload.toString()).toBe('root');
    const res = await app.inject({
      method: 'POST',
      url: '/api/analyses?wait=1',
      payload: { dataset: 'zmumu', histograms: [{ name: 'm', expr: 'M', bins: 10, min: 0, max: 200 }] },
    });
    expect(res.json<AnalysisView>().state).toBe('done');
  });
});

describe('/data: ROOT files with HTTP Range, never compressed', () => {
  const file = `${ATLAS}mc_105986.ZZ.root`;
  const url = '/data/atlas/mc_105986.ZZ.root';
  const bytes = readFileSync(file);

  it('the whole file, uncompressed even when gzip is accepted', async () => {
    const res = await app.inject({ url, headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(Number(res.headers['content-length'])).toBe(bytes.length);
    expect(res.rawPayload.equals(bytes)).toBe(true);
  });

  it('HEAD gives the size', async () => {
    const res = await app.inject({ method: 'HEAD', url });
    expect(res.statusCode).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(bytes.length);
    expect(res.rawPayload.length).toBe(0);
  });

  it('single ranges: first bytes, a suffix, an open end', async () => {
    for (const [range, a, b] of [
      ['bytes=0-3', 0, 3],
      ['bytes=-100', bytes.length - 100, bytes.length - 1],
      [`bytes=${bytes.length - 10}-`, bytes.length - 10, bytes.length - 1],
      ['bytes=1000-1000000000', 1000, bytes.length - 1],
    ] as const) {
      const res = await app.inject({ url, headers: { range } });
      expect(res.statusCode).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${a}-${b}/${bytes.length}`);
      expect(res.rawPayload.equals(bytes.subarray(a, b + 1))).toBe(true);
    }
    expect((await app.inject({ url, headers: { range: 'bytes=0-3' } })).rawPayload.toString()).toBe('root');
  });

  it('multipart/byteranges for several ranges', async () => {
    const res = await app.inject({ url, headers: { range: 'bytes=0-3, 1000-1099,-16' } });
    expect(res.statusCode).toBe(206);
    const boundary = /^multipart\/byteranges; boundary=(.+)$/.exec(String(res.headers['content-type']))![1]!;
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
    const body = res.rawPayload.toString('latin1');
    const parts = body.split(`--${boundary}`).slice(1, -1);
    expect(body.endsWith(`--${boundary}--\r\n`)).toBe(true);
    const expected = [
      [0, 3],
      [1000, 1099],
      [bytes.length - 16, bytes.length - 1],
    ];
    expect(parts).toHaveLength(3);
    parts.forEach((part, i) => {
      const [a, b] = expected[i]!;
      const [head, ...rest] = part.split('\r\n\r\n');
      expect(head).toContain(`Content-Range: bytes ${a}-${b}/${bytes.length}`);
      const data = Buffer.from(rest.join('\r\n\r\n').replace(/\r\n$/, ''), 'latin1');
      expect(data.equals(bytes.subarray(a!, b! + 1))).toBe(true);
    });
  });

  it('HEAD and aborted multipart requests leave no file open', async () => {
    const rootFds = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).endsWith('.root');
        } catch {
          return false;
        }
      }).length;
    const before = rootFds();
    for (let i = 0; i < 20; i++) {
      const res = await app.inject({ method: 'HEAD', url, headers: { range: 'bytes=0-3,1000-1099,-16' } });
      expect(res.statusCode).toBe(206);
      expect(res.rawPayload.length).toBe(0);
    }
    // A HEAD computes the length only: no file is read, not even briefly.
    expect(rootFds()).toBe(before);
    await new Promise((r) => setTimeout(r, 50));
    expect(rootFds()).toBe(before);
    const served = await buildApp({ datasets: fixture.root, workers: 1 });
    const address = await served.listen({ port: 0, host: '127.0.0.1' });
    try {
      for (let i = 0; i < 5; i++) {
        // A client that reads the headers and hangs up.
        await new Promise<void>((done, fail) => {
          const req = get(
            `${address}${url}`,
            { headers: { range: `bytes=0-3,1000-${bytes.length - 1000}` } },
            (res) => {
              expect(res.statusCode).toBe(206);
              req.destroy();
              done();
            },
          );
          req.on('error', fail);
        });
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(rootFds()).toBe(before);
    } finally {
      await served.close();
    }
  });

  it('repeated and overlapping ranges are merged: 50 × "0-" sends the file once', async () => {
    const res = await app.inject({ url, headers: { range: `bytes=${Array(50).fill('0-').join(',')}` } });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 0-${bytes.length - 1}/${bytes.length}`);
    expect(res.headers['content-length']).toBe(String(bytes.length));
    expect(res.rawPayload.equals(bytes)).toBe(true);
  });

  it('merged ranges come sorted, one part each', async () => {
    const res = await app.inject({ url, headers: { range: 'bytes=1000-1099, 0-9,5-19,20-29, 1050-1060' } });
    expect(res.statusCode).toBe(206);
    const body = res.rawPayload.toString('latin1');
    expect([...body.matchAll(/Content-Range: (.*)\r\n/g)].map((m) => m[1])).toEqual([
      `bytes 0-29/${bytes.length}`,
      `bytes 1000-1099/${bytes.length}`,
    ]);
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
  });

  it('more ranges than the file is worth is a 200 with the whole file', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => `${i * 10}-${i * 10}`).join(',');
    const res = await app.inject({ url, headers: { range: `bytes=${many}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-range']).toBeUndefined();
    expect(res.headers['content-length']).toBe(String(bytes.length));
  });

  it.each([
    ['bytes=-5', 0, []],
    ['bytes=0-', 0, []],
    ['bytes=0-,0-,0-', 100, [[0, 99]]],
    [
      'bytes=-10,0-4',
      10_000,
      [
        [0, 4],
        [9990, 9999],
      ],
    ],
    ['bytes=0-4,5-9', 100, [[0, 9]]],
    ['bytes=0-0,50-50', 100, undefined],
    [
      'bytes=0-0,5000-5000',
      10_000,
      [
        [0, 0],
        [5000, 5000],
      ],
    ],
  ] as const)('parseRange(%j, %i)', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });

  it('an unsatisfiable range is a 416', async () => {
    const res = await app.inject({ url, headers: { range: `bytes=${bytes.length + 5}-` } });
    expect(res.statusCode).toBe(416);
    expect(res.headers['content-range']).toBe(`bytes */${bytes.length}`);
  });

  for (const bad of [
    '/data/atlas/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
    '/data/atlas/%2e%2e%2fhzz%2fuproot-HZZ.root',
    '/data/..%2Fatlas/mc_105986.ZZ.root',
    '/data/atlas/dataset.json',
    '/data/atlas/.hidden.root',
    '/data/nope/mc_105986.ZZ.root',
    '/data/atlas/mc_105986.ZZ.root%00.txt',
  ]) {
    it(`path traversal and other files are 404: ${bad}`, async () => {
      const res = await app.inject(bad);
      expect(res.statusCode).toBe(404);
      expect(res.rawPayload.includes('root:')).toBe(false);
    });
  }
});

describe('the apps', () => {
  it('are served at /', async () => {
    const index = await app.inject('/');
    expect(index.statusCode).toBe(200);
    expect(index.body).toContain('<title>portal</title>');
    const analyser = await app.inject('/analyser/');
    expect(analyser.statusCode).toBe(200);
    expect(analyser.body).toContain('<title>analyser</title>');
    expect((await app.inject('/nothing-here.js')).statusCode).toBe(404);
  });
});
