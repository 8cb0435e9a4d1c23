import { describe, expect, it } from 'vitest';
import { isOpenKeyError, OpenKeyError, UsageError } from '../../common/errors.ts';
import { formatBytes, formatDuration } from '../../common/format.ts';
import { closest, closestNames, nearestNames } from '../../common/suggest.ts';
import { formatProgress } from '../../builder/util/progress.ts';

describe('common/format', () => {
  it.each([
    [0, undefined, '0 B'],
    [1023, undefined, '1023 B'],
    [1536, undefined, '1.5 KiB'],
    [10 * 1024 ** 2, undefined, '10 MiB'],
    [9.4e9, undefined, '8.8 GiB'],
    [512.4, 1, '512 B'],
    [10 * 1024 ** 2, 1, '10.0 MiB'],
  ])('formatBytes(%s, %s) is %s', (bytes, decimals, expected) => {
    expect(formatBytes(bytes, decimals)).toBe(expected);
  });

  it('formats durations and progress lines', () => {
    expect([formatDuration(Infinity), formatDuration(59.6), formatDuration(61)]).toEqual(['--:--', '1:00', '1:01']);
    expect(formatProgress({ stage: 'write', done: 1024 ** 2, total: 4 * 1024 ** 2, startedAt: 0, now: 1000 })).toBe(
      'write      25%  1.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 0:03',
    );
  });
});

describe('common/suggest', () => {
  it('closest: one plausible typo or nothing', () => {
    expect(closest('biuld', ['build', 'check', 'plan'])).toBe('build');
    expect(closest('zzzzzz', ['build', 'check'])).toBeUndefined();
  });

  it('closestNames: typos only, a case-only difference alone', () => {
    expect(closestNames('lep_pT', ['lep_pt', 'lep_pT_x', 'jet_pt'])).toEqual(['lep_pt']);
    expect(closestNames('lep_et', ['lep_pt', 'lep_eta', 'met_et', 'photon_n'])).toEqual([
      'lep_eta',
      'lep_pt',
      'met_et',
    ]);
    expect(closestNames('qqqq', ['lep_pt'])).toEqual([]);
  });

  it('nearestNames: substring matches first, however far the rest', () => {
    expect(nearestNames('zll', ['atlas-zll-sample', 'hyy', 'data'], 2)).toEqual(['atlas-zll-sample', 'hyy']);
  });
});

describe('common/errors', () => {
  it('carries code, hint and exit code', () => {
    const error = new OpenKeyError('E_X', 'what', { hint: 'next' });
    expect([error.code, error.message, error.hint, error.exitCode, isOpenKeyError(error)]).toEqual([
      'E_X',
      'what',
      'next',
      1,
      true,
    ]);
    expect(new UsageError('bad').exitCode).toBe(2);
    expect(isOpenKeyError(new Error('plain'))).toBe(false);
  });
});
