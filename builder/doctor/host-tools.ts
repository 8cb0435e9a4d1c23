/**
 * Every host program a build or its tests use, with the Debian package that provides it. `openkey doctor` checks
 * them; the exec seam names the package when one is missing.
 */
export interface HostTool {
  /** Program name on PATH, or an absolute file that must exist (firmware, GRUB modules). */
  program: string;
  aptPackage: string;
  /** Arguments that make the program print its version; undefined for files. */
  versionArgs?: string[];
  /** What needs it. */
  neededFor: 'build' | 'usb' | 'qcow2' | 'ova' | 'boot-test' | 'browser-test';
  purpose: string;
}

export const HOST_TOOLS: readonly HostTool[] = [
  {
    program: 'mmdebstrap',
    aptPackage: 'mmdebstrap',
    versionArgs: ['--version'],
    neededFor: 'build',
    purpose: 'Debian rootfs',
  },
  {
    program: 'mksquashfs',
    aptPackage: 'squashfs-tools',
    versionArgs: ['-version'],
    neededFor: 'build',
    purpose: 'squashfs layers',
  },
  {
    program: 'unsquashfs',
    aptPackage: 'squashfs-tools',
    versionArgs: ['-version'],
    neededFor: 'build',
    purpose: 'layer inspection (verify-repro)',
  },
  { program: 'xorriso', aptPackage: 'xorriso', versionArgs: ['-version'], neededFor: 'build', purpose: 'hybrid ISO' },
  {
    program: 'grub-mkimage',
    aptPackage: 'grub-common',
    versionArgs: ['--version'],
    neededFor: 'build',
    purpose: 'GRUB boot images',
  },
  {
    program: '/usr/lib/grub/i386-pc/boot_hybrid.img',
    aptPackage: 'grub-pc-bin',
    neededFor: 'build',
    purpose: 'GRUB for BIOS',
  },
  {
    program: '/usr/lib/grub/x86_64-efi/linux.mod',
    aptPackage: 'grub-efi-amd64-bin',
    neededFor: 'build',
    purpose: 'GRUB for UEFI',
  },
  {
    program: 'mformat',
    aptPackage: 'mtools',
    versionArgs: ['--version'],
    neededFor: 'build',
    purpose: 'EFI system partition image',
  },
  {
    program: 'mkfs.vfat',
    aptPackage: 'dosfstools',
    versionArgs: ['--help'],
    neededFor: 'build',
    purpose: 'EFI system partition image',
  },
  {
    program: 'sfdisk',
    aptPackage: 'fdisk',
    versionArgs: ['--version'],
    neededFor: 'usb',
    purpose: 'USB partition table',
  },
  {
    program: 'qemu-img',
    aptPackage: 'qemu-utils',
    versionArgs: ['--version'],
    neededFor: 'qcow2',
    purpose: 'qcow2 and VMDK disks',
  },
  {
    program: 'xmllint',
    aptPackage: 'libxml2-utils',
    versionArgs: ['--version'],
    neededFor: 'ova',
    purpose: 'OVF validation',
  },
  {
    program: 'qemu-system-x86_64',
    aptPackage: 'qemu-system-x86',
    versionArgs: ['--version'],
    neededFor: 'boot-test',
    purpose: 'boot tests',
  },
  {
    program: '/usr/share/OVMF/OVMF_CODE_4M.fd',
    aptPackage: 'ovmf',
    neededFor: 'boot-test',
    purpose: 'UEFI firmware for boot tests',
  },
  {
    program: 'chromium',
    aptPackage: 'chromium',
    versionArgs: ['--version'],
    neededFor: 'browser-test',
    purpose: 'browser tests',
  },
];
