import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../builder/cli.ts';
import type { CommandIo } from '../../builder/commands/types.ts';
import { loadManifest } from '../../builder/manifest/index.ts';
import type { ResolvedManifest } from '../../builder/manifest/types.ts';
import { downloadToStore } from '../../builder/opendata/download.ts';
import { fetchOpendata, type FetchOptions } from '../../builder/opendata/fetch.ts';
import { lockPathFor, readLock } from '../../builder/opendata/lock.ts';
import { httpUrl, isPortalErrorPage, recordFiles } from '../../builder/opendata/record.ts';
import { OpendataStore } from '../../builder/opendata/store.ts';
import { lockedInputDifferences, seedOpendata, withLockedOpendata } from '../../builder/opendata/resolve.ts';
import { stageRecord } from '../../builder/stages/registry.ts';
import { planBuild, type Plan } from '../../builder/plan/index.ts';
import { contentStage } from '../../builder/stages/content.ts';
import { datasetsStage } from '../../builder/stages/datasets.ts';
import { FakePortal } from './portal.ts';
import { formatBytes } from '../../common/format.ts';

const MU = path.resolve(import.meta.dirname, '../../manifests/mu.yaml');
const ZZ = 'mc_105986.ZZ.root';
const DY = 'mc_173045.DYtautauM08to15.root';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let portal: FakePortal;
let work: string;

beforeAll(async () => {
  portal = new FakePortal();
  await portal.start();
});
afterAll(async () => {
  await portal.stop();
});
/** Every work folder a test made (some call fresh() twice): all removed after it. */
const works: string[] = [];
afterEach(async () => {
  portal.reset();
  for (const dir of works.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function fresh(files: string[] = [ZZ, DY], extra = ''): Promise<{ manifest: string; cache: string }> {
  work = await mkdtemp(path.join(os.tmpdir(), 'openkey-opendata-'));
  works.push(work);
  const manifest = path.join(work, 'key.yaml');
  await writeFile(
    manifest,
    `extends: ${MU}
name: test-key
${extra}datasets: !replace
  - id: mc8
    title: 8 TeV simulation
    description: Real ATLAS 8 TeV samples.
    licence: CC0-1.0
    source: opendata
    opendata: { record: 3860, files: [${files.join(', ')}] }
`,
  );
  return { manifest, cache: path.join(work, 'cache') };
}

async function run(manifestFile: string, cache: string, extra: Partial<FetchOptions> = {}) {
  const { manifest } = await loadManifest(manifestFile);
  const lines: string[] = [];
  const summary = await fetchOpendata({
    manifest,
    manifestFile,
    cacheDir: cache,
    base: portal.base,
    retries: 4,
    backoffMs: 20,
    // Long enough that a loaded machine (a shared CI box, QEMU boots beside) never looks like a stall; the stall
    // test sets its own.
    stallMs: 10_000,
    progressEveryMs: 50,
    log: (line) => lines.push(line),
    ...extra,
  });
  return { summary, lines };
}

async function blobs(cache: string): Promise<string[]> {
  return (await readdir(path.join(cache, 'opendata', 'sha256')).catch(() => [])).sort();
}

function captureIo(env: NodeJS.ProcessEnv = {}): CommandIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    out: (t) => stdout.push(t),
    err: (t) => stderr.push(t),
    cwd: process.cwd(),
    env: { ...env },
    signal: new AbortController().signal,
    isTTY: false,
    stdout,
    stderr,
  };
}

describe('the record API', () => {
  it('reads metadata.files and metadata._file_indices[].files and maps root:// onto the base', () => {
    const files = recordFiles(
      {
        metadata: {
          files: [
            {
              key: 'a.root',
              uri: 'root://eospublic.cern.ch//eos/opendata/x/a.root',
              size: 5,
              checksum: 'adler32:1a2b',
            },
          ],
          _file_indices: [
            {
              files: [
                { uri: 'root://eospublic.cern.ch//eos/opendata/x/b.root', size: 7, checksum: 'adler32:0badf00d' },
              ],
            },
          ],
        },
      },
      'record 1',
    );
    expect(files).toEqual([
      { name: 'a.root', uri: 'root://eospublic.cern.ch//eos/opendata/x/a.root', size: 5, adler32: '00001a2b' },
      { name: 'b.root', uri: 'root://eospublic.cern.ch//eos/opendata/x/b.root', size: 7, adler32: '0badf00d' },
    ]);
    expect(httpUrl('root://eospublic.cern.ch//eos/opendata/x/a.root', 'https://opendata.cern.ch')).toBe(
      'https://opendata.cern.ch//eos/opendata/x/a.root',
    );
    expect(isPortalErrorPage(3846, 'a82d5324')).toBe(true);
    expect(isPortalErrorPage(3846, 'a82d5325')).toBe(false);
  });
});

describe('openkey fetch against a local portal', () => {
  it('downloads, verifies and locks; a second fetch makes no request at all', async () => {
    const { manifest, cache } = await fresh();
    const first = await run(manifest, cache);
    expect(first.summary.downloaded).toBe(2);
    expect(portal.fileRequests()).toHaveLength(2);
    const lock = await readLock(lockPathFor(manifest));
    const files = lock!.datasets.mc8!.files;
    expect(files.map((f) => f.name)).toEqual([ZZ, DY]);
    expect(files[0]!.sha256).toBe(sha256(portal.file(ZZ).path));
    expect(files[0]!.adler32).toBe(portal.file(ZZ).adler32);
    expect(files[0]!.url).toBe(`https://opendata.cern.ch//eos/opendata/atlas/OutreachDatasets/2016-07-29/MC/${ZZ}`);
    expect(await blobs(cache)).toEqual(files.map((f) => f.sha256).sort());
    expect(first.lines.some((l) => l.startsWith('pre-flight: 2 files'))).toBe(true);

    portal.requests.length = 0;
    const second = await run(manifest, cache);
    expect(second.summary).toMatchObject({ cached: 2, downloaded: 0, bytesDownloaded: 0 });
    expect(portal.requests).toEqual([]);
  });

  it('resumes a dropped download from the byte where it stopped (the server sees the Range)', async () => {
    const { manifest, cache } = await fresh([ZZ]);
    portal.faults.set(ZZ, 'drop');
    const { summary, lines } = await run(manifest, cache);
    const requests = portal.fileRequests(ZZ);
    const half = Math.floor(portal.file(ZZ).size / 2);
    expect(requests.map((r) => [r.range, r.status])).toEqual([
      [undefined, 200],
      [`bytes=${half}-`, 206],
    ]);
    expect(summary.bytesDownloaded).toBe(portal.file(ZZ).size);
    expect(lines.some((l) => l.includes(`(resumed at byte ${half})`) || l.includes('retrying'))).toBe(true);
    expect(await blobs(cache)).toEqual([sha256(portal.file(ZZ).path)]);
  });

  it('gives up on a stalled connection and resumes after it', async () => {
    const { manifest, cache } = await fresh([ZZ]);
    portal.faults.set(ZZ, 'stall');
    const { lines } = await run(manifest, cache, { stallMs: 400 });
    expect(portal.fileRequests(ZZ).map((r) => r.range)).toEqual([undefined, 'bytes=4096-']);
    expect(lines.some((l) => l.includes('stalled: no data for 0.4 s'))).toBe(true);
    expect(lines.some((l) => /^total .*ETA/.test(l))).toBe(true);
    expect(await blobs(cache)).toEqual([sha256(portal.file(ZZ).path)]);
  });

  it('retries 503 answers with backoff', async () => {
    const { manifest, cache } = await fresh([DY]);
    portal.faults.set(DY, '503');
    await run(manifest, cache);
    expect(portal.fileRequests(DY).map((r) => r.status)).toEqual([503, 503, 200]);
    expect(await blobs(cache)).toEqual([sha256(portal.file(DY).path)]);
  });

  it('starts over when the server ignores Range', async () => {
    const { manifest, cache } = await fresh([DY]);
    const file = portal.file(DY);
    const store = new OpendataStore(cache);
    await mkdir(path.dirname(store.partialPath(file.adler32, file.size)), { recursive: true });
    await writeFile(store.partialPath(file.adler32, file.size), readFileSync(file.path).subarray(0, 1000));
    portal.faults.set(DY, 'no-range');
    const { lines } = await run(manifest, cache);
    expect(portal.fileRequests(DY).map((r) => [r.range, r.status])).toEqual([['bytes=1000-', 200]]);
    expect(lines.some((l) => l.includes('ignores Range'))).toBe(true);
    expect(await blobs(cache)).toEqual([sha256(file.path)]);
  });

  it('never caches wrong bytes: the file is quarantined and the URL and both checksums named', async () => {
    const { manifest, cache } = await fresh([ZZ]);
    portal.faults.set(ZZ, 'wrong-bytes');
    const error = await run(manifest, cache).catch((e: Error & { code?: string }) => e);
    expect(error).toMatchObject({ code: 'E_CHECKSUM' });
    const message = (error as Error).message;
    expect(message).toContain(`${portal.base}//eos/opendata/atlas/OutreachDatasets/2016-07-29/MC/${ZZ}`);
    expect(message).toMatch(new RegExp(`adler32 [0-9a-f]{8}, expected ${portal.file(ZZ).adler32}`));
    expect(await blobs(cache)).toEqual([]);
    expect(await readdir(path.join(cache, 'opendata', 'quarantine'))).toHaveLength(1);
    expect(await readLock(lockPathFor(manifest))).toBeUndefined();
  });

  it('treats the portal’s HTML error page as an error, never as data', async () => {
    const { manifest, cache } = await fresh([ZZ]);
    portal.faults.set(ZZ, 'error-page');
    await expect(run(manifest, cache)).rejects.toMatchObject({ code: 'E_OPENDATA_ERROR_PAGE' });
    expect(await blobs(cache)).toEqual([]);
  });

  it('refuses a record the portal does not know, and a file the record does not have', async () => {
    let { manifest, cache } = await fresh();
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('record: 3860', 'record: 999999'));
    await expect(run(manifest, cache)).rejects.toThrow('the portal does not know record 999999');
    portal.records.set(4242, [ZZ, DY]);
    portal.indexed.add(4242);
    ({ manifest, cache } = await fresh(['mc_105986.ZZZ.root']));
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('record: 3860', 'record: 4242'));
    await expect(run(manifest, cache)).rejects.toMatchObject({
      code: 'E_OPENDATA_FILE',
      message: 'dataset mc8: record 4242 has no file "mc_105986.ZZZ.root"',
      hint: `did you mean "${ZZ}"?`,
    });
    expect(portal.fileRequests()).toEqual([]);
  });

  it('refuses, before any download, real data larger than the key', async () => {
    const { manifest, cache } = await fresh([ZZ], 'media: { size: 8GB }\n');
    const bigger = portal.records.get(3860)!;
    const real = portal.file(ZZ).size;
    portal.file(ZZ).size = 9e9;
    try {
      await expect(run(manifest, cache)).rejects.toMatchObject({ code: 'E_MEDIA_BUDGET' });
    } finally {
      portal.file(ZZ).size = real;
    }
    expect(bigger).toContain(ZZ);
    expect(portal.fileRequests()).toEqual([]);
  });

  it('copies from another key with --mirror and downloads nothing', async () => {
    const { manifest, cache } = await fresh();
    await run(manifest, cache);
    const key = path.join(work, 'other-key', 'openkey', 'datasets', 'mc8');
    await mkdir(key, { recursive: true });
    for (const name of [ZZ, DY]) await copyFile(portal.file(name).path, path.join(key, name));
    portal.requests.length = 0;
    const cacheB = path.join(work, 'cache-b');
    const { summary } = await run(manifest, cacheB, { mirror: path.join(work, 'other-key') });
    expect(summary).toMatchObject({ fromMirror: 2, downloaded: 0 });
    expect(portal.requests).toEqual([]);
    expect(await blobs(cacheB)).toEqual(await blobs(cache));
  });

  it('keeps the cache intact when the disk fills up mid-download', async () => {
    const { cache } = await fresh([ZZ]);
    await mkdir(cache, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', cache]);
    try {
      const file = portal.file(ZZ);
      const store = new OpendataStore(cache);
      const error = await downloadToStore(
        {
          name: ZZ,
          url: `${portal.base}//eos/opendata/atlas/OutreachDatasets/2016-07-29/MC/${ZZ}`,
          size: file.size,
          adler32: file.adler32,
        },
        { store, retries: 0 },
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'E_DISK_FULL' });
      expect((error as Error).message).toMatch(/the disk filled up while downloading mc_105986\.ZZ\.root/);
      expect(await blobs(cache)).toEqual([]);
    } finally {
      execFileSync('umount', [cache]);
    }
  });
});

describe('lock file and build', () => {
  it('check reports a lock file edited by hand or no longer matching its manifest', async () => {
    const { manifest, cache } = await fresh();
    await run(manifest, cache);
    const lockFile = lockPathFor(manifest);
    const good = await readFile(lockFile, 'utf8');
    expect(await main(['check', manifest], captureIo())).toBe(0);

    await writeFile(lockFile, good.replace(/"size": \d+/, '"size": 12'));
    let io = captureIo();
    expect(await main(['check', manifest], io)).toBe(2);
    expect(io.stderr.join('')).toContain('was edited by hand: its integrity digest does not match');

    await writeFile(lockFile, good);
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(`, ${DY}`, ''));
    io = captureIo();
    expect(await main(['check', manifest], io)).toBe(2);
    expect(io.stderr.join('')).toContain('the lock file no longer matches its manifest');
  });

  it('build before any fetch says exactly what to run, and names each missing file', async () => {
    const { manifest, cache } = await fresh();
    let io = captureIo();
    expect(await main(['build', manifest, '--offline', '--cache', cache], io)).toBe(1);
    expect(io.stderr.join('')).toContain(
      `hint: run: openkey fetch ${path.relative(process.cwd(), manifest)} --cache ${cache}`,
    );

    await run(manifest, cache);
    const empty = path.join(work, 'empty-cache');
    io = captureIo();
    expect(await main(['build', manifest, '--offline', '--cache', empty], io)).toBe(1);
    const text = io.stderr.join('');
    expect(text).toContain('2 real-data files are not in the cache');
    expect(text).toContain(`mc8/${ZZ} (${portal.file(ZZ).size} bytes): openkey fetch`);
    expect(text).toContain(`mc8/${DY}`);
  });

  it('the content stage places fetched files from the cache with their catalogue labels, offline', async () => {
    const { manifest: file, cache } = await fresh();
    await run(file, cache);
    const { manifest } = await loadManifest(file);
    const locked = await withLockedOpendata(manifest, file, cache, process.cwd());
    const plan = planBuild(locked, {
      toolVersions: {},
      fileDigests: {},
      projectRoot: process.cwd(),
      codeDigests: {},
    });
    const stage = plan.stages.find((s) => s.name === 'datasets')!;
    expect(JSON.stringify(stage.inputs)).toContain(sha256(portal.file(ZZ).path));
    const outDir = path.join(work, 'content');
    const requestsBefore = portal.requests.length;
    await runContentStages(locked, plan, outDir, cache, path.join(work, 'scratch'));
    expect(portal.requests.length).toBe(requestsBefore);
    const dir = path.join(outDir, 'root', 'openkey', 'datasets', 'mc8');
    expect(sha256(path.join(dir, ZZ))).toBe(sha256(portal.file(ZZ).path));
    const json = JSON.parse(await readFile(path.join(dir, 'dataset.json'), 'utf8'));
    expect(json.files[ZZ]).toMatchObject({
      role: 'simulation',
      kind: 'simulation',
      release: '8tev-2016',
      process: 'ZZ',
      dsid: 105986,
      crossSectionPb: 1.5376,
      sumOfWeights: 243674.74,
      reductionEfficiency: 0.95088,
      releaseLuminosityFb: 1,
      record: 3860,
      sha256: sha256(portal.file(ZZ).path),
    });
    expect(json.files[ZZ].scaleToReleaseLuminosity).toBeCloseTo((1000 * 1.5376) / (243674.74 * 0.95088), 12);
  });

  it('the shipped real-data variants check offline, and building one before any fetch says what to run', async () => {
    const cache = await mkdtemp(path.join(os.tmpdir(), 'openkey-nofetch-'));
    try {
      for (const name of ['m-atlas', 'l-atlas']) {
        const file = `manifests/${name}.yaml`;
        expect(await main(['check', file], captureIo())).toBe(0);
        const io = captureIo();
        expect(await main(['build', file, '--offline', '--cache', cache], io)).toBe(1);
        expect(io.stderr.join('')).toContain(`hint: run: openkey fetch ${file} --cache ${cache}`);
      }
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });

  it('openkey fetch on the command line prints progress and writes the lock beside the manifest', async () => {
    const { manifest, cache } = await fresh([DY]);
    const io = captureIo({ OPENKEY_OPENDATA_URL: portal.base });
    expect(await main(['fetch', manifest, '--cache', cache, '--jobs', '2'], io)).toBe(0);
    expect(io.stderr.join('')).toContain(`ok: ${DY}`);
    expect(io.stdout.join('')).toContain('1 files');
    expect(await main(['fetch', manifest, '--jobs', 'many'], captureIo())).toBe(2);
  });
});

describe('plan, verify-repro and check read the lock file', () => {
  const contentKey = (text: string) => /^\s*\d*\.? *datasets\s+([0-9a-f]{32})/m.exec(text)?.[1];

  it('plan keys the datasets stage on the locked files, exactly as the build does', async () => {
    const { manifest, cache } = await fresh();
    let io = captureIo();
    expect(await main(['plan', manifest, '--cache', cache], io)).toBe(0);
    expect(io.stderr.join('')).toContain(
      `note: no lock file pins the real data of mc8: the datasets stage's key and the keys after it are not those a build will use (run: openkey fetch ${path.relative(process.cwd(), manifest)} --cache ${cache})`,
    );
    const unlockedKey = contentKey(io.stdout.join(''));
    expect(unlockedKey).toMatch(/^[0-9a-f]{32}$/);

    await run(manifest, cache);
    io = captureIo();
    expect(await main(['plan', '--json', manifest], io)).toBe(0);
    expect(io.stderr.join('')).toBe('');
    const json = JSON.parse(io.stdout.join('')) as {
      plan: { stages: { name: string; key: string; inputs: unknown }[] };
    };
    const content = json.plan.stages.find((s) => s.name === 'datasets')!;
    expect(JSON.stringify(content.inputs)).toContain(sha256(portal.file(ZZ).path));
    expect(content.key).not.toBe(unlockedKey);

    io = captureIo();
    expect(await main(['plan', manifest], io)).toBe(0);
    expect(contentKey(io.stdout.join(''))).toBe(content.key);
    // The build's own dry run (the keys it looks the cache up under) agrees with the plan.
    io = captureIo();
    expect(await main(['build', manifest, '--dry-run', '--cache', cache], io)).toBe(0);
    expect(contentKey(io.stdout.join(''))).toBe(content.key);

    // The disk estimate counts the locked sizes, not a guess.
    const locked = await withLockedOpendata((await loadManifest(manifest)).manifest, manifest, cache, process.cwd());
    const synthetic = locked.datasets.filter((d) => d.source !== 'opendata').length;
    expect(synthetic).toBe(0);
    expect(stageRecord('datasets').diskBytes(locked)).toBe(portal.file(ZZ).size + portal.file(DY).size);

    // A lock that no longer matches the manifest stops the plan as it stops the build.
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(`, ${DY}`, ''));
    io = captureIo();
    expect(await main(['plan', manifest], io)).toBe(1);
    expect(io.stderr.join('')).toContain('no longer matches the manifest');
  });

  it('verify-repro refuses before any build when the locked files are not in the cache', async () => {
    const { manifest, cache } = await fresh();
    const workDir = path.join(work, 'repro');
    let io = captureIo();
    expect(await main(['verify-repro', manifest, '--cache', cache, '--work', workDir], io)).toBe(1);
    expect(io.stderr.join('')).toContain('but there is no lock file');
    await run(manifest, cache);
    io = captureIo();
    const empty = path.join(work, 'empty');
    expect(await main(['verify-repro', manifest, '--cache', empty, '--work', workDir], io)).toBe(1);
    expect(io.stderr.join('')).toContain('2 real-data files are not in the cache');
    expect(await readdir(workDir).catch(() => [])).toEqual([]);
  });

  it('verify-repro seeds each fresh cache with the locked files and compares the key with the lock', async () => {
    const { manifest: file, cache } = await fresh();
    await run(file, cache);
    const locked = await withLockedOpendata((await loadManifest(file)).manifest, file, cache, process.cwd());
    const fresh1 = path.join(work, 'cache-1');
    expect(await seedOpendata(locked, cache, fresh1)).toBe(2);
    expect(await blobs(fresh1)).toEqual(await blobs(cache));
    const plan = planBuild(locked, { toolVersions: {}, fileDigests: {}, projectRoot: process.cwd(), codeDigests: {} });
    const outDir = path.join(work, 'content');
    await runContentStages(locked, plan, outDir, fresh1, path.join(work, 'scratch'));
    const root = path.join(outDir, 'root');
    expect(await lockedInputDifferences(locked, root)).toEqual([]);
    const placed = path.join(root, 'openkey', 'datasets', 'mc8', DY);
    await rm(placed);
    await writeFile(placed, 'other bytes');
    const other = createHash('sha256').update('other bytes').digest('hex');
    expect(await lockedInputDifferences(locked, root)).toEqual([
      `openkey/datasets/mc8/${DY}: SHA-256 ${other}, the lock pins ${sha256(portal.file(DY).path)}`,
    ]);
    await rm(placed);
    expect(await lockedInputDifferences(locked, root)).toEqual([
      `openkey/datasets/mc8/${DY}: missing (the lock pins ${sha256(portal.file(DY).path)})`,
    ]);
  });

  it('check counts real data before a lock exists, from the record a fetch read, and names what it cannot size', async () => {
    const { manifest, cache } = await fresh([ZZ], 'media: { size: 8GB }\n');
    let io = captureIo();
    expect(await main(['check', manifest, '--cache', cache], io)).toBe(0);
    expect(io.stdout.join('')).toContain(
      `  note: mc8: the size of ${ZZ} is not known before openkey fetch reads the record, so the media check does not count it`,
    );

    // A fetch that stops at its pre-flight has read (and kept) the record: check now knows the size and refuses.
    const real = portal.file(ZZ).size;
    portal.file(ZZ).size = 9e9;
    try {
      await expect(run(manifest, cache)).rejects.toMatchObject({ code: 'E_MEDIA_BUDGET' });
    } finally {
      portal.file(ZZ).size = real;
    }
    expect(portal.fileRequests()).toEqual([]);
    portal.requests.length = 0;
    io = captureIo();
    expect(await main(['check', manifest, '--cache', cache], io)).toBe(2);
    expect(io.stderr.join('')).toMatch(
      /media\.size: content \(8\.4 GiB\) plus the estimated OS .* biggest: datasets\.mc8 8\.4 GiB/,
    );
    expect(portal.requests).toEqual([]);

    // After a real fetch, the lock's sizes count.
    await run(manifest, cache);
    io = captureIo();
    expect(await main(['check', manifest, '--cache', cache], io)).toBe(0);
    expect(io.stdout.join('')).toContain(`1 dataset; real data ${formatBytes(real)} by the lock file)`);
    expect(io.stdout.join('')).not.toContain('note:');
  });
});

/** The content stage of a fetched manifest, run for real into `outDir` (its root/ is what a key's partition holds). */
async function placeContent(manifestFile: string, cacheDir: string, outDir: string): Promise<string> {
  const locked = await withLockedOpendata((await loadManifest(manifestFile)).manifest, manifestFile, cacheDir, '/');
  const plan = planBuild(locked, { toolVersions: {}, fileDigests: {}, projectRoot: process.cwd(), codeDigests: {} });
  await runContentStages(locked, plan, outDir, cacheDir, path.join(outDir, '..', 'scratch'));
  return path.join(outDir, 'root');
}

/** The datasets stage, then the content stage over its output, run for real (content's root/ is the key's). */
async function runContentStages(
  manifest: ResolvedManifest,
  plan: Plan,
  outDir: string,
  cacheDir: string,
  workDir: string,
): Promise<void> {
  const placed = `${outDir}-datasets`;
  for (const [definition, dir, deps] of [
    [datasetsStage, placed, {}],
    [contentStage, outDir, { datasets: placed }],
  ] as const) {
    await mkdir(dir, { recursive: true });
    await definition.run({
      manifest,
      stage: plan.stages.find((s) => s.name === definition.name)!,
      projectRoot: process.cwd(),
      deps,
      outDir: dir,
      workDir,
      sourceDateEpoch: manifest.sourceDateEpoch,
      offline: true,
      cacheDir,
      signal: new AbortController().signal,
      log: () => undefined,
      progress: () => undefined,
    });
  }
}

/** The address of a port on 127.0.0.1 where nothing listens (bound, then closed): every request to it is refused. */
async function nobodyListening(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('--mirror with no lock file and no network', () => {
  /** A manifest in a folder of its own (so no lock file beside it), with the same datasets as `fresh`. */
  async function elsewhere(from: string): Promise<string> {
    const dir = path.join(work, `elsewhere-${Math.random().toString(36).slice(2, 8)}`);
    await mkdir(dir);
    const file = path.join(dir, 'key.yaml');
    await copyFile(from, file);
    return file;
  }

  it('another key’s datasets folder is enough: its dataset.json stands in for the lock, no request is made', async () => {
    const { manifest, cache } = await fresh();
    await run(manifest, cache);
    const key = await placeContent(manifest, cache, path.join(work, 'key-a'));
    const datasets = path.join(key, 'openkey', 'datasets');
    const json = JSON.parse(await readFile(path.join(datasets, 'mc8', 'dataset.json'), 'utf8'));
    expect(json.files[ZZ].uri).toBe(
      `root://eospublic.cern.ch//eos/opendata/atlas/OutreachDatasets/2016-07-29/MC/${ZZ}`,
    );

    const copy = await elsewhere(manifest);
    portal.requests.length = 0;
    const cacheB = path.join(work, 'cache-b');
    // The portal's address is one where nothing listens: a request would fail the fetch.
    const base = await nobodyListening();
    const { summary, lines } = await run(copy, cacheB, { mirror: datasets, base, retries: 0 });
    expect(summary).toMatchObject({ files: 2, fromMirror: 2, downloaded: 0, bytesDownloaded: 0 });
    expect(portal.requests).toEqual([]);
    expect(lines).toContain('dataset mc8: its files as a dataset.json or lock file in the mirror describes them');
    const lockA = (await readLock(lockPathFor(manifest)))!;
    const lockB = (await readLock(lockPathFor(copy)))!;
    expect(lockB.datasets).toEqual(lockA.datasets);
    expect(await blobs(cacheB)).toEqual(await blobs(cache));
  });

  it('a record JSON saved in a folder of ROOT files is enough, and a mirror file with other bytes is refused', async () => {
    const { manifest, cache } = await fresh();
    const folder = path.join(work, 'colleague');
    await mkdir(folder);
    const record = await fetch(`${portal.base}/api/records/3860`);
    await writeFile(path.join(folder, 'record-3860.json'), await record.text());
    await copyFile(portal.file(ZZ).path, path.join(folder, ZZ));
    const bad = Buffer.from(readFileSync(portal.file(DY).path));
    bad[100] = (bad[100] ?? 0) ^ 0xff;
    await writeFile(path.join(folder, DY), bad);
    portal.requests.length = 0;
    const { summary, lines } = await run(manifest, cache, { mirror: folder });
    expect(lines).toContain("record 3860: its file list from the mirror's record-3860.json");
    expect(lines.some((l) => l.startsWith(`mirror: ${path.join(folder, DY)} has other bytes`))).toBe(true);
    // No record look-up: only the file the mirror had wrong was downloaded.
    expect(portal.requests.map((r) => r.path.split('/').at(-1))).toEqual([DY]);
    expect(summary).toMatchObject({ fromMirror: 1, downloaded: 1 });
    const lock = (await readLock(lockPathFor(manifest)))!;
    expect(lock.datasets.mc8!.files.map((f) => f.sha256)).toEqual([ZZ, DY].map((n) => sha256(portal.file(n).path)));
  });

  it('says exactly what is missing when neither a lock, nor the mirror, nor the portal can list the files', async () => {
    const { manifest, cache } = await fresh();
    const folder = path.join(work, 'only-root-files');
    await mkdir(folder);
    await copyFile(portal.file(ZZ).path, path.join(folder, ZZ));
    const base = await nobodyListening();
    const error = await run(manifest, cache, { mirror: folder, base, retries: 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'E_MIRROR_METADATA',
      message: `dataset mc8: cannot tell which files record 3860 has: there is no lock file key.lock.json, the mirror ${folder} holds no record-3860.json and no dataset.json or lock file in it describes a file of record 3860, and the portal cannot be reached (cannot read record 3860 from ${base}/api/records/3860 (ECONNREFUSED))`,
      hint: `copy key.lock.json beside the manifest or into the mirror, or give --mirror the openkey/datasets folder of a key built from it, or save ${base}/api/records/3860 as record-3860.json in the mirror`,
    });
    expect(await blobs(cache)).toEqual([]);
    expect(await readLock(lockPathFor(manifest))).toBeUndefined();

    // A dataset.json that describes only some of the requested files names the others.
    const partial = path.join(folder, 'mc8');
    await mkdir(partial);
    const url = `https://opendata.cern.ch//eos/opendata/atlas/OutreachDatasets/2016-07-29/MC/${ZZ}`;
    const zz = portal.file(ZZ);
    await writeFile(
      path.join(partial, 'dataset.json'),
      JSON.stringify({ files: { [ZZ]: { record: 3860, url, size: zz.size, adler32: zz.adler32 } } }),
    );
    await expect(run(manifest, cache, { mirror: folder, base, retries: 0 })).rejects.toThrow(
      `its dataset.json and lock files do not describe ${DY}`,
    );

    // A lock file copied beside the ROOT files pins them all: no network, and the SHA-256s it pins are checked.
    await rm(partial, { recursive: true });
    const fetched = { manifest: path.join(work, 'fetched', 'key.yaml'), cache: path.join(work, 'cache-f') };
    await mkdir(path.dirname(fetched.manifest));
    await copyFile(manifest, fetched.manifest);
    await run(fetched.manifest, fetched.cache);
    await copyFile(lockPathFor(fetched.manifest), path.join(folder, 'colleague.lock.json'));
    await copyFile(portal.file(DY).path, path.join(folder, DY));
    const cacheC = path.join(work, 'cache-c');
    portal.requests.length = 0;
    const { summary, lines } = await run(manifest, cacheC, { mirror: folder, base, retries: 0 });
    expect(summary).toMatchObject({ fromMirror: 2, downloaded: 0 });
    expect(portal.requests).toEqual([]);
    expect(lines).toContain('dataset mc8: its files as a dataset.json or lock file in the mirror describes them');
    expect((await readLock(lockPathFor(manifest)))!.datasets).toEqual(
      (await readLock(lockPathFor(fetched.manifest)))!.datasets,
    );
    // A hand-edited lock in the mirror describes nothing.
    const edited = (await readFile(path.join(folder, 'colleague.lock.json'), 'utf8')).replace(
      /"size": \d+/,
      '"size": 7',
    );
    await writeFile(path.join(folder, 'colleague.lock.json'), edited);
    await rm(lockPathFor(manifest));
    await expect(run(manifest, path.join(work, 'cache-d'), { mirror: folder, base, retries: 0 })).rejects.toMatchObject(
      {
        code: 'E_MIRROR_METADATA',
      },
    );
  });
});
