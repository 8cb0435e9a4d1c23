/**
 * Smoke test of the three apps in Debian's firefox-esr (headless, driven over WebDriver BiDi), against the real
 * service on 127.0.0.1. Fails on console errors and on requests to other hosts, as the Chromium tests do.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Firefox } from './bidi.ts';
import { artifacts, makeWorkspace, startService, type Service, type Workspace } from './harness.ts';

let ws: Workspace;
let service: Service;
let firefox: Firefox;

beforeAll(async () => {
  ws = await makeWorkspace();
  service = await startService(ws);
  firefox = await Firefox.launch();
}, 120_000);

afterAll(async () => {
  await firefox?.close();
  await service?.stop();
  await ws?.cleanup();
});

afterEach(() => {
  firefox.consoleEntries.length = 0;
  firefox.requests.length = 0;
});

/** Console errors and requests to hosts other than 127.0.0.1 (local schemes aside). */
function problems(): string[] {
  const foreign = firefox.requests.filter((u) => {
    const url = new URL(u);
    return !['data:', 'blob:', 'file:', 'about:'].includes(url.protocol) && url.hostname !== '127.0.0.1';
  });
  const errors = firefox.consoleEntries.filter((e) => e.level === 'error').map((e) => `console error: ${e.text}`);
  return [...errors, ...foreign.map((u) => `foreign request: ${u}`)];
}

async function save(name: string): Promise<void> {
  await mkdir(artifacts, { recursive: true });
  const png = await firefox.screenshot();
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  await writeFile(join(artifacts, `${name}.png`), png);
}

describe('firefox-esr', () => {
  it('shows the portal from file:// with no service', async () => {
    await firefox.goto(pathToFileURL(join(ws.apps, 'index.html')).href);
    await firefox.waitFor(`document.body.dataset.mode === 'static'`);
    expect(await firefox.evaluate<number>(`document.querySelectorAll('#datasets tr[data-dataset]').length`)).toBe(4);
    await save('firefox-portal-file');
    expect(problems().join('\n')).toBe('');
  }, 60_000);

  it('shows the portal with live numbers from the service', async () => {
    await firefox.goto(service.url);
    await firefox.waitFor(`document.body.dataset.mode === 'live'`);
    expect(await firefox.evaluate<string>(`document.getElementById('service-status').textContent`)).toMatch(/running/);
    await save('firefox-portal');
    expect(problems().join('\n')).toBe('');
  }, 60_000);

  it('runs a shared analysis link and draws it', async () => {
    await firefox.goto(
      new URL('analyser/#dataset=cms-hzz&tree=events&expr=Muon_Px&bins=20&min=-100&max=100&run=1', service.url).href,
    );
    await firefox.waitFor(`document.body.dataset.drawn`);
    expect(await firefox.evaluate<number>(`document.querySelectorAll('#plot svg path').length`)).toBeGreaterThan(0);
    expect(Number(await firefox.evaluate<string>(`document.getElementById('total').dataset.value`))).toBeGreaterThan(0);
    await save('firefox-analyser');
    expect(problems().join('\n')).toBe('');
  }, 90_000);

  it('opens a ROOT file with Range requests and draws a branch', async () => {
    await firefox.goto(new URL('browser/#file=cms-hzz/uproot-HZZ.root', service.url).href);
    await firefox.waitFor(`document.body.dataset.opened`);
    await firefox.evaluate(`document.querySelector('button[data-branch="Muon_Px"]').click()`);
    await firefox.waitFor(`document.body.dataset.drawn === 'Muon_Px'`);
    expect(firefox.requests.some((u) => u.includes('/data/cms-hzz/uproot-HZZ.root'))).toBe(true);
    await save('firefox-browser');
    expect(problems().join('\n')).toBe('');
  }, 90_000);
});
