import { describe, expect, it } from 'vitest';
import {
  bestOfRounds,
  markdownTable,
  parseBenchArgs,
  parseCount,
  ratio,
  runBench,
  wholeNumber,
} from '../../common/bench.ts';
import { UsageError } from '../../common/errors.ts';

const OPTIONS = { events: { type: 'string', default: '10' }, 'skip-jsroot': { type: 'boolean' } } as const;
const USAGE = 'scripts/bench-x [--events N] [--skip-jsroot]';

/** The UsageError `action` throws, as message and hint. */
function usageError(action: () => unknown): { message: string; hint: string | undefined } {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return { message: (error as UsageError).message, hint: (error as UsageError).hint };
  }
  throw new Error('no error thrown');
}

describe('common/bench: arguments', () => {
  it('parses options with their defaults', () => {
    expect(parseBenchArgs([], OPTIONS, USAGE).values).toEqual({ events: '10' });
    expect(parseBenchArgs(['--events', '5', '--skip-jsroot'], OPTIONS, USAGE).values).toEqual({
      events: '5',
      'skip-jsroot': true,
    });
  });

  it.each([
    [['--evnts', '5'], 'unknown option --evnts', `did you mean --events? usage: ${USAGE}`],
    [['--frobnicate'], 'unknown option --frobnicate', `usage: ${USAGE}`],
    [['--events'], '--events needs a value', `usage: ${USAGE}`],
    [['--skip-jsroot=yes'], '--skip-jsroot takes no value', `usage: ${USAGE}`],
    [['image.img'], 'unexpected argument "image.img"', `usage: ${USAGE}`],
  ])('refuses %j: %s', (argv, message, hint) => {
    expect(usageError(() => parseBenchArgs(argv, OPTIONS, USAGE))).toEqual({ message, hint });
  });

  it('takes positionals only when allowed', () => {
    expect(parseBenchArgs(['a.img'], OPTIONS, USAGE, true).positionals).toEqual(['a.img']);
  });

  it.each([
    ['12', 0, 12],
    [' 7 ', 1, 7],
  ])('wholeNumber(%j, min %d) is %d', (text, min, value) => {
    expect(wholeNumber(text, '--n', min)).toBe(value);
  });

  it.each([
    ['abc', 0, '--repeat expects a whole number of at least 0, got "abc"'],
    ['0', 1, '--repeat expects a whole number of at least 1, got "0"'],
    ['1.5', 1, '--repeat expects a whole number of at least 1, got "1.5"'],
    ['-3', 0, '--repeat expects a whole number of at least 0, got "-3"'],
    ['99999999999999999999', 0, '--repeat expects a whole number of at least 0, got "99999999999999999999"'],
  ])('wholeNumber(%j, min %d) refuses: %s', (text, min, message) => {
    expect(usageError(() => wholeNumber(text, '--repeat', min)).message).toBe(message);
  });
});

describe('common/bench: counts', () => {
  it.each([
    ['250000', 250_000],
    ['250k', 250_000],
    ['10M', 10_000_000],
    ['1e6', 1_000_000],
    ['1_000', 1000],
    ['1.5k', 1500],
  ])('parseCount(%j) is %d', (text, value) => {
    expect(parseCount(text, '--events')).toBe(value);
  });

  it.each(['ten', '1.5', '-3', '1e400'])('parseCount(%j) refuses', (text) => {
    expect(usageError(() => parseCount(text, '--events')).message).toBe(
      `--events expects a whole number, got "${text}"`,
    );
  });
});

describe('common/bench: figures', () => {
  it('ratios round to two decimals and are undefined without both figures', () => {
    expect([ratio(100.5, 104.9), ratio(1, 3), ratio(undefined, 2), ratio(2, undefined), ratio(2, 0)]).toEqual([
      0.96,
      0.33,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('best of rounds: the configurations take turns and each keeps its fastest round', async () => {
    const order: string[] = [];
    const timings = { a: [3, 1, 2], b: [5, 6, 4] };
    const run = (name: 'a' | 'b') => {
      let round = 0;
      return async () => {
        order.push(name);
        return { name, seconds: timings[name][round++]!, round };
      };
    };
    const bests = await bestOfRounds(3, [run('a'), run('b')]);
    expect(order).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    expect(bests).toEqual([
      { name: 'a', seconds: 1, round: 2 },
      { name: 'b', seconds: 4, round: 3 },
    ]);
  });

  it('markdown tables', () => {
    expect(
      markdownTable(
        ['what', 'seconds'],
        [
          ['ours', '1.0'],
          ['dd', '2.0'],
        ],
      ),
    ).toBe('| what | seconds |\n|---|---|\n| ours | 1.0 |\n| dd | 2.0 |\n');
  });

  it('runBench prints a usage mistake with its hint and sets exit code 2; a bug keeps its stack', async () => {
    const written: string[] = [];
    const write = process.stderr.write;
    const exitCode = process.exitCode;
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
    try {
      await runBench('bench-x', async () => {
        throw new UsageError('unknown option --evnts', 'did you mean --events?');
      });
      expect(process.exitCode).toBe(2);
    } finally {
      process.stderr.write = write;
      process.exitCode = exitCode;
    }
    expect(written.join('')).toBe('bench-x: unknown option --evnts\n  hint: did you mean --events?\n');
    await expect(
      runBench('bench-x', async () => {
        throw new TypeError('a bug');
      }),
    ).rejects.toThrow('a bug');
  });
});
