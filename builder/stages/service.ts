import { access, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { treeBytes } from '../cache/index.ts';
import { OpenKeyError } from '../../common/errors.ts';
import type { StageDefinition } from './types.ts';

/** Where the service lives inside the running key (the 10-service layer). */
export const SERVICE_DIR_ON_KEY = 'opt/openkey/service';

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * The service's entry points: main.ts, and its worker as analysis-worker.js beside main.js (where pool.ts looks for it
 * when bundled).
 */
async function serviceEntries(serviceDir: string): Promise<Record<string, string>> {
  const entries: Record<string, string> = { main: path.join(serviceDir, 'main.ts') };
  const worker = path.join(serviceDir, 'pool', 'worker.ts');
  if (await exists(worker)) entries['analysis-worker'] = worker;
  return entries;
}

/**
 * The analysis service bundled by esbuild into single files (Node 20, ESM, no node_modules on the key), and the web
 * apps built by apps/build.ts. The service goes into the 10-service layer; the apps go on the medium (content stage).
 */
export const serviceStage: StageDefinition = {
  name: 'service',
  async run(context) {
    const serviceDir = path.join(context.projectRoot, 'services', 'analysis');
    const target = path.join(context.outDir, 'layer', SERVICE_DIR_ON_KEY);
    await mkdir(target, { recursive: true });
    let kind: 'analysis' | 'placeholder';
    if (await exists(path.join(serviceDir, 'main.ts'))) {
      kind = 'analysis';
      const entryPoints = await serviceEntries(serviceDir);
      context.log(`bundling ${Object.keys(entryPoints).join(', ')} with esbuild`);
      await build({
        entryPoints,
        outdir: target,
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'esm',
        minify: true,
        keepNames: true,
        sourcemap: false,
        legalComments: 'none',
        logLevel: 'error',
        // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
        banner: {
          js: "import { createRequire as __openkeyRequire } from 'node:module'; const require = __openkeyRequire(import.meta.url);",
        },
        absWorkingDir: context.projectRoot,
      });
    } else {
      kind = 'placeholder';
      context.log('services/analysis/main.ts not found: shipping the placeholder health server');
      await copyFile(
        path.join(context.projectRoot, 'image', 'service-placeholder', 'main.js'),
        path.join(target, 'main.js'),
      );
    }
    await writeFile(
      path.join(target, 'package.json'),
      JSON.stringify({ type: 'module', private: true }, null, 2) + '\n',
    );

    const appsBuild = path.join(context.projectRoot, 'apps', 'build.ts');
    if (context.manifest.apps.length > 0) {
      if (!(await exists(appsBuild))) {
        throw new OpenKeyError('E_APPS_MISSING', `the manifest lists apps but ${appsBuild} does not exist`);
      }
      context.log('building the web apps');
      const module = (await import(pathToFileURL(appsBuild).href)) as {
        buildApps: (o: { outDir: string }) => Promise<void>;
      };
      await module.buildApps({ outDir: path.join(context.outDir, 'apps') });
    }
    return {
      outputs: {
        service: await treeBytes(path.join(context.outDir, 'layer')),
        ...(context.manifest.apps.length > 0 ? { apps: await treeBytes(path.join(context.outDir, 'apps')) } : {}),
      },
      details: { service: kind },
    };
  },
};
