import path from 'node:path';
import { defaultCacheDir } from '../cache/index.ts';
import { UsageError } from '../../common/errors.ts';
import { ALLOW_PATH_HELP, ALLOW_PATH_OPTION, loadManifest, ManifestError, loadOptionsOf } from '../manifest/index.ts';
import { fetchOpendata } from '../opendata/fetch.ts';
import { opendataBase } from '../opendata/record.ts';
import { formatBytes } from '../util/progress.ts';
import type { Command } from './types.ts';

export const command: Command = {
  name: 'fetch',
  help: `Usage: openkey fetch <manifest.yaml> [--cache DIR] [--mirror DIR] [--jobs N]

Downloads the real data a manifest names (datasets with source: opendata) into the content cache, the only step
that downloads content. A pre-flight reads the records and checks the sizes against the free disk and the key's
budget before any large download; files then download N at a time with HTTP Range resume, retries with backoff and
a stall timeout, and enter the cache only when their size, adler32 and SHA-256 match (a mismatch is quarantined).
Writes <manifest>.lock.json beside the manifest: commit it, and build --offline needs no network.

Options:
  --cache DIR    cache folder (default: $OPENKEY_CACHE or ~/.cache/openkey)
  --mirror DIR   take files from this folder first (a colleague's disk, another key's openkey/datasets); with no
                 lock file, the mirror's metadata stands in for the portal: another key's dataset.json files, or
                 a record's JSON saved as record-N.json, so copying from a key needs no network at all
  --jobs N       downloads at once (default 3)
${ALLOW_PATH_HELP}

Environment: OPENKEY_OPENDATA_URL replaces https://opendata.cern.ch (a local mirror of the portal).

Exit codes: 0 fetched, 1 a download or check failed, 2 usage or manifest error.
`,
  options: {
    cache: { type: 'string' },
    mirror: { type: 'string' },
    jobs: { type: 'string' },
    ...ALLOW_PATH_OPTION,
  },
  async run(args, io) {
    const [file, ...extra] = args.positionals;
    if (file === undefined || extra.length > 0)
      throw new UsageError('expected exactly one manifest', 'openkey fetch manifests/m-atlas.yaml');
    const jobsText = typeof args.values.jobs === 'string' ? args.values.jobs : '3';
    const jobs = Number(jobsText);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 16)
      throw new UsageError(`--jobs must be a whole number from 1 to 16, not "${jobsText}"`);
    let loaded;
    try {
      loaded = await loadManifest(file, io.cwd, loadOptionsOf(args.values, io.signal));
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      io.err(`${error.format(io.cwd)}\n`);
      return 2;
    }
    const cacheDir =
      typeof args.values.cache === 'string' ? path.resolve(io.cwd, args.values.cache) : defaultCacheDir(io.env);
    const summary = await fetchOpendata({
      manifest: loaded.manifest,
      manifestFile: path.resolve(io.cwd, file),
      cacheDir,
      base: opendataBase(io.env),
      ...(typeof args.values.mirror === 'string' ? { mirror: path.resolve(io.cwd, args.values.mirror) } : {}),
      jobs,
      signal: io.signal,
      log: (line) => io.err(`${line}\n`),
    });
    io.out(
      `${summary.files} files, ${formatBytes(summary.bytes)}: ${summary.cached} already cached, ${summary.fromMirror} from the mirror, ${summary.downloaded} downloaded (${formatBytes(summary.bytesDownloaded)}) in ${summary.seconds.toFixed(1)} s\nwrote ${path.relative(io.cwd, summary.lockFile)}\n`,
    );
    return 0;
  },
};
