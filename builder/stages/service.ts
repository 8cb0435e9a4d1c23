import { access, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { treeBytes } from '../cache/index.ts';
import { importSource } from '../util/import-source.ts';
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
      context.log('bundling main.js and analysis-worker.js with esbuild');
      // The service's own bundleService: the same bundle its tests load (tests/service/bundle.test.ts).
      const bundle = await importSource<{ bundleService: (outDir: string) => Promise<unknown> }>(
        path.join(serviceDir, 'bundle.ts'),
      );
      await bundle.bundleService(target);
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
      const module = await importSource<{ buildApps: (o: { outDir: string }) => Promise<void> }>(appsBuild);
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
