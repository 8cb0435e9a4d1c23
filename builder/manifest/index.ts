import { readdirSync } from 'node:fs';
import path from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';
import { allowedRoots, confine, isRefusal, type Roots } from './confine.ts';
import { LIMITS, readManifestText } from './limits.ts';
import { itemIdentity, mergeNodes, stripDirectives, toPlain } from './merge.ts';
import { ManifestError, sortProblems, type ManifestProblem } from './problems.ts';
import { checkSemantics } from './semantic.ts';
import type { Origin, ResolvedManifest } from './types.ts';
import { validateAgainstSchema } from './validate.ts';
import { snapshotEpoch } from './values.ts';
import { MERGE_TAGS, nodeAtPath, parseYamlWithPositions, type MapNode, type PosNode } from './yaml.ts';
import { opendataSizes } from '../opendata/sizes.ts';

export type { ResolvedManifest } from './types.ts';
export { ManifestError } from './problems.ts';

export interface LoadedManifest {
  manifest: ResolvedManifest;
  /** The merged tree: every value with the file and line it came from (for `openkey explain`). */
  tree: MapNode;
  /** Every file read, the manifest first, then its parents in merge order. */
  files: string[];
}

/** Manifest keys whose values are paths, resolved against the directory of the file that wrote them. */
const PATH_LOCATIONS: readonly (readonly string[])[] = [
  ['overlays', '*'],
  ['datasets', '*', 'path'],
  ['docs', '*', 'path'],
  ['notebooks', '*', 'path'],
];

/**
 * Every file of an `extends` graph once, ancestors before descendants (depth-first, parents in the order written),
 * each with its own layer: a shared ancestor such as base.yaml is merged once, not once per parent.
 */
interface Layers {
  order: string[];
  own: Map<string, MapNode>;
  /** Files read so far (the manifest included), against LIMITS.files. */
  read: number;
  roots: Roots;
  signal: AbortSignal | undefined;
}

function fileOrigin(file: string): Origin {
  return { file, line: 1, col: 1 };
}

function checkDirectives(node: PosNode, inSeq: boolean, problems: ManifestProblem[], pathText: string): void {
  if (node.tag === '!remove' && (!inSeq || node.kind !== 'scalar')) {
    problems.push({
      origin: node.origin,
      path: pathText,
      message: '!remove must tag a list item naming what to remove',
      hint: 'write "- !remove nano"',
    });
  }
  if (node.tag === '!replace' && node.kind === 'scalar') {
    problems.push({
      origin: node.origin,
      path: pathText,
      message: '!replace must tag a list or a mapping',
      hint: 'scalars replace inherited values anyway',
    });
  }
  if (node.kind === 'map')
    for (const entry of node.entries)
      checkDirectives(entry.value, false, problems, pathText ? `${pathText}.${entry.key}` : entry.key);
  if (node.kind === 'seq') {
    const seen = new Set<string>();
    node.items.forEach((item, index) => {
      checkDirectives(item, true, problems, `${pathText}[${index}]`);
      const identity = item.kind === 'map' ? itemIdentity(item) : undefined;
      if (identity === undefined) return;
      if (seen.has(identity))
        problems.push({
          origin: item.origin,
          path: `${pathText}[${index}]`,
          message: `"${identity}" appears twice in this list`,
          hint: 'ids must be unique; merge the two items',
        });
      seen.add(identity);
    });
  }
}

function resolvePaths(node: PosNode, location: readonly string[]): void {
  const [head, ...rest] = location;
  if (head === undefined) return;
  const children: PosNode[] =
    node.kind === 'map'
      ? node.entries.filter((e) => head === '*' || e.key === head).map((e) => e.value)
      : node.kind === 'seq' && head === '*'
        ? node.items
        : [];
  for (const child of children) {
    if (rest.length === 0) {
      if (child.kind === 'scalar' && typeof child.value === 'string') {
        child.value = path.resolve(path.dirname(child.origin.file), child.value);
      }
    } else {
      resolvePaths(child, rest);
    }
  }
}

function manifestsBeside(file: string): string {
  try {
    const names = readdirSync(path.dirname(file)).filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'));
    return names.length > 0 ? `manifests there: ${names.sort().join(', ')}` : 'no manifests in that folder';
  } catch {
    return 'the folder does not exist';
  }
}

async function collectLayers(
  file: string,
  stack: string[],
  problems: ManifestProblem[],
  via: Origin | undefined,
  layers: Layers,
): Promise<void> {
  if (stack.includes(file)) {
    const cycle = [...stack.slice(stack.indexOf(file)), file].map((f) => path.basename(f)).join(' → ');
    problems.push({
      origin: via ?? fileOrigin(file),
      path: 'extends',
      message: `extends cycle: ${cycle}`,
      hint: 'remove one of these extends entries',
    });
    return;
  }
  if (layers.own.has(file)) return;
  layers.signal?.throwIfAborted();
  const parentProblem = (message: string, hint?: string) =>
    problems.push({
      origin: via ?? fileOrigin(file),
      path: via === undefined ? '' : 'extends',
      message,
      ...(hint === undefined ? {} : { hint }),
    });
  const name = via === undefined ? 'the file' : `parent ${path.basename(file)}`;
  if (++layers.read > LIMITS.files) {
    if (layers.read === LIMITS.files + 1)
      parentProblem(`more than ${LIMITS.files} manifest files in this extends graph`, 'flatten the extends chain');
    return;
  }
  if (via !== undefined) {
    // A parent is a manifest of the project: confined like every other path, and named as YAML, so that
    // "extends: /etc/shadow" neither reads nor echoes a host file.
    const confined = await confine(file, layers.roots, 'parent manifest');
    if (isRefusal(confined)) {
      parentProblem(
        confined.message.startsWith('parent manifest not found')
          ? `parent manifest not found: ${path.basename(file)}`
          : confined.message,
        confined.message.startsWith('parent manifest not found') ? manifestsBeside(file) : confined.hint,
      );
      return;
    }
    if (confined.isDirectory) {
      parentProblem(`parent ${path.basename(file)} is a folder, not a manifest file`, manifestsBeside(file));
      return;
    }
    if (!/\.ya?ml$/.test(file)) {
      parentProblem(`parent ${path.basename(file)} is not a .yaml or .yml file`, manifestsBeside(file));
      return;
    }
  }
  const read = await readManifestText(file);
  if (!read.ok) {
    const code = read.code;
    const detail =
      read.code === 'ENOTFILE' && 'kind' in read
        ? read.kind === 'a folder'
          ? 'is a folder, not a manifest file'
          : `is ${read.kind}, not a manifest file`
        : read.code === 'ETOOBIG' && 'bytes' in read
          ? `is ${read.bytes < 0 ? 'more than' : `${read.bytes} bytes, over`} the ${LIMITS.fileBytes / 1024} KiB a manifest may have`
          : read.code === 'ETOOMANY' && 'items' in read
            ? `has ${read.items} lines and list items, over the ${LIMITS.fileItems} a manifest may have`
            : read.code === 'ETOODEEP'
              ? `nests lists or mappings more than ${LIMITS.depth} levels deep`
              : read.code === 'EBINARY'
                ? 'is not UTF-8 text'
                : undefined;
    if (via !== undefined) {
      parentProblem(
        code === 'ENOENT'
          ? `parent manifest not found: ${path.basename(file)}`
          : detail !== undefined
            ? `${name} ${detail}`
            : `cannot read parent manifest ${path.basename(file)} (${code})`,
        code === 'ENOENT' || detail === 'is a folder, not a manifest file' ? manifestsBeside(file) : undefined,
      );
    } else {
      parentProblem(
        code === 'ENOENT' ? 'file not found' : (detail ?? `cannot read the file (${code})`),
        code === 'ENOENT'
          ? manifestsBeside(file)
          : detail === undefined
            ? 'check the path and its permissions'
            : undefined,
      );
    }
    return;
  }
  const text = read.text;
  const parsed = parseYamlWithPositions(text, file);
  for (const problem of parsed.problems)
    problems.push({
      origin: problem.origin,
      path: '',
      message: problem.message,
      ...(problem.hint ? { hint: problem.hint } : {}),
    });
  if (parsed.root === undefined) {
    if (parsed.problems.length === 0)
      problems.push({
        origin: fileOrigin(file),
        path: '',
        message: 'the manifest is empty',
        hint: 'start with "extends: base.yaml"',
      });
    return;
  }
  if (parsed.root.kind !== 'map') {
    problems.push({
      origin: parsed.root.origin,
      path: '',
      message: 'a manifest must be a mapping of keys to values',
      hint: 'start with "extends: base.yaml"',
    });
    return;
  }
  const root = parsed.root;
  checkDirectives(root, false, problems, '');
  problems.push(...validateAgainstSchema('layer', toPlain(root), root, file));
  for (const location of PATH_LOCATIONS) resolvePaths(root, location);

  const extendsEntry = root.entries.find((entry) => entry.key === 'extends');
  const parentRefs: { name: string; origin: Origin }[] = [];
  if (extendsEntry !== undefined) {
    const value = extendsEntry.value;
    const items = value.kind === 'seq' ? value.items : [value];
    for (const item of items)
      if (item.kind === 'scalar' && typeof item.value === 'string' && item.value !== '')
        parentRefs.push({ name: item.value, origin: item.origin });
  }
  for (const ref of parentRefs) {
    await collectLayers(path.resolve(path.dirname(file), ref.name), [...stack, file], problems, ref.origin, layers);
  }
  layers.order.push(file);
  layers.own.set(file, { ...root, entries: root.entries.filter((entry) => entry.key !== 'extends') });
}

/** At most LIMITS.problems problems, then one line that counts the rest (a data file named as a manifest). */
function capProblems(problems: ManifestProblem[]): ManifestProblem[] {
  if (problems.length <= LIMITS.problems) return problems;
  const last = problems[LIMITS.problems - 1]!;
  return [
    ...problems.slice(0, LIMITS.problems),
    { origin: last.origin, path: '', message: `${problems.length - LIMITS.problems} more problems not shown` },
  ];
}

/** True when no YAML merge directive survives (they only make sense against a parent). */
function hasDirective(node: PosNode): boolean {
  if (node.tag !== undefined && MERGE_TAGS.has(node.tag)) return true;
  if (node.kind === 'map') return node.entries.some((entry) => hasDirective(entry.value));
  if (node.kind === 'seq') return node.items.some(hasDirective);
  return false;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads a manifest and its `extends` chain, validates each file, merges, validates the result and runs the
 * semantic checks. Throws ManifestError with every problem found, never just the first.
 */
export interface LoadOptions {
  /** Folders besides the project and the toolchain that sources may come from (`--allow-path`). */
  allowPaths?: readonly string[];
  /** Stops the load between files (SIGINT, SIGTERM). */
  signal?: AbortSignal;
  /**
   * The cache whose record lists (kept by `openkey fetch`) give real-data sizes before a lock file exists; the lock
   * beside the manifest and the catalogue are read either way.
   */
  opendataCache?: string;
}

export async function loadManifest(
  manifestPath: string,
  cwd: string = process.cwd(),
  options: LoadOptions = {},
): Promise<LoadedManifest> {
  try {
    return await load(manifestPath, cwd, options);
  } catch (error) {
    if (options.signal?.aborted !== true || error instanceof ManifestError) throw error;
    const reason = options.signal.reason as unknown;
    throw new OpenKeyError(
      'E_INTERRUPTED',
      `stopped while reading ${manifestPath}: ${reason instanceof Error ? reason.message : String(reason)}`,
    );
  }
}

async function load(manifestPath: string, cwd: string, options: LoadOptions): Promise<LoadedManifest> {
  const file = path.resolve(cwd, manifestPath);
  const problems: ManifestProblem[] = [];
  const roots = await allowedRoots(
    file,
    (options.allowPaths ?? []).map((dir) => path.resolve(cwd, dir)),
  );
  const layers: Layers = { order: [], own: new Map(), read: 0, roots, signal: options.signal };
  await collectLayers(file, [], problems, undefined, layers);
  let merged: PosNode | undefined;
  for (const layerFile of layers.order) merged = mergeNodes(merged, layers.own.get(layerFile)!, [], problems);
  if (merged?.kind !== 'map' || problems.length > 0)
    throw new ManifestError(file, capProblems(sortProblems(problems)), problems.length);
  const tree = stripDirectives(merged) as MapNode;
  if (hasDirective(tree))
    throw new ManifestError(file, [{ origin: fileOrigin(file), path: '', message: 'internal: unmerged directive' }]);
  const plain = toPlain(tree) as Record<string, unknown>;
  problems.push(...validateAgainstSchema('full', plain, tree, file));
  if (problems.length > 0) throw new ManifestError(file, capProblems(sortProblems(problems)), problems.length);
  const manifest = completeManifest(plain, snapshotDecidesEpoch(tree, layers.order));
  options.signal?.throwIfAborted();
  const { bytes: opendataBytes } = await opendataSizes(manifest, file, options.opendataCache);
  problems.push(
    ...(await checkSemantics(manifest, tree, {
      roots,
      opendataBytes,
      ...(options.signal ? { signal: options.signal } : {}),
    })),
  );
  if (problems.length > 0) throw new ManifestError(file, capProblems(sortProblems(problems)), problems.length);
  const files = [file, ...layers.order.filter((layerFile) => layerFile !== file)];
  return { manifest: deepFreeze(manifest), tree, files };
}

/**
 * A `base.snapshot` set in a later file than `sourceDateEpoch` (base.yaml sets one) decides the build time: pinning
 * the archive to a date should also date the build, unless the same or a later file sets the epoch explicitly.
 */
function snapshotDecidesEpoch(tree: MapNode, order: string[]): boolean {
  const snapshot = nodeAtPath(tree, ['base', 'snapshot']);
  if (snapshot.depthReached < 2) return false;
  const epoch = nodeAtPath(tree, ['sourceDateEpoch']);
  if (epoch.depthReached < 1) return true;
  return order.indexOf(snapshot.node.origin.file) > order.indexOf(epoch.node.origin.file);
}

/** Fills the optional fields that have a fixed meaning when absent. */
function completeManifest(plain: Record<string, unknown>, fromSnapshot: boolean): ResolvedManifest {
  const manifest = structuredClone(plain) as unknown as Omit<ResolvedManifest, 'sourceDateEpoch'> & {
    sourceDateEpoch?: number;
  };
  if (fromSnapshot) delete manifest.sourceDateEpoch;
  for (const dataset of manifest.datasets) if (dataset.tree === undefined) dataset.tree = 'mini';
  if (manifest.sourceDateEpoch === undefined && manifest.base.snapshot !== undefined) {
    // An impossible date (refused by the semantic checks) leaves the epoch unset rather than negative.
    const epoch = snapshotEpoch(manifest.base.snapshot);
    if (epoch !== undefined) manifest.sourceDateEpoch = epoch;
  }
  return manifest as ResolvedManifest;
}

/** `--allow-path DIR` (repeatable), for every command that reads a manifest. */
export const ALLOW_PATH_OPTION = { 'allow-path': { type: 'string', multiple: true } } as const;
export const ALLOW_PATH_HELP =
  '  --allow-path DIR   a folder outside the project that datasets, docs, notebooks and overlays may come from';

/** The load options of a command's parsed arguments. */
export function loadOptionsOf(values: Record<string, unknown>, signal?: AbortSignal): LoadOptions {
  const allow = values['allow-path'];
  const allowPaths = Array.isArray(allow) ? allow.filter((dir): dir is string => typeof dir === 'string') : [];
  return signal === undefined ? { allowPaths } : { allowPaths, signal };
}
