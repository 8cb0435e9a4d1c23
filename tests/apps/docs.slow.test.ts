/**
 * The docs viewer in Debian's Chromium over the real curriculum (content/docs, laid out as the content stage puts
 * it on the key): the table of contents jumps to its headings, the search finds a word in another document (one
 * the key index does not even list, reached through the curriculum's links), and the print style hides the menus
 * and fits A4. Every page fails on a console error or a request to another host than 127.0.0.1.
 */
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fold } from '../../apps/docs/outline.ts';
import {
  artifacts,
  guardedPage,
  launchChromium,
  makeWorkspace,
  repoRoot,
  screenshot,
  startService,
  type Service,
  type Workspace,
} from './harness.ts';

let ws: Workspace;
let service: Service;
let browser: Browser;
const curriculum = join(repoRoot, 'content', 'docs', 'curriculum');

beforeAll(async () => {
  ws = await makeWorkspace();
  // As the content stage places the docs of s.yaml and base.yaml: docs/<id>/<files>, the entry in key-index.js.
  await cp(curriculum, join(ws.apps, 'docs', 'curriculum'), { recursive: true });
  await cp(
    join(repoRoot, 'content', 'docs', 'getting-started.md'),
    join(ws.apps, 'docs', 'getting-started', 'getting-started.md'),
    {
      recursive: true,
    },
  );
  const indexPath = join(ws.apps, 'key-index.js');
  const index = JSON.parse(
    (await readFile(indexPath, 'utf8')).replace(/^window\.OPENKEY_INDEX = /, '').replace(/;\s*$/, ''),
  );
  index.docs = [
    { id: 'getting-started', title: 'Getting started', path: 'docs/getting-started/getting-started.md' },
    { id: 'curriculum', title: 'Exercises', path: 'docs/curriculum/index.md' },
  ];
  await writeFile(indexPath, `window.OPENKEY_INDEX = ${JSON.stringify(index, null, 2)};\n`);
  service = await startService(ws);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await ws?.cleanup();
});

const open = (path: string, hash = '') => new URL(`docs/?path=${encodeURIComponent(path)}${hash}`, service.url).href;

describe('the docs viewer', () => {
  it('lists the headings in a table of contents whose links jump to them', async () => {
    const { page, problems } = await guardedPage(browser);
    await page.goto(open('docs/curriculum/z-mass.md'));
    await page.waitForSelector('body[data-ready="1"]');
    const headings = await page.$$eval('#doc h2, #doc h3', (hs) => hs.map((h) => h.textContent?.trim() ?? ''));
    expect(headings.length).toBeGreaterThanOrEqual(3);
    const entries = await page.$$eval('#toc a', (as) => as.map((a) => a.textContent?.trim() ?? ''));
    expect(entries).toEqual(headings);
    expect(await page.getAttribute('#toc', 'open')).not.toBeNull();
    // The first heading below the fold: its link must bring it into view.
    const below = await page.$$eval('#toc a', (as) =>
      as.findIndex((a) => {
        const h = document.getElementById(decodeURIComponent(a.getAttribute('href')!.slice(1)));
        return h !== null && h.getBoundingClientRect().top > window.innerHeight;
      }),
    );
    expect(below).toBeGreaterThanOrEqual(0);
    const link = page.locator('#toc a').nth(below);
    const href = (await link.getAttribute('href'))!;
    await link.click();
    await page.waitForFunction((h) => location.hash === h, href);
    const target = page.locator(`[id="${decodeURIComponent(href.slice(1))}"]`);
    expect(await target.textContent()).toBe(headings[below]);
    const top = await target.evaluate((h) => h.getBoundingClientRect().top);
    expect(top).toBeGreaterThanOrEqual(-1);
    expect(top).toBeLessThan(768 - 40);
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    await screenshot(page, 'docs-toc', true);
    // Opened with the heading in the URL, the page lands there too.
    await page.goto(open('docs/curriculum/z-mass.md', href));
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);

  it('finds a word of another document and opens it at the section that holds it', async () => {
    // A word of the teachers' page that the exercise page does not have (the docs may change; the test follows).
    const words = (text: string) => new Set(fold(text).match(/\p{L}{7,}/gu) ?? []);
    const teachers = await readFile(join(curriculum, 'teachers.md'), 'utf8');
    const here = words(await readFile(join(curriculum, 'z-mass.md'), 'utf8'));
    const word = [...words(teachers)].find((w) => !here.has(w))!;
    expect(word).toBeDefined();
    const { page, problems } = await guardedPage(browser);
    await page.goto(open('docs/curriculum/z-mass.md'));
    await page.waitForSelector('body[data-ready="1"]');
    // Typed in capitals: case (and accents) do not matter.
    await page.fill('#search-q', word.toUpperCase());
    await page.waitForSelector('#search-results li');
    const hits = await page.$$eval('#search-results li', (lis) => lis.map((li) => li.getAttribute('data-path') ?? ''));
    expect(hits).toContain('docs/curriculum/teachers.md');
    expect(hits).not.toContain('docs/curriculum/z-mass.md');
    // Every hit holds the word.
    for (const path of new Set(hits)) expect(fold(await readFile(join(ws.apps, path), 'utf8')), path).toContain(word);
    expect(await page.textContent('#search-results mark')).toMatch(new RegExp(word, 'i'));
    expect(Number(await page.getAttribute('#search', 'data-searched'))).toBeGreaterThanOrEqual(
      (await readdir(curriculum)).filter((n) => n.endsWith('.md')).length,
    );
    await screenshot(page, 'docs-search', true);
    await page.click('#search-results li[data-path="docs/curriculum/teachers.md"] a');
    await page.waitForSelector('body[data-ready="1"]');
    expect(new URL(page.url()).searchParams.get('path')).toBe('docs/curriculum/teachers.md');
    // The section the hit named is in view and holds the word.
    const hash = decodeURIComponent(new URL(page.url()).hash.slice(1));
    if (hash !== '') {
      const section = await page.evaluate((id) => {
        const h = document.getElementById(id)!;
        let text = h.textContent ?? '';
        for (let n = h.nextElementSibling; n && !/^H[1-4]$/.test(n.tagName); n = n.nextElementSibling)
          text += ` ${n.textContent ?? ''}`;
        return { text, top: h.getBoundingClientRect().top };
      }, hash);
      expect(fold(section.text)).toContain(word);
      expect(section.top).toBeLessThan(200);
    }
    // Nothing for a word no document has.
    await page.fill('#search-q', 'zzqxw');
    await page.waitForFunction(() => document.getElementById('search-status')?.textContent?.startsWith('Nothing'));
    expect(await page.textContent('#search-status')).toBe('Nothing found for “zzqxw”.');
    expect(await page.$$eval('#search-results li', (lis) => lis.length)).toBe(0);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);

  it('prints the text alone on A4: no menus, contents, search or buttons', async () => {
    const { page, problems } = await guardedPage(browser, { viewport: { width: 680, height: 960 } });
    await page.goto(open('docs/curriculum/z-mass.md'));
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.isVisible('header.top')).toBe(true);
    expect(await page.isVisible('#search')).toBe(true);
    await page.emulateMedia({ media: 'print' });
    for (const hidden of ['header.top', '#toc', '#search', '#print', 'header.top nav'])
      expect(await page.isVisible(hidden), hidden).toBe(false);
    expect(await page.isVisible('#doc h1')).toBe(true);
    // About A4's printable width at 96 dpi: nothing sticks out sideways, and the text is a readable size.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(680);
    const size = await page.$eval('#doc p', (p) => parseFloat(getComputedStyle(p).fontSize));
    expect(size).toBeGreaterThanOrEqual(14);
    await screenshot(page, 'docs-print', true);
    const pdf = await page.pdf({ format: 'A4', path: join(artifacts, 'docs-print.pdf') });
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g)?.length ?? 0;
    expect(pages).toBeGreaterThanOrEqual(1);
    expect(pages).toBeLessThanOrEqual(4);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);

  it('on a 360 × 640 phone the contents fold above the text and nothing scrolls sideways', async () => {
    const { page, problems } = await guardedPage(browser, { viewport: { width: 360, height: 640 } });
    await page.goto(open('docs/curriculum/index.md'));
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    // The exercise links open in the viewer.
    const first = (await page.getAttribute('#doc table a', 'href'))!;
    expect(new URL(first).pathname).toBe('/docs/');
    expect(new URL(first).searchParams.get('path')).toMatch(/^docs\/curriculum\/[\w-]+\.md$/);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);
});
