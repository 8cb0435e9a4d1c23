import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedManifest } from '../manifest/types.ts';
import { qemuImgConvert, qemuImgResize } from '../tools/qemu-img.ts';
import { isoFileName } from './iso.ts';
import { dependency, type StageDefinition } from './types.ts';

export function qcow2FileName(manifest: ResolvedManifest): string {
  return `${manifest.name}-${manifest.version}.qcow2`;
}

/** A VM disk: the hybrid ISO as a qcow2 disk (it boots as a disk, BIOS or UEFI), grown to the manifest's disk size. */
export const qcow2Stage: StageDefinition = {
  name: 'qcow2',
  async run(context) {
    const { manifest } = context;
    const iso = path.join(dependency(context, 'iso'), isoFileName(manifest));
    const output = path.join(context.outDir, qcow2FileName(manifest));
    await qemuImgConvert(iso, output, { from: 'raw', to: 'qcow2', signal: context.signal });
    await qemuImgResize(output, `${manifest.outputs.qcow2.vm.diskGiB}G`, 'qcow2');
    return { outputs: { [qcow2FileName(manifest)]: (await stat(output)).size } };
  },
};
