import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApps } from '../../apps/build.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function hashes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else
        out[relative(root, path)] = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
    }
  };
  await walk(root);
  return out;
}

async function build(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'openkey-apps-build-'));
  dirs.push(dir);
  await buildApps({ outDir: join(dir, 'openkey') });
  return join(dir, 'openkey');
}

describe('buildApps', () => {
  it('lays out the pages and assets, byte for byte the same on every build', async () => {
    const [a, b] = await Promise.all([build(), build()]);
    const first = await hashes(a);
    expect(await hashes(b)).toEqual(first);
    const files = Object.keys(first);
    for (const page of ['index.html', 'analyser/index.html', 'browser/index.html', 'docs/index.html'])
      expect(files).toContain(page);
    for (const asset of ['portal.js', 'analyser.js', 'browser.js', 'docs.js', 'openkey.css', 'icon.svg'])
      expect(files).toContain(`assets/${asset}`);
    // Nothing outside the tree, and no key-index.js: the image build writes that one.
    expect(await readdir(dirname(a))).toEqual(['openkey']);
    expect(files).not.toContain('key-index.js');
  }, 60_000);

  it('uses only relative URLs in its pages, so the tree works from any host, port or file://', async () => {
    const out = await build();
    for (const page of ['index.html', 'analyser/index.html', 'browser/index.html', 'docs/index.html']) {
      const html = await readFile(join(out, page), 'utf8');
      const urls = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1] ?? '');
      expect(urls.length, page).toBeGreaterThan(0);
      for (const url of urls) expect(url, `${page}: ${url}`).not.toMatch(/^(?:[a-z]+:|\/)/i);
    }
    // The portal is a classic script: browsers refuse module scripts from file://.
    const portal = await readFile(join(out, 'index.html'), 'utf8');
    expect(portal).toMatch(/<script src="assets\/portal.js" defer><\/script>/);
    expect(await readFile(join(out, 'assets', 'portal.js'), 'utf8')).not.toMatch(/\bimport\s*\(|^import /m);
  }, 60_000);

  it("ships KaTeX's stylesheet with every font it names, woff2 only, and the docs page links it", async () => {
    const out = await build();
    const css = await readFile(join(out, 'assets', 'katex', 'katex.css'), 'utf8');
    const named = [...css.matchAll(/url\(([^)]+)\)/g)].map((m) => m[1] ?? '');
    expect(named.length).toBe(20);
    for (const url of named) expect(url).toMatch(/^fonts\/KaTeX_[A-Za-z0-9-]+\.woff2$/);
    const fonts = await readdir(join(out, 'assets', 'katex', 'fonts'));
    expect(fonts.sort()).toEqual([...new Set(named.map((u) => u.slice('fonts/'.length)))].sort());
    // Each is a real woff2 file (its signature), not a placeholder.
    for (const font of fonts)
      expect((await readFile(join(out, 'assets', 'katex', 'fonts', font))).subarray(0, 4).toString('latin1')).toBe(
        'wOF2',
      );
    expect(await readFile(join(out, 'docs', 'index.html'), 'utf8')).toContain('href="../assets/katex/katex.css"');
  }, 60_000);
});
