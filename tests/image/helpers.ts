import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest } from '../../builder/manifest/index.ts';
import type { ResolvedManifest } from '../../builder/manifest/types.ts';

export const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(PROJECT, 'tests', 'image', 'fixtures');

export async function manifestOf(file: string): Promise<ResolvedManifest> {
  return (await loadManifest(path.resolve(PROJECT, file), PROJECT)).manifest;
}

/** A mutable deep copy of a (frozen) manifest with some fields replaced. */
export function withChanges(manifest: ResolvedManifest, change: (copy: ResolvedManifest) => void): ResolvedManifest {
  const copy = structuredClone(manifest) as ResolvedManifest;
  change(copy);
  return copy;
}
