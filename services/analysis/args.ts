/**
 * The service's command-line settings, shared by `openkey serve` and the key's entry (main.ts) so both accept and
 * refuse the same arguments with the same messages.
 */

/** parseArgs options: every value is a string, checked by serveSettings. */
export const SERVE_OPTIONS = {
  datasets: { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '8080' },
  workers: { type: 'string' },
  apps: { type: 'string' },
} as const;

export interface ServeSettings {
  datasets: string;
  host: string;
  port: number;
  workers?: number;
  apps?: string;
}

export type ServeArgs = { [K in keyof typeof SERVE_OPTIONS]?: string | undefined };

/** A bad argument: what is wrong, and for a missing one how to give it. */
export class ServeArgsError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'ServeArgsError';
    this.hint = hint;
  }
}

/** Checks parsed values; throws ServeArgsError for the first bad one. */
export function serveSettings(values: ServeArgs): ServeSettings {
  const { datasets, host, port, workers, apps } = values;
  if (datasets === undefined) throw new ServeArgsError('--datasets DIR is required', '--datasets ../shared/data');
  const portText = port ?? '8080';
  const portNumber = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(portNumber >= 0 && portNumber <= 65535)) throw new ServeArgsError(`--port ${portText}: not a port number`);
  let workerCount: number | undefined;
  if (workers !== undefined) {
    workerCount = /^\d{1,3}$/.test(workers) ? Number(workers) : NaN;
    if (!(workerCount >= 1 && workerCount <= 256))
      throw new ServeArgsError(`--workers ${workers}: give a whole number from 1 to 256`);
  }
  return {
    datasets,
    host: host ?? '127.0.0.1',
    port: portNumber,
    ...(workerCount === undefined ? {} : { workers: workerCount }),
    ...(apps === undefined ? {} : { apps }),
  };
}
