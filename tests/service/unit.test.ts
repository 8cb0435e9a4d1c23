/**
 * The key's own systemd units, sandboxed as `systemd-analyze security --offline=true` scores them (the host's
 * systemd: 252 on the development machine; trixie's 257 on the key scores each about 0.1 lower). The analysis service is
 * also bounded in memory and tasks.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect, it } from 'vitest';

const ANALYSIS = 'image/overlay/common/etc/systemd/system/openkey-analysis.service';

function setting(text: string, key: string): string | undefined {
  return new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];
}

function exposure(unitFile: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'openkey-unit-'));
  try {
    copyFileSync(unitFile, join(dir, basename(unitFile)));
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', basename(unitFile)], {
      cwd: dir,
      encoding: 'utf8',
    });
    const score = /Overall exposure level for \S+: ([\d.]+)/.exec(out)?.[1];
    if (score === undefined) throw new Error(`no exposure score for ${unitFile}:\n${out}`);
    return Number(score);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it('bounds the analysis service with MemoryMax= and TasksMax=', () => {
  const text = readFileSync(ANALYSIS, 'utf8');
  expect(setting(text, 'MemoryMax')).toMatch(/^\d+(%|[KMG])$/);
  expect(Number(setting(text, 'TasksMax'))).toBeGreaterThanOrEqual(64);
});

// Unsandboxed, systemd scores each of these 9.0 or more.
it.each([
  [ANALYSIS, 2.0],
  ['image/overlay/common/etc/systemd/system/openkey-boot-report.service', 2.0],
  ['image/overlay/jupyter/etc/systemd/system/openkey-jupyter.service', 2.0],
  // Root with five capabilities: it makes the students' accounts and starts each one's server as that student.
  ['image/overlay/jupyter/etc/systemd/system/openkey-jupyterhub.service', 3.0],
])('%s scores an exposure of at most %d', (unit, limit) => {
  expect(exposure(unit)).toBeLessThanOrEqual(limit);
});

it('starts the analysis service without waiting for the network (no network target on its critical chain)', () => {
  const text = readFileSync(ANALYSIS, 'utf8');
  for (const key of ['After', 'Wants', 'Requires', 'BindsTo'])
    expect(text.match(new RegExp(`^${key}=.*network.*$`, 'mg')) ?? []).toEqual([]);
  expect(setting(text, 'ExecStart')).toContain('--host ${OPENKEY_HOST}');
});
