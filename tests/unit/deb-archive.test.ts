import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DebArchive, readPackagesIndex } from '../../builder/cache/debs.ts';
import { Cache } from '../../builder/cache/index.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'openkey-debs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (bytes: string) => createHash('sha256').update(bytes).digest('hex');

/** Two packages as apt left them in /var/cache/apt/archives, and the Packages stanzas apt verified them against. */
async function aptRun(): Promise<{ debs: string; index: string }> {
  const debs = path.join(dir, 'apt', 'debs');
  await mkdir(debs, { recursive: true });
  await writeFile(path.join(debs, 'less_668-1_amd64.deb'), 'less bytes');
  await writeFile(path.join(debs, 'busybox_1%3a1.37.0-6+b9_amd64.deb'), 'busybox bytes');
  await writeFile(path.join(debs, 'stray_1.0_all.deb'), 'not in any index');
  const index = path.join(dir, 'apt', 'deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages');
  await writeFile(
    index,
    [
      'Package: less',
      'Version: 668-1',
      'Architecture: amd64',
      'Filename: pool/main/l/less/less_668-1_amd64.deb',
      `Size: ${'less bytes'.length}`,
      `SHA256: ${sha('less bytes')}`,
      '',
      'Package: busybox',
      'Version: 1:1.37.0-6+b9',
      'Architecture: amd64',
      'Filename: pool/main/b/busybox/busybox_1.37.0-6+b9_amd64.deb',
      `Size: ${'busybox bytes'.length}`,
      `SHA256: ${sha('busybox bytes')}`,
      '',
    ].join('\n'),
  );
  return { debs, index };
}

describe('the .deb archive', () => {
  it('reads SHA256 and Size by apt file name from a Packages file', async () => {
    const { index } = await aptRun();
    const entries = await readPackagesIndex([index]);
    expect(entries.get('less_668-1_amd64.deb')).toEqual({ sha256: sha('less bytes'), size: 10 });
    expect(entries.get('busybox_1%3a1.37.0-6+b9_amd64.deb')).toEqual({ sha256: sha('busybox bytes'), size: 13 });
    expect(entries.size).toBe(2);
  });

  it('archives what matches apt’s index by its hash, and gives it back under apt’s name', async () => {
    const { debs, index } = await aptRun();
    const archive = new DebArchive(path.join(dir, 'cache', 'debs'));
    const added = await archive.add(debs, await readPackagesIndex([index]));
    // An epoch is in apt's file name (1%3a), not in the pool's Filename.
    expect(added.added).toEqual(['busybox_1%3a1.37.0-6+b9_amd64.deb', 'less_668-1_amd64.deb']);
    expect(added.rejected).toEqual(['stray_1.0_all.deb']);
    expect((await readdir(path.join(dir, 'cache', 'debs', 'sha256'))).sort()).toEqual(
      [`${sha('busybox bytes')}.deb`, `${sha('less bytes')}.deb`].sort(),
    );
    const again = await archive.add(debs, await readPackagesIndex([index]));
    expect(again).toMatchObject({ added: [], known: 2 });

    const staged = await archive.stage(path.join(dir, 'in'));
    expect(staged).toEqual({ linked: 2, corrupt: [] });
    expect(await readFile(path.join(dir, 'in', 'debs', 'less_668-1_amd64.deb'), 'utf8')).toBe('less bytes');
  });

  it('finds a corrupt cached package by its hash, deletes it and leaves it to apt to fetch again', async () => {
    const { debs, index } = await aptRun();
    const archive = new DebArchive(path.join(dir, 'cache', 'debs'));
    await archive.add(debs, await readPackagesIndex([index]));
    // Same size, one byte changed: apt, which checks a cached file by its size only, would have installed it.
    await writeFile(path.join(dir, 'cache', 'debs', 'sha256', `${sha('less bytes')}.deb`), 'lesS bytes');
    const staged = await archive.stage(path.join(dir, 'in'));
    expect(staged).toEqual({ linked: 1, corrupt: ['less_668-1_amd64.deb'] });
    expect(await readdir(path.join(dir, 'in', 'debs'))).toEqual(['busybox_1%3a1.37.0-6+b9_amd64.deb']);
    expect(await readdir(path.join(dir, 'cache', 'debs', 'sha256'))).toEqual([`${sha('busybox bytes')}.deb`]);
    expect(await readdir(path.join(dir, 'cache', 'debs', 'names'))).toEqual(['busybox_1%3a1.37.0-6+b9_amd64.deb']);
  });

  it('keeps the last apt lists and is left alone by cache prune, except prune --all', async () => {
    const { index } = await aptRun();
    const cache = new Cache(path.join(dir, 'cache'));
    const archive = DebArchive.inCache(cache.root);
    await archive.keepLists(path.dirname(index));
    await cache.prune({ olderThanDays: 0 });
    await archive.stage(path.join(dir, 'in'));
    expect(await readdir(path.join(dir, 'in', 'lists'))).toContain(path.basename(index));
    const pruned = await cache.prune({ all: true });
    expect(pruned.removed).toContain(archive.root);
    expect(Cache.rootOfTemp(await cache.tempDir('rootfs-work'))).toBe(cache.root);
  });
});
