/**
 * Benchmark of the synthetic ntuple writer: N events (default 10 M) of one process, then events/s, MB/s, peak RSS
 * and how RSS evolved, as JSON. Progress on stderr; the file is removed unless --keep DIR. The logic is
 * builder/synth/bench.ts (tested by tests/synth/bench.test.ts); this only prints it.
 * Run: npx tsx scripts/bench-synth.ts [--events 10M] [--process zll] [--compress 1] [--seed 1] [--keep DIR]
 */
import { echo } from 'zx';
import { benchSynth, parseSynthBenchArgs } from '../builder/synth/bench.ts';
import { runBench } from '../common/bench.ts';

await runBench('bench-synth', async () => {
  const options = parseSynthBenchArgs(process.argv.slice(2));
  const report = await benchSynth({ ...options, onSample: (line) => process.stderr.write(`${line}\n`) });
  echo(JSON.stringify(report, null, 2));
});
