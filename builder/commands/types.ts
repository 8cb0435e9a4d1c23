import type { ParseArgsConfig } from 'node:util';

/** What a command may touch of the outside world; tests pass their own. */
export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM so long commands can stop cleanly. */
  signal: AbortSignal;
  isTTY: boolean;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** Full `--help` text, starting with the usage line. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Returns the process exit code: 0 success, 1 failure, 2 usage or manifest error. */
  run(args: ParsedArgs, io: CommandIo): Promise<number>;
}
