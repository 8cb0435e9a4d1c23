import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../builder/build.ts';
import { Cache } from '../../builder/cache/index.ts';
import type { Plan } from '../../builder/plan/index.ts';
import { stageRecord } from '../../builder/stages/registry.ts';
import { manifestOf, PROJECT } from './helpers.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'openkey-plan-key-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('openkey plan prints the keys the build uses', () => {
  it('plan --json gives the keys of build --dry-run', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(PROJECT, 'bin/openkey.mjs'), 'plan', '--json', 'manifests/mu.yaml'],
      { cwd: PROJECT },
    );
    const printed = (JSON.parse(stdout) as { plan: Plan }).plan.stages.map((s) => [s.name, s.key]);
    const outcome = await buildImage({
      manifest: await manifestOf('manifests/mu.yaml'),
      projectRoot: PROJECT,
      outDir: path.join(scratch, 'out-dry'),
      cacheDir: path.join(scratch, 'cache-dry'),
      dryRun: true,
    });
    expect(outcome.stages.map((s) => [s.stage.name, s.key])).toEqual(printed);
    expect(printed.length).toBe(11); // rootfs … service-layer, bootloader, datasets, content, iso, disk, usb
  }, 120_000);

  it('a build finds every stage in the cache under the plan keys, runs none, and publishes the artefacts', async () => {
    const manifest = await manifestOf('tests/image/fixtures/mu-nodata.yaml');
    const cacheDir = path.join(scratch, 'cache');
    const dry = await buildImage({
      manifest,
      projectRoot: PROJECT,
      outDir: path.join(scratch, 'x'),
      cacheDir,
      dryRun: true,
    });
    // Entries made by hand under the planned keys: a build that computed any other key would miss, and --offline
    // refuses a rootfs it cannot find.
    const cache = new Cache(cacheDir);
    for (const { stage } of dry.stages) {
      const dir = await cache.tempDir(stage.name);
      for (const file of stageRecord(stage.name).artefacts(manifest)) await writeFile(path.join(dir, file), stage.name);
      if (stage.name === 'os-layer') await writeFile(path.join(dir, 'packages.tsv'), 'bash\t5.2\tamd64\n');
      if (stage.name === 'content' || stage.name === 'datasets') await writeFile(path.join(dir, 'datasets.json'), '[]');
      await cache.publish(stage.name, stage.key, dir, { result: { outputs: { [`${stage.name}.out`]: 1 } } });
    }
    const outDir = path.join(scratch, 'out');
    const outcome = await buildImage({ manifest, projectRoot: PROJECT, outDir, cacheDir, offline: true });
    expect(outcome.report?.stages.map((s) => [s.name, s.cached, s.key])).toEqual(
      dry.stages.map((s) => [s.stage.name, true, s.key]),
    );
    const sums = await readFile(path.join(outDir, 'SHA256SUMS'), 'utf8');
    expect(sums).toContain(`  ${manifest.name}-${manifest.version}.iso\n`);
    expect(sums).toContain(`  ${manifest.name}-${manifest.version}-usb.img\n`);
    expect(await readFile(path.join(outDir, `${manifest.name}-${manifest.version}.packages.txt`), 'utf8')).toBe(
      'bash 5.2\n',
    );
  }, 120_000);
});
