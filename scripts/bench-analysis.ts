/**
 * Z→ℓℓ benchmark of the analysis service against JSROOT, in the same run: JSROOT's TSelector on one thread (the
 * baseline), the service with 1 worker and one per core, and the floor (inflating the same baskets). The logic is
 * services/analysis/bench/zll.ts (tested by tests/service/bench-zll.test.ts); this only prints it.
 * Usage: scripts/bench-analysis [--events N] [--repeat N] [--data DIR] [--skip-jsroot]
 */
import { echo } from 'zx';
import { runBench } from '../common/bench.ts';
import { benchZll, parseZllArgs } from '../services/analysis/bench/zll.ts';

await runBench('bench-analysis', async () => {
  await benchZll(parseZllArgs(process.argv.slice(2)), (line) => echo(line));
});
