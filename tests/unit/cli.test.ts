import { execFile } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/openkey.mjs');

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function openkey(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe('openkey CLI', () => {
  it('checks every shipped manifest', async () => {
    const result = await openkey([
      'check',
      'manifests/base.yaml',
      'manifests/mu.yaml',
      'manifests/s.yaml',
      'manifests/m.yaml',
      'manifests/l.yaml',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('manifests/s.yaml: ok (openkey-s 0.1.0, variant S, 5 datasets)\n');
    expect(result.stdout).toContain('manifests/l.yaml: ok (openkey-l 0.1.0, variant L, 7 datasets)\n');
  });

  it('exits 2 and points at the line of a bad manifest, without a stack trace', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'openkey-cli-'));
    writeFileSync(
      path.join(folder, 'bad.yaml'),
      `extends: ${path.join(ROOT, 'manifests/base.yaml')}\nname: bad\nsession: kiosks\n`,
    );
    const result = await openkey(['check', 'bad.yaml'], { cwd: folder });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'bad.yaml:3:10 session: "kiosks" is not one of: none, kiosk, desktop (did you mean "kiosk"?)\nbad.yaml: 1 problem\n',
    );
  });

  it('prints the same plan bytes from two working directories', async () => {
    const here = await openkey(['plan', '--json', 'manifests/s.yaml']);
    const elsewhere = await openkey(['plan', '--json', path.join(ROOT, 'manifests/s.yaml')], { cwd: tmpdir() });
    expect(here.code).toBe(0);
    expect(elsewhere.stdout).toBe(here.stdout);
    const parsed = JSON.parse(here.stdout) as {
      manifest: { overlays: string[] };
      plan: { stages: { name: string }[] };
    };
    expect(parsed.manifest.overlays).toEqual(['image/overlay/common', 'image/overlay/kiosk']);
    expect(parsed.plan.stages[0]?.name).toBe('rootfs');
  });

  it('suggests the command meant on a typo and exits 2', async () => {
    const result = await openkey(['chekc', 'manifests/s.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'openkey: error[E_USAGE]: unknown command "chekc"\n  hint: did you mean "openkey check"? (openkey --help lists all commands)\n',
    );
  });

  it('rejects an unknown option with exit 2', async () => {
    const result = await openkey(['plan', '--jsno', 'manifests/s.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^openkey: error\[E_USAGE\]: Unknown option '--jsno'/);
  });

  it('has --help for every command', async () => {
    const top = await openkey(['--help']);
    expect(top.code).toBe(0);
    const names = [...top.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((match) => match[1]!);
    expect(names).toEqual(expect.arrayContaining(['check', 'explain', 'plan', 'doctor']));
    for (const name of names) {
      const help = await openkey([name, '--help']);
      expect(help.code, name).toBe(0);
      expect(help.stdout, name).toMatch(new RegExp(`^Usage: openkey ${name}`));
    }
    // a dozen node start-ups one after another: on two shared cores under load that exceeds the default 30 s
  }, 180_000);

  it('doctor names the apt packages of missing tools and exits 1', async () => {
    const emptyBin = mkdtempSync(path.join(tmpdir(), 'openkey-path-'));
    symlinkSync(process.execPath, path.join(emptyBin, 'node'));
    const result = await openkey(['doctor', 'manifests/mu.yaml'], { env: { ...process.env, PATH: emptyBin } });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/mmdebstrap +MISSING +apt package mmdebstrap, for Debian rootfs/);
    expect(result.stderr).toBe(
      '\nmissing: install them with\n  apt-get install -y dosfstools e2fsprogs fdisk grub-common mmdebstrap mtools squashfs-tools xorriso\n',
    );
  });

  it('doctor exits 0 on this machine, where CI installed every tool', async () => {
    const result = await openkey(['doctor']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/xorriso +ok +xorriso 1\./);
  });
});
