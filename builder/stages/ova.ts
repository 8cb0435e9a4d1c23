import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { sha256File } from '../cache/fsutil.ts';
import { OpenKeyError } from '../../common/errors.ts';
import { carriesOva } from '../manifest/semantic.ts';
import type { ResolvedManifest, VmHardware } from '../manifest/types.ts';

export { carriesOva };
import { qemuImgConvert, setVmdkCid } from '../tools/qemu-img.ts';
import { xmllintValidate } from '../tools/xmllint.ts';
import { derivedGuid } from '../disk/layout.ts';
import { vmRawDisk } from '../disk/vm.ts';
import { diskFileName } from './disk.ts';
import { dependency, type StageDefinition } from './types.ts';

export function ovaFileName(manifest: ResolvedManifest): string {
  return `${manifest.name}-${manifest.version}.ova`;
}

/** Where the key keeps the OVA, under openkey/ (the portal's VM link, key-index.js's vm.ova). */
export function keyOvaPath(ovaFile: string): string {
  return `vm/${ovaFile}`;
}

/** The DMTF OVF 1.1.1 envelope schema (../shared/ovf-schema beside the checkout, or $OPENKEY_OVF_SCHEMA). */
export function ovfSchemaPath(projectRoot: string): string {
  return process.env.OPENKEY_OVF_SCHEMA ?? path.join(projectRoot, '..', 'shared', 'ovf-schema', 'dsp8023_1.1.1.xsd');
}

/**
 * The schema the OVF is validated with: the DMTF envelope plus VirtualBox's Machine as a member of the ovf:Section
 * substitution group. OVF 1.x allows no foreign element directly in a VirtualSystem except such a Section, and
 * VirtualBox reads its Machine only as a direct child of the VirtualSystem; it writes it as a Section for that reason
 * (ovf:Info first, ovf:required="false"). The VirtualBox settings inside are not checked by the schema (their rules
 * are tested in tests/image/vmdk-ovf.test.ts).
 */
export function ovfValidationSchema(dmtfSchema: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
           targetNamespace="http://www.virtualbox.org/ovf/machine" elementFormDefault="qualified">
  <xs:import namespace="http://schemas.dmtf.org/ovf/envelope/1" schemaLocation="${xml(pathToFileURL(path.resolve(dmtfSchema)).href)}"/>
  <xs:element name="Machine" substitutionGroup="ovf:Section">
    <xs:complexType>
      <xs:complexContent>
        <xs:extension base="ovf:Section_Type">
          <xs:sequence>
            <xs:any namespace="##any" processContents="skip" minOccurs="0" maxOccurs="unbounded"/>
          </xs:sequence>
        </xs:extension>
      </xs:complexContent>
    </xs:complexType>
  </xs:element>
</xs:schema>
`;
}

function xml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

/**
 * VirtualBox's own machine description, as VirtualBox writes it into the OVFs it exports (settings format 1.16, read
 * by VirtualBox 6.1 and 7.x): firmware, VMSVGA graphics, the NAT port forward from host 127.0.0.1 to the service,
 * memory and CPUs. The import rules it must meet (ApplianceImplImport.cpp, ovfreader.cpp) are tested in
 * tests/image/vmdk-ovf.test.ts: the disk attached by uuid is a DiskSection disk with that vbox:uuid, one attachment
 * per disk, the Machine has uuid, name and OSType, and OVF's own CPU and memory items agree with it.
 */
export function vboxMachine(options: {
  manifest: ResolvedManifest;
  vm: VmHardware;
  machineUuid: string;
  diskUuid: string;
  mac: string;
  servicePort: number;
}): string {
  const { manifest, vm } = options;
  return `    <vbox:Machine ovf:required="false" version="1.16-linux" uuid="{${options.machineUuid}}" name="${xml(manifest.name)}" OSType="Debian_64" snapshotFolder="Snapshots">
      <ovf:Info>Complete VirtualBox machine configuration in VirtualBox format</ovf:Info>
      <Description>${xml(manifest.description)}</Description>
      <Hardware>
        <CPU count="${vm.cpus}">
          <PAE enabled="true"/>
          <LongMode enabled="true"/>
          <HardwareVirtExLargePages enabled="true"/>
        </CPU>
        <Memory RAMSize="${vm.memoryMiB}"/>
        <Firmware type="${vm.firmware === 'efi' ? 'EFI' : 'BIOS'}"/>
        <Boot>
          <Order position="1" device="HardDisk"/>
          <Order position="2" device="None"/>
          <Order position="3" device="None"/>
          <Order position="4" device="None"/>
        </Boot>
        <Display controller="VMSVGA" VRAMSize="32"/>
        <BIOS>
          <IOAPIC enabled="true"/>
        </BIOS>
        <USB>
          <Controllers>
            <Controller name="xHCI" type="XHCI"/>
          </Controllers>
        </USB>
        <Network>
          <Adapter slot="0" enabled="true" MACAddress="${options.mac}" type="82540EM">
            <NAT>
              <Forwarding name="openkey-portal" proto="1" hostip="127.0.0.1" hostport="8080" guestport="${options.servicePort}"/>
            </NAT>
          </Adapter>
        </Network>
        <RTC localOrUTC="UTC"/>
      </Hardware>
      <StorageControllers>
        <StorageController name="SATA" type="AHCI" PortCount="1" useHostIOCache="false" Bootable="true">
          <AttachedDevice type="HardDisk" hotpluggable="false" port="0" device="0">
            <Image uuid="{${options.diskUuid}}"/>
          </AttachedDevice>
        </StorageController>
      </StorageControllers>
    </vbox:Machine>
`;
}

export function ovfDescriptor(options: {
  manifest: ResolvedManifest;
  vm: VmHardware;
  diskFile: string;
  diskBytes: number;
  capacityBytes: number;
  /** Derives the VirtualBox machine and disk uuids and the MAC address (the disk's identity). */
  identity: string;
}): string {
  const { manifest, vm } = options;
  const diskUuid = derivedGuid(options.identity, 'vbox-disk').toLowerCase();
  const machine = vboxMachine({
    manifest,
    vm,
    machineUuid: derivedGuid(options.identity, 'vbox-machine').toLowerCase(),
    diskUuid,
    // 08:00:27 is VirtualBox's own prefix, as its exports use.
    mac: `080027${options.identity.slice(0, 6).toUpperCase()}`,
    servicePort: manifest.services.analysis.port,
  });
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
          xmlns:vbox="http://www.virtualbox.org/ovf/machine"
          ovf:version="1.0">
  <References>
    <File ovf:id="file1" ovf:href="${xml(options.diskFile)}" ovf:size="${options.diskBytes}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk: the Open Key live image</Info>
    <Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="${options.capacityBytes}" vbox:uuid="${diskUuid}"
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
${machine}  </VirtualSystem>
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
    const diskDir = dependency(context, 'disk');
    const raw = await vmRawDisk({
      diskDir,
      diskFile: diskFileName(manifest),
      gib: vm.diskGiB,
      workDir: context.workDir,
      epoch: context.sourceDateEpoch,
      signal: context.signal,
    });
    const base = `${manifest.name}-${manifest.version}`;
    const diskFile = `${base}-disk1.vmdk`;
    const disk = path.join(context.workDir, diskFile);
    await qemuImgConvert(raw, disk, {
      from: 'raw',
      to: 'vmdk',
      options: ['subformat=streamOptimized'],
      signal: context.signal,
    });
    // A content id from the disk's identity (its layers), not from plan hashes, so identical disks give identical OVAs.
    const { identity } = JSON.parse(await readFile(path.join(diskDir, 'layout.json'), 'utf8')) as { identity: string };
    await setVmdkCid(disk, Number.parseInt(identity.slice(0, 8), 16));
    const capacityBytes = vm.diskGiB * 1024 ** 3;
    const ovfFile = `${base}.ovf`;
    const ovf = path.join(context.workDir, ovfFile);
    await writeFile(
      ovf,
      ovfDescriptor({ manifest, vm, diskFile, diskBytes: (await stat(disk)).size, capacityBytes, identity }),
    );
    const schema = ovfSchemaPath(context.projectRoot);
    await stat(schema).catch(() => {
      throw new OpenKeyError('E_OVF_SCHEMA', `the OVF schema ${schema} is missing`, {
        hint: 'set OPENKEY_OVF_SCHEMA to dsp8023_1.1.1.xsd',
      });
    });
    const wrapper = path.join(context.workDir, 'ovf-vbox.xsd');
    await writeFile(wrapper, ovfValidationSchema(schema));
    await xmllintValidate(ovf, wrapper);
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
