import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { linkOrCopy, setTreeTimes } from '../cache/fsutil.ts';
import { assembleDisk, type ContentFilesystem } from '../disk/assemble.ts';
import { PARTITION_NUMBER, type DiskLayout } from '../disk/layout.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { BOOTLOADER, linkGrubModules, liveFiles, readIdentity, type MediumIdentity } from './bootloader.ts';
import { grubConfig, linkTree } from './iso.ts';
import { dependency, type StageContext, type StageDefinition } from './types.ts';

export function diskFileName(manifest: ResolvedManifest): string {
  return `${manifest.name}-${manifest.version}-disk.img`;
}

/** The manifest's disk choices, with their defaults (exFAT, `/home union`). */
export function diskSettings(manifest: ResolvedManifest): { filesystem: ContentFilesystem; persistence: string } {
  const { usb } = manifest.outputs;
  return { filesystem: usb.filesystem ?? 'exfat', persistence: usb.persistence ?? '/home union' };
}

/**
 * The content partition's tree from the stages' outputs (links, no copies): live/ (kernel, initrd, layers), openkey/
 * (apps, datasets, docs), START-HERE.html, the marker GRUB searches for and boot/grub (grub.cfg and modules).
 */
async function diskTree(context: StageContext, tree: string): Promise<MediumIdentity> {
  const { manifest } = context;
  const service = dependency(context, 'service');
  const content = dependency(context, 'content');
  const bootloader = dependency(context, 'bootloader');
  context.log('assembling the content partition tree');
  for (const [name, file] of Object.entries(liveFiles(context))) await linkOrCopy(file, path.join(tree, 'live', name));
  if (manifest.apps.length > 0) await linkTree(path.join(service, 'apps'), path.join(tree, 'openkey'));
  await linkTree(path.join(content, 'root'), tree);
  const ids = await readIdentity(bootloader);
  await mkdir(path.join(tree, '.disk'), { recursive: true });
  await writeFile(path.join(tree, '.disk', ids.diskMarker), '');
  await writeFile(path.join(tree, '.disk', 'info'), `${manifest.name} ${manifest.version} (${manifest.variant})\n`);
  const grubDir = path.join(tree, 'boot', 'grub');
  await mkdir(grubDir, { recursive: true });
  // live-boot looks for a partition labelled "persistence" holding persistence.conf.
  await writeFile(path.join(grubDir, 'grub.cfg'), grubConfig(manifest, { extraArgs: ['persistence'] }));
  await linkGrubModules(bootloader, grubDir);
  return ids;
}

/**
 * Lays the disk out from the stages' outputs into `output`; `extra` adds files to the content partition (the key's
 * OVA), path under the tree → file. Writes layout.json beside the image.
 */
export async function writeKeyDisk(
  context: StageContext,
  output: string,
  extra: Record<string, string> = {},
): Promise<{ bytes: number; layout: DiskLayout; marker: string }> {
  const settings = diskSettings(context.manifest);
  const tree = path.join(context.workDir, 'tree');
  const { identity, diskMarker: marker } = await diskTree(context, tree);
  const bootloader = dependency(context, 'bootloader');
  for (const [where, file] of Object.entries(extra)) await linkOrCopy(file, path.join(tree, where));
  await setTreeTimes(tree, context.sourceDateEpoch);
  const { layout, bytes } = await assembleDisk({
    tree,
    identity,
    biosCore: path.join(bootloader, BOOTLOADER.diskBios),
    efiBinary: path.join(bootloader, BOOTLOADER.diskEfi),
    filesystem: settings.filesystem,
    persistenceMode: settings.persistence,
    output,
    workDir: context.workDir,
    epoch: context.sourceDateEpoch,
    signal: context.signal,
    log: context.log,
    progress: context.progress,
  });
  await writeFile(
    path.join(path.dirname(output), 'layout.json'),
    JSON.stringify({ layout, identity, marker, ...settings, partitions: PARTITION_NUMBER }, null, 2) + '\n',
  );
  return { bytes, layout, marker };
}

/**
 * The key as a partitioned disk, from the same layers as the ISO (no second rootfs build): GPT with GRUB for BIOS
 * (core.img in a BIOS boot partition) and UEFI (an EFI system partition), the content partition that every computer
 * opens (live/, openkey/, START-HERE.html) and a small ext4 persistence partition that grows to fill the key. The VM
 * twins are made from it; the usb stage adds the OVA to the key's own copy for M and L.
 */
export const diskStage: StageDefinition = {
  name: 'disk',
  extraKey: (manifest) => diskSettings(manifest),
  async run(context) {
    const { manifest } = context;
    const output = path.join(context.outDir, diskFileName(manifest));
    const { bytes, layout, marker } = await writeKeyDisk(context, output);
    return { outputs: { [diskFileName(manifest)]: bytes }, details: { layout, marker, ...diskSettings(manifest) } };
  },
};
