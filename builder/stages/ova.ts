import type { ResolvedManifest } from '../manifest/types.ts';
import { OpenKeyError } from '../errors.ts';
import type { StageDefinition } from './types.ts';

export function ovaFileName(manifest: ResolvedManifest): string {
  return `${manifest.name}-${manifest.version}.ova`;
}

export const ovaStage: StageDefinition = {
  name: 'ova',
  async run() {
    throw new OpenKeyError('E_NOT_IMPLEMENTED', 'the ova output is not implemented yet');
  },
};
