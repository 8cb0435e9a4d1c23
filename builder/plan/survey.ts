import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedManifest } from '../manifest/types.ts';
import { run } from '../tools/exec.ts';
import { translationPaths } from '../../common/languages.ts';
import { HOST_TOOLS } from '../doctor/host-tools.ts';
import { stageCodePaths } from '../stages/registry.ts';
import type { HostFacts } from './index.ts';

/** The toolchain's own checkout: paths in plans are relative to it. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const SKIPPED_NAMES = new Set(['node_modules', '.git', 'dist', '.cache']);

async function fileSha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/**
 * sha256 of a file, or of a folder as the sorted list of (relative path, kind, mode bits, content digest) of
 * everything under it, so renaming, editing or chmod +x of any file changes it and nothing else does.
 */
export async function treeDigest(target: string): Promise<string> {
  const info = await lstat(target);
  if (info.isFile()) return fileSha256(target);
  const hash = createHash('sha256');
  const walk = async (folder: string, prefix: string): Promise<void> => {
    const names = (await readdir(folder)).filter((name) => !SKIPPED_NAMES.has(name)).sort();
    for (const name of names) {
      const full = path.join(folder, name);
      const relative = prefix ? `${prefix}/${name}` : name;
      const entry = await lstat(full);
      if (entry.isDirectory()) {
        hash.update(`d ${relative}\n`);
        await walk(full, relative);
      } else if (entry.isSymbolicLink()) {
        hash.update(`l ${relative} ${await readlink(full)}\n`);
      } else if (entry.isFile()) {
        const executable = (entry.mode & 0o111) !== 0 ? 'x' : '-';
        hash.update(`f ${relative} ${executable} ${await fileSha256(full)}\n`);
      }
    }
  };
  await walk(target, '');
  return hash.digest('hex');
}

async function toolVersion(program: string, args: string[]): Promise<string> {
  try {
    const result = await run(program, args, { timeoutMs: 10_000 });
    const text = (result.stdout.trim() || result.stderr.trim()).split('\n')[0] ?? '';
    return text.trim() || 'unknown';
  } catch {
    return 'missing';
  }
}

/** Reads what the planner needs from the disk and the host: file digests, stage code digests and tool versions. */
export async function surveyHost(manifest: ResolvedManifest, projectRoot: string = PROJECT_ROOT): Promise<HostFacts> {
  const files = [
    ...manifest.overlays,
    ...manifest.docs.map((doc) => doc.path),
    // A Markdown doc's translations beside it travel with it (a missing one is digested as 'missing').
    ...manifest.docs.flatMap((doc) => translationPaths(doc.path)),
    ...manifest.notebooks.map((notebook) => notebook.path),
    ...manifest.datasets.flatMap((dataset) => (dataset.source === 'local' ? [dataset.path] : [])),
  ];
  const fileDigests: Record<string, string> = {};
  await Promise.all(
    files.map(async (file) => {
      fileDigests[file] = await treeDigest(file).catch(() => 'missing');
    }),
  );
  const codeDigests: Record<string, string> = {};
  await Promise.all(
    stageCodePaths().map(async (file) => {
      codeDigests[file] = await treeDigest(path.join(projectRoot, file)).catch(() => 'missing');
    }),
  );
  // Versions of the programs whose output bytes may change with their version (`keyed` in the tool list).
  const entries = await Promise.all(
    HOST_TOOLS.filter((tool) => tool.keyed === true).map(
      async (tool) => [tool.program, await toolVersion(tool.program, tool.versionArgs ?? ['--version'])] as const,
    ),
  );
  return {
    toolVersions: { ...Object.fromEntries(entries), node: process.version },
    fileDigests,
    codeDigests,
    projectRoot,
  };
}
