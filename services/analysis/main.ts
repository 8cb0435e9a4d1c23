/**
 * Service entry for the key: `node main.js --datasets DIR --apps DIR --host H --port P --workers N`. Bundled by
 * esbuild into one file with the worker beside it as analysis-worker.js (see bundle.ts).
 */
import { parseArgs } from 'node:util';
import { startServer } from './server.ts';

const USAGE = 'usage: main.js --datasets DIR [--apps DIR] [--host 127.0.0.1] [--port 8080] [--workers N]';

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        datasets: { type: 'string' },
        apps: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8080' },
        workers: { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const port = Number(values.port);
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (values.datasets === undefined || !Number.isInteger(port) || (workers !== undefined && !(workers >= 1))) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const { app } = await startServer({
    datasets: values.datasets,
    host: values.host,
    port,
    logger: { level: 'info' },
    ...(values.apps === undefined ? {} : { apps: values.apps }),
    ...(workers === undefined ? {} : { workers }),
  });
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
