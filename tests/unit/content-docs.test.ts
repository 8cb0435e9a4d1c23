/**
 * The content stage carries each doc's translations onto the key (placeDocs over the shipped manifests' real docs)
 * and lists them in key-index.js and START-HERE.html; a translation changed or added changes the stage's cache key.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readKeyIndex } from '../../apps/shared/key-index.ts';
import { TRANSLATED, translationPaths } from '../../common/languages.ts';
import { loadManifest } from '../../builder/manifest/index.ts';
import type { ResolvedManifest } from '../../builder/manifest/types.ts';
import { planBuild, type HostFacts } from '../../builder/plan/index.ts';
import { placeDocs, startHereHtml } from '../../builder/stages/content.ts';
import { stageCodePaths } from '../../builder/stages/registry.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'openkey-docs-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function shipped(name: string): Promise<ResolvedManifest> {
  return (await loadManifest(path.join(ROOT, 'manifests', name))).manifest;
}

describe('the docs on the key', () => {
  it('places every page with its es/fr/pt versions and lists them, titled in their language', async () => {
    // s.yaml extends base.yaml: a single-file doc (getting-started.md) and a folder (the curriculum).
    const manifest = await shipped('s.yaml');
    const openkey = path.join(scratch, 's');
    const { docs, docLanguages } = await placeDocs(manifest.docs, openkey);
    expect(docs.map((d) => d.path)).toEqual(['docs/getting-started/getting-started.md', 'docs/curriculum/index.md']);
    expect(docs[1]!.translations).toEqual({
      es: { title: 'Física de partículas con datos abiertos: los ejercicios', path: 'docs/curriculum/index.es.md' },
      fr: {
        title: 'La physique des particules avec des données ouvertes : les exercices',
        path: 'docs/curriculum/index.fr.md',
      },
      pt: { title: 'Física de partículas com dados abertos: os exercícios', path: 'docs/curriculum/index.pt.md' },
    });
    expect(docs[0]!.translations?.fr).toEqual({
      title: 'Premiers pas avec Open Key',
      path: 'docs/getting-started/getting-started.fr.md',
    });
    // Every English page of the curriculum, and the single file, with its three translations, byte for byte.
    const curriculum = (await readdir(path.join(ROOT, 'content/docs/curriculum'))).filter((n) =>
      /^[\w-]+\.md$/.test(n),
    );
    expect(Object.keys(docLanguages).sort()).toEqual(
      ['docs/getting-started/getting-started.md', ...curriculum.map((n) => `docs/curriculum/${n}`)].sort(),
    );
    for (const langs of Object.values(docLanguages)) expect(langs).toEqual([...TRANSLATED]);
    for (const lang of TRANSLATED)
      expect(await readFile(path.join(openkey, 'docs/curriculum', `teachers.${lang}.md`), 'utf8')).toBe(
        await readFile(path.join(ROOT, 'content/docs/curriculum', `teachers.${lang}.md`), 'utf8'),
      );
    // What the viewer and the portal read back from key-index.js.
    const index = readKeyIndex(
      JSON.parse(JSON.stringify({ name: 'k', version: '1', datasets: [], docs, docLanguages })),
    );
    expect(index?.docLanguages?.['docs/curriculum/z-mass.md']).toEqual(['es', 'fr', 'pt']);
    expect(index?.docs[1]?.translations?.pt?.path).toBe('docs/curriculum/index.pt.md');
  });

  it('keeps a doc without translations as it was, and takes no orphan, link or translation as the entry', async () => {
    const source = path.join(scratch, 'src');
    await mkdir(path.join(source, 'folder'), { recursive: true });
    await writeFile(path.join(source, 'alone.md'), '# Alone\n');
    // A folder without index: its entry is its first English page, not `a.es.md`, which sorts before `a.md`.
    await writeFile(path.join(source, 'folder', 'a.md'), '# A\n');
    await writeFile(path.join(source, 'folder', 'a.es.md'), '# A en español {#a}\n');
    await writeFile(path.join(source, 'folder', 'orphan.fr.md'), '# Orpheline\n');
    // A translation beside a single-file doc that links out of its folder is not followed.
    await writeFile(path.join(source, 'linked.md'), '# Linked\n');
    await symlink('/etc/passwd', path.join(source, 'linked.fr.md'));
    const openkey = path.join(scratch, 'own');
    const { docs, docLanguages } = await placeDocs(
      [
        { id: 'alone', title: 'Alone', path: path.join(source, 'alone.md') },
        { id: 'folder', title: 'Folder', path: path.join(source, 'folder') },
        { id: 'linked', title: 'Linked', path: path.join(source, 'linked.md') },
      ],
      openkey,
    );
    expect(docs).toEqual([
      { id: 'alone', title: 'Alone', path: 'docs/alone/alone.md' },
      {
        id: 'folder',
        title: 'Folder',
        path: 'docs/folder/a.md',
        translations: { es: { title: 'A en español', path: 'docs/folder/a.es.md' } },
      },
      { id: 'linked', title: 'Linked', path: 'docs/linked/linked.md' },
    ]);
    expect(docLanguages).toEqual({ 'docs/folder/a.md': ['es'] });
    expect(await readdir(path.join(openkey, 'docs/linked'))).toEqual(['linked.md']);
  });

  it('lists the docs and their translations in START-HERE.html', async () => {
    const manifest = await shipped('s.yaml');
    const { docs } = await placeDocs(manifest.docs, path.join(scratch, 'start'));
    const html = startHereHtml(manifest, docs);
    expect(html).toContain('<a href="openkey/docs/curriculum/index.md">Exercises, with the teacher&#39;s answers</a>');
    expect(html).toContain('<a href="openkey/docs/curriculum/index.fr.md" hreflang="fr" lang="fr">Français</a>');
    expect(html).toContain('<a href="openkey/docs/getting-started/getting-started.pt.md" hreflang="pt" lang="pt">');
  });

  it("writes START-HERE.html's own words in the key's language, English for one the apps do not speak", async () => {
    const manifest = await shipped('s.yaml');
    const { docs } = await placeDocs(manifest.docs, path.join(scratch, 'start-lang'));
    const inLocale = (locale: string) =>
      startHereHtml({ ...manifest, system: { ...manifest.system, locale } } as typeof manifest, docs);
    const english = inLocale('en_US.UTF-8');
    expect(english).toContain('<html lang="en">');
    expect(english).toContain('<a href="openkey/index.html">Open the portal</a>');
    expect(english).toContain('<h2>Documentation</h2>');
    const french = inLocale('fr_FR.UTF-8');
    expect(french).toContain('<html lang="fr">');
    expect(french).toContain(': commencer ici</title>');
    expect(french).toContain('<a href="openkey/index.html">Ouvrir le portail</a>: données, documentation');
    expect(french).toContain(`sur le port ${manifest.services.analysis.port}`);
    expect(french).not.toContain('Open the portal');
    expect(inLocale('es_ES.UTF-8')).toContain('<h2>Documentación</h2>');
    expect(inLocale('pt_BR.UTF-8')).toContain('<a href="openkey/index.html">Abrir o portal</a>');
    expect(inLocale('de_DE.UTF-8')).toBe(english);
  });

  it('rebuilds the content when a translation changes or appears, and nothing before it', async () => {
    const manifest = await shipped('s.yaml');
    const facts = (digests: Record<string, string>): HostFacts => ({
      toolVersions: { mmdebstrap: 'mmdebstrap 1.3.5', mksquashfs: 'mksquashfs version 4.5.1', xorriso: 'xorriso' },
      fileDigests: digests,
      projectRoot: ROOT,
      codeDigests: Object.fromEntries(stageCodePaths().map((file) => [file, 'b'.repeat(64)])),
    });
    const keys = (digests: Record<string, string>) =>
      Object.fromEntries(planBuild(manifest, facts(digests)).stages.map((stage) => [stage.name, stage.key]));
    const single = manifest.docs.find((doc) => doc.path.endsWith('getting-started.md'))!.path;
    const french = translationPaths(single).find((p) => p.endsWith('.fr.md'))!;
    const base: Record<string, string> = {};
    for (const file of [...manifest.overlays, ...manifest.docs.map((doc) => doc.path)]) base[file] = 'a'.repeat(64);
    const before = keys({ ...base, [french]: 'missing' });
    for (const after of [keys({ ...base, [french]: 'c'.repeat(64) }), keys({ ...base, [french]: 'd'.repeat(64) })]) {
      const changed = Object.keys(before).filter((name) => before[name] !== after[name]);
      expect(changed[0]).toBe('content');
      expect(changed).not.toContain('datasets');
      expect(changed).not.toContain('os-layer');
    }
  });
});
