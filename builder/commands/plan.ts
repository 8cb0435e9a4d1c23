import { UsageError } from '../../common/errors.ts';
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
always give the same bytes.

Options:
${ALLOW_PATH_HELP}
`,
  options: {
    ...ALLOW_PATH_OPTION,
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const [file, ...extra] = args.positionals;
    if (file === undefined || extra.length > 0)
      throw new UsageError('expected exactly one manifest', 'openkey plan --json manifests/s.yaml');
    const { manifest } = await loadManifest(file, io.cwd, loadOptionsOf(args.values, io.signal));
    const facts = await surveyHost(manifest);
    const plan = planBuild(manifest, facts);
    if (args.values.json)
      io.out(JSON.stringify({ manifest: portableManifest(manifest, facts.projectRoot), plan }, null, 2) + '\n');
    else io.out(planTable(plan));
    return 0;
  },
};
