import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBenchArgs, parseCount } from '../../common/bench.ts';
import { UsageError } from '../../common/errors.ts';
import { writeSyntheticFile } from './index.ts';

/**
 * The synthetic writer's benchmark (scripts/bench-synth.ts prints it; tests/synth/bench.test.ts runs it small):
 * writes `events` events of one process and reports events/s, MB/s, bytes per event, CPU time, peak RSS and the
 * RSS at half and at the end (flat memory is the point).
 */
export interface SynthBenchOptions {
  process: string;
  events: number;
  /** zlib level; 0 writes uncompressed baskets. */
  level: number;
  seed: number;
  /** Folder to keep the file in; by default a temporary one, removed afterwards. */
  keep?: string;
  onSample?: (line: string) => void;
}

export interface SynthBenchReport {
  process: string;
  events: number;
  compression: string;
  fileMB: number;
  bytesPerEvent: number;
  seconds: number;
  eventsPerSecond: number;
  megabytesPerSecond: number;
  cpuSeconds: { user: number; system: number };
  peakRssMB: number;
  rssMBAtHalf: number | null;
  rssMBAtEnd: number | null;
}

export const USAGE =
  'npx tsx scripts/bench-synth.ts [--events 10M] [--process zll] [--compress 1] [--seed 1] [--keep DIR]';

/** The command line of scripts/bench-synth.ts (without onSample); a bad one is a UsageError with the exact complaint. */
export function parseSynthBenchArgs(argv: string[]): Omit<SynthBenchOptions, 'onSample'> {
  const { values } = parseBenchArgs(
    argv,
    {
      events: { type: 'string', default: '10M' },
      process: { type: 'string', default: 'zll' },
      compress: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      keep: { type: 'string' },
    },
    USAGE,
  );
  const level = parseCount(values.compress, '--compress');
  if (level > 9) throw new UsageError(`--compress expects 0 to 9, got ${level}`);
  return {
    process: values.process,
    events: parseCount(values.events, '--events'),
    level,
    seed: parseCount(values.seed, '--seed'),
    ...(values.keep === undefined ? {} : { keep: values.keep }),
  };
}

export async function benchSynth(options: SynthBenchOptions): Promise<SynthBenchReport> {
  const { events, level } = options;
  const dir = options.keep ?? (await mkdtemp(join(tmpdir(), 'openkey-bench-synth-')));
  const samples: { events: number; rssMB: number }[] = [];
  let nextSample = 0;
  const cpuStart = process.cpuUsage();
  try {
    const result = await writeSyntheticFile(
      { schema: 'atlas13-mini', process: options.process, events, seed: options.seed },
      join(dir, `${options.process}.root`),
      {
        compression: level === 0 ? { algorithm: 'none', level: 0 } : { algorithm: 'zlib', level },
        onProgress: ({ events: done, total, bytes, elapsedMs }) => {
          if (done < nextSample && done !== total) return;
          nextSample = done + total / 20;
          const rssMB = process.memoryUsage().rss / 1e6;
          samples.push({ events: done, rssMB });
          options.onSample?.(
            `${((100 * done) / total).toFixed(0).padStart(3)}%  ${done.toLocaleString('en-US')} events  ` +
              `${Math.round(done / (Math.max(1, elapsedMs) / 1000)).toLocaleString('en-US')} events/s  ` +
              `${(bytes / 1e6).toFixed(0)} MB  rss ${rssMB.toFixed(0)} MB`,
          );
        },
      },
    );
    const cpu = process.cpuUsage(cpuStart);
    const seconds = Math.max(0.001, result.elapsedMs / 1000);
    const half = samples.find((s) => s.events >= events / 2);
    return {
      process: options.process,
      events,
      compression: level === 0 ? 'none' : `zlib-${level}`,
      fileMB: +(result.bytes / 1e6).toFixed(1),
      bytesPerEvent: +(result.bytes / events).toFixed(1),
      seconds: +seconds.toFixed(1),
      eventsPerSecond: Math.round(events / seconds),
      megabytesPerSecond: +(result.bytes / 1e6 / seconds).toFixed(1),
      cpuSeconds: { user: +(cpu.user / 1e6).toFixed(1), system: +(cpu.system / 1e6).toFixed(1) },
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      rssMBAtHalf: half === undefined ? null : Math.round(half.rssMB),
      rssMBAtEnd: samples.length > 0 ? Math.round(samples.at(-1)!.rssMB) : null,
    };
  } finally {
    if (options.keep === undefined) await rm(dir, { recursive: true, force: true });
  }
}
