/**
 * The real thing, once: fetch real ATLAS files from the local portal, stop the portal, then build a key image with
 * --offline. The content and iso stages run again with no network at all (the rootfs comes from the cache, warmed by
 * an ordinary build of the same OS first), and the image and its SBOM carry the fetched files. Slow tier: it builds
 * an image (run it under flock /work/coord/heavy.lock on a shared machine).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { main } from '../../builder/cli.ts';
import type { CommandIo } from '../../builder/commands/types.ts';
import { FakePortal } from './portal.ts';

const MU = path.resolve(import.meta.dirname, '../../manifests/mu.yaml');
const ZZ = 'mc_105986.ZZ.root';
const DY = 'mc_173045.DYtautauM08to15.root';

let work = '';
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function io(env: NodeJS.ProcessEnv = {}): CommandIo & { text: () => string } {
  const lines: string[] = [];
  return {
    out: (t) => lines.push(t),
    err: (t) => lines.push(t),
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    signal: new AbortController().signal,
    isTTY: false,
    text: () => lines.join(''),
  };
}

const manifest = (name: string, files: string[]) => `extends: ${MU}
name: ${name}
boot:
  timeout: 1
outputs:
  usb:
    enabled: false
datasets: !replace
  - id: mc8
    title: 8 TeV simulation
    description: Real ATLAS 8 TeV samples.
    licence: CC0-1.0
    source: opendata
    opendata: { record: 3860, files: [${files.join(', ')}] }
`;

it(
  'build --offline of a manifest with fetched real data succeeds with no network',
  { timeout: 3_600_000 },
  async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'openkey-offline-'));
    const cache = process.env.OPENKEY_CACHE ?? path.join(work, 'cache');
    const warm = path.join(work, 'warm.yaml');
    const key = path.join(work, 'key.yaml');
    await writeFile(warm, manifest('openkey-warm', [DY]));
    await writeFile(key, manifest('openkey-offline', [DY, ZZ]));

    const portal = new FakePortal();
    await portal.start();
    try {
      for (const file of [warm, key]) {
        const run = io({ OPENKEY_OPENDATA_URL: portal.base });
        expect(await main(['fetch', file, '--cache', cache], run), run.text()).toBe(0);
      }
    } finally {
      await portal.stop();
    }

    // The portal is gone from here on. An ordinary build of the same OS warms the rootfs (Debian's archive, not the
    // portal), then the key with one more real file builds with --offline: new content and iso stages, no network.
    let run = io();
    expect(await main(['build', warm, '--cache', cache, '--out', path.join(work, 'out-warm')], run), run.text()).toBe(
      0,
    );
    run = io();
    const out = path.join(work, 'out');
    expect(await main(['build', key, '--offline', '--cache', cache, '--out', out], run), run.text()).toBe(0);
    expect(run.text()).toMatch(/content: building/);

    const iso = path.join(out, 'openkey-offline-0.1.0.iso');
    const listing = execFileSync('xorriso', ['-indev', iso, '-find', '/openkey/datasets/mc8', '-type', 'f'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(listing).toContain(`/openkey/datasets/mc8/${ZZ}`);
    expect(listing).toContain(`/openkey/datasets/mc8/dataset.json`);
    const extracted = path.join(work, 'zz.root');
    execFileSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', `/openkey/datasets/mc8/${ZZ}`, extracted], {
      stdio: 'ignore',
    });
    const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    expect(sha(readFileSync(extracted))).toBe(sha(readFileSync(portal.file(ZZ).path)));

    const sbom = JSON.parse(await readFile(path.join(out, 'openkey-offline-0.1.0.spdx.json'), 'utf8'));
    expect(sbom.files.map((f: { fileName: string }) => f.fileName)).toContain(`./openkey/datasets/mc8/${ZZ}`);
    expect(sbom.packages.length).toBeGreaterThan(100);
    // Every Debian package carries its .deb's SHA-256 (the rootfs stage's archive in this cache) and a licence from
    // its copyright file wherever that is machine-readable; every LicenseRef used is defined.
    const debs = sbom.packages.filter((p: { SPDXID: string }) => p.SPDXID.startsWith('SPDXRef-deb-'));
    expect(debs.length).toBeGreaterThan(100);
    for (const deb of debs) expect(deb.checksums?.[0]?.checksumValue, deb.name).toMatch(/^[0-9a-f]{64}$/);
    const unknown = debs.filter((p: { licenseDeclared: string }) => p.licenseDeclared === 'NOASSERTION');
    for (const deb of unknown) expect(deb.licenseComments, deb.name).toMatch(/not machine-readable|no copyright file/);
    expect(unknown.length).toBeLessThan(debs.length / 4);
    const defined = new Set(sbom.hasExtractedLicensingInfos.map((i: { licenseId: string }) => i.licenseId));
    for (const deb of debs)
      for (const ref of deb.licenseDeclared.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []) expect(defined).toContain(ref);
    expect((await readdir(out)).sort()).toContain('SHA256SUMS');
    expect(await readFile(path.join(out, 'SHA256SUMS'), 'utf8')).toContain('openkey-offline-0.1.0.spdx.json');
  },
);
