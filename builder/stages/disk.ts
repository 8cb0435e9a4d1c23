import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { linkOrCopy, setTreeTimes } from '../cache/fsutil.ts';
import { assembleDisk, type ContentFilesystem } from '../disk/assemble.ts';
import { PARTITION_NUMBER } from '../disk/layout.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { copyGrubModules, grubConfig, linkTree, mediumIdentity } from './iso.ts';
import { dependency, type StageDefinition } from './types.ts';

export function diskFileName(manifest: ResolvedManifest): string {
  return `${manifest.name}-${manifest.version}-disk.img`;
}

/** The manifest's disk choices, with their defaults (exFAT, `/home union`). */
export function diskSettings(manifest: ResolvedManifest): { filesystem: ContentFilesystem; persistence: string } {
  const { usb } = manifest.outputs;
  return { filesystem: usb.filesystem ?? 'exfat', persistence: usb.persistence ?? '/home union' };
}

/**
 * The key as a partitioned disk, from the same layers as the ISO (no second rootfs build): GPT with GRUB for BIOS
 * (core.img in a BIOS boot partition) and UEFI (an EFI system partition), the content partition that every computer
 * opens (live/, openkey/, START-HERE.html) and a small ext4 persistence partition that grows to fill the key.
 */
export const diskStage: StageDefinition = {
  name: 'disk',
  extraKey: (manifest) => diskSettings(manifest),
  async run(context) {
    const { manifest } = context;
    const settings = diskSettings(manifest);
    const osLayer = dependency(context, 'os-layer');
    const serviceLayer = dependency(context, 'service-layer');
    const service = dependency(context, 'service');
    const content = dependency(context, 'content');
    const tree = path.join(context.workDir, 'tree');

    context.log('assembling the content partition tree');
    for (const name of ['vmlinuz', 'initrd.img', '00-os.squashfs', '05-config.squashfs']) {
      await linkOrCopy(path.join(osLayer, name), path.join(tree, 'live', name));
    }
    await linkOrCopy(path.join(serviceLayer, '10-service.squashfs'), path.join(tree, 'live', '10-service.squashfs'));
    if (manifest.apps.length > 0) await linkTree(path.join(service, 'apps'), path.join(tree, 'openkey'));
    await linkTree(path.join(content, 'root'), tree);
    const identity = await mediumIdentity(path.join(tree, 'live'));
    // Not the ISO's marker: a VM with the ISO as a CD and the disk attached boots the one it was started from.
    const marker = `openkey-disk-${identity.slice(0, 16)}`;
    await mkdir(path.join(tree, '.disk'), { recursive: true });
    await writeFile(path.join(tree, '.disk', marker), '');
    await writeFile(path.join(tree, '.disk', 'info'), `${manifest.name} ${manifest.version} (${manifest.variant})\n`);
    const grubDir = path.join(tree, 'boot', 'grub');
    await mkdir(grubDir, { recursive: true });
    // live-boot looks for a partition labelled "persistence" holding persistence.conf.
    await writeFile(path.join(grubDir, 'grub.cfg'), grubConfig(manifest, { extraArgs: ['persistence'] }));
    await copyGrubModules('i386-pc', path.join(grubDir, 'i386-pc'));
    await copyGrubModules('x86_64-efi', path.join(grubDir, 'x86_64-efi'));
    await setTreeTimes(tree, context.sourceDateEpoch);

    const output = path.join(context.outDir, diskFileName(manifest));
    const { layout, bytes } = await assembleDisk({
      tree,
      marker,
      identity,
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
      path.join(context.outDir, 'layout.json'),
      JSON.stringify({ layout, identity, marker, ...settings, partitions: PARTITION_NUMBER }, null, 2) + '\n',
    );
    return { outputs: { [diskFileName(manifest)]: bytes }, details: { layout, marker, ...settings } };
  },
};
