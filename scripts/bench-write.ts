/**
 * Times openkey write (write + O_DIRECT verify + persistence growth) against dd + cmp and bmaptool copy on the same
 * file-backed loop device, and two keys in parallel against one; prints the README's table. The logic is
 * builder/write/bench.ts (tested by tests/unit/bench-write.test.ts and tests/write/bench.slow.test.ts). Needs root.
 * Usage: scripts/bench-write [IMAGE] [--work DIR] [--key-mib N]
 */
import { echo } from 'zx';
import { runBench } from '../common/bench.ts';
import { benchWrite, formatWriteTable, parseWriteBenchArgs } from '../builder/write/bench.ts';

await runBench('bench-write', async () => {
  const figures = await benchWrite(parseWriteBenchArgs(process.argv.slice(2)), (line) =>
    process.stderr.write(`${line}\n`),
  );
  echo(formatWriteTable(figures).trimEnd());
});
