import { stat } from 'node:fs/promises';
import path from 'node:path';
import { linkOrCopy } from '../cache/fsutil.ts';
import { mksquashfs } from '../tools/mksquashfs.ts';
import { dependency, type StageDefinition } from './types.ts';

/**
 * The OS as live-boot stacks it: `00-os` (the rootfs, squashed once by the rootfs stage) under `05-config` (the
 * overlay tree, all files owned by root), plus the kernel and initrd the boot loader loads.
 */
export const osLayerStage: StageDefinition = {
  name: 'os-layer',
  async run(context) {
    const rootfs = dependency(context, 'rootfs');
    const overlay = dependency(context, 'overlay');
    for (const name of ['00-os.squashfs', 'vmlinuz', 'initrd.img', 'packages.tsv']) {
      await linkOrCopy(path.join(rootfs, name), path.join(context.outDir, name));
    }
    await mksquashfs(path.join(overlay, 'tree'), path.join(context.outDir, '05-config.squashfs'), {
      compression: context.manifest.compression.squashfs,
      level: context.manifest.compression.level,
      sourceDateEpoch: context.sourceDateEpoch,
      allRoot: true,
      signal: context.signal,
    });
    const outputs: Record<string, number> = {};
    for (const name of ['00-os.squashfs', '05-config.squashfs', 'vmlinuz', 'initrd.img']) {
      outputs[name] = (await stat(path.join(context.outDir, name))).size;
    }
    return { outputs };
  },
};
