import { createHash } from 'node:crypto';

/**
 * SPDX 2.3 JSON (https://spdx.github.io/spdx-spec/v2.3/) for one key: every Debian package of the OS, the npm
 * packages bundled in the service and the apps, and every dataset file and document on the key. Pure: the same
 * inputs give the same bytes (the creation time is the build's SOURCE_DATE_EPOCH). The schema the tests validate
 * against ships beside this file (spdx-schema-2.3.json, from spdx/spdx-spec, branch support/2.3).
 */
export interface DebianPackage {
  name: string;
  version: string;
  architecture: string;
  /** SPDX expression from the copyright file, or NOASSERTION where it says nothing machine-readable. */
  licence: string;
  /** SHA-256 of the .deb, when the build's package archive knows it. */
  sha256?: string;
  /** LicenseRef id → the Debian licence name it stands for (names the SPDX list lacks). */
  licenceRefs?: Record<string, string>;
  /** Why the licence is NOASSERTION, or what a copyright file that is not machine-readable cites. */
  licenceComment?: string;
}

export interface NpmPackage {
  name: string;
  version: string;
  licence: string;
  /** The lock file's integrity (sha512-base64). */
  integrity?: string;
}

export interface KeyFile {
  /** Path on the key, e.g. openkey/datasets/zz/mc_105986.ZZ.root. */
  path: string;
  sha256: string;
  /** SPDX 2.3 requires a SHA-1 for every file. */
  sha1: string;
  licence: string;
  /** Where it came from: a URL, a CERN Open Data record, or how it was generated. */
  source: string;
}

export interface SbomInput {
  name: string;
  version: string;
  sourceDateEpoch: number;
  debian: DebianPackage[];
  npm: NpmPackage[];
  files: KeyFile[];
}

const idPart = (text: string) => text.replace(/[^A-Za-z0-9.-]/g, '-');

function hexOfIntegrity(integrity: string | undefined): { algorithm: string; checksumValue: string } | undefined {
  const match = /^sha(512|384|256|1)-(.+)$/.exec(integrity ?? '');
  if (match === null) return undefined;
  return { algorithm: `SHA${match[1]}`, checksumValue: Buffer.from(match[2]!, 'base64').toString('hex') };
}

export function spdxDocument(input: SbomInput): Record<string, unknown> {
  const created = new Date(input.sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const digest = createHash('sha256')
    .update(JSON.stringify([input.name, input.version, input.sourceDateEpoch, input.files.map((f) => f.sha256)]))
    .digest('hex');
  const root = 'SPDXRef-Key';
  const packages: Record<string, unknown>[] = [
    {
      SPDXID: root,
      name: input.name,
      versionInfo: input.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: input.files.length > 0,
      ...(input.files.length > 0
        ? {
            packageVerificationCode: {
              packageVerificationCodeValue: createHash('sha1')
                .update(
                  input.files
                    .map((f) => f.sha1)
                    .sort()
                    .join(''),
                )
                .digest('hex'),
            },
          }
        : {}),
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'OPERATING_SYSTEM',
    },
  ];
  const relationships: Record<string, unknown>[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: root },
  ];
  for (const deb of input.debian) {
    const id = `SPDXRef-deb-${idPart(deb.name)}`;
    packages.push({
      SPDXID: id,
      name: deb.name,
      versionInfo: deb.version,
      supplier: 'Organization: Debian',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      ...(deb.sha256 ? { checksums: [{ algorithm: 'SHA256', checksumValue: deb.sha256 }] } : {}),
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: deb.licence,
      ...(deb.licenceComment === undefined ? {} : { licenseComments: deb.licenceComment }),
      copyrightText: 'NOASSERTION',
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: `pkg:deb/debian/${deb.name}@${encodeURIComponent(deb.version)}?arch=${deb.architecture}`,
        },
      ],
    });
    relationships.push({ spdxElementId: root, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }
  for (const npm of input.npm) {
    const id = `SPDXRef-npm-${idPart(npm.name)}-${idPart(npm.version)}`;
    const checksum = hexOfIntegrity(npm.integrity);
    packages.push({
      SPDXID: id,
      name: npm.name,
      versionInfo: npm.version,
      downloadLocation: `https://registry.npmjs.org/${npm.name}/-/${npm.name.split('/').at(-1)}-${npm.version}.tgz`,
      filesAnalyzed: false,
      ...(checksum ? { checksums: [checksum] } : {}),
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: npm.licence,
      copyrightText: 'NOASSERTION',
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: `pkg:npm/${npm.name}@${npm.version}`,
        },
      ],
    });
    relationships.push({ spdxElementId: root, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }
  const files = input.files.map((file, index) => {
    const id = `SPDXRef-file-${index}`;
    relationships.push({ spdxElementId: root, relationshipType: 'CONTAINS', relatedSpdxElement: id });
    return {
      SPDXID: id,
      fileName: `./${file.path}`,
      checksums: [
        { algorithm: 'SHA256', checksumValue: file.sha256 },
        { algorithm: 'SHA1', checksumValue: file.sha1 },
      ],
      licenseConcluded: file.licence,
      licenseInfoInFiles: ['NOASSERTION'],
      copyrightText: 'NOASSERTION',
      comment: `source: ${file.source}`,
    };
  });
  // Every LicenseRef a package uses is defined once: the Debian name, and where each package's own text is.
  const refs = new Map<string, { name: string; packages: string[] }>();
  for (const deb of input.debian)
    for (const [id, name] of Object.entries(deb.licenceRefs ?? {})) {
      const entry = refs.get(id) ?? { name, packages: [] };
      entry.packages.push(deb.name);
      refs.set(id, entry);
    }
  const extracted = [...refs.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([licenseId, { name, packages }]) => ({
      licenseId,
      name,
      extractedText: `The licence Debian copyright files name "${name}" (not on the SPDX licence list). Its text is in /usr/share/doc/<package>/copyright of: ${packages.join(', ')}.`,
    }));
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${input.name}-${input.version}`,
    documentNamespace: `https://openkey.invalid/spdx/${input.name}-${input.version}-${digest.slice(0, 16)}`,
    creationInfo: { created, creators: ['Tool: openkey'] },
    ...(extracted.length > 0 ? { hasExtractedLicensingInfos: extracted } : {}),
    packages,
    files,
    relationships,
  };
}
