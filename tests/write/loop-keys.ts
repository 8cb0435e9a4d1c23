import { execFileSync } from 'node:child_process';
import path from 'node:path';

// Loop devices stand in for USB keys in the writer's tests; nothing here opens a real disk.
const ROOT = path.resolve(import.meta.dirname, '../..');

export interface LoopKeyOptions {
  readOnly?: boolean;
  /** Scan the device's partition table (loopNpM nodes), as the kernel does for a real key. */
  partitions?: boolean;
  /** Folder of the backing file (default: the work folder; a tmpfs one to make a key run out of space). */
  dir?: string;
}

/** Makes loop devices over sparse files in `work`; `loops` lists them for the test's afterAll to detach. */
export function loopKeys(work: string) {
  const loops: string[] = [];
  const make = (bytes: number, options: LoopKeyOptions = {}): string => {
    const backing = path.join(options.dir ?? work, `disk-${loops.length}.raw`);
    execFileSync('truncate', ['-s', String(bytes), backing]);
    const flags = [...(options.readOnly ? ['--read-only'] : []), ...(options.partitions ? ['--partscan'] : [])];
    const loop = execFileSync('losetup', ['--find', '--show', ...flags, backing], { encoding: 'utf8' }).trim();
    loops.push(loop);
    return loop;
  };
  return { loops, make };
}

/** Runs the openkey CLI and returns its exit code and output, whether it succeeded or not. */
export function openkey(args: string[]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [path.join(ROOT, 'bin/openkey.mjs'), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const failure = error as { status: number; stdout: string; stderr: string };
    return { code: failure.status, stdout: failure.stdout, stderr: failure.stderr };
  }
}
