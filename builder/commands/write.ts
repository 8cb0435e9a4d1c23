import { createInterface } from 'node:readline/promises';
import path from 'node:path';
import { OpenKeyError, UsageError } from '../../common/errors.ts';
import { formatBytes, formatDuration } from '../util/progress.ts';
import type { BlockDevice } from '../tools/lsblk.ts';
import { checkTarget, writeKeys, type CheckedTarget, type WriteProgress } from '../write/index.ts';
import type { Command } from './types.ts';

async function confirm(targets: CheckedTarget[], devices: string[], bytes: number): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const what = (target: BlockDevice) =>
    [target.model?.trim(), formatBytes(target.size), target.serial ? `serial ${target.serial.trim()}` : '']
      .filter(Boolean)
      .join(', ');
  try {
    const list = targets.map((t, i) => `  ${devices[i]} (${what(t.device)})`).join('\n');
    const names = devices.map((d) => path.basename(d)).join(' ');
    const answer = await prompt.question(
      `Everything on these disks will be erased and replaced by the ${formatBytes(bytes)} image:\n${list}\nType the device name${devices.length > 1 ? 's' : ''} (${names}) to go on: `,
    );
    const typed = answer.trim().split(/\s+/);
    return (
      typed.length === devices.length && devices.every((d) => typed.includes(path.basename(d)) || typed.includes(d))
    );
  } finally {
    prompt.close();
  }
}

/** One progress line per key: stage, percentage, bytes, rate and time left. */
export function progressLine(device: string, sample: WriteProgress, startedAt: number, now: number): string {
  if (sample.stage === 'growing')
    return `${device.padEnd(14)} growing   the persistence partition to fill the key${sample.done >= sample.total ? ': done' : ''}`;
  const elapsed = Math.max(0.001, (now - startedAt) / 1000);
  const rate = sample.done / elapsed;
  const percent = sample.total > 0 ? Math.floor((100 * sample.done) / sample.total) : 0;
  const left = rate > 0 ? (sample.total - sample.done) / rate : Infinity;
  const mbps = (rate / 1e6).toFixed(1);
  return `${device.padEnd(14)} ${sample.stage.padEnd(9)} ${String(percent).padStart(3)}%  ${formatBytes(sample.done)} / ${formatBytes(sample.total)}  ${mbps} MB/s  ETA ${formatDuration(left)}`;
}

export const command: Command = {
  name: 'write',
  help: `Usage: openkey write <image> <device> [<device>...] [--yes] [--no-verify] [--allow-fixed]

Writes a key image (the -usb.img, or the hybrid .iso, from openkey build) onto one or more USB keys at once: the
image is read once, its holes are skipped (what must be cleared, old partition tables and the old GPT backup, is
cleared), each key is synced and read back from the device itself (O_DIRECT) and compared, and the persistence
partition of an Open Key image is grown to fill each key. A progress line per key; a result per key (OK, or
FAILED with the reason); the exit code is 1 if any key failed.

It refuses, before writing a byte on any key: a partition instead of a whole disk; a disk holding the running
system; a disk with anything mounted, swap, LVM, RAID or encryption on it; a read-only disk; a disk smaller than
the image; a disk that is neither removable nor USB (unless --allow-fixed); the same disk named twice. Right before
opening, each key's identity (device number, the kernel's disk sequence number, serial, partition table id, size)
is read again: a key swapped at the prompt stops the run. Devices are opened exclusively.

Options:
  --yes          do not ask for confirmation (needed when standard input is not a terminal)
  --no-verify    skip reading the keys back
  --allow-fixed  accept a disk that is not removable or USB

Exit codes: 0 every key written and verified, 1 refused or a key failed, 2 bad arguments.
`,
  options: { yes: { type: 'boolean' }, 'no-verify': { type: 'boolean' }, 'allow-fixed': { type: 'boolean' } },
  async run(args, io) {
    const [image, ...devices] = args.positionals;
    if (image === undefined || devices.length === 0) {
      throw new UsageError(
        'expected an image and at least one device',
        'openkey write out/openkey-s/openkey-s-0.1.0-usb.img /dev/sdX [/dev/sdY ...]',
      );
    }
    const allowFixed = args.values['allow-fixed'] === true;
    const imagePath = path.resolve(io.cwd, image);
    const checked: CheckedTarget[] = [];
    const refusals: OpenKeyError[] = [];
    // Every key is checked before anything is written on any of them, and every refusal is reported at once.
    for (const device of devices) {
      try {
        checked.push(await checkTarget(imagePath, device, allowFixed));
      } catch (error) {
        if (devices.length === 1 || !(error instanceof OpenKeyError)) throw error;
        refusals.push(error);
      }
    }
    if (refusals.length > 0) {
      const usage = refusals.find((r) => r.exitCode === 2);
      throw new OpenKeyError('E_WRITE_REFUSED', refusals.map((r) => r.message).join('\n'), {
        exitCode: usage === undefined ? 1 : 2,
        hint: 'nothing was written on any key; openkey devices lists the keys',
      });
    }
    if (args.values.yes !== true) {
      if (!process.stdin.isTTY)
        throw new UsageError('refusing to erase a disk without confirmation', 'pass --yes to write without a prompt');
      if (!(await confirm(checked, devices, checked[0]?.bytes ?? 0)))
        throw new OpenKeyError('E_WRITE_CANCELLED', 'cancelled: the names typed did not match, nothing was written');
    }
    const startedAt = Date.now();
    const latest = new Map<string, WriteProgress>();
    const stageStart = new Map<string, number>();
    let lastPrint = 0;
    let drawn = 0;
    const draw = (force: boolean) => {
      const now = Date.now();
      if (!force && now - lastPrint < (io.isTTY ? 250 : 2000)) return;
      lastPrint = now;
      const lines = devices
        .filter((d) => latest.has(d))
        .map((d) => progressLine(d, latest.get(d) as WriteProgress, stageStart.get(d) ?? startedAt, now));
      if (io.isTTY) {
        io.err(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\r\x1b[2K${l}\n`).join('')}`);
        drawn = lines.length;
      } else io.err(lines.map((l) => `${l}\n`).join(''));
    };
    const result = await writeKeys({
      image: imagePath,
      devices,
      allowFixed,
      confirmed: Object.fromEntries(devices.map((d, i) => [d, (checked[i] as CheckedTarget).identity])),
      verify: args.values['no-verify'] !== true,
      signal: io.signal,
      onProgress: (progress) => {
        const previous = latest.get(progress.device);
        if (previous?.stage !== progress.stage) {
          stageStart.set(progress.device, Date.now());
          latest.set(progress.device, progress);
          draw(true);
          return;
        }
        latest.set(progress.device, progress);
        draw(progress.done >= progress.total);
      },
    });
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    for (const key of result.keys) {
      if (key.ok) {
        const grown = key.persistenceBytes === undefined ? '' : `, persistence ${formatBytes(key.persistenceBytes)}`;
        io.out(
          `${key.device}: OK: wrote ${formatBytes(key.bytesWritten)} of the ${formatBytes(result.imageBytes)} image in ${seconds} s, sha256 ${result.sha256}${key.verified ? ', verified' : ' (not verified)'}${grown}\n`,
        );
      } else io.out(`${key.device}: FAILED: ${key.reason ?? 'unknown error'}\n`);
    }
    const failed = result.keys.filter((k) => !k.ok).length;
    if (failed > 0) io.err(`openkey: ${failed} of ${result.keys.length} key(s) failed\n`);
    return failed > 0 ? 1 : 0;
  },
};
