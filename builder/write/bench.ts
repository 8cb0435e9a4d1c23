/**
 * Benchmark of `openkey write` (scripts/bench-write prints it, tests/write/bench.slow.test.ts runs it small), on
 * file-backed loop devices, in one run:
 *   1. openkey write IMAGE LOOP: holes skipped, every written range read back with O_DIRECT, persistence grown;
 *   2. baseline: dd bs=4M oflag=direct conv=fsync, then cmp of the image against the device;
 *   3. baseline: bmaptool copy with the image's bmap (bmaptool create), which verifies the mapped ranges' checksums;
 *   4. openkey write onto two loop devices at once.
 * Each run writes onto a fresh sparse backing file, so no run profits from a previous one on the device side; the
 * image is read once beforehand so every run finds it in the page cache alike.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bestOfRounds, markdownTable, parseBenchArgs, wholeNumber } from '../../common/bench.ts';
import { UsageError } from '../../common/errors.ts';
import { PROJECT_ROOT } from '../plan/survey.ts';
import { run } from '../tools/exec.ts';

export const USAGE = 'scripts/bench-write [IMAGE] [--work DIR] [--key-mib N] [--key-mbs N] [--rounds N]';
export const DEFAULT_IMAGE = path.join(PROJECT_ROOT, 'out/openkey-s/openkey-s-0.1.0-usb.img');

export interface WriteBenchOptions {
  image: string;
  /** The folder the backing files are made in (a temp folder inside it, removed afterwards). */
  work: string;
  /** Size of each key; by default the image's plus 512 MiB, room for the persistence partition to grow. */
  keyMiB?: number;
  /**
   * Also time one key and two keys on loop devices throttled to this many MB/s each way (the blkio controller), as
   * independent USB sticks are: unthrottled, two loop devices share this machine's one disk and its page cache.
   */
  keyMBs?: number;
  /** Rounds of every run, taking turns; each run's fastest round counts (default 1). */
  rounds?: number;
}

/** The command line of scripts/bench-write; a bad one is a UsageError with the exact complaint. */
export function parseWriteBenchArgs(
  argv: string[],
  cwd = process.cwd(),
  defaultImage = DEFAULT_IMAGE,
): WriteBenchOptions {
  const { values, positionals } = parseBenchArgs(
    argv,
    {
      work: { type: 'string' },
      'key-mib': { type: 'string' },
      'key-mbs': { type: 'string' },
      rounds: { type: 'string' },
    },
    USAGE,
    true,
  );
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`, `usage: ${USAGE}`);
  const image = path.resolve(cwd, positionals[0] ?? defaultImage);
  if (!existsSync(image) || !statSync(image).isFile())
    throw new UsageError(
      `${image}: no such image file`,
      positionals[0] === undefined ? 'build the S key first (scripts/build), or give IMAGE' : `usage: ${USAGE}`,
    );
  const keyMiB = values['key-mib'] === undefined ? undefined : wholeNumber(values['key-mib'], '--key-mib', 1);
  if (keyMiB !== undefined && keyMiB * 2 ** 20 < statSync(image).size)
    throw new UsageError(
      `--key-mib ${keyMiB}: smaller than the image (${Math.ceil(statSync(image).size / 2 ** 20)} MiB)`,
    );
  const keyMBs = values['key-mbs'] === undefined ? undefined : wholeNumber(values['key-mbs'], '--key-mbs', 1);
  return {
    image,
    work: path.resolve(cwd, values.work ?? os.tmpdir()),
    ...(keyMiB === undefined ? {} : { keyMiB }),
    ...(keyMBs === undefined ? {} : { keyMBs }),
    ...(values.rounds === undefined ? {} : { rounds: wholeNumber(values.rounds, '--rounds', 1) }),
  };
}

/** Seconds of each run. */
export interface WriteFigures {
  ours: number;
  dd: number;
  bmaptool: number;
  two: number;
  /** With --key-mbs: one key and two keys at once on throttled loop devices. */
  throttled?: { mbs: number; one: number; two: number };
}

/** The README's table: each run's seconds and its ratio to the baselines (ours to dd, to bmaptool; two keys to one). */
export function formatWriteTable(f: WriteFigures): string {
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  return markdownTable(
    ['what', 'seconds', 'ratio'],
    [
      ['openkey write (write + O_DIRECT verify + grow)', f.ours.toFixed(1), '1'],
      ['dd bs=4M oflag=direct conv=fsync + cmp', f.dd.toFixed(1), `ours ${ratio(f.ours, f.dd)}× of dd`],
      ['bmaptool copy with its bmap', f.bmaptool.toFixed(1), `ours ${ratio(f.ours, f.bmaptool)}× of bmaptool`],
      ['openkey write, two keys at once', f.two.toFixed(1), `${ratio(f.two, f.ours)}× one key (goal < 1.3)`],
      ...(f.throttled === undefined
        ? []
        : [
            [`openkey write, one key of ${f.throttled.mbs} MB/s`, f.throttled.one.toFixed(1), '1'],
            [
              `openkey write, two keys of ${f.throttled.mbs} MB/s at once`,
              f.throttled.two.toFixed(1),
              `${ratio(f.throttled.two, f.throttled.one)}× one key (goal < 1.3)`,
            ],
          ]),
    ],
  );
}

/**
 * A cgroup whose processes may move at most `bytesPerSecond` each way on each device added to it: the blkio
 * controller's throttle (cgroup v1) or io.max (v2). It throttles what a process submits itself, as O_DIRECT does;
 * buffered writes flushed later by the kernel escape v1's throttle, so only O_DIRECT writers are timed under it.
 */
async function throttleGroup(bytesPerSecond: number) {
  const v1 = '/sys/fs/cgroup/blkio';
  const isV1 = existsSync(path.join(v1, 'blkio.throttle.write_bps_device'));
  const root = isV1 ? v1 : '/sys/fs/cgroup';
  if (!isV1 && !existsSync(path.join(root, 'cgroup.controllers')))
    throw new UsageError(
      '--key-mbs needs the blkio (cgroup v1) or io (cgroup v2) controller, and this machine has neither',
    );
  if (!isV1) await writeFile(path.join(root, 'cgroup.subtree_control'), '+io').catch(() => undefined);
  const dir = path.join(root, `openkey-bench-write-${process.pid}`);
  await mkdir(dir, { recursive: true });
  return {
    async add(device: string): Promise<void> {
      const { rdev } = await stat(device);
      const majMin = `${Math.floor(rdev / 256) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;
      if (isV1) {
        await writeFile(path.join(dir, 'blkio.throttle.write_bps_device'), `${majMin} ${bytesPerSecond}`);
        await writeFile(path.join(dir, 'blkio.throttle.read_bps_device'), `${majMin} ${bytesPerSecond}`);
      } else await writeFile(path.join(dir, 'io.max'), `${majMin} rbps=${bytesPerSecond} wbps=${bytesPerSecond}`);
    },
    /** The command line that runs `argv` inside the group. */
    wrap: (argv: string[]): [string, string[]] => [
      'sh',
      ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, ...argv],
    ],
    remove: () => rmdir(dir).catch(() => undefined),
  };
}

/** Runs the four writes; progress and each run's time go to `log` (stderr in the script). */
export async function benchWrite(options: WriteBenchOptions, log: (line: string) => void): Promise<WriteFigures> {
  const { image } = options;
  const imageBytes = statSync(image).size;
  const keyBytes = (options.keyMiB ?? Math.ceil(imageBytes / 2 ** 20) + 512) * 2 ** 20;
  await mkdir(options.work, { recursive: true });
  const work = await mkdtemp(path.join(options.work, 'openkey-bench-write-'));
  const loops: string[] = [];

  const backings = new Map<string, string>();
  const freshKey = async (name: string): Promise<string> => {
    const backing = path.join(work, `${name}-${backings.size}.raw`);
    await run('truncate', ['-s', String(keyBytes), backing]);
    const loop = (await run('losetup', ['--find', '--show', backing], { aptPackage: 'mount' })).stdout.trim();
    loops.push(loop);
    backings.set(loop, backing);
    return loop;
  };
  /** Times one run on fresh keys, then detaches them and frees their backing files (not counted). */
  const timed = async (what: string, action: () => Promise<void>): Promise<number> => {
    const before = loops.length;
    const started = performance.now();
    await action();
    const seconds = (performance.now() - started) / 1000;
    log(`${what}: ${seconds.toFixed(2)} s`);
    for (const loop of loops.splice(before)) {
      await run('losetup', ['-d', loop]);
      await rm(backings.get(loop) as string, { force: true });
    }
    return seconds;
  };
  /** The arguments to node that run `openkey write` onto `devices`, for a plain and a throttled run alike. */
  const openkeyWrite = (devices: string[]) => [
    path.join(PROJECT_ROOT, 'bin/openkey.mjs'),
    'write',
    image,
    ...devices,
    '--yes',
  ];
  const openkey = async (devices: string[]) => (await run(process.execPath, openkeyWrite(devices))).stdout;

  try {
    log(`image ${image}: ${(imageBytes / 2 ** 20).toFixed(0)} MiB; keys of ${(keyBytes / 2 ** 20).toFixed(0)} MiB`);
    // Warm the page cache, so every run finds the image there alike (dd: cat would hand the bytes to us).
    await run('dd', [`if=${image}`, 'of=/dev/null', 'bs=4M', 'status=none']);
    // The CLI's bundle is made once after a source changed (bin/cli-bundle.mjs): made here, so no timed run pays it.
    await run(process.execPath, [path.join(PROJECT_ROOT, 'bin/openkey.mjs'), '--version']);
    const bmap = path.join(work, 'image.bmap');
    await timed('bmaptool create (not counted)', () =>
      run('bmaptool', ['create', '-o', bmap, image], { aptPackage: 'bmap-tools' }).then(() => undefined),
    );
    const ourWrite = () =>
      timed('openkey write + verify + grow', async () => {
        log(`  ${(await openkey([await freshKey('ours')])).trim()}`);
      });
    const ddWrite = () =>
      timed('dd bs=4M oflag=direct conv=fsync + cmp', async () => {
        const key = await freshKey('dd');
        await run('dd', [`if=${image}`, `of=${key}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none']);
        await run('cmp', ['-n', String(imageBytes), image, key], { aptPackage: 'diffutils' });
      });
    const bmapWrite = () =>
      timed('bmaptool copy (verifies the bmap checksums)', async () => {
        await run('bmaptool', ['copy', '--bmap', bmap, image, await freshKey('bmap')], { aptPackage: 'bmap-tools' });
      });
    const twoWrite = () =>
      timed('openkey write, two keys at once', async () => {
        const out = await openkey([await freshKey('two-a'), await freshKey('two-b')]);
        log(`  ${out.trim().replace(/\n/g, '\n  ')}`);
      });
    const runs = [ourWrite, ddWrite, bmapWrite, twoWrite];
    const group = options.keyMBs === undefined ? undefined : await throttleGroup(options.keyMBs * 1e6);
    try {
      if (group !== undefined && options.keyMBs !== undefined) {
        const mbs = options.keyMBs;
        const throttledKey = async (name: string) => {
          const loop = await freshKey(name);
          await group.add(loop);
          return loop;
        };
        const throttledOpenkey = async (devices: string[]) => {
          const [command, args] = group.wrap([process.execPath, ...openkeyWrite(devices)]);
          log(`  ${(await run(command, args)).stdout.trim().replace(/\n/g, '\n  ')}`);
        };
        log(`keys throttled to ${mbs} MB/s each way (${group.wrap([])[1][2]})`);
        runs.push(
          () =>
            timed(`openkey write, one key of ${mbs} MB/s`, async () => throttledOpenkey([await throttledKey('slow')])),
          () =>
            timed(`openkey write, two keys of ${mbs} MB/s at once`, async () =>
              throttledOpenkey([await throttledKey('slow-a'), await throttledKey('slow-b')]),
            ),
        );
      }
      // Taking turns, best of the rounds: this machine's writeback of other work lands on whichever run is going.
      const best = (
        await bestOfRounds(
          options.rounds ?? 1,
          runs.map((action) => async () => ({ seconds: await action() })),
        )
      ).map((r) => r.seconds);
      const [ours, dd, bmaptool, two, one, twoThrottled] = best as [number, number, number, number, number?, number?];
      return {
        ours,
        dd,
        bmaptool,
        two,
        ...(options.keyMBs === undefined || one === undefined || twoThrottled === undefined
          ? {}
          : { throttled: { mbs: options.keyMBs, one, two: twoThrottled } }),
      };
    } finally {
      await group?.remove();
    }
  } finally {
    for (const loop of loops) await run('losetup', ['-d', loop]);
    await rm(work, { recursive: true, force: true });
  }
}
