import { readFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { itemIdentity, mergeNodes, stripDirectives, toPlain } from './merge.ts';
import { ManifestError, sortProblems, type ManifestProblem } from './problems.ts';
import { checkSemantics } from './semantic.ts';
import type { Origin, ResolvedManifest } from './types.ts';
import { validateAgainstSchema } from './validate.ts';
import { MERGE_TAGS, nodeAtPath, parseYamlWithPositions, type MapNode, type PosNode } from './yaml.ts';

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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (via !== undefined) {
      problems.push({
        origin: via,
        path: 'extends',
        message:
          code === 'ENOENT'
            ? `parent manifest not found: ${path.basename(file)}`
            : code === 'EISDIR'
              ? `parent ${path.basename(file)} is a folder, not a manifest file`
              : `cannot read parent manifest ${path.basename(file)} (${code})`,
        hint: manifestsBeside(file),
      });
    } else {
      problems.push({
        origin: fileOrigin(file),
        path: '',
        message:
          code === 'ENOENT'
            ? 'file not found'
            : code === 'EISDIR'
              ? 'is a folder, not a manifest file'
              : `cannot read the file (${code})`,
        hint: code === 'ENOENT' ? manifestsBeside(file) : 'check the path and its permissions',
      });
    }
    return;
  }
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
export async function loadManifest(manifestPath: string, cwd: string = process.cwd()): Promise<LoadedManifest> {
  const file = path.resolve(cwd, manifestPath);
  const problems: ManifestProblem[] = [];
  const layers: Layers = { order: [], own: new Map() };
  await collectLayers(file, [], problems, undefined, layers);
  let merged: PosNode | undefined;
  for (const layerFile of layers.order) merged = mergeNodes(merged, layers.own.get(layerFile)!, [], problems);
  if (merged?.kind !== 'map' || problems.length > 0) throw new ManifestError(file, sortProblems(problems));
  const tree = stripDirectives(merged) as MapNode;
  if (hasDirective(tree))
    throw new ManifestError(file, [{ origin: fileOrigin(file), path: '', message: 'internal: unmerged directive' }]);
  const plain = toPlain(tree) as Record<string, unknown>;
  problems.push(...validateAgainstSchema('full', plain, tree, file));
  if (problems.length > 0) throw new ManifestError(file, sortProblems(problems));
  const manifest = completeManifest(plain, snapshotDecidesEpoch(tree, layers.order));
  problems.push(...(await checkSemantics(manifest, tree)));
  if (problems.length > 0) throw new ManifestError(file, sortProblems(problems));
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
    const s = manifest.base.snapshot;
    manifest.sourceDateEpoch =
      Date.UTC(
        +s.slice(0, 4),
        +s.slice(4, 6) - 1,
        +s.slice(6, 8),
        +s.slice(9, 11),
        +s.slice(11, 13),
        +s.slice(13, 15),
      ) / 1000;
  }
  return manifest as ResolvedManifest;
}
