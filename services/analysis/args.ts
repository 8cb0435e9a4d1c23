/**
 * The service's command-line settings, shared by `openkey serve` and the key's entry (main.ts) so both accept and
 * refuse the same arguments with the same messages.
 */
import { totalmem } from 'node:os';

/** parseArgs options: every value is a string, checked by serveSettings. */
export const SERVE_OPTIONS = {
  datasets: { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '8080' },
  workers: { type: 'string' },
  apps: { type: 'string' },
  'cache-mib': { type: 'string' },
} as const;

export interface ServeSettings {
  datasets: string;
  host: string;
  port: number;
  workers?: number;
  apps?: string;
  /** The column cache's budget (--cache-mib, in MiB); absent, the service takes a quarter of the memory. */
  columnCacheBytes?: number;
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

const MiB = 1024 ** 2;

/**
 * Checks parsed values; throws ServeArgsError for the first bad one. `memoryBytes` is the machine's memory (tests
 * give their own): a column cache budget above it could only end in the kernel's OOM killer, so it is refused.
 */
export function serveSettings(values: ServeArgs, memoryBytes = totalmem()): ServeSettings {
  const { datasets, host, port, workers, apps, 'cache-mib': cacheMiB } = values;
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
  let columnCacheBytes: number | undefined;
  if (cacheMiB !== undefined) {
    const mib = /^\d{1,7}$/.test(cacheMiB) ? Number(cacheMiB) : NaN;
    if (Number.isNaN(mib))
      throw new ServeArgsError(`--cache-mib ${cacheMiB}: give a whole number of MiB (0 turns the cache off)`);
    const memoryMiB = Math.floor(memoryBytes / MiB);
    if (mib > memoryMiB)
      throw new ServeArgsError(
        `--cache-mib ${mib}: more than this machine's memory (${memoryMiB} MiB)`,
        `--cache-mib ${Math.floor(memoryMiB / 4)} (a quarter of it), or leave it out for that default`,
      );
    columnCacheBytes = mib * MiB;
  }
  return {
    datasets,
    host: host ?? '127.0.0.1',
    port: portNumber,
    ...(workerCount === undefined ? {} : { workers: workerCount }),
    ...(apps === undefined ? {} : { apps }),
    ...(columnCacheBytes === undefined ? {} : { columnCacheBytes }),
  };
}
