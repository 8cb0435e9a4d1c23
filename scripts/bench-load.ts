/**
 * Load benchmark of the analysis service: GET /api/health latency and the service's RSS with no client (the
 * baseline), under N LAN clients, and after. The logic is services/analysis/bench/load.ts (tested by
 * tests/service/bench-load.test.ts); this only prints it.
 *   npx tsx scripts/bench-load.ts [--clients 50] [--seconds 20] [--workers 2]
 */
import { echo } from 'zx';
import { runBench } from '../common/bench.ts';
import { benchLoad, parseLoadArgs } from '../services/analysis/bench/load.ts';

await runBench('bench-load', async () => {
  await benchLoad(parseLoadArgs(process.argv.slice(2)), (line) => echo(line));
});
