import { execa, type Options as ExecaOptions } from 'execa';
import { OpenKeyError } from '../../common/errors.ts';

/**
 * The one place that spawns external programs. Everything under builder/tools/ goes through `run`, so unit tests of
 * the planner and stages can swap in a fake with `setRunner`.
 */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string | Uint8Array;
  /** Called with each line the tool prints on stderr or stdout, for progress parsing. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The Debian package that provides the program, named in the "not installed" hint. */
  aptPackage?: string;
  /** Called with the process id once the program started (progress read from /proc/<pid>/io, for example). */
  onSpawn?: (pid: number) => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export type Runner = (program: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;

const STDERR_TAIL_LINES = 12;

export class ToolError extends OpenKeyError {
  constructor(
    readonly program: string,
    readonly args: readonly string[],
    readonly toolExitCode: number | undefined,
    readonly stderrTail: string,
    hint: string | undefined,
  ) {
    const command = [program, ...args].join(' ');
    const status = toolExitCode === undefined ? 'was killed' : `exited with ${toolExitCode}`;
    super(
      toolExitCode === 127 ? 'E_TOOL_MISSING' : 'E_TOOL_FAILED',
      `${command} ${status}${stderrTail ? `:\n${stderrTail}` : ''}`,
      hint === undefined ? {} : { hint },
    );
  }
}

function lastLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-count).join('\n');
}

const execaRunner: Runner = async (program, args, options = {}) => {
  const execaOptions: ExecaOptions = {
    reject: false,
    all: false,
    stripFinalNewline: false,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    ...(options.signal === undefined ? {} : { cancelSignal: options.signal }),
    ...(options.onLine === undefined
      ? {}
      : {
          stdout: [
            function* (line: unknown) {
              options.onLine?.(String(line), 'stdout');
              yield line;
            },
          ],
          stderr: [
            function* (line: unknown) {
              options.onLine?.(String(line), 'stderr');
              yield line;
            },
          ],
        }),
  };
  const subprocess = execa(program, args, execaOptions);
  if (options.onSpawn !== undefined && subprocess.pid !== undefined) options.onSpawn(subprocess.pid);
  const result = await subprocess;
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  const notFound = (result as { code?: string }).code === 'ENOENT' || result.exitCode === 127;
  if (notFound) {
    const apt = options.aptPackage ?? program;
    throw new ToolError(
      program,
      args,
      127,
      '',
      `${program} is not installed: apt-get install ${apt} (or run openkey doctor)`,
    );
  }
  if (result.exitCode !== 0 || result.isTerminated) {
    throw new ToolError(program, args, result.exitCode, lastLines(stderr || stdout, STDERR_TAIL_LINES), undefined);
  }
  return { stdout, stderr, exitCode: 0 };
};

let currentRunner: Runner = execaRunner;

export function run(program: string, args: readonly string[], options?: RunOptions): Promise<RunResult> {
  return currentRunner(program, args, options);
}

/** Replaces the runner (tests only); returns a function that restores the previous one. */
export function setRunner(runner: Runner): () => void {
  const previous = currentRunner;
  currentRunner = runner;
  return () => {
    currentRunner = previous;
  };
}
