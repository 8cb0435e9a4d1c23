/**
 * Every check, in the order a newcomer wants the answers: types, lint, format, the fast tier (npm test), then the
 * slow tier (image build, QEMU boots, loop devices, browsers). Both tiers run even when the first fails, and the log
 * ends with one plain line per tier: "tests (fast): N passed, N failed". Run through scripts/test-all, which installs
 * what this needs first. Extra arguments go to vitest in both tiers.
 */
import { readFile } from 'node:fs/promises';
import { $, echo, type ProcessPromise } from 'zx';

$.verbose = true;
const vitestArgs = process.argv.slice(2);

/** A check that must pass before the tests are worth running; its own output says what is wrong. */
async function check(title: string, command: () => ProcessPromise): Promise<void> {
  echo(`== ${title}`);
  if ((await command().nothrow()).exitCode !== 0) {
    echo(`${title} failed`);
    process.exit(1);
  }
}

await check('typecheck', () => $`npx tsc --noEmit`);
await check('lint', () => $`npx eslint .`);
await check('format', () => $`npx prettier --check . --log-level warn`);

/** The closing line for one tier, from vitest's JSON report. */
async function summary(tier: string, file: string): Promise<string> {
  try {
    const report = JSON.parse(await readFile(file, 'utf8')) as Record<string, number>;
    const skipped = report.numPendingTests ? `, ${report.numPendingTests} skipped` : '';
    return `tests (${tier}): ${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped}`;
  } catch {
    return `tests (${tier}): no report (vitest did not finish)`;
  }
}

let failed = false;
const lines: string[] = [];
for (const tier of ['fast', 'slow']) {
  echo(`== tests: ${tier} tier`);
  const file = `test-artifacts/vitest-${tier}.json`;
  // with a file filter one tier may have nothing to run, which is not a failure
  const filtered = vitestArgs.length > 0 ? ['--passWithNoTests', ...vitestArgs] : [];
  const run =
    await $`npx vitest run --project ${tier} --reporter=default --reporter=json --outputFile.json=${file} ${filtered}`.nothrow();
  failed ||= run.exitCode !== 0;
  lines.push(await summary(tier, file));
}
for (const line of lines) echo(line);
process.exitCode = failed ? 1 : 0;
