/**
 * Load benchmark of the analysis service (issue 11): the bundled service as the key runs it (plain node, its own
 * process), then GET /api/health timed and the service's RSS sampled, first with no client (the baseline) and
 * then while N LAN clients (default 50, each from its own loopback address) post distinct analyses of up to
 * 100 000 bins, follow them by SSE or ?wait=1, and 5 of them open event streams they never read. Loopback only;
 * bounded in time; it stops by itself. The goal: health p99 < 50 ms under the load.
 *
 *   npx tsx scripts/bench-load.ts [--clients 50] [--seconds 20] [--workers 2]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleService } from '../services/analysis/bundle.ts';
import { makeDatasets } from '../tests/service/fixtures.ts';
import { runLoad, type LoadReport } from '../tests/service/load-clients.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '20' },
    workers: { type: 'string', default: '2' },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);

const out = mkdtempSync(join(tmpdir(), 'openkey-bench-load-'));
const fixture = makeDatasets();
const { main } = await bundleService(out);
const child = spawn(process.execPath, [main, '--datasets', fixture.root, '--port', '0', '--workers', values.workers], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
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
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.on('exit', (code) => reject(new Error(`the service exited with ${code}:\n${log}`)));
});

const load = (n: number, ms: number): Promise<LoadReport> =>
  runLoad({
    base,
    dataset: 'atlas',
    expr: 'lep_pt[0]/1000',
    clients: n,
    durationMs: ms,
    maxBins: 100_000,
    stalled: Math.min(5, n),
    pid: child.pid!,
  });

const row = (name: string, r: LoadReport) =>
  `${name.padEnd(28)} ${r.health.p50.toFixed(1).padStart(8)} ${r.health.p99.toFixed(1).padStart(8)} ` +
  `${r.health.max.toFixed(1).padStart(8)} ${String(r.health.count).padStart(6)} ` +
  `${r.rss.startMiB.toFixed(0).padStart(6)} ${r.rss.peakMiB.toFixed(0).padStart(6)} ${r.rss.endMiB.toFixed(0).padStart(6)}`;

try {
  process.stdout.write(`analysis service ${base}, ${values.workers} workers; ${clients} clients for ${seconds} s\n\n`);
  const baseline = await load(0, 5000);
  const loaded = await load(clients, seconds * 1000);
  const after = await load(0, 3000);
  process.stdout.write(
    `${''.padEnd(28)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'health'.padStart(6)} ` +
      `${'RSS MiB'.padStart(6)} ${'peak'.padStart(6)} ${'end'.padStart(6)}\n`,
  );
  process.stdout.write(`${row('baseline: no client', baseline)}\n`);
  process.stdout.write(`${row(`${clients} clients`, loaded)}\n`);
  process.stdout.write(`${row('after the load', after)}\n\n`);
  const a = loaded.analyses;
  process.stdout.write(
    `analyses: ${a.submitted} submitted, ${a.accepted} accepted, ${a.done} followed to the end, ` +
      `${a.busy} refused per client (429), ${a.full} queue full (503), ${a.other} other; health errors ` +
      `${loaded.health.errors}\n`,
  );
  process.stdout.write(
    `health p99 under load ${loaded.health.p99.toFixed(1)} ms (goal < 50 ms), ` +
      `${(loaded.health.p99 / baseline.health.p99).toFixed(1)}× the baseline's; RSS peak ${loaded.rss.peakMiB.toFixed(0)} MiB\n`,
  );
  if (child.exitCode !== null) throw new Error(`the service died during the load:\n${log}`);
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  fixture.dispose();
  rmSync(out, { recursive: true, force: true });
}
