import { stat } from 'node:fs/promises';
import path from 'node:path';
import { linkOrCopy } from '../cache/fsutil.ts';
import { GPT_TYPES, PERSISTENCE_LABEL } from '../disk/layout.ts';
import { OpenKeyError } from '../../common/errors.ts';
import { mediaCapacityBytes } from '../manifest/semantic.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { sfdiskDump } from '../tools/sfdisk.ts';
import { diskFileName, writeKeyDisk } from './disk.ts';
import { carriesOva, keyOvaPath, ovaFileName } from './ova.ts';
import { dependency, type StageDefinition } from './types.ts';

export function usbFileName(manifest: ResolvedManifest): string {
  return `${manifest.name}-${manifest.version}-usb.img`;
}

/**
 * The USB image: the disk stage's partitioned disk under the key's name, checked here: sfdisk reads a GPT with the
 * EFI system, basic-data content and persistence partitions, and the image fits the declared media. For M and L the
 * key also carries the variant's OVA (openkey/vm/), so it is laid out again with it; the VM twins are made from the
 * disk without it (an OVA inside the OVA's own disk could never be finished).
 */
export const usbStage: StageDefinition = {
  name: 'usb',
  async run(context) {
    const { manifest } = context;
    const image = path.join(context.outDir, usbFileName(manifest));
    if (carriesOva(manifest)) {
      const ova = ovaFileName(manifest);
      context.log(`laying the key out again with its OVA (openkey/${keyOvaPath(ova)})`);
      await writeKeyDisk(context, image, {
        [path.join('openkey', keyOvaPath(ova))]: path.join(dependency(context, 'ova'), ova),
      });
    } else {
      await linkOrCopy(path.join(dependency(context, 'disk'), diskFileName(manifest)), image);
    }
    const table = await sfdiskDump(image);
    const has = (type: string, name?: string) =>
      table.partitions.some((p) => p.type.toUpperCase() === type && (name === undefined || p.name === name));
    const missing = [
      has(GPT_TYPES.esp) ? '' : 'EFI system',
      has(GPT_TYPES.basicData) ? '' : 'basic-data content',
      has(GPT_TYPES.linux, PERSISTENCE_LABEL) ? '' : 'persistence',
    ].filter(Boolean);
    if (table.label !== 'gpt' || missing.length > 0)
      throw new OpenKeyError(
        'E_USB_LAYOUT',
        `${image}: sfdisk sees a ${table.label} table without ${missing.join(', ')} partition(s)`,
      );
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
