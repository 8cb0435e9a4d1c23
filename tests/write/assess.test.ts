import { describe, expect, it } from 'vitest';
import type { BlockDevice } from '../../builder/tools/lsblk.ts';
import { assessTarget } from '../../builder/write/assess.ts';

const GB = 1e9;

function device(overrides: Partial<BlockDevice>): BlockDevice {
  return {
    name: 'sdb',
    path: '/dev/sdb',
    type: 'disk',
    size: 16 * GB,
    rm: true,
    ro: false,
    tran: 'usb',
    mountpoints: [null],
    fstype: null,
    hotplug: true,
    model: 'SanDisk Ultra',
    pkname: null,
    ...overrides,
  };
}

const defaults = { imageBytes: 2 * GB, allowFixed: false, swapDevices: new Set<string>() };

describe('assessTarget', () => {
  it.each<[string, BlockDevice, string[]]>([
    ['an unmounted USB key', device({}), []],
    [
      'an unmounted loop device',
      device({ name: 'loop3', path: '/dev/loop3', type: 'loop', rm: false, tran: null, hotplug: false }),
      [],
    ],
    [
      'the system disk of this kind of machine (virtio, root mounted directly)',
      device({
        name: 'vda',
        path: '/dev/vda',
        rm: false,
        tran: null,
        hotplug: false,
        model: null,
        size: 274877906944,
        mountpoints: ['/'],
      }),
      [
        '/dev/vda holds the running system (/dev/vda on /)',
        '/dev/vda is not a removable or USB disk; pass --allow-fixed if you are sure',
      ],
    ],
    [
      'a laptop NVMe disk with root on a partition',
      device({
        name: 'nvme0n1',
        path: '/dev/nvme0n1',
        rm: false,
        tran: 'nvme',
        hotplug: false,
        model: 'Samsung SSD 980',
        children: [
          device({
            name: 'nvme0n1p1',
            path: '/dev/nvme0n1p1',
            type: 'part',
            mountpoints: ['/boot/efi'],
            fstype: 'vfat',
          }),
          device({ name: 'nvme0n1p2', path: '/dev/nvme0n1p2', type: 'part', mountpoints: ['/'], fstype: 'ext4' }),
        ],
      }),
      [
        '/dev/nvme0n1 holds the running system (/dev/nvme0n1p1 on /boot/efi, /dev/nvme0n1p2 on /)',
        '/dev/nvme0n1 is not a removable or USB disk (Samsung SSD 980); pass --allow-fixed if you are sure',
      ],
    ],
    [
      'a USB key with a mounted partition',
      device({
        children: [
          device({
            name: 'sdb1',
            path: '/dev/sdb1',
            type: 'part',
            mountpoints: ['/media/student/KEY'],
            fstype: 'vfat',
          }),
        ],
      }),
      ['/dev/sdb is mounted (/dev/sdb1 on /media/student/KEY); unmount it first'],
    ],
    [
      'a partition instead of the disk',
      device({ name: 'sdb1', path: '/dev/sdb1', type: 'part', pkname: 'sdb' }),
      ['/dev/sdb1 is a partition; write to the whole disk /dev/sdb'],
    ],
    [
      'a key with its write-protect switch on',
      device({ ro: true }),
      ["/dev/sdb is read-only (is the key's write-protect switch on?)"],
    ],
    ['a card reader with no card', device({ size: 0 }), ['/dev/sdb has no medium (size 0)']],
    [
      'a key smaller than the image',
      device({ size: 1 * GB }),
      ['/dev/sdb holds 1000000000 bytes, the image needs 2000000000'],
    ],
    [
      'a disk that carries LVM',
      device({
        rm: false,
        tran: 'sata',
        hotplug: false,
        model: 'WDC',
        children: [
          device({
            name: 'sdb1',
            path: '/dev/sdb1',
            type: 'part',
            children: [device({ name: 'vg-data', path: '/dev/mapper/vg-data', type: 'lvm' })],
          }),
        ],
      }),
      [
        '/dev/sdb carries lvm vg-data; it belongs to a volume in use',
        '/dev/sdb is not a removable or USB disk (WDC); pass --allow-fixed if you are sure',
      ],
    ],
    [
      'a key used as swap',
      device({ children: [device({ name: 'sdb2', path: '/dev/sdb2', type: 'part', fstype: 'swap' })] }),
      ['/dev/sdb2 is in use as swap'],
    ],
    ['a CD drive', device({ name: 'sr0', path: '/dev/sr0', type: 'rom' }), ['/dev/sr0 is a rom device, not a disk']],
  ])('%s', (_name, target, reasons) => {
    expect(assessTarget(target, defaults)).toEqual({ ok: reasons.length === 0, reasons });
  });

  it('accepts an internal, unmounted disk only with allowFixed', () => {
    const fixed = device({ rm: false, tran: 'sata', hotplug: false, model: 'WDC' });
    expect(assessTarget(fixed, defaults).ok).toBe(false);
    expect(assessTarget(fixed, { ...defaults, allowFixed: true })).toEqual({ ok: true, reasons: [] });
  });

  it('never lets allowFixed override the running system', () => {
    const system = device({ rm: false, tran: null, hotplug: false, mountpoints: ['/'] });
    expect(assessTarget(system, { ...defaults, allowFixed: true }).ok).toBe(false);
  });
});
