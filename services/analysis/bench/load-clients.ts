/**
 * LAN clients for the load benchmark (bench/load.ts) and the bounded load test (tests/service/budgets.test.ts):
 * `clients` clients, each posting distinct analyses with up to `maxBins` bins in turn and following them (most by
 * SSE, some with ?wait=1, a few opening the event stream and never reading it), while a prober times GET /api/health
 * and a sampler reads the service's RSS. Loopback only; everything stops by itself at `durationMs` (or, with
 * `minAccepted`, once that many analyses were accepted, at most ten times as late).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

export interface LoadOptions {
  /** The service's root URL, http://127.0.0.1:PORT */
  base: string;
  dataset: string;
  /** A histogram expression of the dataset's tree. */
  expr: string;
  clients: number;
  durationMs: number;
  /**
   * Go on past `durationMs` until this many analyses were accepted (at most 10 × durationMs): a test asks for
   * real load whatever else the machine runs, a benchmark measures a fixed time.
   */
  minAccepted?: number;
  maxBins: number;
  /** Of the clients, how many open event streams that they never read. */
  stalled?: number;
  /** The service's process, for RSS; this process when omitted. */
  pid?: number;
}

export interface LoadReport {
  clients: number;
  seconds: number;
  health: { count: number; errors: number; p50: number; p99: number; max: number };
  analyses: { submitted: number; accepted: number; busy: number; full: number; other: number; done: number };
  rss: { startMiB: number; peakMiB: number; endMiB: number };
}

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return process.memoryUsage().rss / 2 ** 20;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One HTTP request from a given loopback address (127.0.0.2, .3, …): LAN clients each have their own address, and
 * the service's per-client limit counts by address. Rejects after `timeoutMs`.
 */
function call(
  base: string,
  path: string,
  options: { localAddress: string; timeoutMs: number; body?: unknown },
): Promise<{ status: number; text: string }> {
  const url = new URL(path, base);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: Number(url.port),
        path: url.pathname + url.search,
        method: payload === undefined ? 'GET' : 'POST',
        localAddress: options.localAddress,
        agent: false,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(Math.max(1, options.timeoutMs), () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Opens the event stream of an analysis with a raw socket and never reads from it. */
function stalledStream(base: string, id: string, localAddress: string): () => void {
  const url = new URL(`/api/analyses/${id}/events`, base);
  const socket = connect({ port: Number(url.port), host: url.hostname, localAddress });
  socket.on('error', () => undefined);
  socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
  socket.pause();
  return () => socket.destroy();
}

/**
 * The prober: GET /api/health every 20 ms (one connection each, as a new client would), timed in a process of its
 * own. In this one it would also time the clients' own work (reading and parsing results of 100 000 bins), which on
 * a LAN happens on fifty other machines.
 */
const PROBER = `
const http = require('node:http');
const [base, durationMs] = [process.argv[1], Number(process.argv[2])];
const deadline = Date.now() + durationMs;
let stopped = false;
// A line on stdin ends it (a signal could come before a handler is set, while node starts).
process.stdin.on('data', () => (stopped = true)).on('end', () => (stopped = true));
const times = [];
let errors = 0;
const once = () => new Promise((resolve) => {
  const t0 = performance.now();
  const req = http.get(base + '/api/health', { agent: false, localAddress: '127.0.0.1' }, (res) => {
    res.resume();
    res.on('end', () => { if (res.statusCode === 200) times.push(performance.now() - t0); else errors++; resolve(); });
  });
  req.setTimeout(10000, () => req.destroy(new Error('timeout')));
  req.on('error', () => { errors++; resolve(); });
});
(async () => {
  // At least one probe, however soon it is stopped.
  do { await once(); await new Promise((r) => setTimeout(r, 20)); } while (!stopped && Date.now() < deadline);
  process.stdin.destroy();
  process.stdout.write(JSON.stringify({ times, errors }));
})();
`;

/** Probes for at most `durationMs`; `stop()` ends it sooner. */
function probeHealth(
  base: string,
  durationMs: number,
): { stop: () => void; done: Promise<{ times: number[]; errors: number }> } {
  let stop = (): void => {};
  const done = new Promise<{ times: number[]; errors: number }>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', PROBER, base, String(durationMs)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    stop = () => void child.stdin.end('stop\n');
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out) as { times: number[]; errors: number });
      } catch {
        reject(new Error(`the health prober exited with ${code} and printed ${JSON.stringify(out.slice(0, 200))}`));
      }
    });
  });
  return { stop, done };
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const { base, clients, durationMs } = options;
  const started = performance.now();
  const planned = Date.now() + durationMs;
  const latest = Date.now() + (options.minAccepted === undefined ? durationMs : 10 * durationMs);
  // Past the planned end only while too few analyses were accepted; every wait is bounded by the latest end.
  const going = () => Date.now() < planned || (counts.accepted < (options.minAccepted ?? 0) && Date.now() < latest);
  const deadline = latest;
  const times: number[] = [];
  let healthErrors = 0;
  const counts = { submitted: 0, accepted: 0, busy: 0, full: 0, other: 0, done: 0 };
  const rss = { startMiB: rssMiB(options.pid), peakMiB: 0, endMiB: 0 };
  rss.peakMiB = rss.startMiB;
  const closers: (() => void)[] = [];
  let serial = 0;

  const sampler = setInterval(() => (rss.peakMiB = Math.max(rss.peakMiB, rssMiB(options.pid))), 100);

  const probe = probeHealth(base, latest - Date.now());
  const prober = probe.done.then((probe) => {
    times.push(...probe.times);
    healthErrors += probe.errors;
  });

  const client = async (index: number) => {
    const stalls = index < (options.stalled ?? 0);
    const mode = stalls ? 'stall' : index % 3 === 0 ? 'wait' : 'sse';
    const localAddress = `127.0.${Math.floor((index + 2) / 250)}.${((index + 2) % 250) + 1}`;
    while (going()) {
      const bins = 1 + Math.floor(Math.random() * options.maxBins);
      const body = {
        dataset: options.dataset,
        histograms: [{ name: `h${serial++}`, expr: options.expr, bins, min: 0, max: 200 }],
      };
      counts.submitted++;
      let res: { status: number; text: string };
      try {
        res = await call(base, `/api/analyses${mode === 'wait' ? '?wait=1' : ''}`, {
          localAddress,
          timeoutMs: deadline - Date.now(),
          body,
        });
      } catch {
        break; // the deadline passed while waiting
      }
      if (res.status === 429 || res.status === 503) {
        if (res.status === 429) counts.busy++;
        else counts.full++;
        await sleep(200);
        continue;
      }
      if (res.status !== 200 && res.status !== 202) {
        counts.other++;
        continue;
      }
      counts.accepted++;
      const { id } = JSON.parse(res.text) as { id: string };
      if (mode === 'wait') {
        counts.done++;
        continue;
      }
      if (mode === 'stall') {
        closers.push(stalledStream(base, id, localAddress));
        await sleep(500);
        continue;
      }
      try {
        await call(base, `/api/analyses/${id}/events`, { localAddress, timeoutMs: deadline - Date.now() });
        counts.done++;
      } catch {
        break;
      }
    }
  };

  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  // With no client the probe lasts the planned time; with clients, as long as they go on.
  if (clients === 0) await new Promise((r) => setTimeout(r, Math.max(0, planned - Date.now())));
  probe.stop();
  await prober;
  clearInterval(sampler);
  for (const close of closers) close();
  rss.endMiB = rssMiB(options.pid);
  times.sort((a, b) => a - b);
  return {
    clients,
    seconds: (performance.now() - started) / 1000,
    health: {
      count: times.length,
      errors: healthErrors,
      p50: percentile(times, 0.5),
      p99: percentile(times, 0.99),
      max: times.at(-1) ?? NaN,
    },
    analyses: counts,
    rss,
  };
}
