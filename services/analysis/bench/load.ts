/**
 * Load benchmark of the analysis service (issue 11; scripts/bench-load.ts prints it, tests/service/bench-load.test.ts
 * runs it small): the bundled service as the key runs it (plain node, its own process), then GET /api/health timed
 * and the service's RSS sampled, first with no client (the baseline), then while N LAN clients (each from its own
 * loopback address) post distinct analyses of up to 100 000 bins, follow them by SSE or ?wait=1, and 5 of them open
 * event streams they never read, then with no client again. Loopback only; bounded in time; it stops by itself.
 * The goal: health p99 < 50 ms under the load.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBenchArgs, wholeNumber } from '../../../common/bench.ts';
import { bundleService } from '../bundle.ts';
import { repeatedDataset } from './dataset.ts';
import { runLoad, type LoadReport } from './load-clients.ts';
import { DEFAULT_DATA } from './zll.ts';

export const USAGE = 'npx tsx scripts/bench-load.ts [--clients 50] [--seconds 20] [--workers 2]';

export interface LoadBenchOptions {
  clients: number;
  /** How long the clients load the service. */
  seconds: number;
  workers: number;
  /** The ATLAS 8 TeV files the dataset `atlas` is made of. */
  data?: string;
  /** How long the quiet runs before and after the load last (tests make them short). */
  baselineMs?: number;
  afterMs?: number;
}

/** The command line of scripts/bench-load.ts; a bad one is a UsageError with the exact complaint. */
export function parseLoadArgs(argv: string[]): LoadBenchOptions {
  const { values } = parseBenchArgs(
    argv,
    {
      clients: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '20' },
      workers: { type: 'string', default: '2' },
    },
    USAGE,
  );
  return {
    clients: wholeNumber(values.clients, '--clients', 1),
    seconds: wholeNumber(values.seconds, '--seconds', 1),
    workers: wholeNumber(values.workers, '--workers', 1),
  };
}

const COLUMNS = 28;

/** The table of health latencies and RSS: baseline, under load, after. */
export function formatLoadTable(
  clients: number,
  baseline: LoadReport,
  loaded: LoadReport,
  after: LoadReport,
): string[] {
  const row = (name: string, r: LoadReport) =>
    `${name.padEnd(COLUMNS)} ${r.health.p50.toFixed(1).padStart(8)} ${r.health.p99.toFixed(1).padStart(8)} ` +
    `${r.health.max.toFixed(1).padStart(8)} ${String(r.health.count).padStart(6)} ` +
    `${r.rss.startMiB.toFixed(0).padStart(6)} ${r.rss.peakMiB.toFixed(0).padStart(6)} ${r.rss.endMiB.toFixed(0).padStart(6)}`;
  return [
    `${''.padEnd(COLUMNS)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'health'.padStart(6)} ` +
      `${'RSS MiB'.padStart(6)} ${'peak'.padStart(6)} ${'end'.padStart(6)}`,
    row('baseline: no client', baseline),
    row(`${clients} clients`, loaded),
    row('after the load', after),
  ];
}

/** What happened to the analyses, and the goal against the baseline. */
export function formatLoadSummary(baseline: LoadReport, loaded: LoadReport): string[] {
  const a = loaded.analyses;
  return [
    `analyses: ${a.submitted} submitted, ${a.accepted} accepted, ${a.done} followed to the end, ` +
      `${a.busy} refused per client (429), ${a.full} queue full (503), ${a.other} other; health errors ` +
      `${loaded.health.errors}`,
    `health p99 under load ${loaded.health.p99.toFixed(1)} ms (goal < 50 ms), ` +
      `${(loaded.health.p99 / baseline.health.p99).toFixed(1)}× the baseline's; RSS peak ${loaded.rss.peakMiB.toFixed(0)} MiB`,
  ];
}

export interface LoadBenchResult {
  baseline: LoadReport;
  loaded: LoadReport;
  after: LoadReport;
}

/** Runs the benchmark, writing its lines (as scripts/bench-load.ts prints them) to `write`. */
export async function benchLoad(options: LoadBenchOptions, write: (line: string) => void): Promise<LoadBenchResult> {
  const data = options.data ?? DEFAULT_DATA;
  const sources = readdirSync(data)
    .filter((n) => n.endsWith('.root'))
    .sort()
    .map((n) => join(data, n));
  const dataset = repeatedDataset('atlas', sources, 1);
  const out = mkdtempSync(join(tmpdir(), 'openkey-bench-load-'));
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const { main } = await bundleService(out);
    const service = spawn(
      process.execPath,
      [main, '--datasets', dataset.root, '--port', '0', '--workers', String(options.workers)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = service;
    let log = '';
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the service did not start in 30 s:\n${log}`)), 30_000);
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      service.stdout!.on('data', onData);
      service.stderr!.on('data', onData);
      service.on('exit', (code) => reject(new Error(`the service exited with ${code}:\n${log}`)));
    });
    const load = (clients: number, durationMs: number): Promise<LoadReport> =>
      runLoad({
        base,
        dataset: 'atlas',
        expr: 'lep_pt[0]/1000',
        clients,
        durationMs,
        maxBins: 100_000,
        stalled: Math.min(5, clients),
        pid: service.pid!,
      });

    write(
      `analysis service ${base}, ${options.workers} workers; ${options.clients} clients for ${options.seconds} s\n`,
    );
    const baseline = await load(0, options.baselineMs ?? 5000);
    const loaded = await load(options.clients, options.seconds * 1000);
    const after = await load(0, options.afterMs ?? 3000);
    for (const line of formatLoadTable(options.clients, baseline, loaded, after)) write(line);
    write('');
    for (const line of formatLoadSummary(baseline, loaded)) write(line);
    if (service.exitCode !== null) throw new Error(`the service died during the load:\n${log}`);
    return { baseline, loaded, after };
  } finally {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    dataset.dispose();
    rmSync(out, { recursive: true, force: true });
  }
}
