import path from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';
import type { Origin } from './types.ts';

/** One thing wrong with a manifest, at a position, with what to do about it. */
export interface ManifestProblem {
  origin: Origin;
  /** Dotted path inside the manifest (`datasets[0].source`), empty for file-level problems. */
  path: string;
  message: string;
  hint?: string;
}

/**
 * Control characters, line and paragraph separators and bidirectional overrides written as escapes: a value or key
 * of the manifest quoted in a message must not start a new line that looks like another problem, nor repaint the
 * terminal with ANSI sequences.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function formatProblem(problem: ManifestProblem, cwd: string): string {
  const file = path.relative(cwd, problem.origin.file) || problem.origin.file;
  const where = `${file}:${problem.origin.line}:${problem.origin.col}`;
  const at = problem.path ? ` ${problem.path}:` : '';
  const hint = problem.hint ? ` (${problem.hint})` : '';
  return printable(`${where}${at} ${problem.message}${hint}`);
}

export function sortProblems(problems: ManifestProblem[]): ManifestProblem[] {
  const seen = new Set<string>();
  return problems
    .filter((problem) => {
      const key = `${problem.origin.file}:${problem.origin.line}:${problem.origin.col}:${problem.path}:${problem.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort(
      (a, b) =>
        a.origin.file.localeCompare(b.origin.file) ||
        a.origin.line - b.origin.line ||
        a.origin.col - b.origin.col ||
        a.path.localeCompare(b.path),
    );
}

/** All problems found in a manifest and its parents; the CLI prints each on its own line and exits 2. */
export class ManifestError extends OpenKeyError {
  /** How many problems were found: more than `problems` holds when the list was cut (LIMITS.problems). */
  readonly count: number;

  constructor(
    readonly file: string,
    readonly problems: ManifestProblem[],
    total?: number,
  ) {
    const count = total ?? problems.length;
    super('E_MANIFEST', `${file}: ${count} problem${count === 1 ? '' : 's'}`, { exitCode: 2 });
    this.name = 'ManifestError';
    this.count = count;
  }

  format(cwd: string): string {
    return this.problems.map((problem) => formatProblem(problem, cwd)).join('\n');
  }
}

/** `/datasets/0/source` → `datasets[0].source` */
export function dottedPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number' || /^[0-9]+$/.test(segment)) out += `[${segment}]`;
    else out += out ? `.${segment}` : segment;
  }
  return out;
}
