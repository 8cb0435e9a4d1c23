import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { licenceFromCopyright } from '../../builder/sbom/collect.ts';
import { keySbom } from '../../builder/sbom/index.ts';
import { SHARED_8TEV } from './portal.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCHEMA = JSON.parse(readFileSync(path.join(ROOT, 'builder/sbom/spdx-schema-2.3.json'), 'utf8')) as object;
const ZZ = 'mc_105986.ZZ.root';
const DEP5 = 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n\n';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'openkey-sbom-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('reads the licence a machine-readable copyright file declares, and asserts nothing otherwise', () => {
  expect(licenceFromCopyright(`${DEP5}Files: *\nCopyright: 1989 FSF\nLicense: GPL-3+\n`)).toBe('GPL-3.0-or-later');
  expect(
    licenceFromCopyright(`${DEP5}Files: *\nLicense: GPL-2+\n\nFiles: lib/*\nLicense: LGPL-2.1+ or BSD-3-clause\n`),
  ).toBe('(LGPL-2.1-or-later OR BSD-3-Clause) AND GPL-2.0-or-later');
  expect(licenceFromCopyright(`${DEP5}Files: *\nLicense: some-custom-thing\n`)).toBe('NOASSERTION');
  expect(licenceFromCopyright('This package was debianized by someone.\nIt is GPL.\n')).toBe('NOASSERTION');
});

it('writes SPDX 2.3 JSON that validates against the shipped schema: Debian, npm, every file with SHA-256', async () => {
  const tree = path.join(work, 'tree');
  for (const [name, text] of [
    ['bash', `${DEP5}Files: *\nLicense: GPL-3+\n`],
    ['oldpkg', 'Copyright (c) someone. Free software.\n'],
  ] as const) {
    await mkdir(path.join(tree, 'usr', 'share', 'doc', name), { recursive: true });
    await writeFile(path.join(tree, 'usr', 'share', 'doc', name, 'copyright'), text);
  }
  const osLayer = path.join(work, 'os-layer');
  await mkdir(osLayer);
  execFileSync('mksquashfs', [tree, path.join(osLayer, '00-os.squashfs'), '-quiet', '-no-progress', '-noappend']);
  await writeFile(path.join(osLayer, 'packages.tsv'), 'bash\t5.2.37-2\tamd64\noldpkg\t1.0-1\tamd64\n');
  const content = path.join(work, 'content');
  const dataset = path.join(content, 'openkey', 'datasets', 'mc8');
  await mkdir(dataset, { recursive: true });
  await copyFile(path.join(SHARED_8TEV, ZZ), path.join(dataset, ZZ));
  const url = `https://opendata.cern.ch//eos/opendata/atlas/OutreachDatasets/2016-07-29/MC/${ZZ}`;
  await writeFile(
    path.join(dataset, 'dataset.json'),
    JSON.stringify({ licence: 'CC0-1.0', source: { record: 3860 }, files: { [ZZ]: { url, record: 3860 } } }),
  );
  await mkdir(path.join(content, 'openkey', 'docs', 'guide'), { recursive: true });
  await writeFile(path.join(content, 'openkey', 'docs', 'guide', 'index.md'), '# Guide\n');

  const input = {
    name: 'test-key',
    version: '1.2.3',
    sourceDateEpoch: 1700000000,
    osLayerDir: osLayer,
    contentRoot: content,
    projectRoot: ROOT,
  };
  const text = await keySbom(input);
  expect(await keySbom(input)).toBe(text);
  const doc = JSON.parse(text);
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const validate = ajv.compile(SCHEMA);
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  expect(doc.spdxVersion).toBe('SPDX-2.3');
  expect(doc.creationInfo.created).toBe('2023-11-14T22:13:20Z');

  const byName = (name: string) => doc.packages.find((p: { name: string }) => p.name === name);
  expect(byName('bash')).toMatchObject({ versionInfo: '5.2.37-2', licenseDeclared: 'GPL-3.0-or-later' });
  expect(byName('oldpkg').licenseDeclared).toBe('NOASSERTION');
  const fastify = byName('fastify');
  expect(fastify.licenseDeclared).toBe('MIT');
  expect(fastify.checksums[0].algorithm).toBe('SHA512');
  expect(byName('jsroot')).toBeDefined();
  expect(byName('vitest')).toBeUndefined();

  const root = doc.files.find((f: { fileName: string }) => f.fileName.endsWith(ZZ));
  const bytes = readFileSync(path.join(SHARED_8TEV, ZZ));
  expect(root.checksums).toEqual([
    { algorithm: 'SHA256', checksumValue: createHash('sha256').update(bytes).digest('hex') },
    { algorithm: 'SHA1', checksumValue: createHash('sha1').update(bytes).digest('hex') },
  ]);
  expect(root.licenseConcluded).toBe('CC0-1.0');
  expect(root.comment).toBe(`source: ${url} (CERN Open Data record 3860)`);
  expect(doc.files.some((f: { fileName: string }) => f.fileName === './openkey/docs/guide/index.md')).toBe(true);
  expect(await readFile(path.join(ROOT, 'apps', 'index.html'), 'utf8')).toContain('href="sbom.spdx.json"');
});
