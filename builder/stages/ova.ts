import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { sha256File } from '../cache/fsutil.ts';
import { OpenKeyError } from '../errors.ts';
import type { ResolvedManifest, VmHardware } from '../manifest/types.ts';
import { qemuImgConvert } from '../tools/qemu-img.ts';
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
  const item = (id: number, type: number, name: string, extra: string) =>
    `      <Item>
        <rasd:ElementName>${xml(name)}</rasd:ElementName>
        <rasd:InstanceID>${id}</rasd:InstanceID>
        <rasd:ResourceType>${type}</rasd:ResourceType>
${extra}      </Item>
`;
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
${item(1, 3, `${vm.cpus} virtual CPUs`, `        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>\n        <rasd:VirtualQuantity>${vm.cpus}</rasd:VirtualQuantity>\n`)}${item(2, 4, `${vm.memoryMiB} MiB of memory`, `        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>\n        <rasd:VirtualQuantity>${vm.memoryMiB}</rasd:VirtualQuantity>\n`)}${item(3, 20, 'SATA controller', '        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>\n        <rasd:Address>0</rasd:Address>\n')}${item(4, 17, 'Disk 1', '        <rasd:AddressOnParent>0</rasd:AddressOnParent>\n        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>\n        <rasd:Parent>3</rasd:Parent>\n')}${item(5, 10, 'Ethernet adapter on NAT', '        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n        <rasd:Connection>NAT</rasd:Connection>\n        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>\n')}      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="${vm.firmware === 'efi' ? 'efi' : 'bios'}"/>
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
