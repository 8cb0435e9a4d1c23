import { stat } from 'node:fs/promises';
import path from 'node:path';
import { vmRawDisk } from '../disk/vm.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { qemuImgConvert } from '../tools/qemu-img.ts';
import { diskFileName } from './disk.ts';
import { dependency, type StageDefinition } from './types.ts';

export function qcow2FileName(manifest: ResolvedManifest): string {
  return `${manifest.name}-${manifest.version}.qcow2`;
}

/** A VM disk: the key's disk with its persistence partition grown to the manifest's disk size, as a qcow2. */
export const qcow2Stage: StageDefinition = {
  name: 'qcow2',
  async run(context) {
    const { manifest } = context;
    const raw = await vmRawDisk({
      diskDir: dependency(context, 'disk'),
      diskFile: diskFileName(manifest),
      gib: manifest.outputs.qcow2.vm.diskGiB,
      workDir: context.workDir,
      epoch: context.sourceDateEpoch,
      signal: context.signal,
    });
    const output = path.join(context.outDir, qcow2FileName(manifest));
    await qemuImgConvert(raw, output, { from: 'raw', to: 'qcow2', signal: context.signal });
    return { outputs: { [qcow2FileName(manifest)]: (await stat(output)).size } };
  },
};
