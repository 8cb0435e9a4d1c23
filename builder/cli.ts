import { parseArgs } from 'node:util';
import { commands } from './commands/index.ts';
import type { CommandIo } from './commands/types.ts';
import { isOpenKeyError, UsageError } from '../common/errors.ts';
import { ManifestError } from './manifest/problems.ts';

const TOP_HELP_HEAD = `openkey: build a bootable Debian live USB key with particle-physics open data, offline.

Usage: openkey <command> [options]   (openkey <command> --help for details)

Commands:
`;

const TOP_HELP_TAIL = `
Exit codes: 0 success, 1 failure, 2 usage or manifest error.
`;

function topHelp(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return TOP_HELP_HEAD + lines.join('\n') + '\n' + TOP_HELP_TAIL;
}

function defaultIo(): CommandIo {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\nopenkey: ${signal} received, stopping (again to force)\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    cwd: process.cwd(),
    env: process.env,
    signal: controller.signal,
    isTTY: Boolean(process.stderr.isTTY),
  };
}

export function formatError(error: unknown): string {
  if (isOpenKeyError(error)) {
    const hint = error.hint ? `\n  hint: ${error.hint}` : '';
    return `openkey: error[${error.code}]: ${error.message}${hint}\n`;
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `openkey: internal error (this is a bug, please report it with the lines below)\n${stack}\n`;
}

/** Runs one CLI invocation and returns its exit code; the only place that decides exit codes. */
export async function main(argv: string[], io: CommandIo = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    io.out(`${pkg.version}\n`);
    return 0;
  }
  try {
    const entry = commands[name];
    if (entry === undefined) {
      const { closest } = await import('../common/suggest.ts');
      const guess = closest(name, Object.keys(commands));
      throw new UsageError(
        `unknown command "${name}"`,
        guess
          ? `did you mean "openkey ${guess}"? (openkey --help lists all commands)`
          : 'openkey --help lists all commands',
      );
    }
    const { command } = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(command.help.endsWith('\n') ? command.help : command.help + '\n');
      return 0;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError((error as Error).message.split('\n')[0] ?? 'bad arguments', `openkey ${name} --help`);
    }
    return await command.run({ values: parsed.values, positionals: parsed.positionals }, io);
  } catch (error) {
    // A manifest's problems are the user's to fix: one positioned line each, nothing else.
    if (error instanceof ManifestError) {
      io.err(`${error.format(io.cwd)}\n`);
      return error.exitCode;
    }
    io.err(formatError(error));
    return isOpenKeyError(error) ? error.exitCode : 1;
  }
}
