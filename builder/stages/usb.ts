import { stat } from 'node:fs/promises';
import path from 'node:path';
import { linkOrCopy } from '../cache/fsutil.ts';
import { OpenKeyError } from '../../common/errors.ts';
import { mediaCapacityBytes } from '../manifest/semantic.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { sfdiskDump } from '../tools/sfdisk.ts';
import { isoFileName } from './iso.ts';
import { dependency, type StageDefinition } from './types.ts';

export function usbFileName(manifest: ResolvedManifest): string {
  return `${manifest.name}-${manifest.version}-usb.img`;
}

/**
 * The USB image: the hybrid ISO is already a bootable disk (MBR + GPT with an EFI system partition), so the image is
 * the same bytes under a disk name, checked here: a readable partition table with the EFI partition, and a size that
 * fits the declared media.
 */
export const usbStage: StageDefinition = {
  name: 'usb',
  async run(context) {
    const { manifest } = context;
    const iso = path.join(dependency(context, 'iso'), isoFileName(manifest));
    const image = path.join(context.outDir, usbFileName(manifest));
    await linkOrCopy(iso, image);
    const table = await sfdiskDump(image);
    const esp = table.partitions.find(
      (p) => p.type.toUpperCase() === 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' || p.type === 'ef',
    );
    if (esp === undefined)
      throw new OpenKeyError('E_USB_LAYOUT', `${image} has no EFI system partition (sfdisk sees ${table.label})`);
    const size = (await stat(image)).size;
    const capacity = mediaCapacityBytes(manifest.media);
    if (size > capacity) {
      throw new OpenKeyError(
        'E_MEDIA_TOO_SMALL',
        `the image is ${size} bytes; a ${manifest.media.size} key with ${manifest.media.headroomPercent}% headroom holds ${Math.floor(capacity)}`,
        {
          hint: 'raise media.size or drop datasets',
        },
      );
    }
    return {
      outputs: { [usbFileName(manifest)]: size },
      details: { partitionTable: table.label, partitions: table.partitions.length },
    };
  },
};
