import path from 'node:path';
import { ALLOW_PATH_HELP, ALLOW_PATH_OPTION, loadManifest, ManifestError, loadOptionsOf } from '../manifest/index.ts';
import { UsageError } from '../../common/errors.ts';
import { formatBytes } from '../../common/format.ts';
import { defaultCacheDir } from '../cache/index.ts';
import type { Command } from './types.ts';
import { checkLockFile } from '../opendata/lock.ts';
import { opendataSizes } from '../opendata/sizes.ts';

export const command: Command = {
  name: 'check',
  help: `Usage: openkey check <manifest.yaml>... [--cache DIR]

Validates each manifest: YAML syntax, the schema, the extends chain and merge, then the semantic checks (paths exist,
URL datasets have a sha256, package names, media size, ports, notebooks have Jupyter). Every problem is printed at
once as file:line:col path: message (hint). Real data (source: opendata) counts towards the media size with the
sizes its lock file pins, or before a lock exists with those of the record as openkey fetch last read it (kept in
the cache) or of the catalogue; a dataset whose size nothing offline knows is named.

Options:
  --cache DIR   the cache openkey fetch uses (default: $OPENKEY_CACHE or ~/.cache/openkey)
${ALLOW_PATH_HELP}

Exit codes: 0 all valid, 2 a manifest has problems or the arguments are wrong.
`,
  options: { ...ALLOW_PATH_OPTION, cache: { type: 'string' } },
  async run(args, io) {
    if (args.positionals.length === 0) throw new UsageError('no manifest given', 'openkey check manifests/s.yaml');
    const cacheDir =
      typeof args.values.cache === 'string' ? path.resolve(io.cwd, args.values.cache) : defaultCacheDir(io.env);
    let failed = 0;
    for (const file of args.positionals) {
      try {
        const { manifest, files } = await loadManifest(file, io.cwd, {
          ...loadOptionsOf(args.values, io.signal),
          opendataCache: cacheDir,
        });
        const manifestFile = files[0] ?? file;
        const lockProblem = await checkLockFile(manifest, manifestFile, io.cwd);
        if (lockProblem !== undefined) {
          failed++;
          io.err(`${lockProblem}\n`);
          continue;
        }
        const sizes = await opendataSizes(manifest, manifestFile, cacheDir);
        const datasets = manifest.datasets.length;
        const real = [...sizes.bytes.values()].reduce((sum, bytes) => sum + bytes, 0);
        const from = [...new Set(sizes.from.values())].join(', ');
        io.out(
          `${file}: ok (${manifest.name} ${manifest.version}, variant ${manifest.variant}, ${datasets} dataset${datasets === 1 ? '' : 's'}${sizes.bytes.size > 0 ? `; real data ${formatBytes(real)} by ${from}` : ''})\n`,
        );
        for (const [id, names] of sizes.unknown)
          io.out(
            `  note: ${id}: the size of ${names.length > 3 ? `${names.length} files` : names.join(', ')} is not known before openkey fetch reads the record, so the media check does not count it (run: openkey fetch ${file})\n`,
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
