/** One parser for the service's arguments, used by `openkey serve` and the key's main.js alike. */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { serveSettings, type ServeArgs } from '../../services/analysis/args.ts';

describe('serveSettings', () => {
  it.each([
    [{ datasets: 'd' }, { datasets: 'd', host: '127.0.0.1', port: 8080 }],
    [
      { datasets: 'd', host: '0.0.0.0', port: '0', workers: '3', apps: 'a' },
      { datasets: 'd', host: '0.0.0.0', port: 0, workers: 3, apps: 'a' },
    ],
    [
      { datasets: 'd', port: '65535' },
      { datasets: 'd', host: '127.0.0.1', port: 65535 },
    ],
    [
      { datasets: 'd', 'cache-mib': '512' },
      { datasets: 'd', host: '127.0.0.1', port: 8080, columnCacheBytes: 512 * 1024 ** 2 },
    ],
    [
      { datasets: 'd', 'cache-mib': '0' },
      { datasets: 'd', host: '127.0.0.1', port: 8080, columnCacheBytes: 0 },
    ],
    [
      { datasets: 'd', 'cache-mib': '4096' },
      { datasets: 'd', host: '127.0.0.1', port: 8080, columnCacheBytes: 4096 * 1024 ** 2 },
    ],
  ] as [ServeArgs, unknown][])('%j', (args, expected) => {
    expect(serveSettings(args, 4096 * 1024 ** 2)).toEqual(expected);
  });

  it.each([
    [{}, '--datasets DIR is required'],
    [{ datasets: 'd', port: '-1' }, '--port -1: not a port number'],
    [{ datasets: 'd', port: '65536' }, '--port 65536: not a port number'],
    [{ datasets: 'd', port: '80.5' }, '--port 80.5: not a port number'],
    [{ datasets: 'd', port: '' }, '--port : not a port number'],
    [{ datasets: 'd', workers: '1.5' }, '--workers 1.5: give a whole number from 1 to 256'],
    [{ datasets: 'd', workers: '0' }, '--workers 0: give a whole number from 1 to 256'],
    [{ datasets: 'd', workers: '1e2' }, '--workers 1e2: give a whole number from 1 to 256'],
    [{ datasets: 'd', 'cache-mib': '4097' }, "--cache-mib 4097: more than this machine's memory (4096 MiB)"],
    [{ datasets: 'd', 'cache-mib': '-1' }, '--cache-mib -1: give a whole number of MiB (0 turns the cache off)'],
    [{ datasets: 'd', 'cache-mib': '1.5' }, '--cache-mib 1.5: give a whole number of MiB (0 turns the cache off)'],
  ] as [ServeArgs, string][])('%j is refused: %s', (args, message) => {
    expect(() => serveSettings(args, 4096 * 1024 ** 2)).toThrow(message);
  });
});

describe("the key's entry (main.ts) refuses what `openkey serve` refuses", () => {
  it.each([
    [['--port=-1'], '--port -1: not a port number'],
    [['--workers', '1.5'], '--workers 1.5: give a whole number from 1 to 256'],
    // 9.5 TiB: more than this machine (and the 7-digit limit) allows.
    [['--cache-mib', '9999999'], "--cache-mib 9999999: more than this machine's memory ("],
  ])('%j: exit 2', (args, message) => {
    const main = fileURLToPath(new URL('../../services/analysis/main.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', main, '--datasets', tmpdir(), ...args], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(message);
  });
});
