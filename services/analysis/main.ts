/**
 * Service entry for the key: `node main.js --datasets DIR --apps DIR --host H --port P --workers N --cache-mib M`. Bundled by
 * esbuild into one file with the worker beside it as analysis-worker.js (see bundle.ts).
 */
import { parseArgs } from 'node:util';
import { SERVE_OPTIONS, ServeArgsError, serveSettings } from './args.ts';
import { startServer } from './server.ts';

const KEY_JUPYTER_STATUS = '/run/openkey/jupyter.json';
const USAGE =
  'usage: main.js --datasets DIR [--apps DIR] [--host 127.0.0.1] [--port 8080] [--workers N] [--cache-mib MiB]';

async function main(): Promise<void> {
  let settings;
  try {
    const { values } = parseArgs({ options: SERVE_OPTIONS, strict: true });
    settings = serveSettings(values);
  } catch (error) {
    const hint = error instanceof ServeArgsError && error.hint !== undefined ? ` (${error.hint})` : '';
    process.stderr.write(`${(error as Error).message}${hint}\n${USAGE}\n`);
    process.exit(2);
  }
  // The key's notebook server writes its state there (image/overlay/jupyter's jupyter-announce).
  const { app } = await startServer({ ...settings, jupyterStatus: KEY_JUPYTER_STATUS, logger: { level: 'info' } });
  const stop = (signal: string) => {
    app.log.info(`${signal}: closing`);
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`analysis service failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
