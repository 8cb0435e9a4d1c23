import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cache } from '../../builder/cache/index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'openkey-cache-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('content-addressed cache', () => {
  it('publishes a finished folder by rename and finds it by stage and key', async () => {
    const cache = new Cache(root);
    expect(await cache.lookup('iso', 'abc')).toBeUndefined();
    const tmp = await cache.tempDir('iso');
    await writeFile(path.join(tmp, 'image.iso'), 'bytes');
    const dir = await cache.publish('iso', 'abc', tmp, { result: { outputs: { 'image.iso': 5 } } });
    expect(dir).toBe(path.join(root, 'iso', 'abc'));
    expect(await cache.lookup('iso', 'abc')).toBe(dir);
    expect(await readdir(path.join(root, 'tmp'))).toEqual([]);
    const [entry] = await cache.list();
    expect(entry).toMatchObject({
      stage: 'iso',
      key: 'abc',
      bytes: 5,
      meta: { result: { outputs: { 'image.iso': 5 } } },
    });
  });

  it('never sees a folder without entry.json as an entry (a build killed while publishing)', async () => {
    const cache = new Cache(root);
    await mkdir(path.join(root, 'rootfs', 'half'), { recursive: true });
    await writeFile(path.join(root, 'rootfs', 'half', '00-os.squashfs'), 'partial');
    expect(await cache.lookup('rootfs', 'half')).toBeUndefined();
    expect(await cache.list()).toEqual([]);
    const { removed } = await cache.prune();
    expect(removed).toEqual([path.join(root, 'rootfs', 'half')]);
  });

  it('prunes temp folders of dead builds but not those of running ones', async () => {
    const cache = new Cache(root);
    await mkdir(path.join(root, 'tmp', 'rootfs-999999-dead'), { recursive: true });
    await mkdir(path.join(root, 'tmp', `rootfs-${process.ppid}-alive`), { recursive: true });
    const { removed } = await cache.prune();
    expect(removed).toEqual([path.join(root, 'tmp', 'rootfs-999999-dead')]);
    expect(await readdir(path.join(root, 'tmp'))).toEqual([`rootfs-${process.ppid}-alive`]);
  });

  it('keeps the most recently used entries of each stage with --keep', async () => {
    const cache = new Cache(root);
    for (const key of ['k1', 'k2', 'k3']) {
      const tmp = await cache.tempDir('overlay');
      await cache.publish('overlay', key, tmp);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    await cache.lookup('overlay', 'k1');
    const { removed } = await cache.prune({ keepPerStage: 2 });
    expect(removed).toEqual([path.join(root, 'overlay', 'k2')]);
    expect((await cache.list()).map((e) => e.key).sort()).toEqual(['k1', 'k3']);
  });

  it('keeps the first entry when two builds publish the same key', async () => {
    const cache = new Cache(root);
    const a = await cache.tempDir('content');
    await writeFile(path.join(a, 'f'), 'first');
    const b = await cache.tempDir('content');
    await writeFile(path.join(b, 'f'), 'first');
    await cache.publish('content', 'same', a);
    const dir = await cache.publish('content', 'same', b);
    expect(dir).toBe(path.join(root, 'content', 'same'));
    expect(await readdir(path.join(root, 'tmp'))).toEqual([]);
  });
});
