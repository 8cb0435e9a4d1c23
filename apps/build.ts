/**
 * Bundles the offline web apps into a static tree that works from http://host:port/ and from file://:
 *
 *   DIR/index.html            portal (classic script, so it also runs from file:// with no service)
 *   DIR/analyser/index.html   histogram analyser (ES modules; needs the analysis service)
 *   DIR/browser/index.html    ROOT file browser (ES modules; JSROOT over /data with Range requests)
 *   DIR/docs/index.html       Markdown viewer for the key's docs
 *   DIR/assets/…              bundled JS and CSS, JSROOT included; nothing is fetched from another host
 *   DIR/assets/katex/         KaTeX's CSS and its woff2 fonts, for the docs' formulas
 *
 * The output is deterministic (no timestamps, content-hashed chunk names), so two builds of the same sources
 * produce the same bytes and key images stay reproducible.
 *
 * Usage: node --import tsx apps/build.ts --out DIR
 */
import { build, type BuildOptions } from 'esbuild';
import { mkdir, readFile, readdir, rename, rm, writeFile, cp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const appsDir = dirname(fileURLToPath(import.meta.url));

/** The pages, each copied from apps/<page> to DIR/<page>. */
const pages = ['index.html', 'analyser/index.html', 'browser/index.html', 'docs/index.html'] as const;

/** JSROOT reaches these only under Node.js; in a browser bundle they must stay unresolved and are never loaded. */
const nodeOnly = [
  'fs',
  'zlib',
  'tmp',
  'xhr2',
  'canvas',
  'jsdom',
  'mathjax',
  'gl',
  '@oneidentity/zstd-js',
  '@resvg/resvg-js',
  'node:worker_threads',
  'worker_threads',
];

const common: BuildOptions = {
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ['chrome109', 'firefox115'],
  platform: 'browser',
  charset: 'utf8',
  legalComments: 'external',
  logLevel: 'warning',
  // JSROOT reads import.meta.url to find its own folder; bundled, it has none and needs none.
  logOverride: { 'empty-import-meta': 'silent' },
  external: nodeOnly,
  absWorkingDir: appsDir,
};

/**
 * KaTeX's stylesheet and fonts for the docs' formulas, woff2 only: every browser the apps target reads woff2, and the
 * woff and ttf copies would triple the fonts' size on the key. The stylesheet's other sources are cut so no browser
 * asks for a file that is not there.
 */
async function copyKatex(assetsDir: string): Promise<void> {
  const dist = dirname(createRequire(import.meta.url).resolve('katex/dist/katex.min.css'));
  const css = await readFile(join(dist, 'katex.min.css'), 'utf8');
  const woff2Only = css.replace(/,url\(fonts\/[^)]+\.(?:woff|ttf)\) format\("(?:woff|truetype)"\)/g, '');
  if (/\.(?:woff|ttf)\)/.test(woff2Only) || !woff2Only.includes('.woff2)'))
    throw new Error(`KaTeX's stylesheet (${join(dist, 'katex.min.css')}) no longer lists its fonts the expected way`);
  const target = join(assetsDir, 'katex');
  await mkdir(join(target, 'fonts'), { recursive: true });
  await writeFile(join(target, 'katex.css'), woff2Only);
  // KaTeX is MIT-licensed: its notice travels with its fonts.
  await cp(join(dist, '..', 'LICENSE'), join(target, 'LICENSE'));
  const fonts = (await readdir(join(dist, 'fonts'))).filter((f) => f.endsWith('.woff2')).sort();
  for (const font of fonts) await cp(join(dist, 'fonts', font), join(target, 'fonts', font));
}

export interface BuildAppsOptions {
  outDir: string;
}

/** Builds the apps into outDir, replacing it whole: built in a sibling temp dir, then published by rename. */
export async function buildApps({ outDir }: BuildAppsOptions): Promise<void> {
  const out = resolve(outDir);
  const tmp = `${out}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, 'assets'), { recursive: true });
  try {
    // The portal is a classic script: browsers refuse module scripts from file://, and the portal must work there.
    await build({
      ...common,
      entryPoints: { portal: 'portal/main.ts' },
      format: 'iife',
      outdir: join(tmp, 'assets'),
    });
    // The service-backed apps share JSROOT through content-hashed chunks, loaded on demand.
    await build({
      ...common,
      entryPoints: { analyser: 'analyser/main.ts', browser: 'browser/main.ts', docs: 'docs/main.ts' },
      format: 'esm',
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      outdir: join(tmp, 'assets'),
    });
    await build({
      ...common,
      entryPoints: { openkey: 'shared/style.css' },
      outdir: join(tmp, 'assets'),
    });
    for (const page of pages) {
      await mkdir(dirname(join(tmp, page)), { recursive: true });
      await writeFile(join(tmp, page), await readFile(join(appsDir, page)));
    }
    await cp(join(appsDir, 'shared', 'icon.svg'), join(tmp, 'assets', 'icon.svg'));
    await copyKatex(join(tmp, 'assets'));
    await rm(out, { recursive: true, force: true });
    await mkdir(dirname(out), { recursive: true });
    await rename(tmp, out);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' } }, strict: true });
  if (values.out === undefined) {
    process.stderr.write('usage: node --import tsx apps/build.ts --out DIR\n');
    process.exitCode = 2;
  } else {
    const started = performance.now();
    await buildApps({ outDir: values.out });
    process.stdout.write(`apps built in ${values.out} (${Math.round(performance.now() - started)} ms)\n`);
  }
}
