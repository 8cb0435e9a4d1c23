import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../../builder/manifest/index.ts';
import { generatedFiles } from '../../builder/stages/overlay.ts';
import { keyboardFile, rootfsStage } from '../../builder/stages/rootfs.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('first-boot work done in the rootfs', () => {
  it('compiles the console keymap from the same /etc/default/keyboard the overlay writes', async () => {
    for (const name of ['mu.yaml', 's.yaml']) {
      const { manifest } = await loadManifest(path.join(ROOT, 'manifests', name), ROOT);
      expect(generatedFiles(manifest)['etc/default/keyboard']).toBe(keyboardFile(manifest.system.keyboard));
      const { hooks } = rootfsStage.extraKey?.(manifest) as { hooks: string[] };
      expect(hooks.some((hook) => hook.includes('setupcon --save-only'))).toBe(true);
      // A live key never runs apt-daily (it would wait for the network at boot) nor the other stamp-less timers.
      expect(hooks).toContain('rm -f "$1/etc/systemd/system/timers.target.wants/apt-daily.timer"');
    }
  });
});
