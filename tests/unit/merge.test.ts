import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainLines } from '../../builder/commands/explain.ts';
import { loadManifest } from '../../builder/manifest/index.ts';
import { HEAD } from './manifest-cases.ts';
import { scratchProject } from './scratch.ts';

async function resolve(files: Record<string, string>) {
  const folder = scratchProject(files);
  return { folder, ...(await loadManifest('main.yaml', folder)) };
}

describe('extends merge rules', () => {
  it('merges mappings key by key and lets the child win on scalars', async () => {
    const { manifest } = await resolve({ 'main.yaml': HEAD + 'services:\n  analysis:\n    port: 9090\n' });
    expect(manifest.services.analysis).toEqual({ enabled: true, port: 9090, lan: false, workers: 0 });
    expect(manifest.name).toBe('t');
    expect(manifest.base.suite).toBe('trixie');
  });

  it('appends list items and does not repeat a scalar already inherited', async () => {
    const { manifest } = await resolve({ 'main.yaml': HEAD + 'packages:\n  system: [nano, vim]\n' });
    expect(manifest.packages.system?.slice(-3)).toEqual(['less', 'nano', 'vim']);
    expect(manifest.packages.system?.filter((name) => name === 'nano')).toHaveLength(1);
  });

  it('removes an inherited scalar with !remove', async () => {
    const { manifest } = await resolve({ 'main.yaml': HEAD + 'packages:\n  system:\n    - !remove nano\n' });
    expect(manifest.packages.system).not.toContain('nano');
    expect(manifest.packages.system).toContain('less');
  });

  it('removes an inherited item by id with !remove', async () => {
    const { manifest } = await resolve({ 'main.yaml': HEAD + 'boot:\n  menu:\n    - !remove safe\n' });
    expect(manifest.boot.menu.map((entry) => entry.id)).toEqual(['live', 'toram']);
  });

  it('merges a list item with the same id into the inherited one, in place', async () => {
    const { manifest } = await resolve({
      'main.yaml': HEAD + 'boot:\n  menu:\n    - id: toram\n      label: To RAM\n',
    });
    expect(manifest.boot.menu.map((entry) => entry.id)).toEqual(['live', 'toram', 'safe']);
    expect(manifest.boot.menu[1]).toEqual({ id: 'toram', label: 'To RAM', cmdline: ['toram'] });
  });

  it('replaces a whole list with !replace', async () => {
    const { manifest } = await resolve({ 'main.yaml': HEAD + 'boot:\n  cmdline: !replace [boot=live]\n' });
    expect(manifest.boot.cmdline).toEqual(['boot=live']);
  });

  it('replaces a whole mapping with !replace', async () => {
    const { manifest } = await resolve({
      'main.yaml': HEAD + 'packages: !replace\n  only: [linux-image-amd64, live-boot, nodejs]\n',
    });
    expect(manifest.packages).toEqual({ only: ['linux-image-amd64', 'live-boot', 'nodejs'] });
  });

  it('merges a chain of parents in order, later parents winning', async () => {
    const { manifest, files } = await resolve({
      'a.yaml': 'label: FROM_A\ndescription: from a\n',
      'b.yaml': 'label: FROM_B\n',
      'main.yaml': 'extends: [base.yaml, a.yaml, b.yaml]\nname: t\n',
    });
    expect(manifest.label).toBe('FROM_B');
    expect(manifest.description).toBe('from a');
    expect(files.map((file) => path.basename(file))).toEqual(['main.yaml', 'base.yaml', 'a.yaml', 'b.yaml']);
  });

  it('resolves paths against the file that declares them', async () => {
    const { manifest, folder } = await resolve({ 'main.yaml': HEAD });
    expect(manifest.overlays).toEqual([path.join(path.dirname(folder), 'image/overlay/common')]);
    expect(manifest.docs[0]?.path).toBe(path.join(path.dirname(folder), 'content/docs/getting-started.md'));
  });

  it('freezes the resolved manifest', async () => {
    const { manifest } = await resolve({ 'main.yaml': HEAD });
    expect(Object.isFrozen(manifest.services.analysis)).toBe(true);
  });
});

describe('openkey explain', () => {
  it('names the file and line of every value', async () => {
    const { tree, folder } = await resolve({ 'main.yaml': HEAD + 'services:\n  analysis:\n    port: 9090\n' });
    const lines = explainLines(tree, folder);
    expect(lines.some((line) => /^name: t +# main\.yaml:2$/.test(line))).toBe(true);
    const port = lines.find((line) => line.trimStart().startsWith('port: 9090'));
    expect(port?.endsWith('# main.yaml:5')).toBe(true);
    const suite = lines.find((line) => line.trimStart().startsWith('suite: trixie'));
    expect(suite?.endsWith('# base.yaml:12')).toBe(true);
    expect(lines).toContain('boot:');
    expect(lines.some((line) => /^ {4}- boot=live +# base\.yaml:46$/.test(line))).toBe(true);
    expect(lines.some((line) => /^ {4}- id: live +# base\.yaml:49$/.test(line))).toBe(true);
  });
});

describe('review regressions', () => {
  it('merges a shared ancestor once: two parents of base.yaml keep their own values and removals', async () => {
    const { manifest, files } = await resolve({
      'a.yaml': 'extends: base.yaml\nboot:\n  timeout: 30\npackages:\n  system:\n    - !remove nano\n',
      'b.yaml': 'extends: base.yaml\nlabel: FROM_B\n',
      'main.yaml': 'extends: [a.yaml, b.yaml]\nname: t\n',
    });
    expect(manifest.boot.timeout).toBe(30);
    expect(manifest.packages.system).not.toContain('nano');
    expect(manifest.label).toBe('FROM_B');
    expect(files.map((file) => path.basename(file))).toEqual(['main.yaml', 'base.yaml', 'a.yaml', 'b.yaml']);
  });

  it('applies a later parent’s !replace against what the earlier parents built', async () => {
    const { manifest } = await resolve({
      'a.yaml': 'extends: base.yaml\nboot:\n  cmdline: [boot=live, components, quiet, splash]\n',
      'b.yaml': 'boot:\n  cmdline: !replace [boot=live, components]\n',
      'main.yaml': 'extends: [a.yaml, b.yaml]\nname: t\n',
    });
    expect(manifest.boot.cmdline).toEqual(['boot=live', 'components']);
  });

  it('takes SOURCE_DATE_EPOCH from a snapshot set after base.yaml’s epoch', async () => {
    const { manifest } = await resolve({ 'main.yaml': HEAD + 'base:\n  snapshot: 20240101T000000Z\n' });
    expect(manifest.sourceDateEpoch).toBe(Date.UTC(2024, 0, 1) / 1000);
  });

  it('keeps an epoch set in the same file as the snapshot', async () => {
    const { manifest } = await resolve({
      'main.yaml': HEAD + 'sourceDateEpoch: 1700000000\nbase:\n  snapshot: 20240101T000000Z\n',
    });
    expect(manifest.sourceDateEpoch).toBe(1700000000);
  });
});
