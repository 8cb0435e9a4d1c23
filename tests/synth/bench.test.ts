import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { benchSynth, parseSynthBenchArgs, USAGE } from '../../builder/synth/bench.ts';
import { UsageError } from '../../common/errors.ts';

it('the synth benchmark writes the file it measures and reports figures consistent with it', async () => {
  const keep = await mkdtemp(join(tmpdir(), 'openkey-bench-synth-test-'));
  try {
    const lines: string[] = [];
    const report = await benchSynth({
      process: 'zll',
      events: 3000,
      level: 1,
      seed: 7,
      keep,
      onSample: (l) => lines.push(l),
    });
    const bytes = (await stat(join(keep, 'zll.root'))).size;
    expect(report).toMatchObject({ process: 'zll', events: 3000, compression: 'zlib-1' });
    expect(report.fileMB).toBeCloseTo(bytes / 1e6, 1);
    expect(report.bytesPerEvent).toBeCloseTo(bytes / 3000, 0);
    // seconds is rounded to 0.1 s in the report, the rate is not
    expect(Math.abs(report.eventsPerSecond * report.seconds - 3000)).toBeLessThan(0.06 * report.eventsPerSecond + 1);
    expect(report.rssMBAtEnd).not.toBeNull();
    expect(lines.at(-1)).toMatch(/^100% {2}3,000 events {2}/);
  } finally {
    await rm(keep, { recursive: true, force: true });
  }
  // without --keep the temporary folder goes away
  const before = (await readdir(tmpdir())).filter((n) => n.startsWith('openkey-bench-synth-') && !n.includes('test'));
  await benchSynth({ process: 'hyy', events: 500, level: 0, seed: 1 });
  const after = (await readdir(tmpdir())).filter((n) => n.startsWith('openkey-bench-synth-') && !n.includes('test'));
  expect(after).toEqual(before);
});

it('the synth benchmark command line: defaults, counts with suffixes, and exact refusals', () => {
  expect(parseSynthBenchArgs([])).toEqual({ process: 'zll', events: 10_000_000, level: 1, seed: 1 });
  expect(parseSynthBenchArgs(['--events', '250k', '--process', 'hyy', '--compress', '0', '--keep', 'd'])).toEqual({
    process: 'hyy',
    events: 250_000,
    level: 0,
    seed: 1,
    keep: 'd',
  });
  expect(() => parseSynthBenchArgs(['--events', '2x'])).toThrow(
    new UsageError('--events expects a whole number, got "2x"', 'for example --events 250000 or --events 10M'),
  );
  expect(() => parseSynthBenchArgs(['--compress', '12'])).toThrow(new UsageError('--compress expects 0 to 9, got 12'));
  expect(() => parseSynthBenchArgs(['--proces', 'zll'])).toThrow(
    new UsageError('unknown option --proces', `did you mean --process? usage: ${USAGE}`),
  );
});
