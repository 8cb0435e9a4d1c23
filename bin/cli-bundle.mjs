// The CLI's TypeScript bundled by esbuild into one file, .cache/cli/openkey.mjs, made again when a source changed.
//
// Why: through tsx every start transforms and resolves the ~200 modules of the CLI (0.6 to 0.9 s here before a
// command runs), and a teacher pays it on every `openkey write` of a workshop's keys; the bundle starts in about
// half. Written here because tsx keeps no bundle and Node 20 has neither type stripping nor a compile cache.
//
// The bundle stays in the clone and keeps each module's own location: import.meta.url, .dirname and .filename are
// replaced by the source file's, so paths computed from them (the project root, the workers' entry files) are
// those of the sources; node_modules packages stay imports, resolved from the clone's node_modules.
import { readFileSync, statSync, mkdirSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'builder/cli.ts');
export const BUNDLE = path.join(ROOT, '.cache/cli/openkey.mjs');
const STAMP_PREFIX = '// openkey-cli-inputs ';

/** The size and mtime of every source file the bundle was made from, as written on its first line. */
function stampOf(files) {
  return files.map((file) => {
    const info = statSync(path.join(ROOT, file));
    return [file, info.size, info.mtimeMs];
  });
}

/** True when the bundle exists and no source it was made from changed since (a stat of each, a few ms). */
export function bundleIsFresh(bundle = BUNDLE) {
  let firstLine;
  try {
    const text = readFileSync(bundle, 'utf8');
    firstLine = text.slice(0, text.indexOf('\n'));
  } catch {
    return false;
  }
  if (!firstLine.startsWith(STAMP_PREFIX)) return false;
  try {
    const recorded = JSON.parse(firstLine.slice(STAMP_PREFIX.length));
    const now = stampOf(recorded.map(([file]) => file));
    return JSON.stringify(now) === JSON.stringify(recorded);
  } catch {
    return false; // a source was deleted or renamed
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

/** Builds the bundle into a temporary file and renames it into place, so concurrent starts never read half of one. */
export async function buildBundle(bundle = BUNDLE) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    absWorkingDir: ROOT,
    bundle: true,
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
  const inputs = Object.keys(result.metafile.inputs).filter((file) => !file.includes('node_modules/'));
  const code = result.outputFiles[0].text;
  mkdirSync(path.dirname(bundle), { recursive: true });
  const partial = `${bundle}.${process.pid}.partial`;
  writeFileSync(partial, `${STAMP_PREFIX}${JSON.stringify(stampOf(inputs))}\n${code}`);
  renameSync(partial, bundle);
}

/**
 * The CLI's main(): from the bundle, made first if a source changed; from the sources through tsx when
 * OPENKEY_NO_BUNDLE=1 or the bundle cannot be made (then tsx reports what is wrong with the sources).
 */
export async function loadMain() {
  if (process.env.OPENKEY_NO_BUNDLE !== '1') {
    try {
      if (!bundleIsFresh()) await buildBundle();
      return (await import(pathToFileURL(BUNDLE).href)).main;
    } catch {
      rmSync(BUNDLE, { force: true });
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  return (await import('../builder/cli.ts')).main;
}
