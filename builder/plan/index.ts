import { createHash } from 'node:crypto';
import path from 'node:path';
import type { ResolvedManifest } from '../manifest/types.ts';

/**
 * The planner: a pure function from the resolved manifest and facts about the host to the ordered build stages,
 * each with the hash of everything that can change its output. No fs, no processes, no clock: the same inputs give
 * the same bytes, so a stage whose hash is in the cache is not rebuilt.
 */
export type StageName =
  | 'rootfs'
  | 'overlay'
  | 'os-layer'
  | 'service'
  | 'service-layer'
  | 'content'
  | 'iso'
  | 'usb'
  | 'qcow2'
  | 'ova'
  | 'finalize';

export interface PlannedStage {
  name: StageName;
  dependsOn: StageName[];
  inputs: Record<string, unknown>;
  inputsHash: string;
}

export interface Plan {
  name: string;
  version: string;
  variant: string;
  sourceDateEpoch: number;
  stages: PlannedStage[];
}

export interface HostFacts {
  /** Program → first line of its version output ("missing" when absent). */
  toolVersions: Record<string, string>;
  /** Absolute path → sha256 of the file, or of the sorted listing of a folder's files and their digests. */
  fileDigests: Record<string, string>;
  /** Paths in the plan are written relative to this folder, so two clones plan the same bytes. */
  projectRoot: string;
  /** Digest of the service and apps sources (services/, rootio/, common/, apps/, package.json, package-lock.json). */
  serviceSourceDigest: string;
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

function tools(facts: HostFacts, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, facts.toolVersions[name] ?? 'missing']));
}

export function planBuild(manifest: ResolvedManifest, facts: HostFacts): Plan {
  const relative = (file: string) => path.relative(facts.projectRoot, file).split(path.sep).join('/');
  const digest = (file: string) => ({ path: relative(file), sha256: facts.fileDigests[file] ?? 'missing' });
  const stages: PlannedStage[] = [];
  const hashes = new Map<StageName, string>();
  const add = (name: StageName, dependsOn: StageName[], inputs: Record<string, unknown>) => {
    const upstream = Object.fromEntries(dependsOn.map((dependency) => [dependency, hashes.get(dependency)]));
    const inputsHash = sha256Hex(canonicalJson({ stage: name, inputs, upstream }));
    hashes.set(name, inputsHash);
    stages.push({ name, dependsOn, inputs, inputsHash });
  };
  const packages = [...new Set(Object.values(manifest.packages).flat())].sort();
  const vmSettings = (output: ResolvedManifest['outputs']['qcow2']) => output.vm;

  add('rootfs', [], {
    base: manifest.base,
    packages,
    sourceDateEpoch: manifest.sourceDateEpoch,
    tools: tools(facts, ['mmdebstrap']),
  });
  add('overlay', ['rootfs'], {
    system: manifest.system,
    session: manifest.session,
    services: manifest.services,
    overlays: manifest.overlays.map(digest),
  });
  add('os-layer', ['overlay'], { compression: manifest.compression, tools: tools(facts, ['mksquashfs']) });
  add('service', [], { sources: facts.serviceSourceDigest, apps: manifest.apps, tools: tools(facts, ['node']) });
  add('service-layer', ['service'], { compression: manifest.compression, tools: tools(facts, ['mksquashfs']) });
  add('content', [], {
    name: manifest.name,
    version: manifest.version,
    variant: manifest.variant,
    datasets: manifest.datasets.map((dataset) =>
      dataset.source === 'local'
        ? { ...dataset, path: relative(dataset.path), sha256: facts.fileDigests[dataset.path] ?? 'missing' }
        : dataset,
    ),
    docs: manifest.docs.map((doc) => ({ ...doc, ...digest(doc.path) })),
    notebooks: manifest.notebooks.map((notebook) => ({ ...notebook, ...digest(notebook.path) })),
    apps: manifest.apps,
    service: { port: manifest.services.analysis.port, lan: manifest.services.analysis.lan },
    sourceDateEpoch: manifest.sourceDateEpoch,
  });
  add('iso', ['os-layer', 'service-layer', 'content'], {
    label: manifest.label,
    boot: manifest.boot,
    sourceDateEpoch: manifest.sourceDateEpoch,
    tools: tools(facts, ['xorriso', 'grub-mkimage']),
  });
  const finalInputs: StageName[] = ['iso'];
  if (manifest.outputs.usb.enabled) {
    add('usb', ['iso'], { media: manifest.media, tools: tools(facts, ['sfdisk']) });
    finalInputs.push('usb');
  }
  if (manifest.outputs.qcow2.enabled) {
    add('qcow2', ['iso'], { vm: vmSettings(manifest.outputs.qcow2), tools: tools(facts, ['qemu-img']) });
    finalInputs.push('qcow2');
  }
  if (manifest.outputs.ova.enabled) {
    add('ova', ['iso'], {
      vm: vmSettings(manifest.outputs.ova),
      name: manifest.name,
      version: manifest.version,
      tools: tools(facts, ['qemu-img']),
    });
    finalInputs.push('ova');
  }
  add('finalize', finalInputs, { name: manifest.name, version: manifest.version });

  return {
    name: manifest.name,
    version: manifest.version,
    variant: manifest.variant,
    sourceDateEpoch: manifest.sourceDateEpoch,
    stages,
  };
}
