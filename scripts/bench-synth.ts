/**
 * Benchmark of the synthetic ntuple writer: generates N events (default 10 M) of one process into a temporary
 * directory and reports events/s, MB/s, peak RSS and how RSS evolved (flat memory is the point), then removes the
 * file unless --keep. Run: npx tsx scripts/bench-synth.ts [--events 10M] [--process zll] [--compress 1] [--keep DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCount } from '../builder/commands/synth.ts';
import { writeSyntheticFile } from '../builder/synth/index.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10M' },
    process: { type: 'string', default: 'zll' },
    compress: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'string' },
  },
});

const events = parseCount(values.events, '--events');
const level = parseCount(values.compress, '--compress');
const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'openkey-bench-synth-'));
const path = join(dir, `${values.process}.root`);

const samples: { events: number; rssMB: number; heapMB: number }[] = [];
let nextSample = 0;
const cpuStart = process.cpuUsage();
const result = await writeSyntheticFile(
  { schema: 'atlas13-mini', process: values.process, events, seed: parseCount(values.seed, '--seed') },
  path,
  {
    compression: level === 0 ? { algorithm: 'none', level: 0 } : { algorithm: 'zlib', level },
    onProgress: ({ events: done, total, bytes, elapsedMs }) => {
      if (done < nextSample && done !== total) return;
      nextSample = done + total / 20;
      const memory = process.memoryUsage();
      samples.push({ events: done, rssMB: memory.rss / 1e6, heapMB: memory.heapUsed / 1e6 });
      process.stderr.write(
        `${((100 * done) / total).toFixed(0).padStart(3)}%  ${done.toLocaleString('en-US')} events  ` +
          `${Math.round(done / (elapsedMs / 1000)).toLocaleString('en-US')} events/s  ${(bytes / 1e6).toFixed(0)} MB  ` +
          `rss ${(memory.rss / 1e6).toFixed(0)} MB\n`,
      );
    },
  },
);
const cpu = process.cpuUsage(cpuStart);
const seconds = result.elapsedMs / 1000;
const peakRssMB = process.resourceUsage().maxRSS / 1024;
const half = samples.filter((s) => s.events >= events / 2);

const report = {
  process: values.process,
  events,
  compression: level === 0 ? 'none' : `zlib-${level}`,
  fileMB: +(result.bytes / 1e6).toFixed(1),
  bytesPerEvent: +(result.bytes / events).toFixed(1),
  seconds: +seconds.toFixed(1),
  eventsPerSecond: Math.round(events / seconds),
  megabytesPerSecond: +(result.bytes / 1e6 / seconds).toFixed(1),
  cpuSeconds: { user: +(cpu.user / 1e6).toFixed(1), system: +(cpu.system / 1e6).toFixed(1) },
  peakRssMB: Math.round(peakRssMB),
  rssMBAtHalf: half.length > 0 ? Math.round(half[0]!.rssMB) : null,
  rssMBAtEnd: samples.length > 0 ? Math.round(samples.at(-1)!.rssMB) : null,
};
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
if (values.keep === undefined) rmSync(dir, { recursive: true, force: true });
