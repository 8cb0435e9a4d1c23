/**
 * What the browser tests share: a datasets dir of symlinks to ../shared/data (one dataset per folder), the apps built
 * with a key-index.js as the image build writes it, the real service started by `openkey serve` on 127.0.0.1 with a
 * free port, and a Chromium page that records console errors and requests to any other host.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildApps } from '../../apps/build.ts';
import { linkInside } from '../service/fixtures.ts';
import type { KeyIndex } from '../../apps/shared/key-index.ts';
import { writeSynthSamples } from '../service/synth-samples.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const sharedData = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
export const artifacts = join(repoRoot, 'test-artifacts', 'apps');
export const docsScreenshots = join(repoRoot, 'docs', 'screenshots');

export const chromiumFlags = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];

interface DatasetFixture {
  id: string;
  from: string;
  files: string[];
  /** Entries summed over the files (../shared/data/README.md), as the image build writes them in key-index.js. */
  events: number;
  meta: Record<string, unknown>;
}

/** Samples of the ATLAS 8 TeV MC files, as a dataset.json would label them. */
const atlasSamples: Record<string, string> = {
  'mc_105986.ZZ.root': 'Diboson',
  'mc_110090.stop_tchan_top.root': 'Single top',
  'mc_110091.stop_tchan_antitop.root': 'Single top',
  'mc_110119.stop_schan.root': 'Single top',
  'mc_167746.WtaunuWithB.root': 'W+jets',
  'mc_173045.DYtautauM08to15.root': 'Drell-Yan',
  'mc_173046.DYtautauM15to40.root': 'Drell-Yan',
};

export const fixtures: DatasetFixture[] = [
  {
    id: 'atlas-8tev-mc',
    from: 'atlas-8tev-mc',
    files: Object.keys(atlasSamples),
    events: 61_738,
    meta: {
      title: 'ATLAS 8 TeV simulation (10 % samples)',
      description: 'ATLAS Open Data 8 TeV Monte Carlo ntuples, tree mini.',
      licence: 'CC0-1.0',
      tree: 'mini',
      files: Object.fromEntries(
        Object.entries(atlasSamples).map(([name, sample]) => [name, { sample, process: sample, kind: 'simulation' }]),
      ),
    },
  },
  {
    id: 'hzz-compressions',
    from: 'scikit-hep-testdata',
    files: ['zlib', 'lzma', 'lz4', 'zstd', 'uncompressed'].map((c) => `uproot-HZZ-${c}.root`),
    events: 5 * 2421,
    meta: { title: 'The same CMS H→ZZ sample in five compressions', licence: 'BSD-3-Clause', tree: 'events' },
  },
  {
    // The same events labelled once as data and once as simulation: the points must sit on the stack's top.
    id: 'zmumu-closure',
    from: 'scikit-hep-testdata',
    files: ['uproot-Zmumu.root', 'uproot-Zmumu-zlib.root'],
    events: 2 * 2304,
    meta: {
      title: 'Z→μμ closure test (the same events as data and as simulation)',
      licence: 'BSD-3-Clause',
      tree: 'events',
      files: {
        'uproot-Zmumu.root': { sample: 'Data', kind: 'data' },
        'uproot-Zmumu-zlib.root': { sample: 'Z→μμ', kind: 'simulation' },
      },
    },
  },
  {
    id: 'cms-hzz',
    from: 'scikit-hep-testdata',
    files: ['uproot-HZZ.root'],
    events: 2421,
    meta: { title: 'CMS H→ZZ (uproot test sample)', licence: 'BSD-3-Clause', tree: 'events' },
  },
];

export async function makeDatasets(dir: string): Promise<void> {
  for (const f of fixtures) {
    const target = join(dir, f.id);
    await mkdir(target, { recursive: true });
    // Inside the datasets folder: the service follows no symlink out of it.
    for (const name of f.files) linkInside(dir, join(sharedData, f.from, name), target, name);
    await writeFile(join(target, 'dataset.json'), JSON.stringify(f.meta, null, 2));
  }
}

export async function keyIndexFor(datasetsDir: string): Promise<KeyIndex> {
  const datasets = [];
  for (const f of fixtures) {
    let size = 0;
    for (const name of await readdir(join(datasetsDir, f.id))) {
      if (name.endsWith('.root')) size += (await stat(join(datasetsDir, f.id, name))).size;
    }
    datasets.push({
      id: f.id,
      title: String(f.meta.title),
      description: String(f.meta.description ?? ''),
      licence: String(f.meta.licence),
      size,
      events: f.events,
      files: f.files.length,
    });
  }
  return {
    name: 'Open Key',
    version: 'test',
    variant: 'classroom',
    datasets,
    docs: [{ id: 'start', title: 'Getting started', path: 'docs-content/start.md' }],
    notebooks: [{ id: 'zll', title: 'Z boson mass (notebook)', path: 'notebooks/zll.ipynb' }],
    vm: { ova: 'vm/openkey.ova' },
    service: { port: 8080, lan: true },
  };
}

export interface Workspace {
  dir: string;
  datasets: string;
  apps: string;
  cleanup: () => Promise<void>;
}

/** The synthetic samples of the default key (s.yaml), as the image build writes them, for the teaching tests. */
export const SYNTH_DATASETS = ['data-mix', 'zll', 'wlnu', 'ttbar', 'hyy', 'zz4l'];

/** Builds the apps and the datasets in a temp dir, laid out as on the key; `synth` adds the synthetic samples. */
export async function makeWorkspace(options: { synth?: boolean } = {}): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'openkey-apps-'));
  const datasets = join(dir, 'datasets');
  const apps = join(dir, 'openkey');
  await makeDatasets(datasets);
  if (options.synth === true) await writeSynthSamples(datasets);
  await buildApps({ outDir: apps });
  const index = await keyIndexFor(datasets);
  if (options.synth === true) {
    for (const id of SYNTH_DATASETS) {
      const meta = JSON.parse(await readFile(join(datasets, id, 'dataset.json'), 'utf8')) as { title: string };
      index.datasets.push({ id, title: meta.title, licence: 'CC0-1.0', files: 1 });
    }
  }
  await writeFile(join(apps, 'key-index.js'), `window.OPENKEY_INDEX = ${JSON.stringify(index, null, 2)};\n`);
  await mkdir(join(apps, 'docs-content'));
  await writeFile(
    join(apps, 'docs-content', 'start.md'),
    '# Getting started\n\nOpen the **histogram analyser** and run the *Z→ℓℓ* preset.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n',
  );
  await mkdir(dirname(join(apps, index.notebooks[0]?.path ?? 'notebooks/x')), { recursive: true });
  await writeFile(
    join(apps, 'notebooks', 'zll.ipynb'),
    '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n',
  );
  return { dir, datasets, apps, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface Service {
  url: string;
  stop: () => Promise<void>;
}

/** Starts `openkey serve` as the key does, and waits until /api/health answers. */
export async function startService(ws: Workspace): Promise<Service> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(repoRoot, 'bin', 'openkey.mjs'),
      'serve',
      '--datasets',
      ws.datasets,
      '--apps',
      ws.apps,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`openkey serve exited with ${child.exitCode}:\n${output}`);
    try {
      const response = await fetch(`${url}api/health`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`openkey serve did not answer /api/health within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumFlags });
}

export interface GuardedPage {
  page: Page;
  /** Console errors, page errors and requests to hosts other than 127.0.0.1: the tests expect none. */
  problems: string[];
}

const localSchemes = new Set(['data:', 'blob:', 'file:', 'about:']);

export async function guardedPage(
  browser: Browser,
  options: { acceptDownloads?: boolean; viewport?: { width: number; height: number }; locale?: string } = {},
): Promise<GuardedPage> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1024, height: 768 },
    acceptDownloads: options.acceptDownloads ?? false,
    // The browser's language: English unless a test asks, so the key's locale is what decides.
    locale: options.locale ?? 'en-US',
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!localSchemes.has(url.protocol) && url.hostname !== '127.0.0.1')
      problems.push(`foreign request: ${request.url()}`);
  });
  return { page, problems };
}

export async function screenshot(page: Page, name: string, copyToDocs = false): Promise<string> {
  await mkdir(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path });
  // The README's screenshots are refreshed on request only, so ordinary test runs leave the tree clean.
  if (copyToDocs && process.env.OPENKEY_UPDATE_SCREENSHOTS === '1') {
    await mkdir(docsScreenshots, { recursive: true });
    await page.screenshot({ path: join(docsScreenshots, `${name}.png`) });
  }
  return path;
}
