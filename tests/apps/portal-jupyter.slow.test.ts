/**
 * The portal's notebook box and links in Debian's Chromium, against the real service reading a notebook-server
 * status file as the key's jupyter-announce writes it (/run/openkey/jupyter.json): a server that failed to start is
 * named as not running and the notebook links stay the .ipynb files, never a dead link; one that runs (its port
 * answers) gets the hub's login and the class password, and the links open the hub.
 */
import { rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../services/analysis/server.ts';
import { guardedPage, keyIndexFor, launchChromium, makeWorkspace, type Workspace } from './harness.ts';

let ws: Workspace;
let browser: Browser;
let portal = '';
let closeService: () => Promise<void> = async () => undefined;
let statusFile = '';
/** Stands in for the hub's port: something answers there, as the route's TCP probe asks. */
let listener: net.Server;
let hubPort = 0;

beforeAll(async () => {
  ws = await makeWorkspace();
  listener = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const address = listener.address();
  hubPort = typeof address === 'object' && address !== null ? address.port : 0;
  // A key with the hub, as the content stage writes its index.
  const index = { ...(await keyIndexFor(ws.datasets)), jupyter: { port: hubPort, lan: true, mode: 'hub' } };
  await writeFile(join(ws.apps, 'key-index.js'), `window.OPENKEY_INDEX = ${JSON.stringify(index)};\n`);
  statusFile = join(ws.dir, 'jupyter.json');
  const { app, url } = await startServer({
    datasets: ws.datasets,
    apps: ws.apps,
    host: '127.0.0.1',
    port: 0,
    workers: 1,
    jupyterStatus: statusFile,
  });
  portal = url;
  closeService = () => app.close();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await closeService();
  listener?.close();
  await ws?.cleanup();
});

async function portalState(status: Record<string, unknown> | undefined) {
  await rm(statusFile, { force: true });
  if (status !== undefined) await writeFile(statusFile, JSON.stringify(status));
  const { page, problems } = await guardedPage(browser);
  await page.goto(portal);
  await page.waitForSelector('body[data-mode="live"]');
  const state = status?.['state'] === 'running' ? 'running' : String(status?.['state'] ?? 'none');
  await page.waitForSelector(`#jupyter-status[data-state="${state}"]`);
  const seen = {
    text: (await page.textContent('#jupyter-status'))?.trim(),
    links: await page.$$eval('#notebooks a', (as) => as.map((a) => a.getAttribute('href'))),
    serverLink: await page.$$eval('#jupyter-link', (as) => as.map((a) => a.getAttribute('href'))),
    classPassword: await page.$$eval('#class-password', (codes) => codes.map((code) => code.textContent)),
  };
  await page.context().close();
  return { seen, problems };
}

describe('portal and the notebook server', () => {
  it('says a hub that failed to start is not running and links the notebook files', async () => {
    const { seen, problems } = await portalState({ mode: 'hub', port: hubPort, lan: true, state: 'failed' });
    expect(seen).toEqual({
      text: 'The notebook server is not running (failed); the links below are the notebook files.',
      links: ['notebooks/zll.ipynb'],
      serverLink: [],
      classPassword: [],
    });
    expect(problems).toEqual([]);
  });

  it('opens the running hub, with the class password, from the notebook links', async () => {
    const { seen, problems } = await portalState({
      mode: 'hub',
      port: hubPort,
      lan: true,
      state: 'running',
      classPassword: 'ab12-cd34-ef56-gh78',
    });
    expect(seen).toEqual({
      text: `Class notebooks (JupyterHub): http://127.0.0.1:${hubPort}/hub/loginLog in with your name (lowercase letters and digits) and the class password: ab12-cd34-ef56-gh78`,
      links: [`http://127.0.0.1:${hubPort}/hub/user-redirect/notebooks/notebooks/zll.ipynb`],
      serverLink: [`http://127.0.0.1:${hubPort}/hub/login`],
      classPassword: ['ab12-cd34-ef56-gh78'],
    });
    expect(problems).toEqual([]);
  });
});
