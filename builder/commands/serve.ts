import { UsageError } from '../errors.ts';
import type { Command } from './types.ts';

export const command: Command = {
  name: 'serve',
  help: `Usage: openkey serve --datasets DIR [--host 127.0.0.1] [--port 8080] [--workers N] [--apps DIR]

Runs the analysis service (the same code as the key's systemd unit): the HTTP API under /api, the ROOT files under
/data with HTTP Range, and the web apps from --apps at /. Each subfolder of --datasets is a dataset; a new folder
is seen without a restart. --workers defaults to one worker thread per core. Stops on Ctrl-C.

Exit codes: 0 stopped cleanly, 1 the service failed, 2 bad arguments.
`,
  options: {
    datasets: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    workers: { type: 'string' },
    apps: { type: 'string' },
  },
  async run(args, io) {
    const { datasets, host, port, workers, apps } = args.values as Record<string, string | undefined>;
    if (datasets === undefined)
      throw new UsageError('--datasets DIR is required', 'openkey serve --datasets ../shared/data');
    const portNumber = Number(port);
    if (!Number.isInteger(portNumber) || portNumber < 0 || portNumber > 65535)
      throw new UsageError(`--port ${port}: not a port number`);
    const workerCount = workers === undefined ? undefined : Number(workers);
    if (workerCount !== undefined && !(Number.isInteger(workerCount) && workerCount >= 1 && workerCount <= 256))
      throw new UsageError(`--workers ${workers}: give a whole number from 1`);
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
      datasets: resolve(io.cwd, datasets),
      host: host ?? '127.0.0.1',
      port: portNumber,
      ...(apps === undefined ? {} : { apps: resolve(io.cwd, apps) }),
      ...(workerCount === undefined ? {} : { workers: workerCount }),
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
