import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOST_TOOLS, OTHER_USES } from '../../builder/doctor/host-tools.ts';
import { loadManifest } from '../../builder/manifest/index.ts';
import { STAGES } from '../../builder/stages/registry.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const largeManifest = async () => (await loadManifest(path.join(ROOT, 'manifests', 'l.yaml'))).manifest;

/** The registry is the one description of a stage; these checks catch a record that disagrees with its code. */
describe('stage registry', () => {
  it('lists each stage once, after every stage it depends on', async () => {
    const seen = new Set<string>();
    for (const record of STAGES) {
      expect(seen.has(record.name), record.name).toBe(false);
      for (const dependency of record.dependsOn)
        expect(seen.has(dependency), `${record.name} → ${dependency}`).toBe(true);
      for (const dependency of record.alsoDependsOn?.(await largeManifest()) ?? [])
        expect(seen.has(dependency), `${record.name} → ${dependency} (for L)`).toBe(true);
      expect(record.definition.name, record.name).toBe(record.name);
      seen.add(record.name);
    }
  });

  it('holds every StageDefinition under builder/stages', async () => {
    const dir = path.join(ROOT, 'builder/stages');
    const defined: string[] = [];
    for (const file of await readdir(dir)) {
      const source = await readFile(path.join(dir, file), 'utf8');
      for (const match of source.matchAll(/export const \w+: StageDefinition = \{\s*name: '([a-z0-9-]+)'/g))
        defined.push(match[1]!);
    }
    expect(defined.sort()).toEqual(STAGES.map((record) => record.name).sort());
  });

  it('names code paths that exist, including every tool adapter the stage imports', async () => {
    for (const record of STAGES) {
      for (const file of record.code) await expect(access(path.join(ROOT, file)), file).resolves.toBeUndefined();
      const source = await readFile(path.join(ROOT, record.code[0]!), 'utf8');
      expect(record.code[0]).toBe(`builder/stages/${record.name}.ts`);
      const adapters = [...source.matchAll(/from '\.\.\/tools\/([a-z0-9-]+)\.ts'/g)].map(
        (m) => `builder/tools/${m[1]}.ts`,
      );
      for (const adapter of adapters) expect(record.code, `${record.name} imports ${adapter}`).toContain(adapter);
    }
  });

  it('names host tools from the one tool list, and every tool in the list has a user', () => {
    const programs = new Set(HOST_TOOLS.map((tool) => tool.program));
    const used = new Set([...STAGES.flatMap((record) => record.tools), ...Object.values(OTHER_USES).flat()]);
    for (const program of used) if (program !== 'node') expect(programs, program).toContain(program);
    for (const program of programs) expect(used, program).toContain(program);
  });
});
