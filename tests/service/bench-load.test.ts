import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../common/errors.ts';
import {
  benchLoad,
  formatLoadSummary,
  formatLoadTable,
  parseLoadArgs,
  USAGE,
} from '../../services/analysis/bench/load.ts';
import type { LoadReport } from '../../services/analysis/bench/load-clients.ts';

const report = (p50: number, p99: number, count: number, peakMiB: number): LoadReport => ({
  clients: 0,
  seconds: 5,
  health: { count, errors: 1, p50, p99, max: p99 * 2 },
  analyses: { submitted: 40, accepted: 30, busy: 6, full: 3, other: 1, done: 28 },
  rss: { startMiB: 100.4, peakMiB, endMiB: 120 },
});

describe('the load benchmark (scripts/bench-load.ts)', () => {
  it('parses its command line, with the defaults the README quotes', () => {
    expect(parseLoadArgs([])).toEqual({ clients: 50, seconds: 20, workers: 2 });
    expect(parseLoadArgs(['--clients', '3', '--seconds', '2', '--workers', '1'])).toEqual({
      clients: 3,
      seconds: 2,
      workers: 1,
    });
    expect(() => parseLoadArgs(['--clients', 'many'])).toThrow(
      new UsageError('--clients expects a whole number of at least 1, got "many"'),
    );
    expect(() => parseLoadArgs(['--client', '3'])).toThrow(
      new UsageError('unknown option --client', `did you mean --clients? usage: ${USAGE}`),
    );
  });

  it('formats the table and the goal line from given reports', () => {
    const baseline = report(2, 4, 200, 101);
    const loaded = report(30.25, 60, 150, 292.4);
    expect(formatLoadTable(50, baseline, loaded, report(3, 5, 100, 130))).toEqual([
      '                               p50 ms   p99 ms   max ms health RSS MiB   peak    end',
      'baseline: no client               2.0      4.0      8.0    200    100    101    120',
      '50 clients                       30.3     60.0    120.0    150    100    292    120',
      'after the load                    3.0      5.0     10.0    100    100    130    120',
    ]);
    expect(formatLoadSummary(baseline, loaded)).toEqual([
      'analyses: 40 submitted, 30 accepted, 28 followed to the end, 6 refused per client (429), 3 queue full (503), 1 other; health errors 1',
      "health p99 under load 60.0 ms (goal < 50 ms), 15.0× the baseline's; RSS peak 292 MiB",
    ]);
  });

  it('runs small for real against the bundled service in its own process, and cleans up', async () => {
    const temps = () => readdirSync(tmpdir()).filter((n) => /^openkey-bench-(data|load)-/.test(n));
    const before = temps();
    const lines: string[] = [];
    const result = await benchLoad({ clients: 2, seconds: 2, workers: 1, baselineMs: 500, afterMs: 300 }, (l) =>
      lines.push(l),
    );
    expect(lines[0]).toMatch(/^analysis service http:\/\/127\.0\.0\.1:\d+, 1 workers; 2 clients for 2 s\n$/);
    expect(lines[2]).toMatch(/^baseline: no client /);
    expect(lines[3]).toMatch(/^2 clients /);
    expect(result.baseline.health.count).toBeGreaterThan(0);
    expect(result.loaded.health.count).toBeGreaterThan(0);
    expect(result.loaded.analyses.accepted).toBeGreaterThan(0);
    // RSS is the service's (its own process), not this one's
    expect(result.loaded.rss.peakMiB).toBeGreaterThan(10);
    expect(lines.at(-1)).toBe(formatLoadSummary(result.baseline, result.loaded)[1]);
    expect(temps()).toEqual(before);
  }, 120_000);
});
