import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../../builder/manifest/index.ts';
import type { ResolvedManifest, VmHardware } from '../../builder/manifest/types.ts';
import { ovfDescriptor, ovfSchemaPath, ovfValidationSchema } from '../../builder/stages/ova.ts';

// The OVF of the OVA, checked with xmllint (the DMTF schema and XPath) against the rules VirtualBox's importer
// enforces on a <vbox:Machine> (src/VBox/Main/ApplianceImplImport.cpp, xml/ovfreader.cpp, xml/Settings.cpp).
const ROOT = path.resolve(import.meta.dirname, '../..');
const work = mkdtempSync(path.join(tmpdir(), 'openkey-ovf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** xmllint --xpath cannot bind namespace prefixes, so the expressions match on local-name(). */
function xpath(file: string, expression: string): string {
  return execFileSync('xmllint', ['--xpath', expression, file], { encoding: 'utf8' }).trim();
}

const el = (name: string) => `*[local-name()='${name}']`;

async function ovfFor(
  manifestName: string,
  vm: Partial<VmHardware>,
): Promise<{ file: string; manifest: ResolvedManifest }> {
  const manifest = (await loadManifest(path.join(ROOT, 'manifests', manifestName))).manifest;
  const hardware = { ...manifest.outputs.ova.vm, ...vm };
  const file = path.join(work, `${manifestName}-${hardware.firmware}.ovf`);
  writeFileSync(
    file,
    ovfDescriptor({
      manifest,
      vm: hardware,
      diskFile: 'disk1.vmdk',
      diskBytes: 123456,
      capacityBytes: hardware.diskGiB * 1024 ** 3,
      identity: 'ab12cd34'.repeat(8),
    }),
  );
  return { file, manifest };
}

describe('the OVF of the OVA (xmllint against VirtualBox import rules)', () => {
  it('validates against the DMTF OVF 1.1 schema, vbox:Machine as an ovf:Section, and fails when it is misplaced', async () => {
    const { file } = await ovfFor('m.yaml', {});
    const schema = path.join(work, 'ovf-vbox.xsd');
    writeFileSync(schema, ovfValidationSchema(ovfSchemaPath(ROOT)));
    execFileSync('xmllint', ['--noout', '--nonet', '--schema', schema, file], { stdio: 'pipe' });
    // Without its ovf:Info first, the Machine is no OVF Section: the schema must say so.
    const broken = path.join(work, 'broken.ovf');
    writeFileSync(broken, readFileSync(file, 'utf8').replace(/<ovf:Info>Complete VirtualBox[^<]*<\/ovf:Info>/, ''));
    expect(() =>
      execFileSync('xmllint', ['--noout', '--nonet', '--schema', schema, broken], { stdio: 'pipe' }),
    ).toThrow();
  });

  it('attaches exactly the disks of the DiskSection, by their vbox:uuid (else: "contains a medium attachment for the disk image … but the OVF describes no such image")', async () => {
    const { file } = await ovfFor('m.yaml', {});
    const diskUuids = xpath(file, `//${el('DiskSection')}/${el('Disk')}/@*[local-name()='uuid']`)
      .split(/\s+/)
      .map((attr) => /"(.*)"/.exec(attr)?.[1]);
    const attached = xpath(file, `//${el('Machine')}//${el('AttachedDevice')}[@type='HardDisk']/${el('Image')}/@uuid`)
      .split(/\s+/)
      .map((attr) => /"\{(.*)\}"/.exec(attr)?.[1]);
    expect(diskUuids).toHaveLength(1);
    // One attachment per disk, no duplicate, no zero uuid (the importer's "inconsistent" and "repair" cases).
    expect(attached).toEqual(diskUuids);
    expect(attached[0]).not.toMatch(/^[0-]+$/);
  });

  it('gives the Machine its required uuid, name and OSType, marked not required for other OVF readers', async () => {
    const { file, manifest } = await ovfFor('m.yaml', {});
    expect(xpath(file, `string(//${el('Machine')}/@uuid)`)).toMatch(/^\{[0-9a-f-]{36}\}$/);
    expect(xpath(file, `string(//${el('Machine')}/@name)`)).toBe(manifest.name);
    expect(xpath(file, `string(//${el('Machine')}/@OSType)`)).toBe('Debian_64');
    expect(xpath(file, `string(//${el('Machine')}/@*[local-name()='required'])`)).toBe('false');
    expect(xpath(file, `string(//${el('Machine')}/@version)`)).toMatch(/^1\.\d+-linux$/);
  });

  it('agrees with the OVF items: one CPU count and one memory size ("CPU count missing", "RAM size missing")', async () => {
    const { file } = await ovfFor('m.yaml', { cpus: 3, memoryMiB: 3072 });
    const quantity = (type: number) =>
      xpath(file, `//${el('Item')}[${el('ResourceType')}=${type}]/${el('VirtualQuantity')}/text()`);
    expect(quantity(3)).toBe('3');
    expect(quantity(4)).toBe('3072');
    expect(xpath(file, `string(//${el('Machine')}/${el('Hardware')}/${el('CPU')}/@count)`)).toBe('3');
    expect(xpath(file, `string(//${el('Machine')}/${el('Hardware')}/${el('Memory')}/@RAMSize)`)).toBe('3072');
  });

  it('takes EFI or BIOS from the manifest, VMSVGA graphics and a NAT forward from host 127.0.0.1:8080 to the service', async () => {
    for (const firmware of ['efi', 'bios'] as const) {
      const { file, manifest } = await ovfFor('m.yaml', { firmware });
      expect(xpath(file, `string(//${el('Firmware')}/@type)`)).toBe(firmware === 'efi' ? 'EFI' : 'BIOS');
      expect(xpath(file, `string(//${el('Display')}/@controller)`)).toBe('VMSVGA');
      const forward = `//${el('Adapter')}/${el('NAT')}/${el('Forwarding')}`;
      expect(xpath(file, `string(${forward}/@hostip)`)).toBe('127.0.0.1');
      expect(xpath(file, `string(${forward}/@hostport)`)).toBe('8080');
      expect(xpath(file, `string(${forward}/@guestport)`)).toBe(String(manifest.services.analysis.port));
      // proto 1 is TCP in VirtualBox's settings format.
      expect(xpath(file, `string(${forward}/@proto)`)).toBe('1');
    }
  });
});
