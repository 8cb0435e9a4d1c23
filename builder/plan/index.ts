import { createHash } from 'node:crypto';
import path from 'node:path';
import type { ResolvedManifest } from '../manifest/types.ts';
import { dependenciesOf, enabledStages, type StageName } from '../stages/registry.ts';

export type { StageName } from '../stages/registry.ts';

/**
 * The planner: a pure function from the resolved manifest and facts about the host to the ordered build stages,
 * each with its cache key, the hash of everything that can change its output (its manifest inputs, its code, the
 * versions of its tools, the keys of the stages it reads). No fs, no processes, no clock: the same inputs give the
 * same bytes, and the build looks each stage up in the cache under exactly this key.
 */
export interface PlannedStage {
  name: StageName;
  dependsOn: StageName[];
  inputs: Record<string, unknown>;
  /** The cache key: `<cache>/<stage>/<key>/`. */
  key: string;
}

export interface Plan {
  name: string;
  version: string;
  variant: string;
  sourceDateEpoch: number;
  stages: PlannedStage[];
}

export interface HostFacts {
  /** Program → first line of its version output ("missing" when absent), for the tools marked `keyed`. */
  toolVersions: Record<string, string>;
  /** Absolute path → sha256 of a file the manifest names, or of the sorted listing of a folder's files. */
  fileDigests: Record<string, string>;
  /** Project-relative path → digest of each stage's code files and folders (the registry's `code`). */
  codeDigests: Record<string, string>;
  /** Paths in the plan are written relative to this folder, so two clones plan the same bytes. */
  projectRoot: string;
}

/** JSON with sorted keys: hashes must not depend on the order keys were written in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function planBuild(manifest: ResolvedManifest, facts: HostFacts): Plan {
  const relative = (file: string) => path.relative(facts.projectRoot, file).split(path.sep).join('/');
  const digest = (file: string) => ({ path: relative(file), sha256: facts.fileDigests[file] ?? 'missing' });
  const stages: PlannedStage[] = [];
  const keys = new Map<StageName, string>();
  for (const record of enabledStages(manifest)) {
    const upstream: Record<string, string> = {};
    const dependsOn = dependenciesOf(record, manifest);
    for (const dependency of dependsOn) {
      const key = keys.get(dependency);
      if (key === undefined) throw new Error(`stage ${record.name} depends on ${dependency}, which is not planned`);
      upstream[dependency] = key;
    }
    const inputs = {
      ...record.inputs(manifest, { relative, digest }),
      tools: Object.fromEntries(
        record.tools.flatMap((tool) => (tool in facts.toolVersions ? [[tool, facts.toolVersions[tool]]] : [])),
      ),
    };
    const code = Object.fromEntries(record.code.map((file) => [file, facts.codeDigests[file] ?? 'missing']));
    const key = sha256Hex(canonicalJson({ stage: record.name, inputs, code, upstream })).slice(0, 32);
    keys.set(record.name, key);
    stages.push({ name: record.name, dependsOn, inputs, key });
  }
  return {
    name: manifest.name,
    version: manifest.version,
    variant: manifest.variant,
    sourceDateEpoch: manifest.sourceDateEpoch,
    stages,
  };
}
