import { ALLOW_PATH_HELP, ALLOW_PATH_OPTION, loadManifest, ManifestError, loadOptionsOf } from '../manifest/index.ts';
import { UsageError } from '../../common/errors.ts';
import type { Command } from './types.ts';
import { checkLockFile } from '../opendata/lock.ts';

export const command: Command = {
  name: 'check',
  help: `Usage: openkey check <manifest.yaml>...

Validates each manifest: YAML syntax, the schema, the extends chain and merge, then the semantic checks (paths exist,
URL datasets have a sha256, package names, media size, ports, notebooks have Jupyter). Every problem is printed at
once as file:line:col path: message (hint).

Options:
${ALLOW_PATH_HELP}

Exit codes: 0 all valid, 2 a manifest has problems or the arguments are wrong.
`,
  options: { ...ALLOW_PATH_OPTION },
  async run(args, io) {
    if (args.positionals.length === 0) throw new UsageError('no manifest given', 'openkey check manifests/s.yaml');
    let failed = 0;
    for (const file of args.positionals) {
      try {
        const { manifest, files } = await loadManifest(file, io.cwd, loadOptionsOf(args.values, io.signal));
        const lockProblem = await checkLockFile(manifest, files[0] ?? file, io.cwd);
        if (lockProblem !== undefined) {
          failed++;
          io.err(`${lockProblem}\n`);
          continue;
        }
        const datasets = manifest.datasets.length;
        io.out(
          `${file}: ok (${manifest.name} ${manifest.version}, variant ${manifest.variant}, ${datasets} dataset${datasets === 1 ? '' : 's'})\n`,
        );
      } catch (error) {
        if (!(error instanceof ManifestError)) throw error;
        failed++;
        io.err(`${error.format(io.cwd)}\n${file}: ${error.count} problem${error.count === 1 ? '' : 's'}\n`);
      }
    }
    return failed > 0 ? 2 : 0;
  },
};
