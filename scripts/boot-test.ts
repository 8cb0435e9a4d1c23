/**
 * Boots a built image under QEMU and prints seconds to a healthy service; the logic is builder/tools/boot-test.ts
 * (tested by tests/unit/boot-test.test.ts and, with real boots, tests/e2e).
 * Usage: scripts/boot-test IMAGE.iso [--only bios-cd,uefi-usb] [--json] [--verbose] [--screendump FILE.png]
 *        scripts/boot-test DISK.img|/dev/KEY|.qcow2|.vmdk|.ova --persistence [--only bios,uefi] [--user student]
 */
import { echo } from 'zx';
import { runBench } from '../common/bench.ts';
import { parseBootTestArgs, runBootTest } from '../builder/tools/boot-test.ts';

await runBench('boot-test', async () => {
  const plan = parseBootTestArgs(process.argv.slice(2));
  const { passed, results } = await runBootTest(plan, (line) => process.stderr.write(`${line}\n`));
  if (plan.common.json) echo(JSON.stringify(results, null, 2));
  if (!passed) process.exitCode = 1;
});
