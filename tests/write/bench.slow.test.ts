import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { benchWrite, formatWriteTable } from '../../builder/write/bench.ts';

// Real loop devices stand in for USB keys (slow tier: loop devices); nothing here opens a real disk.
const work = mkdtempSync(path.join(tmpdir(), 'openkey-bench-write-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('times the four writes of a small image on fresh loop devices, then detaches them and removes its files', async () => {
  const image = path.join(work, 'key.img');
  writeFileSync(image, randomBytes(5 * 2 ** 20 + 7));
  const lines: string[] = [];
  const figures = await benchWrite({ image, work, keyMiB: 8 }, (line) => lines.push(line));
  for (const seconds of Object.values(figures)) expect(seconds).toBeGreaterThan(0);
  expect(lines[0]).toBe(`image ${image}: 5 MiB; keys of 8 MiB`);
  // openkey write's own OK line, for the one key and for both of the two
  expect(
    lines.flatMap((l) => l.split('\n')).filter((l) => /^ {2}\/dev\/loop\d+: OK: wrote 5\.0 MiB/.test(l)),
  ).toHaveLength(3);
  expect(lines.map((l) => l.replace(/: [0-9.]+ s$/, ''))).toEqual(
    expect.arrayContaining([
      'bmaptool create (not counted)',
      'openkey write + verify + grow',
      'dd bs=4M oflag=direct conv=fsync + cmp',
      'bmaptool copy (verifies the bmap checksums)',
      'openkey write, two keys at once',
    ]),
  );
  expect(formatWriteTable(figures).split('\n')).toHaveLength(7);
  // no loop device is left on a backing file of the run, and its folder is gone
  expect(execFileSync('losetup', ['-a'], { encoding: 'utf8' })).not.toContain(work);
  expect(readdirSync(work).filter((n) => n.startsWith('openkey-bench-write-'))).toEqual([]);
  expect(existsSync(image)).toBe(true);
}, 300_000);
