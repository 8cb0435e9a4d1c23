import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../common/errors.ts';
import {
  benchZll,
  DEFAULT_DATA,
  formatComparison,
  formatRow,
  parseZllArgs,
  USAGE,
} from '../../services/analysis/bench/zll.ts';
import { ATLAS_ENTRIES } from './fixtures.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the Z→ℓℓ benchmark (scripts/bench-analysis)', () => {
  it('parses its command line, with the defaults the README quotes', () => {
    expect(parseZllArgs([])).toEqual({ events: 1_000_000, repeat: 3, data: DEFAULT_DATA, skipJsroot: false });
    expect(parseZllArgs(['--events', '5000', '--repeat', '1', '--data', '/d', '--skip-jsroot'])).toEqual({
      events: 5000,
      repeat: 1,
      data: '/d',
      skipJsroot: true,
    });
    expect(() => parseZllArgs(['--repeat', '0'])).toThrow(
      new UsageError('--repeat expects a whole number of at least 1, got "0"'),
    );
  });

  it('formats rows and the comparison with JSROOT from given timings', () => {
    const work = { events: 2_000_000, basketBytes: 50e6 };
    const rows = [
      { name: 'JSROOT 1 thread (baseline)', seconds: 10, cpu: 10.5, hist: [0, 4, 2, 0] },
      { name: 'service, 1 worker', seconds: 0.8, cpu: 0.9, hist: [0, 4, 2.000002, 0] },
      { name: 'floor: node:zlib inflate, 1 thread', seconds: 0.4 },
    ];
    expect(rows.map((r) => formatRow(r, work))).toEqual([
      'JSROOT 1 thread (baseline)           10.000 s    0.200 M events/s      5.0 MB/s   10.500 s CPU',
      'service, 1 worker                     0.800 s    2.500 M events/s     62.5 MB/s    0.900 s CPU',
      'floor: node:zlib inflate, 1 thread    0.400 s    5.000 M events/s    125.0 MB/s ',
    ]);
    expect(formatComparison(rows)).toEqual([
      '',
      'service, 1 worker                  12.50× JSROOT',
      'floor: node:zlib inflate, 1 thread 25.00× JSROOT',
      'service, 1 worker: histogram max relative difference from JSROOT 1.00e-6',
    ]);
    expect(formatComparison(rows.slice(1))).toEqual([]);
  });

  it('runs small for real: one pass over the ATLAS files, the service equal to JSROOT, the temp dataset removed', async () => {
    const temps = () => readdirSync(tmpdir()).filter((n) => n.startsWith('openkey-bench-data-'));
    const before = temps();
    const lines: string[] = [];
    const result = await benchZll(
      { events: 1, repeat: 1, data: DEFAULT_DATA, skipJsroot: false, workers: [1], spinIterations: 1e5 },
      (line) => lines.push(line),
    );
    expect(result.events).toBe(ATLAS_ENTRIES);
    expect(lines[0]).toMatch(
      new RegExp(
        `^Z→ℓℓ over 7 ATLAS 8 TeV files × 1 = 7 files, ${ATLAS_ENTRIES} events, \\d+\\.\\d MB of baskets in 11 branches; \\d+ cores\n$`,
      ),
    );
    expect(lines[1]).toMatch(/^cores this process gets right now: \d+\.\d\d of \d+\n$/);
    expect(result.rows.map((r) => r.name)).toEqual([
      'JSROOT 1 thread (baseline)',
      'service, 1 worker, cached columns',
      'service, 1 worker, no column cache',
      'floor: node:zlib inflate, 1 thread',
    ]);
    const [jsroot, service, uncached] = result.rows;
    expect(jsroot!.hist!.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    for (const [i, v] of service!.hist!.entries()) expect(v).toBeCloseTo(jsroot!.hist![i]!, 6);
    // The cached and the inflating paths give the same histogram to the last bit.
    expect(uncached!.hist).toEqual(service!.hist);
    expect(result.ratios['service, 1 worker, cached columns']).toBeCloseTo(jsroot!.seconds / service!.seconds, 2);
    expect(lines.slice(2, 6)).toEqual(result.rows.map((r) => formatRow(r, result)));
    expect(
      lines.some((l) =>
        /^service, 1 worker, cached columns: histogram max relative difference from JSROOT \d\.\d\de-?\d+$/.test(l),
      ),
    ).toBe(true);
    // The first answer and the cache's memory, measured: the cache holds about the decompressed baskets read.
    const cold = result.cold!;
    expect(cold.firstSeconds).toBeGreaterThan(0);
    expect(cold.warmSeconds).toBeGreaterThan(0);
    expect(cold.cacheBytes).toBeGreaterThan(0.5 * cold.decompressedBytes);
    expect(cold.cacheBytes).toBeLessThanOrEqual(1.1 * cold.decompressedBytes);
    expect(lines.at(-1)).toMatch(
      /^column cache \d+\.\d MB = \d\.\d{3}× the \d+\.\d MB of decompressed baskets read \(goal ≤ 1\.1×; budget \d+\.\d MB\)$/,
    );
    expect(lines).toContain(
      `service, 1 worker, cached columns: ${(result.events / service!.seconds / 1e6).toFixed(1)} M events/s = ` +
        `${(result.rows[3]!.seconds / service!.seconds).toFixed(2)}× the zlib floor (goal ≥ 20 M events/s, ≥ 4× the floor)`,
    );
    expect(temps()).toEqual(before);
  }, 120_000);

  it('the script refuses a bad option with the message and the usage, exit 2', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-analysis.ts', '--evnts', '5'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `bench-analysis: unknown option --evnts\n  hint: did you mean --events? usage: ${USAGE}\n`,
    );
    expect(result.stdout).toBe('');
  });
});
