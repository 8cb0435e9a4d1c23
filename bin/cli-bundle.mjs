// The CLI's TypeScript bundled by esbuild into .cache/cli/, made again when a source changed.
//
// Why: through tsx every start transforms and resolves the ~200 modules of the CLI (0.6 to 0.9 s here before a
// command runs), and a teacher pays it on every `openkey write` of a workshop's keys; the bundle starts in about
// half. Written here because tsx keeps no bundle and Node 20 has neither type stripping nor a compile cache.
//
// The bundle stays in the clone and keeps each module's own location: import.meta.url, .dirname and .filename are
// replaced by the source file's, so paths computed from them (the project root, the workers' entry files) are
// those of the sources; node_modules packages stay imports, resolved from the clone's node_modules.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'builder/cli.ts');
export const BUNDLE_DIR = path.join(ROOT, '.cache/cli');
/** Names the current bundle's entry file and the sources it was made from. */
const CURRENT = 'current.json';

/** The size and mtime of every source file the bundle was made from. */
function stampOf(files) {
  return files.map((file) => {
    const info = statSync(path.join(ROOT, file));
    return [file, info.size, info.mtimeMs];
  });
}

/** The entry file of the bundle in `dir` when no source it was made from changed since (a stat of each, a few ms). */
export function freshEntry(dir = BUNDLE_DIR) {
  try {
    const { entry, inputs } = JSON.parse(readFileSync(path.join(dir, CURRENT), 'utf8'));
    const now = stampOf(inputs.map(([file]) => file));
    const file = path.join(dir, entry);
    return JSON.stringify(now) === JSON.stringify(inputs) && existsSync(file) ? file : undefined;
  } catch {
    return undefined; // no bundle yet, or a source was deleted or renamed
  }
}

/** import.meta.url, .dirname and .filename outside string literals, by the file's own values. */
export function pinImportMeta(source, file) {
  const values = {
    url: JSON.stringify(pathToFileURL(file).href),
    dirname: JSON.stringify(path.dirname(file)),
    filename: JSON.stringify(file),
  };
  return source
    .split('\n')
    .map((line) =>
      line.replace(/import\.meta\.(url|dirname|filename)\b/g, (match, key, offset) => {
        // A quote count that is odd before the match means it sits inside a string (such as generated code).
        const before = line.slice(0, offset).replace(/\\./g, '');
        const quotes = (before.match(/["'`]/g) ?? []).length;
        return quotes % 2 === 1 ? match : values[key];
      }),
    )
    .join('\n');
}

/** Writes a file whole or not at all: concurrent starts never read half of one. */
function writeWhole(file, contents) {
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, contents);
  renameSync(partial, file);
}

/**
 * Builds the bundle into `dir`: split at the commands' dynamic imports, so a command loads only its own modules and
 * packages (one file would import every command's packages at start). Every file is named by its content hash, so
 * two builds at once write the same bytes under the same names; current.json, written last, points at the entry.
 */
export async function buildBundle(dir = BUNDLE_DIR) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    absWorkingDir: ROOT,
    bundle: true,
    splitting: true,
    outdir: dir,
    entryNames: 'openkey-[hash]',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        name: 'pin-import-meta',
        setup(build) {
          build.onLoad({ filter: /\.(ts|js|mjs)$/ }, (args) => {
            if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
            const source = readFileSync(args.path, 'utf8');
            return {
              contents: pinImportMeta(source, args.path),
              loader: args.path.endsWith('.ts') ? 'ts' : 'js',
            };
          });
        },
      },
    ],
  });
  mkdirSync(dir, { recursive: true });
  for (const output of result.outputFiles) writeWhole(output.path, output.contents);
  const [entryOut] = Object.entries(result.metafile.outputs).find(
    ([, out]) => out.entryPoint === path.relative(ROOT, ENTRY),
  );
  const inputs = Object.keys(result.metafile.inputs).filter((file) => !file.includes('node_modules/'));
  writeWhole(path.join(dir, CURRENT), JSON.stringify({ entry: path.basename(entryOut), inputs: stampOf(inputs) }));
  return path.join(dir, path.basename(entryOut));
}

/**
 * The CLI's main(): from the bundle, made first if a source changed; from the sources through tsx when
 * OPENKEY_NO_BUNDLE=1 or the bundle cannot be made (then tsx reports what is wrong with the sources).
 */
export async function loadMain() {
  if (process.env.OPENKEY_NO_BUNDLE !== '1') {
    try {
      const entry = freshEntry() ?? (await buildBundle());
      const { main } = await import(pathToFileURL(entry).href);
      if (typeof main === 'function') return main;
    } catch {
      // fall through to the sources
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  return (await import('../builder/cli.ts')).main;
}
