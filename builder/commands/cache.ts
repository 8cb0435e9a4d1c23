import { Cache, defaultCacheDir } from '../cache/index.ts';
import { UsageError } from '../../common/errors.ts';
import { formatBytes } from '../../common/format.ts';
import type { Command } from './types.ts';

export const command: Command = {
  name: 'cache',
  help: `Usage: openkey cache ls [--cache DIR]
       openkey cache prune [--cache DIR] [--all | --older-than DAYS | --keep N]

ls     lists the cached stage outputs: stage, key, size, last used.
prune  removes leftovers of interrupted builds and broken entries, then, with --all every entry, with
       --older-than DAYS the entries unused for that long, with --keep N all but the N most recently used of
       each stage. Without an option it removes only the leftovers.

The cache lives in $OPENKEY_CACHE or ~/.cache/openkey unless --cache says otherwise.
`,
  options: {
    cache: { type: 'string' },
    all: { type: 'boolean' },
    'older-than': { type: 'string' },
    keep: { type: 'string' },
  },
  async run(args, io) {
    const [action, ...extra] = args.positionals;
    if ((action !== 'ls' && action !== 'prune') || extra.length > 0) {
      throw new UsageError(
        `expected "ls" or "prune"${action === undefined ? '' : `, got "${[action, ...extra].join(' ')}"`}`,
        'openkey cache --help',
      );
    }
    const cache = new Cache(typeof args.values.cache === 'string' ? args.values.cache : defaultCacheDir(io.env));
    if (action === 'ls') {
      const entries = await cache.list();
      if (entries.length === 0) {
        io.out(`${cache.root}: empty\n`);
        return 0;
      }
      const width = Math.max(...entries.map((e) => e.stage.length));
      for (const entry of entries) {
        io.out(
          `${entry.stage.padEnd(width)}  ${entry.key.slice(0, 16)}  ${formatBytes(entry.bytes).padStart(9)}  used ${entry.usedAt.toISOString().slice(0, 16).replace('T', ' ')}\n`,
        );
      }
      const total = entries.reduce((sum, e) => sum + e.bytes, 0);
      io.out(`${entries.length} entries, ${formatBytes(total)} in ${cache.root}\n`);
      return 0;
    }
    const number = (name: string): number | undefined => {
      const value = args.values[name];
      if (typeof value !== 'string') return undefined;
      const parsed = Number(value);
      if (!Number.isFinite(parsed) || parsed < 0) throw new UsageError(`--${name} expects a number, got "${value}"`);
      return parsed;
    };
    const olderThanDays = number('older-than');
    const keepPerStage = number('keep');
    const { removed, bytes } = await cache.prune({
      ...(args.values.all === true ? { all: true } : {}),
      ...(olderThanDays === undefined ? {} : { olderThanDays }),
      ...(keepPerStage === undefined ? {} : { keepPerStage }),
    });
    for (const dir of removed) io.out(`removed ${dir}\n`);
    io.out(`pruned ${removed.length} entries, ${formatBytes(bytes)} freed\n`);
    return 0;
  },
};
