/**
 * Every host program a build or its tests use, with the Debian package that provides it: the one list. Which stage
 * runs which program is in the stage registry (builder/stages/registry.ts, `tools`); `openkey doctor` and the build's
 * pre-flight check the programs of the planned stages, the survey reads the versions of the `keyed` ones into the
 * cache keys. `OTHER_USES` names the programs that no stage runs (verify-repro, the boot and browser tests).
 */
export interface HostTool {
  /** Program name on PATH, or an absolute file that must exist (firmware, GRUB modules). */
  program: string;
  aptPackage: string;
  /** Arguments that make the program print its version; undefined for files. */
  versionArgs?: string[];
  purpose: string;
  /** Its version goes into the cache key of every stage that runs it: a new mksquashfs may write other bytes. */
  keyed?: boolean;
}

export const HOST_TOOLS: readonly HostTool[] = [
  {
    program: 'mmdebstrap',
    aptPackage: 'mmdebstrap',
    versionArgs: ['--version'],
    keyed: true,
    purpose: 'Debian rootfs',
  },
  {
    program: 'mksquashfs',
    aptPackage: 'squashfs-tools',
    versionArgs: ['-version'],
    keyed: true,
    purpose: 'squashfs layers',
  },
  {
    program: 'unsquashfs',
    aptPackage: 'squashfs-tools',
    versionArgs: ['-version'],
    purpose: 'layer inspection (verify-repro, the SBOM)',
  },
  { program: 'xorriso', aptPackage: 'xorriso', versionArgs: ['-version'], keyed: true, purpose: 'hybrid ISO' },
  {
    program: 'grub-mkimage',
    aptPackage: 'grub-common',
    versionArgs: ['--version'],
    keyed: true,
    purpose: 'GRUB boot images',
  },
  {
    program: '/usr/lib/grub/i386-pc/boot_hybrid.img',
    aptPackage: 'grub-pc-bin',
    purpose: 'GRUB for BIOS',
  },
  {
    program: '/usr/lib/grub/x86_64-efi/linux.mod',
    aptPackage: 'grub-efi-amd64-bin',
    purpose: 'GRUB for UEFI',
  },
  {
    program: 'mformat',
    aptPackage: 'mtools',
    versionArgs: ['--version'],
    purpose: 'EFI system partition image',
  },
  {
    program: 'mkfs.vfat',
    aptPackage: 'dosfstools',
    versionArgs: ['--help'],
    purpose: 'EFI system partition image',
  },
  {
    program: 'sfdisk',
    aptPackage: 'fdisk',
    versionArgs: ['--version'],
    keyed: true,
    purpose: 'USB partition table',
  },
  {
    program: 'mkfs.ext4',
    aptPackage: 'e2fsprogs',
    versionArgs: ['-V'],
    keyed: true,
    purpose: 'persistence partition',
  },
  {
    program: 'fsck.exfat',
    aptPackage: 'exfatprogs',
    versionArgs: ['-V'],
    purpose: 'content partition checks',
  },
  {
    program: 'mount.exfat-fuse',
    aptPackage: 'exfat-fuse',
    versionArgs: ['-V'],
    purpose: 'read-only mount of the content partition in tests',
  },
  {
    program: 'bmaptool',
    aptPackage: 'bmap-tools',
    versionArgs: ['--version'],
    purpose: 'the baseline of scripts/bench-write',
  },
  {
    program: 'qemu-img',
    aptPackage: 'qemu-utils',
    versionArgs: ['--version'],
    keyed: true,
    purpose: 'qcow2 and VMDK disks',
  },
  {
    program: 'xmllint',
    aptPackage: 'libxml2-utils',
    versionArgs: ['--version'],
    purpose: 'OVF validation',
  },
  {
    program: 'qemu-system-x86_64',
    aptPackage: 'qemu-system-x86',
    versionArgs: ['--version'],
    purpose: 'boot tests',
  },
  {
    program: '/usr/share/OVMF/OVMF_CODE_4M.fd',
    aptPackage: 'ovmf',
    purpose: 'UEFI firmware for boot tests',
  },
  {
    program: 'chromium',
    aptPackage: 'chromium',
    versionArgs: ['--version'],
    purpose: 'browser tests',
  },
];

/** Programs no stage runs: what else needs them. */
export const OTHER_USES: Record<'verify-repro' | 'boot-test' | 'browser-test', readonly string[]> = {
  'verify-repro': ['unsquashfs'],
  'boot-test': ['qemu-system-x86_64', '/usr/share/OVMF/OVMF_CODE_4M.fd', 'fsck.exfat', 'mount.exfat-fuse', 'bmaptool'],
  'browser-test': ['chromium'],
};

const BY_PROGRAM = new Map(HOST_TOOLS.map((tool) => [tool.program, tool]));

/** The catalogue entries of `programs`, in the list's order (the running Node.js is not one: the doctor checks it). */
export function hostTools(programs: Iterable<string>): HostTool[] {
  const wanted = new Set<string>();
  for (const program of programs) {
    if (program === 'node') continue;
    if (!BY_PROGRAM.has(program)) throw new Error(`${program} is not in builder/doctor/host-tools.ts`);
    wanted.add(program);
  }
  return HOST_TOOLS.filter((tool) => wanted.has(tool.program));
}
