import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { licenceFromCopyright } from '../../builder/sbom/collect.ts';
import { parseCopyright } from '../../builder/sbom/licences.ts';
import { DebArchive } from '../../builder/cache/debs.ts';
import { keySbom } from '../../builder/sbom/index.ts';
import { SHARED_8TEV } from './portal.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCHEMA = JSON.parse(readFileSync(path.join(ROOT, 'builder/sbom/spdx-schema-2.3.json'), 'utf8')) as object;
const ZZ = 'mc_105986.ZZ.root';
/** spdx-expression-parse (no types): throws on anything that is not an SPDX expression. */
const parseSpdx = createRequire(import.meta.url)('spdx-expression-parse') as (expression: string) => unknown;
const DEP5 = 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n\n';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'openkey-sbom-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('reads the licence a machine-readable copyright file declares, and asserts nothing otherwise', () => {
  const cases: [string, string][] = [
    ['License: GPL-3+', 'GPL-3.0-or-later'],
    [
      'License: GPL-2+\n\nFiles: lib/*\nLicense: LGPL-2.1+ or BSD-3-clause',
      '(LGPL-2.1-or-later OR BSD-3-Clause) AND GPL-2.0-or-later',
    ],
    ['License: GPL-1+ or Artistic', 'GPL-1.0-or-later OR Artistic-1.0-Perl'],
    ['License: Expat\n\nLicense: BSD-2-clause\n\nLicense: Zlib\n\nLicense: ZLIB', 'BSD-2-Clause AND MIT AND Zlib'],
    ['License: GPL-2 with Linux-syscall-note exception', 'GPL-2.0-only WITH Linux-syscall-note'],
    ['License: GPL-3+ with Autoconf exception', 'GPL-3.0-or-later WITH Autoconf-exception-3.0'],
    ['License: GPL-2+ or AFL-2.1, and Expat', '(GPL-2.0-or-later OR AFL-2.1) AND MIT'],
    ['License: LGPL-2.0+ and GFDL-NIV-1.3+', 'LGPL-2.0-or-later AND GFDL-1.3-no-invariants-or-later'],
    ['License: Apache-2.0+', 'Apache-2.0+'],
    ['License: public-domain', 'LicenseRef-public-domain'],
    ['License: GPL-2+ with OpenSSL exception', 'LicenseRef-GPL-2-plus-with-OpenSSL-exception'],
    ['License: some-custom-thing', 'LicenseRef-some-custom-thing'],
  ];
  for (const [fields, expected] of cases)
    expect(licenceFromCopyright(`${DEP5}Files: *\n${fields}\n`), fields).toBe(expected);
  expect(parseCopyright(`${DEP5}Files: *\nLicense: MIT/X11\n`).refs).toEqual(
    new Map([['LicenseRef-MIT-X11', 'MIT/X11']]),
  );
  const prose = parseCopyright(
    'It is GPL.\nSee /usr/share/common-licenses/GPL-2 and /usr/share/common-licenses/LGPL-2.1.\n',
  );
  expect(prose).toMatchObject({
    licence: 'NOASSERTION',
    comment:
      'its copyright file is not machine-readable (copyright-format 1.0); it refers to /usr/share/common-licenses/GPL-2, /usr/share/common-licenses/LGPL-2.1',
  });
  expect(parseCopyright('')).toMatchObject({ licence: 'NOASSERTION', comment: 'the package has no copyright file' });
});

// Real mksquashfs and unsquashfs, twice: minutes on a loaded machine, about a second on an idle one.
it(
  'writes SPDX 2.3 JSON that validates against the shipped schema: Debian, npm, every file with SHA-256',
  { timeout: 180_000 },
  async () => {
    const tree = path.join(work, 'tree');
    for (const [name, text] of [
      ['bash', `${DEP5}Files: *\nLicense: GPL-3+\n`],
      ['oldpkg', 'Copyright (c) someone. Free software.\n'],
      ['libkmod2', `${DEP5}Files: *\nLicense: LGPL-2.1+\n\nFiles: tools/*\nLicense: GPL-2+ with OpenSSL exception\n`],
    ] as const) {
      await mkdir(path.join(tree, 'usr', 'share', 'doc', name), { recursive: true });
      await writeFile(path.join(tree, 'usr', 'share', 'doc', name, 'copyright'), text);
    }
    // Debian links some packages' doc folder to another's (kmod → libkmod2); an absolute link is read inside the image
    // (the host has no /usr/share/doc/libkmod2 of this image).
    await symlink('libkmod2', path.join(tree, 'usr', 'share', 'doc', 'kmod'));
    await symlink('/usr/share/doc/libkmod2', path.join(tree, 'usr', 'share', 'doc', 'hostlink'));
    const osLayer = path.join(work, 'os-layer');
    await mkdir(osLayer);
    execFileSync('mksquashfs', [tree, path.join(osLayer, '00-os.squashfs'), '-quiet', '-no-progress', '-noappend']);
    await writeFile(
      path.join(osLayer, 'packages.tsv'),
      'bash\t5.2.37-2\tamd64\noldpkg\t1:1.0-1\tamd64\nkmod\t34.2-2\tamd64\nhostlink\t1\tall\n',
    );
    // The build cache's .deb archive knows bash's .deb; apt's Packages list of the last build knows oldpkg's.
    const cacheDir = path.join(work, 'cache');
    const debs = path.join(work, 'debs');
    await mkdir(debs);
    const debBytes = Buffer.from('!<arch>\nnot really a deb, but bytes with a hash\n');
    await writeFile(path.join(debs, 'bash_5.2.37-2_amd64.deb'), debBytes);
    const bashSha = createHash('sha256').update(debBytes).digest('hex');
    const archive = DebArchive.inCache(cacheDir);
    expect(
      (await archive.add(debs, new Map([['bash_5.2.37-2_amd64.deb', { sha256: bashSha, size: debBytes.length }]])))
        .added,
    ).toEqual(['bash_5.2.37-2_amd64.deb']);
    const oldSha = 'ab'.repeat(32);
    await mkdir(path.join(cacheDir, 'debs', 'lists'), { recursive: true });
    await writeFile(
      path.join(cacheDir, 'debs', 'lists', 'deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages'),
      `Package: oldpkg\nVersion: 1:1.0-1\nArchitecture: amd64\nSize: 10\nSHA256: ${oldSha}\n\n`,
    );
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
      cacheDir,
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
    expect(byName('bash')).toMatchObject({
      versionInfo: '5.2.37-2',
      licenseDeclared: 'GPL-3.0-or-later',
      checksums: [{ algorithm: 'SHA256', checksumValue: bashSha }],
    });
    expect(byName('oldpkg')).toMatchObject({
      licenseDeclared: 'NOASSERTION',
      licenseComments: 'its copyright file is not machine-readable (copyright-format 1.0)',
      checksums: [{ algorithm: 'SHA256', checksumValue: oldSha }],
    });
    expect(byName('kmod').licenseDeclared).toBe('LGPL-2.1-or-later AND LicenseRef-GPL-2-plus-with-OpenSSL-exception');
    expect(byName('kmod').checksums).toBeUndefined();
    expect(byName('hostlink').licenseDeclared).toBe(byName('kmod').licenseDeclared);
    // Every licence is an SPDX expression, and every LicenseRef it uses is defined in the document.
    const defined = new Set(doc.hasExtractedLicensingInfos.map((info: { licenseId: string }) => info.licenseId));
    expect(doc.hasExtractedLicensingInfos).toEqual([
      {
        licenseId: 'LicenseRef-GPL-2-plus-with-OpenSSL-exception',
        name: 'GPL-2+ with OpenSSL exception',
        extractedText:
          'The licence Debian copyright files name "GPL-2+ with OpenSSL exception" (not on the SPDX licence list). Its text is in /usr/share/doc/<package>/copyright of: kmod, hostlink.',
      },
    ]);
    for (const pkg of doc.packages as { licenseDeclared: string }[]) {
      if (pkg.licenseDeclared === 'NOASSERTION') continue;
      expect(() => parseSpdx(pkg.licenseDeclared), pkg.licenseDeclared).not.toThrow();
      for (const ref of pkg.licenseDeclared.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []) expect(defined).toContain(ref);
    }
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
  },
);
