import { createInterface } from 'node:readline/promises';
import path from 'node:path';
import { OpenKeyError, UsageError } from '../../common/errors.ts';
import { formatBytes, formatProgress } from '../util/progress.ts';
import type { BlockDevice } from '../tools/lsblk.ts';
import { checkTarget, writeImage, type WriteProgress } from '../write/index.ts';
import type { Command } from './types.ts';

async function confirm(device: string, bytes: number, target: BlockDevice): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const what = [target.model?.trim(), formatBytes(target.size), target.serial ? `serial ${target.serial.trim()}` : '']
    .filter(Boolean)
    .join(', ');
  try {
    const answer = await prompt.question(
      `Everything on ${device} (${what}) will be erased and replaced by the ${formatBytes(bytes)} image.\nType the device name (${path.basename(device)}) to go on: `,
    );
    return answer.trim() === path.basename(device) || answer.trim() === device;
  } finally {
    prompt.close();
  }
}

export const command: Command = {
  name: 'write',
  help: `Usage: openkey write <image> <device> [--yes] [--no-verify] [--allow-fixed]

Writes a key image (the .img or the hybrid .iso from openkey build) onto a USB key, with progress, then reads it
back and compares SHA-256 with the image.

It refuses, before writing a byte: a partition instead of a whole disk; a disk holding the running system; a disk
with anything mounted, swap, LVM, RAID or encryption on it; a read-only disk; a disk smaller than the image; a disk
that is neither removable nor USB (unless --allow-fixed). The device is opened exclusively, so the kernel refuses it
too if something mounts it meanwhile.

Options:
  --yes          do not ask for confirmation (needed when standard input is not a terminal)
  --no-verify    skip reading the key back
  --allow-fixed  accept a disk that is not removable or USB

Exit codes: 0 written and verified, 1 refused or failed, 2 bad arguments.
`,
  options: { yes: { type: 'boolean' }, 'no-verify': { type: 'boolean' }, 'allow-fixed': { type: 'boolean' } },
  async run(args, io) {
    const [image, device, ...extra] = args.positionals;
    if (image === undefined || device === undefined || extra.length > 0) {
      throw new UsageError(
        'expected an image and a device',
        'openkey write out/openkey-s/openkey-s-0.1.0-usb.img /dev/sdX',
      );
    }
    const allowFixed = args.values['allow-fixed'] === true;
    const imagePath = path.resolve(io.cwd, image);
    const checked = await checkTarget(imagePath, device, allowFixed);
    if (args.values.yes !== true) {
      if (!process.stdin.isTTY)
        throw new UsageError('refusing to erase a disk without confirmation', 'pass --yes to write without a prompt');
      if (!(await confirm(device, checked.bytes, checked.device)))
        throw new OpenKeyError('E_WRITE_CANCELLED', 'cancelled: the name typed did not match, nothing was written');
    }
    const startedAt = Date.now();
    let lastPrint = 0;
    let stageStart = startedAt;
    let stage: WriteProgress['stage'] = 'writing';
    const result = await writeImage({
      image: imagePath,
      device,
      allowFixed,
      confirmed: checked.identity,
      verify: args.values['no-verify'] !== true,
      signal: io.signal,
      onProgress: (progress) => {
        const now = Date.now();
        if (progress.stage !== stage) {
          stage = progress.stage;
          stageStart = now;
          if (io.isTTY) io.err('\n');
        }
        if (now - lastPrint < 500 && progress.done < progress.total) return;
        lastPrint = now;
        const line = formatProgress({
          stage: progress.stage,
          done: progress.done,
          total: progress.total,
          startedAt: stageStart,
          now,
        });
        io.err(io.isTTY ? `\r${line}` : `${line}\n`);
      },
    });
    if (io.isTTY) io.err('\n');
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    io.out(
      `${device}: wrote ${formatBytes(result.bytes)} in ${seconds} s, sha256 ${result.sha256}${result.verified ? ', verified' : ' (not verified)'}\n`,
    );
    return 0;
  },
};
