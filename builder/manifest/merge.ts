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
  for (const childEntry of child.entries) {
    const index = entries.findIndex((entry) => entry.key === childEntry.key);
    const inherited = index >= 0 ? entries[index] : undefined;
    const value = mergeNodes(inherited?.value, childEntry.value, [...pathSegments, childEntry.key], problems);
    const merged = { key: childEntry.key, keyOrigin: childEntry.keyOrigin, value };
    if (index >= 0) entries[index] = merged;
    else entries.push(merged);
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
  const items = [...parent.items];
  for (const item of child.items) {
    const identity = itemIdentity(item);
    if (item.tag === '!remove') {
      const index = items.findIndex((existing) => itemIdentity(existing) === identity);
      if (index < 0) {
        problems.push({
          origin: item.origin,
          path: dottedPath(pathSegments),
          message: `!remove ${identity ?? ''}: no inherited item has this value or id`,
          hint: `inherited items: ${items.map((existing) => itemIdentity(existing) ?? '?').join(', ') || '(none)'}`,
        });
      } else {
        items.splice(index, 1);
      }
      continue;
    }
    const index = identity === undefined ? -1 : items.findIndex((existing) => itemIdentity(existing) === identity);
    const existing = index >= 0 ? items[index] : undefined;
    if (existing === undefined) items.push(stripDirectives(item, [...pathSegments, items.length], problems));
    else if (existing.kind === 'map' && item.kind === 'map')
      items[index] = mergeNodes(existing, item, [...pathSegments, index], problems);
    // An identical scalar is already there: lists of packages or kernel arguments do not repeat.
  }
  return { kind: 'seq', items, origin: child.origin, tag: undefined };
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
    for (const entry of node.entries) out[entry.key] = toPlain(entry.value);
    return out;
  }
  if (node.kind === 'seq') return node.items.filter((item) => item.tag !== '!remove').map(toPlain);
  return node.value;
}
