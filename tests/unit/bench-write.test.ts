import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE, formatWriteTable, parseWriteBenchArgs, USAGE } from '../../builder/write/bench.ts';
import { UsageError } from '../../common/errors.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'openkey-bench-write-args-'));
const image = path.join(dir, 'key.img');
writeFileSync(image, Buffer.alloc(3 * 2 ** 20 + 1));
const NO_IMAGE = path.join(dir, 'out/openkey-s/openkey-s-0.1.0-usb.img');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the write benchmark (scripts/bench-write)', () => {
  it("defaults to the S key's disk image in out/", () => {
    expect(DEFAULT_IMAGE).toBe(path.resolve(import.meta.dirname, '../../out/openkey-s/openkey-s-0.1.0-usb.img'));
  });

  it('takes IMAGE relative to the working folder, --work, --key-mib and --key-mbs', () => {
    expect(parseWriteBenchArgs(['key.img'], dir)).toEqual({ image, work: tmpdir() });
    expect(
      parseWriteBenchArgs([image, '--work', 'w', '--key-mib', '4', '--key-mbs', '30', '--rounds', '3'], dir),
    ).toEqual({ image, work: path.join(dir, 'w'), keyMiB: 4, keyMBs: 30, rounds: 3 });
  });

  it.each([
    [['nothing.img'], `${path.join(dir, 'nothing.img')}: no such image file`, `usage: ${USAGE}`],
    [[], `${NO_IMAGE}: no such image file`, 'build the S key first (scripts/build), or give IMAGE'],
    [['key.img', 'other.img'], 'unexpected argument "other.img"', `usage: ${USAGE}`],
    [['key.img', '--key-mib', 'lots'], '--key-mib expects a whole number of at least 1, got "lots"', undefined],
    [['key.img', '--key-mib', '3'], '--key-mib 3: smaller than the image (4 MiB)', undefined],
    [['key.img', '--keymib', '3'], 'unknown option --keymib', `did you mean --key-mib? usage: ${USAGE}`],
    [['key.img', '--key-mbs', '0'], '--key-mbs expects a whole number of at least 1, got "0"', undefined],
  ])('refuses %j: %s', (argv, message, hint) => {
    expect(() => parseWriteBenchArgs(argv, dir, NO_IMAGE)).toThrow(new UsageError(message, hint));
    try {
      parseWriteBenchArgs(argv, dir, NO_IMAGE);
    } catch (error) {
      expect((error as UsageError).hint).toBe(hint);
    }
  });

  it('formats the README table with the ratios from given timings', () => {
    expect(formatWriteTable({ ours: 10.8, dd: 14.6, bmaptool: 13.6, two: 14.3 })).toBe(
      [
        '| what | seconds | ratio |',
        '|---|---|---|',
        '| openkey write (write + O_DIRECT verify + grow) | 10.8 | 1 |',
        '| dd bs=4M oflag=direct conv=fsync + cmp | 14.6 | ours 0.74× of dd |',
        '| bmaptool copy with its bmap | 13.6 | ours 0.79× of bmaptool |',
        '| openkey write, two keys at once | 14.3 | 1.32× one key (goal < 1.3) |',
        '',
      ].join('\n'),
    );
    const throttled = formatWriteTable({
      ours: 1,
      dd: 1,
      bmaptool: 1,
      two: 2,
      throttled: { mbs: 30, one: 40, two: 44 },
    });
    expect(throttled.split('\n').slice(-3)).toEqual([
      '| openkey write, one key of 30 MB/s | 40.0 | 1 |',
      '| openkey write, two keys of 30 MB/s at once | 44.0 | 1.10× one key (goal < 1.3) |',
      '',
    ]);
  });
});
