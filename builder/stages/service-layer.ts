import { stat } from 'node:fs/promises';
import path from 'node:path';
import { mksquashfs } from '../tools/mksquashfs.ts';
import { dependency, type StageDefinition } from './types.ts';

/** The service in a layer of its own (`10-service`), so a service change never re-squashes the OS. */
export const serviceLayerStage: StageDefinition = {
  name: 'service-layer',
  async run(context) {
    const service = dependency(context, 'service');
    const output = path.join(context.outDir, '10-service.squashfs');
    await mksquashfs(path.join(service, 'layer'), output, {
      compression: context.manifest.compression.squashfs,
      level: context.manifest.compression.level,
      sourceDateEpoch: context.sourceDateEpoch,
      allRoot: true,
      signal: context.signal,
    });
    return { outputs: { '10-service.squashfs': (await stat(output)).size } };
  },
};
