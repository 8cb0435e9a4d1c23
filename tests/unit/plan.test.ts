import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../../builder/manifest/index.ts';
import type { ResolvedManifest } from '../../builder/manifest/types.ts';
import { canonicalJson, planBuild, type HostFacts, type StageName } from '../../builder/plan/index.ts';
import { stageCodePaths } from '../../builder/stages/registry.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

async function shipped(name: string): Promise<ResolvedManifest> {
  return (await loadManifest(path.join(ROOT, 'manifests', name))).manifest;
}

function facts(manifest: ResolvedManifest, overrides: Partial<HostFacts> = {}): HostFacts {
  const fileDigests: Record<string, string> = {};
  for (const file of [...manifest.overlays, ...manifest.docs.map((doc) => doc.path)])
    fileDigests[file] = 'a'.repeat(64);
  return {
    toolVersions: { mmdebstrap: 'mmdebstrap 1.3.5', mksquashfs: 'mksquashfs version 4.5.1', xorriso: 'xorriso 1.5.4' },
    fileDigests,
    projectRoot: ROOT,
    codeDigests: Object.fromEntries(stageCodePaths().map((file) => [file, 'b'.repeat(64)])),
    ...overrides,
  };
}

function hashes(manifest: ResolvedManifest, hostFacts: HostFacts): Record<string, string> {
  return Object.fromEntries(planBuild(manifest, hostFacts).stages.map((stage) => [stage.name, stage.key]));
}

function changed(a: Record<string, string>, b: Record<string, string>): StageName[] {
  return Object.keys(a).filter((name) => a[name] !== b[name]) as StageName[];
}

describe('planner', () => {
  it('orders the stages of the μ key and hashes each one', async () => {
    const manifest = await shipped('mu.yaml');
    const plan = planBuild(manifest, facts(manifest));
    expect(plan.stages.map((stage) => stage.name)).toEqual([
      'rootfs',
      'overlay',
      'os-layer',
      'service',
      'service-layer',
      'bootloader',
      'datasets',
      'content',
      'iso',
      'disk',
      'usb',
    ]);
    for (const stage of plan.stages) expect(stage.key).toMatch(/^[0-9a-f]{32}$/);
    expect(plan.sourceDateEpoch).toBe(1761955200);
  });

  it('is pure: the same inputs give the same bytes', async () => {
    const manifest = await shipped('s.yaml');
    expect(JSON.stringify(planBuild(manifest, facts(manifest)))).toBe(
      JSON.stringify(planBuild(manifest, facts(manifest))),
    );
  });

  it('keeps the OS layer when only a doc changes', async () => {
    const manifest = await shipped('mu.yaml');
    const before = facts(manifest);
    const doc = manifest.docs[0]!.path;
    const after = facts(manifest, { fileDigests: { ...before.fileDigests, [doc]: 'c'.repeat(64) } });
    // The datasets stage keeps its key: a changed doc never generates or downloads a dataset again.
    expect(changed(hashes(manifest, before), hashes(manifest, after))).toEqual(['content', 'iso', 'disk', 'usb']);
  });

  it('regenerates the datasets when a synthetic dataset changes, not the OS layer', async () => {
    const manifest = await shipped('mu.yaml');
    const first = manifest.datasets[0]!;
    if (first.source !== 'synthetic') throw new Error('mu.yaml starts with a synthetic dataset');
    const more = { ...manifest, datasets: [{ ...first, synthetic: { ...first.synthetic, events: 1234 } }] };
    expect(changed(hashes(manifest, facts(manifest)), hashes(more, facts(more)))).toEqual([
      'datasets',
      'content',
      'iso',
      'disk',
      'usb',
    ]);
  });

  it('rebuilds from the rootfs when the mmdebstrap version changes', async () => {
    const manifest = await shipped('mu.yaml');
    const before = facts(manifest);
    const after = facts(manifest, { toolVersions: { ...before.toolVersions, mmdebstrap: 'mmdebstrap 1.5.7' } });
    expect(changed(hashes(manifest, before), hashes(manifest, after))).toEqual([
      'rootfs',
      'overlay',
      'os-layer',
      'bootloader',
      'iso',
      'disk',
      'usb',
    ]);
  });

  it('rebuilds only the service layer when the service sources change', async () => {
    const manifest = await shipped('mu.yaml');
    const before = facts(manifest);
    const after = facts(manifest, { codeDigests: { ...before.codeDigests, services: 'd'.repeat(64) } });
    expect(changed(hashes(manifest, before), hashes(manifest, after))).toEqual([
      'service',
      'service-layer',
      'bootloader',
      'iso',
      'disk',
      'usb',
    ]);
  });

  it('rebuilds a stage and those after it when its code changes, and nothing else', async () => {
    const manifest = await shipped('mu.yaml');
    const before = facts(manifest);
    const edit = (file: string) =>
      changed(
        hashes(manifest, before),
        hashes(manifest, facts(manifest, { codeDigests: { ...before.codeDigests, [file]: 'e'.repeat(64) } })),
      );
    expect(edit('builder/stages/rootfs.ts')).toEqual([
      'rootfs',
      'overlay',
      'os-layer',
      'bootloader',
      'iso',
      'disk',
      'usb',
    ]);
    expect(edit('builder/tools/mksquashfs.ts')).toEqual([
      'rootfs',
      'overlay',
      'os-layer',
      'service-layer',
      'bootloader',
      'iso',
      'disk',
      'usb',
    ]);
    expect(edit('builder/synth')).toEqual(['datasets', 'content', 'iso', 'disk', 'usb']);
    expect(edit('rootio')).toEqual([
      'service',
      'service-layer',
      'bootloader',
      'datasets',
      'content',
      'iso',
      'disk',
      'usb',
    ]);
    // GRUB's core images are remade only when GRUB's code or live/ changes: never for a doc or a dataset.
    expect(edit('builder/tools/grub.ts')).toEqual(['bootloader', 'iso', 'disk', 'usb']);
    expect(edit('builder/tools/sfdisk.ts')).toEqual(['disk', 'usb']);
  });

  it('adds the VM outputs a manifest enables', async () => {
    const manifest = await shipped('l.yaml');
    expect(
      planBuild(manifest, facts(manifest))
        .stages.map((stage) => stage.name)
        .slice(-4),
    ).toEqual(['disk', 'qcow2', 'ova', 'usb']);
  });

  it('has the key of M and L carry the OVA: usb reads the ova and the layers, and keys on them', async () => {
    const large = await shipped('l.yaml');
    const usb = planBuild(large, facts(large)).stages.find((stage) => stage.name === 'usb');
    expect(usb?.dependsOn).toEqual(['disk', 'os-layer', 'service-layer', 'bootloader', 'service', 'content', 'ova']);
    const bigger = {
      ...large,
      outputs: { ...large.outputs, ova: { ...large.outputs.ova, vm: { ...large.outputs.ova.vm, memoryMiB: 8192 } } },
    };
    expect(changed(hashes(large, facts(large)), hashes(bigger, facts(bigger)))).toEqual(['ova', 'usb']);
    const small = await shipped('s.yaml');
    expect(planBuild(small, facts(small)).stages.find((stage) => stage.name === 'usb')?.dependsOn).toEqual(['disk']);
    // A μ key with an OVA enabled does not carry it: only M and L do.
    const mu = await shipped('mu.yaml');
    const withOva = { ...mu, outputs: { ...mu.outputs, ova: { ...mu.outputs.ova, enabled: true } } };
    expect(planBuild(withOva, facts(withOva)).stages.find((stage) => stage.name === 'usb')?.dependsOn).toEqual([
      'disk',
    ]);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: 0 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"x":0,"z":1}]},"b":1}',
    );
  });
});
