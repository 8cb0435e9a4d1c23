/**
 * Benchmark of `openkey write` (figures for the README), on file-backed loop devices, in one run:
 *   1. openkey write IMAGE LOOP: holes skipped, every written range read back with O_DIRECT, persistence grown;
 *   2. baseline: dd bs=4M oflag=direct conv=fsync, then cmp of the image against the device;
 *   3. baseline: bmaptool copy with the image's bmap (bmaptool create), which verifies the mapped ranges' checksums;
 *   4. openkey write onto two loop devices at once.
 * Each run writes onto a fresh sparse backing file, so no run profits from a previous one on the device side; the
 * image is read once beforehand so every run finds it in the page cache alike.
 * Usage: scripts/bench-write [IMAGE] [--work DIR] [--key-mib N]
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../builder/plan/survey.ts';

const { values, positionals } = parseArgs({
  options: { work: { type: 'string' }, 'key-mib': { type: 'string' } },
  allowPositionals: true,
});
const image = path.resolve(positionals[0] ?? path.join(PROJECT_ROOT, 'out/openkey-s/openkey-s-0.1.0-usb.img'));
const imageBytes = (await stat(image)).size;
const keyBytes = Number(values['key-mib'] ?? Math.ceil(imageBytes / 2 ** 20) + 512) * 2 ** 20;
const base = values.work ?? os.tmpdir();
await mkdir(base, { recursive: true });
const work = await mkdtemp(path.join(base, 'openkey-bench-write-'));
const loops: string[] = [];
const log = (text: string) => process.stderr.write(`${text}\n`);

function sh(program: string, args: string[], input?: string): string {
  return execFileSync(program, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, ...(input ? { input } : {}) });
}

function freshKey(name: string): string {
  const backing = path.join(work, `${name}.raw`);
  sh('truncate', ['-s', String(keyBytes), backing]);
  const loop = sh('losetup', ['--find', '--show', backing]).trim();
  loops.push(loop);
  return loop;
}

function timed(what: string, action: () => void): number {
  const started = performance.now();
  action();
  const seconds = (performance.now() - started) / 1000;
  log(`${what}: ${seconds.toFixed(2)} s`);
  return seconds;
}

const openkey = (devices: string[]) =>
  sh(process.execPath, [path.join(PROJECT_ROOT, 'bin/openkey.mjs'), 'write', image, ...devices, '--yes']);

try {
  log(`image ${image}: ${(imageBytes / 2 ** 20).toFixed(0)} MiB; keys of ${(keyBytes / 2 ** 20).toFixed(0)} MiB`);
  // Warm the page cache, so every run finds the image there alike.
  execFileSync('cat', [image], { stdio: ['ignore', 'ignore', 'inherit'] });
  const bmap = path.join(work, 'image.bmap');
  const bmapCreate = timed('bmaptool create (not counted)', () => sh('bmaptool', ['create', '-o', bmap, image]));
  void bmapCreate;

  const ours = timed('openkey write + verify + grow', () => {
    const out = openkey([freshKey('ours')]);
    log(`  ${out.trim()}`);
  });
  const dd = timed('dd bs=4M oflag=direct conv=fsync + cmp', () => {
    const key = freshKey('dd');
    sh('dd', [`if=${image}`, `of=${key}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none']);
    sh('cmp', ['-n', String(imageBytes), image, key]);
  });
  const bmaptool = timed('bmaptool copy (verifies the bmap checksums)', () => {
    sh('bmaptool', ['copy', '--bmap', bmap, image, freshKey('bmap')]);
  });
  const two = timed('openkey write, two keys at once', () => {
    const out = openkey([freshKey('two-a'), freshKey('two-b')]);
    log(`  ${out.trim().replace(/\n/g, '\n  ')}`);
  });
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  process.stdout.write(
    [
      '| what | seconds | ratio |',
      '|---|---|---|',
      `| openkey write (write + O_DIRECT verify + grow) | ${ours.toFixed(1)} | 1 |`,
      `| dd bs=4M oflag=direct conv=fsync + cmp | ${dd.toFixed(1)} | ours ${ratio(ours, dd)}× of dd |`,
      `| bmaptool copy with its bmap | ${bmaptool.toFixed(1)} | ours ${ratio(ours, bmaptool)}× of bmaptool |`,
      `| openkey write, two keys at once | ${two.toFixed(1)} | ${ratio(two, ours)}× one key (goal < 1.3) |`,
      '',
    ].join('\n'),
  );
} finally {
  for (const loop of loops) execFileSync('losetup', ['-d', loop]);
  await rm(work, { recursive: true, force: true });
}
