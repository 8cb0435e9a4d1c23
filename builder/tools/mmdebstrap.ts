import { run } from './exec.ts';

export interface MmdebstrapOptions {
  suite: string;
  target: string;
  /** Full sources.list lines, e.g. `deb http://deb.debian.org/debian trixie main`. */
  sources: string[];
  include: string[];
  variant?: 'apt' | 'essential' | 'required' | 'minbase' | 'important' | 'standard';
  aptOptions?: string[];
  dpkgOptions?: string[];
  /** Shell snippets mmdebstrap runs with the rootfs as "$1" before `apt-get update` (sources and dirs are in place). */
  setupHooks?: string[];
  /** Shell snippets mmdebstrap runs with the rootfs as "$1" once packages are installed. */
  customizeHooks?: string[];
  /** Folders of hook scripts, e.g. mmdebstrap's own eatmydata hooks; they run before the snippets above. */
  hookDirs?: string[];
  /** mmdebstrap steps to skip (`--skip=`), on top of output/mknod. */
  skip?: string[];
  /** Shell snippets run after the Essential packages, before the others (the kernel, initramfs-tools) are installed. */
  essentialHooks?: string[];
  sourceDateEpoch: number;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

/** Bootstraps a Debian tree into `target` (a directory that must not exist or be empty). */
export async function mmdebstrap(options: MmdebstrapOptions): Promise<void> {
  const args = [
    '--mode=root',
    '--format=directory',
    `--variant=${options.variant ?? 'apt'}`,
    `--skip=${['output/mknod', ...(options.skip ?? [])].join(',')}`,
    ...(options.hookDirs ?? []).map((dir) => `--hook-dir=${dir}`),
    ...(options.include.length > 0 ? [`--include=${options.include.join(',')}`] : []),
    ...(options.aptOptions ?? []).map((opt) => `--aptopt=${opt}`),
    ...(options.dpkgOptions ?? []).map((opt) => `--dpkgopt=${opt}`),
    ...(options.setupHooks ?? []).map((hook) => `--setup-hook=${hook}`),
    ...(options.essentialHooks ?? []).map((hook) => `--essential-hook=${hook}`),
    ...(options.customizeHooks ?? []).map((hook) => `--customize-hook=${hook}`),
    options.suite,
    options.target,
    // A single "-" would read sources from stdin; passing each line as its own argument keeps it argv-only.
    ...options.sources,
  ];
  await run('mmdebstrap', args, {
    aptPackage: 'mmdebstrap',
    env: { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch), LC_ALL: 'C.UTF-8' },
    ...(options.onLine === undefined ? {} : { onLine: (line: string) => options.onLine?.(line) }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}
