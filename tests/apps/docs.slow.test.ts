/**
 * The docs viewer in Debian's Chromium over the real curriculum (content/docs, placed by the content stage's own
 * placeDocs as on the key, key-index.js from what it returns): the table of contents jumps to its headings, the
 * search finds a word in another document (one the key index does not even list, reached through the curriculum's
 * links), and the print style hides the menus and fits A4. In French (?lang=fr) the viewer shows the French pages with
 * the English anchors, searches them, and its links keep the language; the Z mass formula is rendered by KaTeX with
 * the fonts the apps ship; a page whose translation the key lacks (the French glossary, left out here) shows in
 * English and says so. Every page fails on a console error or a request to another host than 127.0.0.1.
 */
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fold } from '../../apps/docs/outline.ts';
import { fr } from '../../apps/shared/i18n/fr.ts';
import { placeDocs } from '../../builder/stages/content.ts';
import { translationOf } from '../../common/languages.ts';
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

let sources: string;

beforeAll(async () => {
  ws = await makeWorkspace();
  // The docs of s.yaml (and base.yaml) as the content stage places them: docs/<id>/<files>, listed in key-index.js.
  // The curriculum comes from a copy without its French glossary: a key whose translation of one page is missing.
  sources = await mkdtemp(join(tmpdir(), 'openkey-docs-src-'));
  await cp(curriculum, join(sources, 'curriculum'), { recursive: true });
  await rm(join(sources, 'curriculum', 'glossary.fr.md'));
  const { docs, docLanguages } = await placeDocs(
    [
      {
        id: 'getting-started',
        title: 'Getting started',
        path: join(repoRoot, 'content', 'docs', 'getting-started.md'),
      },
      { id: 'curriculum', title: 'Exercises', path: join(sources, 'curriculum') },
    ],
    ws.apps,
  );
  const indexPath = join(ws.apps, 'key-index.js');
  const index = JSON.parse(
    (await readFile(indexPath, 'utf8')).replace(/^window\.OPENKEY_INDEX = /, '').replace(/;\s*$/, ''),
  );
  Object.assign(index, { docs, docLanguages });
  await writeFile(indexPath, `window.OPENKEY_INDEX = ${JSON.stringify(index, null, 2)};\n`);
  service = await startService(ws);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await ws?.cleanup();
  if (sources !== undefined) await rm(sources, { recursive: true, force: true });
});

const open = (path: string, hash = '', lang?: string) =>
  new URL(`docs/?path=${encodeURIComponent(path)}${lang === undefined ? '' : `&lang=${lang}`}${hash}`, service.url)
    .href;

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
      // The English pages: the search reads each page once, in the language shown.
      (await readdir(curriculum)).filter((n) => n.endsWith('.md') && translationOf(n) === undefined).length,
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

  it("renders the Z mass formula with KaTeX, its fonts loaded from the key's apps, on screen and in print", async () => {
    const { page, problems } = await guardedPage(browser);
    const fonts: string[] = [];
    page.on('response', (response) => {
      if (/\.woff2$/.test(new URL(response.url()).pathname)) fonts.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(open('docs/curriculum/z-mass.md'));
    await page.waitForSelector('body[data-ready="1"]');
    const display = page.locator('#doc .katex-display').first();
    expect(await display.isVisible()).toBe(true);
    // The source is kept as MathML's annotation; the page's text shows no dollars left over.
    expect(await display.locator('annotation').textContent()).toMatch(/^m_\{\\ell\\ell\} = \\sqrt\{/);
    expect(await page.$$eval('#doc math', (ms) => ms.length)).toBeGreaterThanOrEqual(1);
    const prose = await page.$eval('#doc', (doc) => {
      const copy = doc.cloneNode(true) as HTMLElement;
      for (const n of copy.querySelectorAll('.katex, code, pre')) n.remove();
      return copy.textContent ?? '';
    });
    expect(prose).not.toContain('$');
    expect(await page.$$eval('#doc .katex-error', (es) => es.length)).toBe(0);
    const loaded = await page.evaluate(async () => {
      await document.fonts.ready;
      return [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family.replace(/"/g, ''));
    });
    expect(loaded).toContain('KaTeX_Main');
    expect(loaded).toContain('KaTeX_Math');
    // Every font came from the apps on the key (the guard below fails on any other host).
    expect(fonts.length).toBeGreaterThanOrEqual(2);
    for (const font of fonts) expect(font).toMatch(new RegExp(`^200 ${service.url}assets/katex/fonts/KaTeX_`));
    // The formula is as wide as it should be (a fraction of the text), not collapsed nor spilling over.
    const width = await display.locator('.katex').evaluate((k) => k.getBoundingClientRect().width);
    expect(width).toBeGreaterThan(150);
    await page.emulateMedia({ media: 'print' });
    expect(await display.isVisible()).toBe(true);
    expect(await display.evaluate((d) => getComputedStyle(d).overflowX)).toBe('visible');
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

describe('the docs viewer in French', () => {
  const words = (text: string) => new Set(fold(text).match(/\p{L}{7,}/gu) ?? []);

  it('shows the French page with the English anchors, prints it, and its links keep the language', async () => {
    const { page, problems } = await guardedPage(browser);
    const asked: string[] = [];
    page.on('request', (request) => asked.push(new URL(request.url()).pathname));
    await page.goto(open('docs/curriculum/index.md', '', 'fr'));
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.getAttribute('html', 'lang')).toBe('fr');
    expect(await page.getAttribute('#doc', 'lang')).toBe('fr');
    expect(await page.textContent('#doc h1')).toBe(
      'La physique des particules avec des données ouvertes : les exercices',
    );
    expect(await page.textContent('#print')).toBe(fr['docs.print']);
    expect(await page.isVisible('#untranslated')).toBe(false);
    expect(asked).toContain('/docs/curriculum/index.fr.md');
    expect(asked).not.toContain('/docs/curriculum/index.md');
    // An exercise's link opens its French page, in French, with the same anchors as the English one.
    const first = page.locator('#doc table a').first();
    expect(await first.textContent()).toBe('Le boson Z');
    expect(new URL((await first.getAttribute('href'))!).searchParams.get('lang')).toBe('fr');
    await first.click();
    await page.waitForSelector('body[data-ready="1"]');
    expect(new URL(page.url()).searchParams.get('path')).toBe('docs/curriculum/z-mass.md');
    expect(new URL(page.url()).searchParams.get('lang')).toBe('fr');
    expect(await page.textContent('#doc h1')).toBe('Exercice 1 : le boson Z');
    const headings = await page.$$eval('#doc h2', (hs) => hs.map((h) => [h.id, h.textContent?.trim() ?? '']));
    expect(headings).toEqual([
      ['the-physics', 'La physique'],
      ['what-to-do', 'Ce qu’il faut faire'],
      ['what-to-look-for', 'Ce qu’il faut chercher'],
      ['going-further', 'Pour aller plus loin'],
    ]);
    expect(await page.$$eval('#toc a', (as) => as.map((a) => a.getAttribute('href')))).toEqual(
      headings.map(([id]) => `#${id}`),
    );
    expect(await page.textContent('#toc summary')).toBe(fr['docs.toc']);
    // The analyser's link keeps its preset and the language.
    const analyser = new URL((await page.getAttribute('#doc a[href*="/analyser/"]', 'href'))!);
    expect(analyser.pathname).toBe('/analyser/');
    expect(analyser.searchParams.get('lang')).toBe('fr');
    expect(analyser.hash).toBe('#dataset=zll&preset=atlas13-zll&run=1');
    await page.emulateMedia({ media: 'print' });
    for (const hidden of ['header.top', '#toc', '#search', '#print'])
      expect(await page.isVisible(hidden), hidden).toBe(false);
    expect(await page.isVisible('#doc h1')).toBe(true);
    await screenshot(page, 'docs-fr-print', true);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
    // The analyser opened from that link speaks French too (this workspace has no zll dataset, so only its language).
    const context = await browser.newContext();
    const app = await context.newPage();
    await app.goto(analyser.href);
    await app.waitForFunction(() => document.documentElement.lang === 'fr');
    expect(await app.textContent('header.top h1')).toBe(fr['nav.analyser']);
    await context.close();
  }, 120_000);

  it('searches the French pages: a French word is found, an English one is not', async () => {
    const read = (name: string) => readFile(join(curriculum, name), 'utf8');
    const french = words(await read('teachers.fr.md'));
    const here = words(await read('z-mass.fr.md'));
    const english = words(await read('teachers.md'));
    const word = [...french].find((w) => !here.has(w) && !english.has(w))!;
    expect(word).toBeDefined();
    // A word of the English teachers' page in no page the French reader searches (the glossary is English here).
    const shownInFrench = (await readdir(curriculum)).filter((n) => n.endsWith('.fr.md'));
    const searched = [await read('glossary.md'), ...(await Promise.all(shownInFrench.map(read)))];
    searched.push(await readFile(join(repoRoot, 'content', 'docs', 'getting-started.fr.md'), 'utf8'));
    const elsewhere = new Set(searched.flatMap((text) => [...words(text)]));
    const englishOnly = [...english].find((w) => !elsewhere.has(w))!;
    expect(englishOnly).toBeDefined();
    const { page, problems } = await guardedPage(browser);
    await page.goto(open('docs/curriculum/z-mass.md', '', 'fr'));
    await page.waitForSelector('body[data-ready="1"]');
    await page.fill('#search-q', word.toUpperCase());
    await page.waitForSelector('#search-results li');
    const hits = await page.$$eval('#search-results li', (lis) => lis.map((li) => li.getAttribute('data-path') ?? ''));
    expect(hits).toContain('docs/curriculum/teachers.md');
    expect(fold((await page.textContent('#search-results mark')) ?? '')).toBe(word);
    const link = page.locator('#search-results li[data-path="docs/curriculum/teachers.md"] a').first();
    expect(new URL((await link.getAttribute('href'))!).searchParams.get('lang')).toBe('fr');
    expect(await link.textContent()).toMatch(/^Pour les enseignants/);
    await page.fill('#search-q', englishOnly);
    await page.waitForFunction(() => document.getElementById('search-status')?.textContent?.startsWith('Rien'));
    expect(await page.textContent('#search-status')).toBe(fr['docs.noResults'].replace('{query}', englishOnly));
    await page.fill('#search-q', word);
    await page.waitForSelector('#search-results li');
    await link.click();
    await page.waitForSelector('body[data-ready="1"]');
    expect(new URL(page.url()).searchParams.get('lang')).toBe('fr');
    expect(await page.textContent('#doc h1')).toMatch(/^Pour les enseignants/);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);

  it('shows a page the key has no translation of in English, and says so', async () => {
    const { page, problems } = await guardedPage(browser);
    const asked: string[] = [];
    page.on('request', (request) => asked.push(new URL(request.url()).pathname));
    await page.goto(open('docs/curriculum/glossary.md', '', 'fr'));
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.textContent('#untranslated')).toBe(fr['docs.untranslated']);
    expect(await page.getAttribute('#untranslated', 'lang')).toBe('fr');
    expect(await page.getAttribute('#doc', 'lang')).toBe('en');
    expect(await page.textContent('#doc h1')).toBe('Glossary');
    // The rest of the page stays French, and the viewer never asked for the file the key does not have.
    expect(await page.getAttribute('html', 'lang')).toBe('fr');
    expect(await page.textContent('#print')).toBe(fr['docs.print']);
    expect(asked).not.toContain('/docs/curriculum/glossary.fr.md');
    await screenshot(page, 'docs-fr-fallback', true);
    // The same page in Spanish has its translation: no notice.
    await page.goto(open('docs/curriculum/glossary.md', '', 'es'));
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.textContent('#doc h1')).toBe('Glosario');
    expect(await page.isVisible('#untranslated')).toBe(false);
    // A translation opened by its own name shows as it is, in its language, whatever the reader's.
    await page.goto(open('docs/curriculum/glossary.es.md', '', 'fr'));
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.textContent('#doc h1')).toBe('Glosario');
    expect(await page.getAttribute('#doc', 'lang')).toBe('es');
    expect(await page.isVisible('#untranslated')).toBe(false);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);

  it('the portal lists the docs by their French titles, and opens them in French', async () => {
    const { page, problems } = await guardedPage(browser);
    await page.goto(new URL('?lang=fr', service.url).href);
    await page.waitForSelector('body[data-mode="live"]');
    const links = await page.$$eval('#docs a', (as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
    expect(links).toEqual([
      ['Premiers pas avec Open Key', 'docs/?path=docs%2Fgetting-started%2Fgetting-started.md&lang=fr'],
      [
        'La physique des particules avec des données ouvertes : les exercices',
        'docs/?path=docs%2Fcurriculum%2Findex.md&lang=fr',
      ],
    ]);
    await page.click('#docs a >> nth=1');
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.getAttribute('#doc', 'lang')).toBe('fr');
    // From a plugged-in key (file://, no service) the links are the French files themselves.
    await page.goto(`${pathToFileURL(join(ws.apps, 'index.html')).href}?lang=fr`);
    await page.waitForSelector('body[data-mode="static"]');
    expect(await page.$$eval('#docs a', (as) => as.map((a) => a.getAttribute('href')))).toEqual([
      'docs/getting-started/getting-started.fr.md',
      'docs/curriculum/index.fr.md',
    ]);
    expect(problems.join('\n')).toBe('');
    await page.context().close();
  }, 120_000);
});
