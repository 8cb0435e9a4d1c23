import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { sha256File } from '../cache/fsutil.ts';
import { OpenKeyError } from '../../common/errors.ts';
import type { ResolvedManifest, VmHardware } from '../manifest/types.ts';
import { qemuImgConvert, setVmdkCid } from '../tools/qemu-img.ts';
import { xmllintValidate } from '../tools/xmllint.ts';
import { isoFileName } from './iso.ts';
import { dependency, type StageDefinition } from './types.ts';

export function ovaFileName(manifest: ResolvedManifest): string {
  return `${manifest.name}-${manifest.version}.ova`;
}

/** The DMTF OVF 1.1.1 envelope schema (../shared/ovf-schema beside the checkout, or $OPENKEY_OVF_SCHEMA). */
export function ovfSchemaPath(projectRoot: string): string {
  return process.env.OPENKEY_OVF_SCHEMA ?? path.join(projectRoot, '..', 'shared', 'ovf-schema', 'dsp8023_1.1.1.xsd');
}

function xml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

export function ovfDescriptor(options: {
  manifest: ResolvedManifest;
  vm: VmHardware;
  diskFile: string;
  diskBytes: number;
  capacityBytes: number;
}): string {
  const { manifest, vm } = options;
  // The CIM schemas declare RASD properties as a sequence in alphabetical order, so an item is written sorted.
  const item = (fields: Record<string, string | number | boolean>) =>
    '      <Item>\n' +
    Object.keys(fields)
      .sort()
      .map((key) => `        <rasd:${key}>${xml(String(fields[key]))}</rasd:${key}>\n`)
      .join('') +
    '      </Item>\n';
  const items = [
    {
      ElementName: `${vm.cpus} virtual CPUs`,
      InstanceID: 1,
      ResourceType: 3,
      AllocationUnits: 'hertz * 10^6',
      VirtualQuantity: vm.cpus,
    },
    {
      ElementName: `${vm.memoryMiB} MiB of memory`,
      InstanceID: 2,
      ResourceType: 4,
      AllocationUnits: 'byte * 2^20',
      VirtualQuantity: vm.memoryMiB,
    },
    { ElementName: 'SATA controller', InstanceID: 3, ResourceType: 20, ResourceSubType: 'AHCI', Address: 0 },
    {
      ElementName: 'Disk 1',
      InstanceID: 4,
      ResourceType: 17,
      AddressOnParent: 0,
      HostResource: 'ovf:/disk/vmdisk1',
      Parent: 3,
    },
    {
      ElementName: 'Ethernet adapter on NAT',
      InstanceID: 5,
      ResourceType: 10,
      AutomaticAllocation: true,
      Connection: 'NAT',
      ResourceSubType: 'E1000',
    },
  ]
    .map(item)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
          xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
          xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
          xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
          xmlns:vmw="http://www.vmware.com/schema/ovf"
          ovf:version="1.0">
  <References>
    <File ovf:id="file1" ovf:href="${xml(options.diskFile)}" ovf:size="${options.diskBytes}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk: the Open Key live image</Info>
    <Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="${options.capacityBytes}"
          ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection>
    <Info>The network the service listens on</Info>
    <Network ovf:name="NAT">
      <Description>NAT network</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="${xml(manifest.name)}">
    <Info>${xml(manifest.description)}</Info>
    <Name>${xml(`${manifest.name} ${manifest.version}`)}</Name>
    <OperatingSystemSection ovf:id="96">
      <Info>Debian GNU/Linux (64-bit)</Info>
      <Description>Debian ${xml(manifest.base.suite)} live</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>${vm.cpus} CPUs, ${vm.memoryMiB} MiB memory, ${vm.firmware === 'efi' ? 'UEFI' : 'BIOS'} firmware</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>${xml(manifest.name)}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-14 virtualbox-2.2</vssd:VirtualSystemType>
      </System>
${items}      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="${vm.firmware === 'efi' ? 'efi' : 'bios'}"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}

/**
 * An OVA for VirtualBox and VMware: the ISO as a stream-optimised VMDK, an OVF descriptor validated against the DMTF
 * schema, a manifest of SHA-256 sums, in a tar with fixed dates and owners (descriptor first, as OVF requires).
 */
export const ovaStage: StageDefinition = {
  name: 'ova',
  async run(context) {
    const { manifest } = context;
    const vm = manifest.outputs.ova.vm;
    const iso = path.join(dependency(context, 'iso'), isoFileName(manifest));
    const base = `${manifest.name}-${manifest.version}`;
    const diskFile = `${base}-disk1.vmdk`;
    const disk = path.join(context.workDir, diskFile);
    await qemuImgConvert(iso, disk, {
      from: 'raw',
      to: 'vmdk',
      options: ['subformat=streamOptimized'],
      signal: context.signal,
    });
    // A content id from the image itself, not from plan hashes, so identical ISOs give identical OVAs.
    await setVmdkCid(disk, Number.parseInt((await sha256File(iso)).slice(0, 8), 16));
    const capacityBytes = Math.max((await stat(iso)).size, vm.diskGiB * 1024 ** 3);
    const ovfFile = `${base}.ovf`;
    const ovf = path.join(context.workDir, ovfFile);
    await writeFile(ovf, ovfDescriptor({ manifest, vm, diskFile, diskBytes: (await stat(disk)).size, capacityBytes }));
    const schema = ovfSchemaPath(context.projectRoot);
    await stat(schema).catch(() => {
      throw new OpenKeyError('E_OVF_SCHEMA', `the OVF schema ${schema} is missing`, {
        hint: 'set OPENKEY_OVF_SCHEMA to dsp8023_1.1.1.xsd',
      });
    });
    await xmllintValidate(ovf, schema);
    const mfFile = `${base}.mf`;
    const mf = path.join(context.workDir, mfFile);
    await writeFile(
      mf,
      `SHA256(${ovfFile})= ${await sha256File(ovf)}\nSHA256(${diskFile})= ${await sha256File(disk)}\n`,
    );

    const output = path.join(context.outDir, ovaFileName(manifest));
    const pack = tar.pack();
    const written = pipeline(pack, createWriteStream(output));
    const header = (name: string, size: number) => ({
      name,
      size,
      mode: 0o644,
      mtime: new Date(context.sourceDateEpoch * 1000),
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
    });
    for (const file of [ovf, mf]) {
      const body = await readFile(file);
      await new Promise<void>((resolve, reject) =>
        pack.entry(header(path.basename(file), body.length), body, (error) => (error ? reject(error) : resolve())),
      );
    }
    const diskBytes = (await stat(disk)).size;
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry(header(diskFile, diskBytes), (error) => (error ? reject(error) : resolve()));
      createReadStream(disk).on('error', reject).pipe(entry);
    });
    pack.finalize();
    await written;
    return {
      outputs: { [ovaFileName(manifest)]: (await stat(output)).size },
      details: { vm, vmdkBytes: (await stat(disk)).size },
    };
  },
};
