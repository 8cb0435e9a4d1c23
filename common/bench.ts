/**
 * What every benchmark script shares (scripts/bench-*): argument parsing with the project's usage errors, whole-number
 * options, ratios against a baseline, best-of-rounds timing, and the one way a script reports a mistake. The
 * benchmarks themselves live beside what they measure (builder/build-bench.ts, builder/synth/bench.ts,
 * builder/write/bench.ts, services/analysis/bench/); the scripts only call them.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isOpenKeyError, UsageError } from './errors.ts';
import { closest } from './suggest.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs, with its errors turned into UsageErrors that name the option and the usage line (and the
 * option meant, for a typo), instead of Node's long TypeError text.
 */
export function parseBenchArgs<O extends Options>(argv: string[], options: O, usage: string, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
    const hint = `usage: ${usage}`;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const known = closest(quoted.replace(/^-+/, ''), Object.keys(options));
      throw new UsageError(`unknown option ${quoted}`, known === undefined ? hint : `did you mean --${known}? ${hint}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = quoted.split(' ')[0] ?? quoted;
      throw new UsageError(
        /does not take an argument/.test(message) ? `${name} takes no value` : `${name} needs a value`,
        hint,
      );
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument "${quoted}"`, hint);
    throw error;
  }
}

/** A whole-number option (`--events 1000000`); `min` is the smallest value that makes sense. */
export function wholeNumber(text: string, option: string, min = 0): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < min)
    throw new UsageError(`${option} expects a whole number of at least ${min}, got "${text}"`);
  return value;
}

/** Parses 250000, 250k, 10M, 1e6 … into an integer (event counts: `openkey synth`, scripts/bench-synth.ts). */
export function parseCount(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(?:e(\d+))?([kKmM])?$/.exec(text.trim().replaceAll('_', ''));
  if (!match)
    throw new UsageError(
      `${option} expects a whole number, got "${text}"`,
      'for example --events 250000 or --events 10M',
    );
  let value = Number(match[1]) * (match[2] === undefined ? 1 : 10 ** Number(match[2]));
  const suffix = match[3]?.toLowerCase();
  if (suffix === 'k') value *= 1e3;
  if (suffix === 'm') value *= 1e6;
  if (!Number.isSafeInteger(value)) throw new UsageError(`${option} expects a whole number, got "${text}"`);
  return value;
}

/** a / b rounded to two decimals; undefined when a figure is missing (a step that did not run) or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0) return undefined;
  return Math.round((a / b) * 100) / 100;
}

/**
 * Runs the configurations in turn, `repeat` rounds, and keeps each one's fastest round: a shared machine disturbs
 * some rounds, and taking turns spreads the disturbance over all configurations instead of one.
 */
export async function bestOfRounds<T extends { seconds: number }>(
  repeat: number,
  runs: readonly (() => Promise<T>)[],
): Promise<T[]> {
  const bests: T[] = [];
  for (let round = 0; round < repeat; round++)
    for (let i = 0; i < runs.length; i++) {
      const result = await runs[i]!();
      if (bests[i] === undefined || result.seconds < bests[i]!.seconds) bests[i] = result;
    }
  return bests;
}

/** A markdown table (the README takes these as they are). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}

/**
 * How a benchmark script ends: a usage mistake or another error a user can act on prints one line and its hint and
 * exits with the error's code; anything else is a bug and keeps its stack.
 */
export async function runBench(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (!isOpenKeyError(error)) throw error;
    process.stderr.write(`${name}: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}\n`);
    process.exitCode = error.exitCode;
  }
}
