import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { benchSynth } from '../../builder/synth/bench.ts';

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
