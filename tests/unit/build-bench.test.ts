import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  formatBuildFigures,
  heavy,
  parseBuildBenchArgs,
  USAGE,
  writeBenchManifests,
  type BuildFigures,
} from '../../builder/build-bench.ts';
import { loadManifest } from '../../builder/manifest/index.ts';
import { rootfsPackages } from '../../builder/stages/rootfs.ts';
import { UsageError } from '../../common/errors.ts';

const work = mkdtempSync(path.join(tmpdir(), 'openkey-build-bench-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the build benchmark (scripts/bench-build)', () => {
  it('parses its command line', () => {
    expect(parseBuildBenchArgs([], '/x')).toEqual({ work: tmpdir(), boot: true, add: 'tree' });
    expect(
      parseBuildBenchArgs(['--work', 'w', '--no-boot', '--add', 'htop', '--lock', 'l', '--json', 'f.json'], '/x'),
    ).toEqual({ work: '/x/w', boot: false, add: 'htop', lock: '/x/l', json: '/x/f.json' });
  });

  it.each([
    [['--add', 'tree; rm -rf /'], '--add tree; rm -rf /: not a Debian package name', 'for example --add tree'],
    [['--add', 'Tree'], '--add Tree: not a Debian package name', 'for example --add tree'],
    [['--no-boot=yes'], '--no-boot takes no value', `usage: ${USAGE}`],
    [['--jsn', 'f'], 'unknown option --jsn', `did you mean --json? usage: ${USAGE}`],
    [['mu.yaml'], 'unexpected argument "mu.yaml"', `usage: ${USAGE}`],
  ])('refuses %j: %s', (argv, message, hint) => {
    let caught: unknown;
    try {
      parseBuildBenchArgs(argv);
    } catch (error) {
      caught = error;
    }
    expect(caught).toEqual(new UsageError(message, hint));
    expect((caught as UsageError).hint).toBe(hint);
  });

  it('writes mu.yaml with its doc in the scratch folder, and a copy with one more package', async () => {
    const files = await writeBenchManifests(work, 'tree');
    const { manifest } = await loadManifest(files.manifest, work);
    const { manifest: added } = await loadManifest(files.added, work);
    expect(manifest.name).toBe('openkey-mu');
    expect(manifest.docs.map((d) => [d.id, d.path])).toEqual([['getting-started', files.doc]]);
    expect(rootfsPackages(manifest)).not.toContain('tree');
    expect(rootfsPackages(added)).toEqual([...rootfsPackages(manifest), 'tree'].sort());
  });

  it('holds the --lock flock for the step only, after waiting for whoever holds it', async () => {
    const lock = path.join(work, 'heavy.lock');
    const marker = path.join(work, 'released');
    // Another job holds the lock and leaves a marker just before it lets go.
    const other = spawn('flock', [lock, 'sh', '-c', `echo held; sleep 0.5; touch ${marker}`]);
    await once(other.stdout, 'data');
    const lines: string[] = [];
    const locked = () => spawnSync('flock', ['-n', lock, 'true']).status !== 0;
    const result = await heavy(
      'a step',
      lock,
      (l) => lines.push(l),
      async () => ({
        otherDone: existsSync(marker),
        lockedDuring: locked(),
      }),
    );
    expect(result.value).toEqual({ otherDone: true, lockedDuring: true });
    expect(locked()).toBe(false);
    expect(lines[0]).toBe(`bench: a step: waiting for ${lock}`);
    expect(lines[1]).toMatch(/^bench: a step \(load \d+\.\d\)$/);
    // without --lock nothing waits and nothing is locked
    const free = await heavy(
      'free',
      undefined,
      () => undefined,
      async () => locked(),
    );
    expect(free.value).toBe(false);
  });

  it('prints each figure with its ratio to its baseline and the goal', () => {
    const figures: BuildFigures = {
      coldBuildSeconds: 100.5,
      baselineSeconds: 104.9,
      ratioToBaseline: 0.96,
      addedPackage: 'tree',
      addedBuildSeconds: 40.2,
      addedRatioToCold: 0.4,
      addedDownloaded: ['tree'],
      rebuildAfterDocChangeSeconds: 12,
      rebuiltStages: ['content', 'iso'],
      boots: [
        { name: 'bios cd', ours: 81, plain: 60, ratio: 1.35, oursCpu: 70.2, plainCpu: 50.1, cpuRatio: 1.4 },
        { name: 'uefi usb', ours: undefined, plain: 70, ratio: undefined },
      ],
      layers: { '00-os': 224 * 2 ** 20, '05-config': 4096 },
      isoBytes: 303 * 2 ** 20,
      cpus: 2,
      loadAverage: { min: 1.23, max: 3.5 },
    };
    expect(formatBuildFigures(figures).split('\n')).toEqual([
      'cold build of mu.yaml                      100.5 s',
      'plain mmdebstrap+mksquashfs+grub-mkrescue  104.9 s; ratio 0.96 (goal ≤ 0.9)',
      'after adding tree, debs cached        40.2 s; ratio to cold 0.4 (goal ≤ 0.5); downloaded: tree',
      'rebuild after one doc change               12 s (rebuilt content, iso)',
      'power-on to healthy, TCG, bios cd      ours 81 s, plain image to login 60 s; ratio 1.35 (goal ≤ 40 s, ≤ 1.2)',
      '  QEMU CPU seconds by then                 ours 70.2 s, plain 50.1 s; ratio 1.4',
      'power-on to healthy, TCG, uefi usb     ours - s, plain image to login 70 s; ratio - (goal ≤ 40 s, ≤ 1.2)',
      '  QEMU CPU seconds by then                 ours - s, plain - s; ratio -',
      'layers                                     00-os 224 MiB, 05-config 4.0 KiB',
      'machine                                    2 cores, load average 1.2 to 3.5 during the steps',
      '',
    ]);
    expect(formatBuildFigures({ ...figures, addedDownloaded: [] })).toContain('downloaded: nothing');
  });
});
