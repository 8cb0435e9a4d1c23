import path from 'node:path';
import { UsageError } from '../../common/errors.ts';
import { ALLOW_PATH_HELP, ALLOW_PATH_OPTION, loadManifest, loadOptionsOf } from '../manifest/index.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { planBuild, type Plan } from '../plan/index.ts';
import { surveyHost } from '../plan/survey.ts';
import type { Command } from './types.ts';

/** The manifest with its paths relative to the project, so a plan prints the same bytes in any checkout. */
export function portableManifest(manifest: ResolvedManifest, projectRoot: string): unknown {
  const relative = (file: string) => path.relative(projectRoot, file).split(path.sep).join('/');
  return {
    ...manifest,
    overlays: manifest.overlays.map(relative),
    datasets: manifest.datasets.map((dataset) =>
      dataset.source === 'local' ? { ...dataset, path: relative(dataset.path) } : dataset,
    ),
    docs: manifest.docs.map((doc) => ({ ...doc, path: relative(doc.path) })),
    notebooks: manifest.notebooks.map((notebook) => ({ ...notebook, path: relative(notebook.path) })),
  };
}

function planTable(plan: Plan): string {
  const lines = [
    `${plan.name} ${plan.version} (variant ${plan.variant}), SOURCE_DATE_EPOCH=${plan.sourceDateEpoch}`,
    '',
  ];
  const width = Math.max(...plan.stages.map((stage) => stage.name.length));
  plan.stages.forEach((stage, index) => {
    const after = stage.dependsOn.length > 0 ? `after ${stage.dependsOn.join(', ')}` : '';
    lines.push(
      `${String(index + 1).padStart(2)}. ${stage.name.padEnd(width)}  ${stage.inputsHash.slice(0, 16)}  ${after}`.trimEnd(),
    );
  });
  return lines.join('\n') + '\n';
}

export const command: Command = {
  name: 'plan',
  help: `Usage: openkey plan [--json] <manifest.yaml>

Prints the build plan: the ordered stages and the hash of each stage's inputs (its manifest section, the digests of
its files, the versions of its tools and the hashes of the stages before it). A stage whose hash is unchanged is
taken from the cache. --json prints { manifest, plan } with paths relative to the project; the same inputs always
give the same bytes.

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
