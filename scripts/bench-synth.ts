/**
 * Benchmark of the synthetic ntuple writer (builder/synth/bench.ts): N events (default 10 M) of one process, then
 * events/s, MB/s, peak RSS and how RSS evolved, as JSON. Progress on stderr; the file is removed unless --keep DIR.
 * Run: npx tsx scripts/bench-synth.ts [--events 10M] [--process zll] [--compress 1] [--seed 1] [--keep DIR]
 */
import { parseArgs } from 'node:util';
import { parseCount } from '../builder/commands/synth.ts';
import { benchSynth } from '../builder/synth/bench.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10M' },
    process: { type: 'string', default: 'zll' },
    compress: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'string' },
  },
});
const report = await benchSynth({
  process: values.process,
  events: parseCount(values.events, '--events'),
  level: parseCount(values.compress, '--compress'),
  seed: parseCount(values.seed, '--seed'),
  ...(values.keep === undefined ? {} : { keep: values.keep }),
  onSample: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
