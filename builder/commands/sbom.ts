import path from 'node:path';
import { defaultCacheDir } from '../cache/index.ts';
import { UsageError } from '../../common/errors.ts';
import { PROJECT_ROOT } from '../plan/survey.ts';
import { regenerateSbom } from '../sbom/index.ts';
import type { Command } from './types.ts';

export const command: Command = {
  name: 'sbom',
  help: `Usage: openkey sbom <out-dir> [--cache DIR]

Regenerates the SPDX 2.3 software bill of materials beside a build's images (<name>-<version>.spdx.json): every
Debian package with its version and the licence its copyright file declares, the npm packages bundled in the service
and the apps, and every dataset file and document on the key with its SHA-256, source and licence. Every build writes
it too, beside the images and on the key (openkey/sbom.spdx.json, linked from the portal).

Options:
  --cache DIR   the cache the build used (default: $OPENKEY_CACHE or ~/.cache/openkey)

Exit codes: 0 written, 1 failure, 2 usage error.
`,
  options: { cache: { type: 'string' } },
  async run(args, io) {
    const [dir, ...extra] = args.positionals;
    if (dir === undefined || extra.length > 0)
      throw new UsageError('expected one build folder', 'openkey sbom out/openkey-s');
    const cacheDir =
      typeof args.values.cache === 'string' ? path.resolve(io.cwd, args.values.cache) : defaultCacheDir(io.env);
    const file = await regenerateSbom(path.resolve(io.cwd, dir), cacheDir, PROJECT_ROOT);
    io.out(`wrote ${path.relative(io.cwd, file) || file}\n`);
    return 0;
  },
};
