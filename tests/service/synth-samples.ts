/**
 * The synthetic samples of the default key (s.yaml) at classroom-test sizes, one dataset per process, written as
 * the image build writes them (writeSyntheticDataset: <process>.root and dataset.json).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticDataset } from '../../builder/synth/index.ts';

/** Events per process: data-mix and the Z and Higgs samples large enough for a fit, the rest for their share. */
export const SYNTH_EVENTS = { 'data-mix': 20_000, zll: 20_000, wlnu: 4000, ttbar: 2000, hyy: 20_000, zz4l: 1000 };

export async function writeSynthSamples(root: string, events: Record<string, number> = SYNTH_EVENTS): Promise<void> {
  let seed = 1;
  for (const [process, n] of Object.entries(events)) {
    const dir = join(root, process);
    mkdirSync(dir, { recursive: true });
    await writeSyntheticDataset({ schema: 'atlas13-mini', process, events: n, seed: seed++ }, dir, {
      env: { SOURCE_DATE_EPOCH: '1700000000' },
    });
  }
}

export async function synthFixture(): Promise<{ root: string; dispose: () => void }> {
  const root = mkdtempSync(join(tmpdir(), 'openkey-synth-samples-'));
  await writeSynthSamples(root);
  return { root, dispose: () => rmSync(root, { recursive: true, force: true }) };
}
