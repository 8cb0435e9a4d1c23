import type { ManifestProblem } from './problems.ts';
import { dottedPath } from './problems.ts';
import type { MapNode, PosNode, ScalarNode, SeqNode } from './yaml.ts';

/**
 * Merge rules for `extends` (also in the README):
 * - mappings merge key by key; a scalar or list in the child replaces nothing but its own key;
 * - scalars: the child's value wins;
 * - lists append the child's items after the parent's; a scalar already present is not repeated; a mapping item with
 *   the same `id` (or `name`) as an inherited one is merged into it in place;
 * - `!remove X` as a list item removes the inherited scalar X, or the inherited item whose id/name is X;
 * - `!replace` before a list or mapping makes it replace the inherited value whole.
 */
export function mergeNodes(
  parent: PosNode | undefined,
  child: PosNode,
  pathSegments: (string | number)[],
  problems: ManifestProblem[],
): PosNode {
  if (child.tag === '!replace') return stripDirectives({ ...child, tag: undefined }, pathSegments, problems);
  if (parent === undefined) return stripDirectives(child, pathSegments, problems);
  if (parent.kind === 'map' && child.kind === 'map') return mergeMaps(parent, child, pathSegments, problems);
  if (parent.kind === 'seq' && child.kind === 'seq') return mergeSeqs(parent, child, pathSegments, problems);
  return stripDirectives(child, pathSegments, problems);
}

function mergeMaps(
  parent: MapNode,
  child: MapNode,
  pathSegments: (string | number)[],
  problems: ManifestProblem[],
): MapNode {
  const entries = parent.entries.map((entry) => ({ ...entry }));
  // Indexed by key: a linear scan per key would make a mapping of n keys cost n² (LIMITS keeps n small anyway).
  const indexOf = new Map(entries.map((entry, index) => [entry.key, index]));
  for (const childEntry of child.entries) {
    const index = indexOf.get(childEntry.key);
    const inherited = index === undefined ? undefined : entries[index];
    const value = mergeNodes(inherited?.value, childEntry.value, [...pathSegments, childEntry.key], problems);
    const merged = { key: childEntry.key, keyOrigin: childEntry.keyOrigin, value };
    if (index !== undefined) entries[index] = merged;
    else indexOf.set(childEntry.key, entries.push(merged) - 1);
  }
  return { kind: 'map', entries, origin: child.origin, tag: undefined };
}

/** The identity of a list item for merging: a scalar's value, or a mapping's `id` or `name`. */
export function itemIdentity(node: PosNode): string | undefined {
  if (node.kind === 'scalar') return node.value === null ? undefined : String(node.value);
  if (node.kind === 'map') {
    for (const key of ['id', 'name']) {
      const entry = node.entries.find((candidate) => candidate.key === key);
      if (entry?.value.kind === 'scalar' && entry.value.value !== null) return String(entry.value.value);
    }
  }
  return undefined;
}

function mergeSeqs(
  parent: SeqNode,
  child: SeqNode,
  pathSegments: (string | number)[],
  problems: ManifestProblem[],
): SeqNode {
  // Removed items become holes until the end, so the identity index stays valid: one lookup per item, not a scan.
  const items: (PosNode | undefined)[] = [...parent.items];
  const indexOf = new Map<string, number>();
  items.forEach((existing, index) => {
    const identity = existing === undefined ? undefined : itemIdentity(existing);
    if (identity !== undefined && !indexOf.has(identity)) indexOf.set(identity, index);
  });
  const present = () => items.filter((existing): existing is PosNode => existing !== undefined);
  let count = items.length;
  for (const item of child.items) {
    const identity = itemIdentity(item);
    const index = identity === undefined ? undefined : indexOf.get(identity);
    if (item.tag === '!remove') {
      if (index === undefined) {
        problems.push({
          origin: item.origin,
          path: dottedPath(pathSegments),
          message: `!remove ${identity ?? ''}: no inherited item has this value or id`,
          hint: `inherited items: ${
            present()
              .map((existing) => itemIdentity(existing) ?? '?')
              .join(', ') || '(none)'
          }`,
        });
      } else {
        items[index] = undefined;
        indexOf.delete(identity!);
        count--;
      }
      continue;
    }
    const existing = index === undefined ? undefined : items[index];
    if (existing === undefined) {
      const added = items.push(stripDirectives(item, [...pathSegments, count++], problems)) - 1;
      if (identity !== undefined) indexOf.set(identity, added);
    } else if (existing.kind === 'map' && item.kind === 'map')
      items[index!] = mergeNodes(existing, item, [...pathSegments, index!], problems);
    // An identical scalar is already there: lists of packages or kernel arguments do not repeat.
  }
  return { kind: 'seq', items: present(), origin: child.origin, tag: undefined };
}

/**
 * Removes `!remove` items and `!replace` tags from a node used as is. With `problems`, each `!remove` dropped this
 * way is reported: there was nothing inherited for it to remove, which is almost always a typo or a wrong level.
 */
export function stripDirectives(
  node: PosNode,
  pathSegments: (string | number)[] = [],
  problems?: ManifestProblem[],
): PosNode {
  if (node.kind === 'map') {
    return {
      ...node,
      tag: undefined,
      entries: node.entries.map((entry) => ({
        ...entry,
        value: stripDirectives(entry.value, [...pathSegments, entry.key], problems),
      })),
    };
  }
  if (node.kind === 'seq') {
    const kept: PosNode[] = [];
    for (const item of node.items) {
      if (item.tag !== '!remove') kept.push(stripDirectives(item, [...pathSegments, kept.length], problems));
      else
        problems?.push({
          origin: item.origin,
          path: dottedPath(pathSegments),
          message: `!remove ${itemIdentity(item) ?? ''}: nothing is inherited here to remove`,
          hint: 'remove this line, or check that the list is the inherited one',
        });
    }
    return { ...node, tag: undefined, items: kept };
  }
  return { ...node, tag: undefined } satisfies ScalarNode;
}

/** Plain JSON-like data of a node, as the schema sees it. */
export function toPlain(node: PosNode): unknown {
  if (node.kind === 'map') {
    const out: Record<string, unknown> = {};
    // defineProperty, not assignment: a key named __proto__ must stay a key (the schema then refuses it), not
    // replace the object's prototype.
    for (const entry of node.entries)
      Object.defineProperty(out, entry.key, {
        value: toPlain(entry.value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  if (node.kind === 'seq') return node.items.filter((item) => item.tag !== '!remove').map(toPlain);
  return node.value;
}
