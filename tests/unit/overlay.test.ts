/**
 * The overlay stage runs as root: an overlay's symlinks are copied as links and never written through, so no link an
 * overlay holds (`etc -> /etc`, `etc/hostname -> /etc/shadow`) can make the build write on the host. A "host" folder
 * in a temporary directory stands for /etc here.
 */
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_WRITTEN } from '../../builder/manifest/semantic.ts';
import type { ResolvedManifest } from '../../builder/manifest/types.ts';
import { generatedFiles, overlayStage } from '../../builder/stages/overlay.ts';
import type { StageContext } from '../../builder/stages/types.ts';
import { serveSettings, SERVE_OPTIONS } from '../../services/analysis/args.ts';
import { manifestOf, withChanges } from '../image/helpers.ts';
import { parseArgs } from 'node:util';

const UNIT = path.resolve(
  import.meta.dirname,
  '../../image/overlay/common/etc/systemd/system/openkey-analysis.service',
);

/**
 * The analysis unit's command line as systemd builds it from EnvironmentFile= (systemd.service(5): `${X}` is one
 * word, `$X` alone is split on whitespace and vanishes when empty), then read by the service's own parser.
 */
function serviceSettingsOf(env: string) {
  const vars = new Map(
    env
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
  );
  const execStart = /^ExecStart=(.*)$/m.exec(readFileSync(UNIT, 'utf8'))![1]!;
  const words = execStart
    .split(/\s+/)
    .flatMap((word) =>
      /^\$[A-Z_]+$/.test(word)
        ? (vars.get(word.slice(1)) ?? '').split(/\s+/).filter(Boolean)
        : [word.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => vars.get(name) ?? '')],
    );
  const args = words.slice(words.indexOf('/opt/openkey/service/main.js') + 1);
  return serveSettings(parseArgs({ args, options: SERVE_OPTIONS, strict: true }).values);
}

async function runOverlay(manifest: ResolvedManifest, work: string): Promise<string> {
  const outDir = path.join(work, 'out');
  mkdirSync(outDir);
  const context = {
    manifest,
    projectRoot: work,
    outDir,
    workDir: path.join(work, 'scratch'),
    log: () => {},
    progress: () => {},
    signal: new AbortController().signal,
  } as unknown as StageContext;
  await overlayStage.run(context);
  return path.join(outDir, 'tree');
}

function hostFolder(work: string): string {
  const host = path.join(work, 'host-etc');
  mkdirSync(host);
  writeFileSync(path.join(host, 'hostname'), 'the-host\n');
  writeFileSync(path.join(host, 'shadow'), 'root:secret\n');
  return host;
}

describe('overlay stage', () => {
  it('replaces an overlay symlink etc -> host folder by a real folder and leaves the host untouched', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'openkey-overlay-'));
    const host = hostFolder(work);
    mkdirSync(path.join(work, 'evil'));
    symlinkSync(host, path.join(work, 'evil/etc'));
    mkdirSync(path.join(work, 'later/etc/default'), { recursive: true });
    writeFileSync(path.join(work, 'later/etc/default/x'), 'x\n');
    const mu = withChanges(await manifestOf('manifests/mu.yaml'), (m) => {
      m.overlays = [path.join(work, 'evil'), path.join(work, 'later')];
    });
    const tree = await runOverlay(mu, work);
    expect(lstatSync(path.join(tree, 'etc')).isDirectory()).toBe(true);
    expect(readFileSync(path.join(tree, 'etc/hostname'), 'utf8')).toBe(`${mu.system.hostname}\n`);
    expect(readFileSync(path.join(tree, 'etc/default/x'), 'utf8')).toBe('x\n');
    expect(readFileSync(path.join(host, 'hostname'), 'utf8')).toBe('the-host\n');
    expect(readFileSync(path.join(host, 'shadow'), 'utf8')).toBe('root:secret\n');
    expect(lstatSync(path.join(host, 'default'), { throwIfNoEntry: false })).toBeUndefined();
  });

  it('writes its own etc/hostname in place of an overlay symlink etc/hostname -> host file', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'openkey-overlay-'));
    const host = hostFolder(work);
    mkdirSync(path.join(work, 'evil/etc/openkey'), { recursive: true });
    symlinkSync(path.join(host, 'shadow'), path.join(work, 'evil/etc/hostname'));
    symlinkSync(path.join(host, 'shadow'), path.join(work, 'evil/etc/openkey/analysis.env'));
    symlinkSync(host, path.join(work, 'evil/etc/default'));
    const mu = withChanges(await manifestOf('manifests/mu.yaml'), (m) => {
      m.overlays = [path.join(work, 'evil')];
    });
    const tree = await runOverlay(mu, work);
    expect(lstatSync(path.join(tree, 'etc/hostname')).isFile()).toBe(true);
    expect(lstatSync(path.join(tree, 'etc/default')).isDirectory()).toBe(true);
    expect(readFileSync(path.join(tree, 'etc/openkey/analysis.env'), 'utf8')).toContain('OPENKEY_PORT=');
    expect(readFileSync(path.join(host, 'shadow'), 'utf8')).toBe('root:secret\n');
    expect(lstatSync(path.join(host, 'locale'), { throwIfNoEntry: false })).toBeUndefined();
  });

  it('keeps the other symlinks of an overlay as links, for the image', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'openkey-overlay-'));
    mkdirSync(path.join(work, 'ov/etc/systemd/system'), { recursive: true });
    symlinkSync('/lib/systemd/system/graphical.target', path.join(work, 'ov/etc/systemd/system/default.target'));
    const mu = withChanges(await manifestOf('manifests/mu.yaml'), (m) => {
      m.overlays = [path.join(work, 'ov')];
    });
    const tree = await runOverlay(mu, work);
    expect(readlinkSync(path.join(tree, 'etc/systemd/system/default.target'))).toBe(
      '/lib/systemd/system/graphical.target',
    );
  });

  it('writes no file the manifest check does not know it writes (BUILD_WRITTEN)', async () => {
    for (const name of ['manifests/mu.yaml', 'manifests/s.yaml', 'manifests/m.yaml']) {
      const files = Object.keys(generatedFiles(await manifestOf(name)));
      for (const file of files) {
        expect(BUILD_WRITTEN).toContain(file);
        const parts = file.split('/');
        for (let i = 1; i < parts.length; i++) expect(BUILD_WRITTEN).toContain(parts.slice(0, i).join('/'));
      }
    }
  });

  it.each([
    [3, 3],
    [1, 1],
    [0, undefined],
  ])('services.analysis.workers %i reaches the service as --workers %s', async (workers, expected) => {
    const mu = withChanges(await manifestOf('manifests/mu.yaml'), (m) => {
      m.services.analysis.workers = workers;
    });
    const settings = serviceSettingsOf(generatedFiles(mu)['etc/openkey/analysis.env']!);
    expect(settings.workers).toBe(expected);
    expect(settings.port).toBe(mu.services.analysis.port);
  });

  it.each([
    [2, 512, 512 * 1024 ** 2],
    [0, 0, 0],
    [0, undefined, undefined],
  ])(
    'workers %i with services.analysis.cacheMiB %s reach the service as a column cache of %s bytes',
    async (workers, cacheMiB, expected) => {
      const mu = withChanges(await manifestOf('manifests/mu.yaml'), (m) => {
        m.services.analysis.workers = workers;
        if (cacheMiB === undefined) delete m.services.analysis.cacheMiB;
        else m.services.analysis.cacheMiB = cacheMiB;
      });
      const settings = serviceSettingsOf(generatedFiles(mu)['etc/openkey/analysis.env']!);
      expect(settings.columnCacheBytes).toBe(expected);
      expect(settings.workers).toBe(workers === 0 ? undefined : workers);
    },
  );
});
