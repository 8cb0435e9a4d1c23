import type { BlockDevice } from '../tools/lsblk.ts';

/**
 * Decides whether a block device may be overwritten with an image. Pure, so every refusal is unit-tested on
 * recorded lsblk output; `openkey write` opens the device only when this says yes (and then with O_EXCL, so the
 * kernel refuses too if anything mounted it in between).
 */
export interface TargetAssessment {
  ok: boolean;
  reasons: string[];
}

export interface AssessOptions {
  imageBytes: number;
  /** Accept a disk that is neither removable, hot-plugged nor on USB (an internal disk meant for the key). */
  allowFixed: boolean;
  /** Swap areas from /proc/swaps: lsblk shows them as [SWAP] mount points, but be sure. */
  swapDevices: ReadonlySet<string>;
}

function descendants(device: BlockDevice): BlockDevice[] {
  return [device, ...(device.children ?? []).flatMap(descendants)];
}

const SYSTEM_MOUNTS = new Set(['/', '/boot', '/boot/efi', '/usr', '/var', '/home', '[SWAP]']);

export function assessTarget(device: BlockDevice, options: AssessOptions): TargetAssessment {
  const reasons: string[] = [];
  if (device.type === 'part') {
    reasons.push(
      `${device.path} is a partition; write to the whole disk${device.pkname ? ` /dev/${device.pkname}` : ''}`,
    );
  } else if (device.type !== 'disk' && device.type !== 'loop') {
    reasons.push(`${device.path} is a ${device.type} device, not a disk`);
  }
  if (device.ro) reasons.push(`${device.path} is read-only (is the key's write-protect switch on?)`);
  if (device.size === 0) reasons.push(`${device.path} has no medium (size 0)`);

  const everything = descendants(device);
  const mounts = everything.flatMap((node) =>
    node.mountpoints.filter((mount): mount is string => mount !== null).map((mount) => ({ node, mount })),
  );
  const system = mounts.filter(({ mount }) => SYSTEM_MOUNTS.has(mount));
  if (system.length > 0) {
    reasons.push(
      `${device.path} holds the running system (${system.map(({ node, mount }) => `${node.path} on ${mount}`).join(', ')})`,
    );
  } else if (mounts.length > 0) {
    reasons.push(
      `${device.path} is mounted (${mounts.map(({ node, mount }) => `${node.path} on ${mount}`).join(', ')}); unmount it first`,
    );
  }
  const swaps = everything.filter((node) => options.swapDevices.has(node.path) || node.fstype === 'swap');
  if (swaps.length > 0 && system.length === 0)
    reasons.push(`${swaps.map((node) => node.path).join(', ')} is in use as swap`);
  const holders = everything.filter((node) => /^(lvm|crypt|raid\d*|md|dm)$/.test(node.type));
  if (holders.length > 0)
    reasons.push(
      `${device.path} carries ${holders.map((node) => `${node.type} ${node.name}`).join(', ')}; it belongs to a volume in use`,
    );

  const removable = device.rm || device.hotplug || device.tran === 'usb' || device.type === 'loop';
  if (!removable && !options.allowFixed && device.type !== 'part') {
    reasons.push(
      `${device.path} is not a removable or USB disk${device.model ? ` (${device.model.trim()})` : ''}; pass --allow-fixed if you are sure`,
    );
  }
  if (device.size > 0 && device.size < options.imageBytes) {
    reasons.push(`${device.path} holds ${device.size} bytes, the image needs ${options.imageBytes}`);
  }
  return { ok: reasons.length === 0, reasons };
}
