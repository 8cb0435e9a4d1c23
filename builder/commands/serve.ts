import { UsageError } from '../../common/errors.ts';
import {
  SERVE_OPTIONS,
  ServeArgsError,
  serveSettings,
  type ServeArgs,
  type ServeSettings,
} from '../../services/analysis/args.ts';
import type { Command } from './types.ts';

export const command: Command = {
  name: 'serve',
  help: `Usage: openkey serve --datasets DIR [--host 127.0.0.1] [--port 8080] [--workers N] [--apps DIR] [--cache-mib MiB]

Runs the analysis service (the same code as the key's systemd unit): the HTTP API under /api, the ROOT files under
/data with HTTP Range, and the web apps from --apps at /. Each subfolder of --datasets is a dataset; a new folder
is seen without a restart. --workers defaults to one worker thread per core. --cache-mib is the budget of decoded
baskets kept between analyses (default a quarter of the memory, 0 off; more than the memory is refused). Stops on
Ctrl-C.

Exit codes: 0 stopped cleanly, 1 the service failed, 2 bad arguments.
`,
  options: SERVE_OPTIONS,
  async run(args, io) {
    let settings: ServeSettings;
    try {
      settings = serveSettings(args.values as ServeArgs);
    } catch (error) {
      if (!(error instanceof ServeArgsError)) throw error;
      throw new UsageError(error.message, error.hint === undefined ? undefined : `openkey serve ${error.hint}`);
    }
    const { datasets, apps } = settings;
    const { startServer } = await import('../../services/analysis/server.ts');
    const { resolve } = await import('node:path');
    const { stat } = await import('node:fs/promises');
    for (const [flag, dir] of [
      ['--datasets', datasets],
      ['--apps', apps],
    ] as const) {
      if (dir === undefined) continue;
      const st = await stat(resolve(io.cwd, dir)).catch(() => null);
      if (!st?.isDirectory()) throw new UsageError(`${flag} ${dir}: no such directory`);
    }
    const { app, url } = await startServer({
      ...settings,
      datasets: resolve(io.cwd, datasets),
      ...(apps === undefined ? {} : { apps: resolve(io.cwd, apps) }),
    });
    io.out(`analysis service listening on ${url} (${app.analysis.pool.size} workers)\n`);
    await new Promise<void>((done) => {
      if (io.signal.aborted) done();
      else io.signal.addEventListener('abort', () => done(), { once: true });
    });
    await app.close();
    io.out('analysis service stopped\n');
    return 0;
  },
};
