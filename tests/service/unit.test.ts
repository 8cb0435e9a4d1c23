/**
 * The analysis service's systemd unit: bounded in memory and tasks, and sandboxed to an exposure of at most 2.0 as
 * `systemd-analyze security --offline=true` scores it (the host's systemd; 252 on the development machine).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const UNIT = 'image/overlay/common/etc/systemd/system/openkey-analysis.service';

function setting(text: string, key: string): string | undefined {
  return new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];
}

it('has MemoryMax= and TasksMax=, and scores an exposure of at most 2.0', () => {
  const text = readFileSync(UNIT, 'utf8');
  expect(setting(text, 'MemoryMax')).toMatch(/^\d+(%|[KMG])$/);
  expect(Number(setting(text, 'TasksMax'))).toBeGreaterThanOrEqual(64);
  const dir = mkdtempSync(join(tmpdir(), 'openkey-unit-'));
  try {
    copyFileSync(UNIT, join(dir, 'openkey-analysis.service'));
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', 'openkey-analysis.service'], {
      cwd: dir,
      encoding: 'utf8',
    });
    const score = Number(/Overall exposure level for openkey-analysis\.service: ([\d.]+)/.exec(out)?.[1]);
    expect(score).toBeLessThanOrEqual(2.0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
