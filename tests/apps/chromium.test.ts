/**
 * The three apps in Debian's Chromium against the real service on 127.0.0.1 over ../shared/data, at 1024×768.
 * Every page fails the test on a console error or a request to another host.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis, AnalysisRequest, DatasetSummary } from '../../apps/shared/api.ts';
import {
  guardedPage,
  launchChromium,
  makeWorkspace,
  screenshot,
  startService,
  type Service,
  type Workspace,
} from './harness.ts';

let ws: Workspace;
let service: Service;
let browser: Browser;

beforeAll(async () => {
  ws = await makeWorkspace();
  service = await startService(ws);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await ws?.cleanup();
});

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(new URL(path, service.url), init);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** No horizontal scrolling at 1024 px: everything fits the smallest screen the lab PCs have. */
async function expectFitsWidth(page: Page): Promise<void> {
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);
}

async function darkPixels(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (canvas) => {
    const c = canvas as HTMLCanvasElement;
    const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
    let dark = 0;
    for (let i = 0; i < data.length; i += 4) if ((data[i] ?? 255) < 128) dark++;
    return dark;
  });
}

describe('portal', () => {
  it('lists the key with live numbers from the service, and a local QR code', async () => {
    const { page, problems } = await guardedPage(browser);
    await page.goto(service.url);
    await page.waitForSelector('body[data-mode="live"]');
    const datasets = await api<DatasetSummary[]>('api/datasets');
    for (const d of datasets) {
      const events = await page.getAttribute(`tr[data-dataset="${d.id}"] td[data-events]`, 'data-events');
      expect(Number(events), d.id).toBe(d.entries);
    }
    expect(await page.textContent('#service-status')).toMatch(/running with \d+ worker/);
    expect(await page.$$eval('#docs a', (as) => as.map((a) => a.getAttribute('href')))).toEqual([
      'docs/?path=docs-content%2Fstart.md',
    ]);
    expect(await page.inputValue('#classroom-url')).toBe(service.url);
    expect(await darkPixels(page, '#qr')).toBeGreaterThan(1000);
    await expectFitsWidth(page);
    await screenshot(page, 'portal', true);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  });

  it('renders a Markdown doc offline', async () => {
    const { page, problems } = await guardedPage(browser);
    await page.goto(service.url);
    await page.waitForSelector('body[data-mode="live"]');
    await page.click('#docs a');
    await page.waitForSelector('#doc h1');
    expect(await page.textContent('#doc h1')).toBe('Getting started');
    expect(await page.$$eval('#doc table td', (tds) => tds.map((td) => td.textContent))).toEqual(['1', '2']);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  });

  it('works from file:// with no service: a static listing from key-index.js', async () => {
    const { page, problems } = await guardedPage(browser);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(join(ws.apps, 'index.html')).href);
    await page.waitForSelector('body[data-mode="static"]');
    expect(await page.$$eval('#datasets tr', (rows) => rows.map((r) => r.getAttribute('data-dataset')))).toEqual([
      'atlas-8tev-mc',
      'hzz-compressions',
      'zmumu-closure',
      'cms-hzz',
    ]);
    expect(
      await page.$$eval('#datasets td[data-events]', (tds) => tds.map((td) => td.getAttribute('data-events'))),
    ).toEqual(['61738', '12105', '4608', '2421']);
    expect(await page.isVisible('#vm-section')).toBe(true);
    expect(await page.inputValue('#classroom-url')).toBe('http://KEY-ADDRESS:8080/');
    expect(requests.every((u) => u.startsWith('file:') || u.startsWith('data:'))).toBe(true);
    await screenshot(page, 'portal-file');
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  });
});

describe('histogram analyser', () => {
  it('runs the Z→ℓℓ preset and shows the total the API computes', async () => {
    const { page, problems } = await guardedPage(browser, { acceptDownloads: true });
    await page.goto(new URL('analyser/', service.url).href);
    await page.waitForSelector('body[data-ready="1"]');
    await page.selectOption('#dataset', 'atlas-8tev-mc');
    const options = await page.$$eval('#preset option', (os) =>
      os.map((o) => ({ value: (o as HTMLOptionElement).value, text: o.textContent ?? '' })),
    );
    const zll = options.find(
      (o) => o.value !== '' && /Z\s*→\s*ℓℓ|Z\s*->\s*ll|zll|dilepton/i.test(`${o.value} ${o.text}`),
    );
    expect(zll, JSON.stringify(options)).toBeDefined();
    const submitted = page.waitForRequest(
      (r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/analyses',
    );
    await page.selectOption('#preset', zll?.value ?? '');
    const request = (await submitted).postDataJSON() as AnalysisRequest;
    await page.waitForFunction((sel) => document.body.dataset.drawnSelection === sel, request.selection ?? '', {
      timeout: 60_000,
    });

    // The plot is an SVG with bins.
    const longestPath = await page.$$eval('#plot svg path', (paths) =>
      Math.max(...paths.map((p) => (p.getAttribute('d') ?? '').length)),
    );
    expect(longestPath).toBeGreaterThan(100);

    // The same request straight to the API gives the total the page shows.
    const reference = await api<Analysis>('api/analyses?wait=1', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    const hist = reference.result?.histograms[request.histograms[0]?.name ?? ''];
    expect(hist).toBeDefined();
    const apiTotal = (hist?.fArray ?? []).reduce((a, b) => a + b, 0);
    const shown = Number(await page.getAttribute('#total', 'data-value'));
    expect(shown).toBeCloseTo(apiTotal, 6);
    expect(Number(await page.getAttribute('#selected', 'data-value'))).toBe(reference.result?.selected);
    expect(await page.$$eval('#samples tr', (rows) => rows.map((r) => r.getAttribute('data-sample')))).toEqual(
      expect.arrayContaining(['Diboson', 'Single top', 'W+jets', 'Drell-Yan']),
    );
    await expectFitsWidth(page);
    await screenshot(page, 'analyser', true);

    // Display changes redraw without a new request: log scale, rebin, S/√B window with a signal sample.
    await page.check('#log');
    await page.selectOption('#rebin', '2');
    const { min = 0, max = 1 } = request.histograms[0] ?? {};
    await page.fill('#win-lo', String(min + (max - min) / 3));
    await page.fill('#win-hi', String(max - (max - min) / 3));
    await page.press('#win-hi', 'Enter');
    await page.check('tr[data-sample="Diboson"] input[type="checkbox"]');
    await page.waitForFunction(() => /^[\d.,eE+-]+$/.test(document.getElementById('sig-z')?.textContent ?? ''));
    await screenshot(page, 'analyser-log-window', true);

    // Exports.
    for (const [button, extension] of [
      ['#export-csv', '.csv'],
      ['#export-svg', '.svg'],
      ['#export-png', '.png'],
    ] as const) {
      const download = page.waitForEvent('download');
      await page.click(button);
      const file = await download;
      expect(file.suggestedFilename()).toMatch(new RegExp(`^openkey-atlas-8tev-mc-.*\\${extension}$`));
      const path = await file.path();
      const bytes = await readFile(path);
      if (extension === '.csv') expect(bytes.toString('utf8').split('\n')[0]).toMatch(/^bin,low,high,Diboson,/);
      if (extension === '.svg')
        expect(bytes.toString('utf8')).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      if (extension === '.png') expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    }

    // The URL carries the whole analysis: opened elsewhere, it runs and shows the same total.
    const shared = page.url().replace(/#/, '#run=1&');
    const second = await guardedPage(browser);
    await second.page.goto(shared);
    await second.page.waitForSelector('body[data-drawn]', { timeout: 60_000 });
    expect(Number(await second.page.getAttribute('#total', 'data-value'))).toBeCloseTo(apiTotal, 6);
    expect(await second.page.isChecked('#log')).toBe(true);
    expect(await second.page.inputValue('#rebin')).toBe('2');
    expect(second.problems.join('\n')).toBe('');
    await second.page.context().close();

    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);

  it('adds a slider cut and a typed cut, and re-runs with them', async () => {
    const { page, problems } = await guardedPage(browser);
    const drawnWith = (selection: string) =>
      page.waitForFunction((sel) => document.body.dataset.drawnSelection === sel, selection, { timeout: 60_000 });
    await page.goto(
      new URL('analyser/#dataset=cms-hzz&tree=events&expr=Muon_Px&bins=40&min=-100&max=100&run=1', service.url).href,
    );
    await drawnWith('');
    const before = Number(await page.getAttribute('#total', 'data-value'));
    // Raw cuts on any expression live under Advanced.
    await page.click('#advanced > summary');
    await page.click('#add-slider');
    await page.fill('#cut-0-var', 'NMuon');
    await page.press('#cut-0-var', 'Tab');
    await page.fill('.cut[data-cut="0"] input[type="number"]', '1');
    await page.press('.cut[data-cut="0"] input[type="number"]', 'Enter');
    await drawnWith('NMuon > 1');
    const after = Number(await page.getAttribute('#total', 'data-value'));
    expect(after).toBeLessThan(before);
    expect(after).toBeGreaterThan(0);
    await page.click('#add-expr');
    await page.fill('#cut-1-var', 'abs(Muon_Py[0]) < 50');
    await page.press('#cut-1-var', 'Enter');
    await drawnWith('(NMuon > 1) && (abs(Muon_Py[0]) < 50)');
    expect(Number(await page.getAttribute('#total', 'data-value'))).toBeLessThan(after);
    expect(page.url()).toContain('cut=e%7Eabs%28Muon_Py%5B0%5D%29+%3C+50');
    // Keyboard on the slider: each arrow press moves the threshold by one step of the slider's range.
    const range = '.cut[data-cut="0"] input[type="range"]';
    await page.focus(range);
    await page.keyboard.press('ArrowRight');
    expect(Number(await page.inputValue('.cut[data-cut="0"] input[type="number"]'))).toBeGreaterThan(1);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);

  it('draws data as points with √N errors over the simulation stack', async () => {
    const { page, problems } = await guardedPage(browser);
    await page.goto(
      new URL('analyser/#dataset=zmumu-closure&tree=events&expr=M&bins=40&min=70&max=110&run=1', service.url).href,
    );
    await page.waitForSelector('body[data-drawn]', { timeout: 60_000 });
    expect(
      await page.$$eval('#samples tr', (rows) =>
        rows.map((r) => [r.getAttribute('data-sample'), r.children[1]?.textContent]),
      ),
    ).toEqual([
      ['Z→μμ', 'Simulation'],
      ['Data', 'Data'],
    ]);
    const csv = await page.evaluate(async () => {
      const button = document.getElementById('export-csv') as HTMLButtonElement;
      const created: string[] = [];
      const original = URL.createObjectURL.bind(URL);
      URL.createObjectURL = (blob: Blob | MediaSource) => {
        created.push('');
        void (blob as Blob).text().then((t) => (created[0] = t));
        return original(blob);
      };
      button.click();
      await new Promise((r) => setTimeout(r, 200));
      return created[0] ?? '';
    });
    // The same events: each bin's data equals the simulation, with error √N.
    const rows = csv
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',').map(Number));
    for (const [, , , sim, data, total, , dataErr] of rows) {
      expect(data).toBe(sim);
      expect(total).toBe(sim);
      expect(dataErr).toBeCloseTo(Math.sqrt(data ?? 0), 9);
    }
    expect(rows.reduce((n, r) => n + (r[4] ?? 0), 0)).toBeGreaterThan(1000);
    await screenshot(page, 'analyser-data-points', true);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);

  it('shows the service’s message for a bad expression', async () => {
    const { page, problems } = await guardedPage(browser);
    await page.goto(
      new URL('analyser/#dataset=cms-hzz&tree=events&expr=Muon_Px+%2B&bins=10&min=0&max=1&run=1', service.url).href,
    );
    await page.waitForSelector('#status.error');
    expect(await page.textContent('#status')).toMatch(/failed/);
    // A 400 from fetch is logged by Chromium as a failed resource load; that one is expected.
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    await page.context().close();
  });

  it('is usable from the keyboard alone', async () => {
    const { page, problems } = await guardedPage(browser);
    await page.goto(new URL('analyser/', service.url).href);
    await page.waitForSelector('body[data-ready="1"]');
    const reached = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate(() => document.activeElement?.id ?? ''));
    }
    for (const id of ['dataset', 'preset', 'variable', 'bins', 'add-cut', 'run', 'mode-linked', 'log', 'rebin', 'lang'])
      expect(reached, id).toContain(id);
    // Enter on the focused form runs the analysis.
    await page.focus('#bins');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-drawn]', { timeout: 60_000 });
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);
});

describe('ROOT browser', () => {
  it('opens a file on the key with Range requests and draws a branch', async () => {
    const { page, problems } = await guardedPage(browser);
    const ranges: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/data/')) ranges.push(r.headers().range ?? 'none');
    });
    await page.goto(new URL('browser/', service.url).href);
    await page.waitForSelector('body[data-ready="1"]');
    await page.click('button[data-file="atlas-8tev-mc/mc_105986.ZZ.root"]');
    await page.waitForSelector('body[data-opened]');
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.every((r) => r.startsWith('bytes='))).toBe(true);
    expect(await page.textContent('#hierarchy')).toContain('mini');
    // Keyboard: focus the branch button and press Enter.
    await page.focus('button[data-branch="lep_pt"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-drawn="lep_pt"]', { timeout: 60_000 });
    const longestPath = await page.$$eval('#draw svg path', (paths) =>
      Math.max(...paths.map((p) => (p.getAttribute('d') ?? '').length)),
    );
    expect(longestPath).toBeGreaterThan(100);
    expect(await page.textContent('#status')).toMatch(/lep_pt: [\d,]+ values drawn/);
    await expectFitsWidth(page);
    await screenshot(page, 'browser', true);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);

  it('opens a file from the page link, and reads every compression the same', async () => {
    const { page, problems } = await guardedPage(browser);
    await page.goto(new URL('browser/#file=cms-hzz/uproot-HZZ.root', service.url).href);
    await page.waitForSelector('body[data-opened="uproot-HZZ.root"]');
    const statuses = [];
    for (const c of ['zlib', 'lzma', 'lz4', 'zstd', 'uncompressed']) {
      const name = `uproot-HZZ-${c}.root`;
      await page.click(`button[data-file="hzz-compressions/${name}"]`);
      await page.waitForSelector(`body[data-opened="${name}"]`);
      await page.click('button[data-branch="Muon_Px"]');
      await page.waitForSelector(`body[data-drawn="Muon_Px"][data-opened="${name}"]`, { timeout: 60_000 });
      statuses.push(await page.textContent('#status'));
      await page.evaluate(() => delete document.body.dataset.drawn);
    }
    expect(new Set(statuses).size, statuses.join('\n')).toBe(1);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);
});
