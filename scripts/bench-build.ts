/**
 * Times a cold build of mu.yaml against the plain mmdebstrap + mksquashfs + grub-mkrescue pipeline, the build after
 * adding one package, the rebuild after one doc change, and boots to a healthy service against the plain image's
 * boot to login, all in one run. The logic is builder/build-bench.ts (tested by tests/unit/build-bench.test.ts); this
 * prints its figures and writes them as JSON with --json. Needs root.
 * Usage: scripts/bench-build [--work DIR] [--no-boot] [--add PACKAGE] [--lock FILE] [--json FILE]
 */
import { fs } from 'zx';
import { runBench } from '../common/bench.ts';
import { benchBuild, formatBuildFigures, parseBuildBenchArgs } from '../builder/build-bench.ts';

await runBench('bench-build', async () => {
  const options = parseBuildBenchArgs(process.argv.slice(2));
  const figures = await benchBuild(options, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(formatBuildFigures(figures));
  if (options.json !== undefined) await fs.writeJson(options.json, figures, { spaces: 2 });
});
