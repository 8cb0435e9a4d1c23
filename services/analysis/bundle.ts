/**
 * Bundles the service for the key: main.js (the entry the systemd unit runs) and analysis-worker.js beside it (where
 * pool.ts looks for it when bundled), plus a package.json marking them as ES modules. Node and the files in `outDir`
 * are all the key needs. The image's service stage and the tests both call bundleService, so the tests load the
 * bundle the key ships.
 *
 *   npx tsx services/analysis/bundle.ts OUTDIR
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Optional packages jsroot reaches for only when drawing in node (images, LaTeX); the service never draws. */
const NOT_NEEDED = ['canvas', 'jsdom', 'xhr2', 'mathjax', 'three', 'd3', 'svg2pdf.js', 'jspdf', '@resvg/resvg-js'];

export async function bundleService(outDir: string): Promise<{ main: string; worker: string }> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { main: join(here, 'main.ts'), 'analysis-worker': join(here, 'pool', 'worker.ts') },
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: NOT_NEEDED,
    minify: true,
    // Error names and stack frames stay readable in the journal.
    keepNames: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'error',
    // Paths inside the bundle relative to the repository, whoever runs the build from wherever.
    absWorkingDir: join(here, '..', '..'),
    // CommonJS dependencies bundled into ESM still call require() for Node built-ins (nothing in the service may
    // need __dirname).
    banner: {
      js: "import { createRequire as __openkeyRequire } from 'node:module'; const require = __openkeyRequire(import.meta.url);",
    },
  });
  await writeFile(join(outDir, 'package.json'), JSON.stringify({ type: 'module', private: true }, null, 2) + '\n');
  return { main: join(outDir, 'main.js'), worker: join(outDir, 'analysis-worker.js') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (out === undefined) {
    process.stderr.write('usage: tsx services/analysis/bundle.ts OUTDIR\n');
    process.exit(2);
  }
  const { main, worker } = await bundleService(out);
  process.stdout.write(`${main}\n${worker}\n`);
}
