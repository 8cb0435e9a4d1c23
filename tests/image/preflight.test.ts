import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../builder/build.ts';
import { Cache } from '../../builder/cache/index.ts';
import { run, setRunner, ToolError, type Runner } from '../../builder/tools/exec.ts';
import { manifestOf, PROJECT } from './helpers.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'openkey-preflight-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

describe('build preflight: found before the rootfs stage, nothing written', () => {
  it('names the missing tool and the apt-get line (fake runner at the exec seam)', async () => {
    const manifest = await manifestOf('tests/image/fixtures/mu-nodata.yaml');
    const real: Runner = (program, args, options) => {
      if (program === 'mmdebstrap')
        return Promise.reject(new ToolError(program, args, 127, '', 'apt-get install mmdebstrap'));
      return run(program, args, options);
    };
    const restore = setRunner(real);
    const out = path.join(scratch, 'out-missing');
    try {
      await expect(
        buildImage({ manifest, projectRoot: PROJECT, outDir: out, cacheDir: path.join(scratch, 'cache-missing') }),
      ).rejects.toMatchObject({
        code: 'E_TOOLS_MISSING',
        message: 'missing host tools: mmdebstrap (Debian rootfs)',
        hint: 'apt-get install mmdebstrap   (openkey doctor lists every tool)',
      });
    } finally {
      restore();
    }
    expect(await exists(out)).toBe(false);
  });

  it('names the unreachable mirror URL and leaves no output or cache entry', async () => {
    const manifest = await manifestOf('tests/image/fixtures/bad-mirror.yaml');
    const out = path.join(scratch, 'out-mirror');
    const cacheDir = path.join(scratch, 'cache-mirror');
    await expect(buildImage({ manifest, projectRoot: PROJECT, outDir: out, cacheDir })).rejects.toMatchObject({
      code: 'E_MIRROR',
      message: expect.stringMatching(
        /^cannot reach the Debian mirror: http:\/\/127\.0\.0\.1:9\/debian\/dists\/trixie\/InRelease \(/,
      ),
    });
    expect(await exists(out)).toBe(false);
    expect(await new Cache(cacheDir).list()).toEqual([]);
  });

  it('finds too little disk space before the rootfs stage', async () => {
    const manifest = await manifestOf('tests/image/fixtures/mu-nodata.yaml');
    const small = path.join(scratch, 'small');
    await mkdir(small, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'openkey-test', small]);
    try {
      await expect(
        buildImage({
          manifest,
          projectRoot: PROJECT,
          outDir: path.join(scratch, 'out-disk'),
          cacheDir: path.join(small, 'cache'),
        }),
      ).rejects.toMatchObject({
        code: 'E_DISK_SPACE',
        message: expect.stringMatching(
          /^not enough free space for .*small\/cache: 0\.03 GiB free, about \d+\.\d\d GiB needed$/,
        ),
      });
      expect(await exists(path.join(small, 'cache', 'rootfs'))).toBe(false);
    } finally {
      await run('umount', [small]);
    }
  });

  it('refuses --offline when the rootfs is not cached', async () => {
    const manifest = await manifestOf('tests/image/fixtures/mu-nodata.yaml');
    await expect(
      buildImage({
        manifest,
        projectRoot: PROJECT,
        outDir: path.join(scratch, 'out-offline'),
        cacheDir: path.join(scratch, 'cache-offline'),
        offline: true,
      }),
    ).rejects.toMatchObject({ code: 'E_OFFLINE' });
  });

  it('prints the plan with --dry-run and writes nothing', async () => {
    const manifest = await manifestOf('manifests/mu.yaml');
    const cacheDir = path.join(scratch, 'cache-dry');
    const outcome = await buildImage({
      manifest,
      projectRoot: PROJECT,
      outDir: path.join(scratch, 'out-dry'),
      cacheDir,
      dryRun: true,
    });
    expect(outcome.stages.map((s) => s.stage.name)).toEqual([
      'rootfs',
      'overlay',
      'os-layer',
      'service',
      'service-layer',
      'bootloader',
      'datasets',
      'content',
      'iso',
      'disk',
      'usb',
    ]);
    expect(outcome.stages.every((s) => !s.cached && /^[0-9a-f]{32}$/.test(s.key))).toBe(true);
    expect(await exists(cacheDir)).toBe(false);
  });
});
