import path from 'node:path';
import { UsageError } from '../../common/errors.ts';
import { defaultCacheDir } from '../cache/index.ts';
import { fetchCommand, pinOpendata } from '../opendata/resolve.ts';
import { ALLOW_PATH_HELP, ALLOW_PATH_OPTION, loadManifest, loadOptionsOf } from '../manifest/index.ts';
import { planBuild, type Plan } from '../plan/index.ts';
import { portableManifest } from '../plan/portable.ts';
import { surveyHost } from '../plan/survey.ts';
import type { Command } from './types.ts';

function planTable(plan: Plan): string {
  const lines = [
    `${plan.name} ${plan.version} (variant ${plan.variant}), SOURCE_DATE_EPOCH=${plan.sourceDateEpoch}`,
    '',
  ];
  const width = Math.max(...plan.stages.map((stage) => stage.name.length));
  plan.stages.forEach((stage, index) => {
    const after = stage.dependsOn.length > 0 ? `after ${stage.dependsOn.join(', ')}` : '';
    lines.push(`${String(index + 1).padStart(2)}. ${stage.name.padEnd(width)}  ${stage.key}  ${after}`.trimEnd());
  });
  lines.push(`    then finalize (SHA256SUMS, report, manifest, package list; not cached) and publish`);
  return lines.join('\n') + '\n';
}

export const command: Command = {
  name: 'plan',
  help: `Usage: openkey plan [--json] <manifest.yaml>

Prints the build plan: the ordered stages and the cache key of each, the hash of everything that can change its
output (its manifest section, the digests of the files it names and of its own code, the versions of its tools and
the keys of the stages it reads). openkey build looks each stage up in the cache under exactly this key: a stage
whose key is there is reused. --json prints { manifest, plan } with paths relative to the project; the same inputs
always give the same bytes. Real data (source: opendata) is keyed on the files its lock file pins (URL, size,
SHA-256), as the build keys it; before openkey fetch has written the lock, the plan says which keys are not final.

Options:
  --cache DIR   the cache the fetch command in a hint names (default: $OPENKEY_CACHE or ~/.cache/openkey)
${ALLOW_PATH_HELP}
`,
  options: {
    ...ALLOW_PATH_OPTION,
    json: { type: 'boolean' },
    cache: { type: 'string' },
  },
  async run(args, io) {
    const [file, ...extra] = args.positionals;
    if (file === undefined || extra.length > 0)
      throw new UsageError('expected exactly one manifest', 'openkey plan --json manifests/s.yaml');
    const loaded = await loadManifest(file, io.cwd, loadOptionsOf(args.values, io.signal));
    const manifestFile = path.resolve(io.cwd, file);
    const cacheDir =
      typeof args.values.cache === 'string' ? path.resolve(io.cwd, args.values.cache) : defaultCacheDir(io.env);
    // The lock's pinned files are part of the content stage's inputs, exactly as openkey build attaches them.
    const command = fetchCommand(manifestFile, cacheDir, io.cwd);
    const { manifest, unlocked } = await pinOpendata(loaded.manifest, manifestFile, command, io.cwd);
    if (unlocked.length > 0)
      io.err(
        `note: no lock file pins the real data of ${unlocked.join(', ')}: the datasets stage's key and the keys after it are not those a build will use (run: ${command})\n`,
      );
    const facts = await surveyHost(manifest);
    const plan = planBuild(manifest, facts);
    if (args.values.json)
      io.out(JSON.stringify({ manifest: portableManifest(manifest, facts.projectRoot), plan }, null, 2) + '\n');
    else io.out(planTable(plan));
    return 0;
  },
};
