import { copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DebArchive, readPackagesIndex } from '../cache/debs.ts';
import { removeTree } from '../cache/fsutil.ts';
import { Cache, treeBytes } from '../cache/index.ts';
import { OpenKeyError } from '../../common/errors.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { dpkgQueryList } from '../tools/dpkg.ts';
import { mksquashfs } from '../tools/mksquashfs.ts';
import { mmdebstrap } from '../tools/mmdebstrap.ts';
import type { StageDefinition } from './types.ts';

/**
 * Packages a live key cannot boot without, whatever the manifest lists (passwd: users and the locked root; fdisk and
 * e2fsprogs: the first boot of a key written by another tool grows its persistence partition with them).
 */
const ALWAYS = ['linux-image-amd64', 'live-boot', 'systemd-sysv', 'passwd', 'fdisk', 'e2fsprogs'];
/** A kiosk or desktop session needs a logind session for its seat. */
const SESSION_PACKAGES: Record<ResolvedManifest['session'], string[]> = {
  none: [],
  kiosk: ['libpam-systemd'],
  desktop: ['libpam-systemd'],
};

/** Documentation, man pages and translations are dropped: the key carries its own docs, in the portal. */
const DPKG_EXCLUDES = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
  'path-include=/usr/share/locale/locale.alias',
  'path-exclude=/usr/share/lintian/*',
];

export function rootfsPackages(manifest: ResolvedManifest): string[] {
  return [
    ...new Set([...ALWAYS, ...SESSION_PACKAGES[manifest.session], ...Object.values(manifest.packages).flat()]),
  ].sort();
}

export function aptSources(manifest: ResolvedManifest): string[] {
  const { suite, mirror, security, snapshot } = manifest.base;
  if (snapshot !== undefined) {
    // snapshot.debian.org serves every archive state by timestamp; its Release files are old by design.
    const options = '[check-valid-until=no]';
    return [
      `deb ${options} http://snapshot.debian.org/archive/debian/${snapshot}/ ${suite} main`,
      `deb ${options} http://snapshot.debian.org/archive/debian/${snapshot}/ ${suite}-updates main`,
      `deb ${options} http://snapshot.debian.org/archive/debian-security/${snapshot}/ ${suite}-security main`,
    ];
  }
  return [
    `deb ${mirror} ${suite} main`,
    `deb ${mirror} ${suite}-updates main`,
    `deb ${security} ${suite}-security main`,
  ];
}

/** The InRelease file of each archive the rootfs uses: reachable means the mirror answers for this suite. */
export function releaseUrls(manifest: ResolvedManifest): string[] {
  return aptSources(manifest).map((line) => {
    const [, uri = '', suite = ''] = line.replace(/ \[[^\]]*\]/, '').split(' ');
    return `${uri.replace(/\/$/, '')}/dists/${suite}/InRelease`;
  });
}

/** A single-quoted shell word (mmdebstrap hooks are shell snippets; everything user-given goes through this). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** What the log says while mmdebstrap runs each kind of hook (it names the whole command otherwise). */
const HOOK_PHASES: Record<string, string> = {
  setup: 'setting up (the cached .debs and apt lists, the initramfs panic script)',
  extract: 'dpkg under eatmydata',
  essential: 'dpkg under eatmydata',
  customize: 'customizing (locale, users, first-boot work, cleanup)',
};

/** mmdebstrap's own hooks that run dpkg under eatmydata: no fsync for a tree that is squashed right after. */
const EATMYDATA_HOOKS = '/usr/share/mmdebstrap/hooks/eatmydata';

/**
 * Hooks that bring the cache's .deb archive and apt lists into the tree before `apt-get update` (apt then downloads
 * only packages it does not find, and only index files that changed) and take out what apt used, afterwards.
 */
function archiveHooks(into: string, out: string): { setup: string[]; customize: string[] } {
  const archives = '"$1/var/cache/apt/archives/"';
  const lists = '"$1/var/lib/apt/lists/"';
  return {
    setup: [
      `mkdir -p ${archives} ${lists}partial`,
      `find ${shellQuote(path.join(into, 'debs'))} -maxdepth 1 -name '*.deb' -exec ln -t ${archives} {} +`,
      `find ${shellQuote(path.join(into, 'lists'))} -maxdepth 1 -type f -exec ln -t ${lists} {} +`,
    ],
    customize: [
      `mkdir -p ${shellQuote(path.join(out, 'debs'))} ${shellQuote(path.join(out, 'lists'))}`,
      `find ${archives} -maxdepth 1 -name '*.deb' -exec ln -t ${shellQuote(path.join(out, 'debs'))} {} +`,
      `find ${lists} -maxdepth 1 -type f ! -name lock -exec ln -t ${shellQuote(path.join(out, 'lists'))} {} +`,
    ],
  };
}

/**
 * An initramfs panic script (initramfs-tools runs /scripts/panic/* before its rescue shell, which opens on the screen):
 * it says so on the serial port too, where the boot tests listen and stop at once, with live-boot's last log lines.
 * Written before the kernel is installed, so the initramfs dpkg makes for the kernel carries it.
 */
const INITRAMFS_PANIC_SCRIPT = [
  '#!/bin/sh',
  'case "$1" in prereqs) exit 0 ;; esac',
  '[ -c /dev/ttyS0 ] || exit 0',
  '{ echo "the initramfs gave up and opened a shell"; tail -n 15 /boot.log 2>/dev/null; dmesg 2>/dev/null | tail -n 10; } | sed "s/^/OPENKEY-INITRAMFS-SHELL /" > /dev/ttyS0 2>/dev/null &',
  '',
].join('\n');

function initramfsHooks(): string[] {
  const dir = '"$1/etc/initramfs-tools/scripts/panic"';
  return [
    `mkdir -p ${dir} && printf '%s' ${shellQuote(INITRAMFS_PANIC_SCRIPT)} > ${dir}/openkey-serial && chmod 0755 ${dir}/openkey-serial`,
  ];
}

/** /etc/default/keyboard for a layout; the overlay stage writes the same file, the rootfs precomputes its keymap. */
export function keyboardFile(layout: string): string {
  return `XKBMODEL="pc105"\nXKBLAYOUT="${layout}"\nXKBVARIANT=""\nXKBOPTIONS=""\nBACKSPACE="guess"\n`;
}

const LIVE_TIMERS = ['apt-daily.timer', 'apt-daily-upgrade.timer', 'dpkg-db-backup.timer', 'fstrim.timer'];

/** What systemd-update-done writes: /etc and /var are as new as /usr, so no ConditionNeedsUpdate unit runs at boot. */
const UPDATE_DONE = [
  '# This file was created by systemd-update-done. Its only',
  '# purpose is to hold a timestamp of the time this directory',
  '# was updated. See man:systemd-update-done.service(8).',
];

/**
 * Work a fresh system would do on its first boot, done once at build time instead (under QEMU TCG each of these cost
 * seconds of every boot): the linker cache, the console keymap and font (keyboard-setup and console-setup then only
 * load the cached files), and the marks that /etc and /var are up to date, so ldconfig, systemd-hwdb-update,
 * systemd-journal-catalog-update and systemd-sysusers are skipped (every file time in the layer is SOURCE_DATE_EPOCH,
 * so /usr is never newer than the marks).
 */
function firstBootHooks(manifest: ResolvedManifest): string[] {
  const updated = [...UPDATE_DONE, `TIMESTAMP_NSEC=${manifest.sourceDateEpoch}000000000`].join('\n');
  return [
    // Timers a live key must not run: on the first boot of every key (no stamps yet) they fire at once, and
    // apt-daily pulls in network-online.target, so the boot waits for the network and then runs apt-get update.
    ...LIVE_TIMERS.map((timer) => `rm -f "$1/etc/systemd/system/timers.target.wants/${timer}"`),
    'chroot "$1" /sbin/ldconfig',
    `printf '%s\\n' ${shellQuote(updated)} > "$1/etc/.updated" && cp "$1/etc/.updated" "$1/var/.updated"`,
    `if [ -x "$1/bin/setupcon" ]; then printf '%s' ${shellQuote(keyboardFile(manifest.system.keyboard))} > "$1/etc/default/keyboard" && chroot "$1" env LANG=${shellQuote(manifest.system.locale)} setupcon --save-only; fi`,
  ];
}

function customizeHooks(manifest: ResolvedManifest): string[] {
  const hooks: string[] = [];
  const { locale, users } = manifest.system;
  const charset = locale.includes('.') ? locale.split('.')[1] : 'UTF-8';
  hooks.push(
    `if [ -x "$1/usr/sbin/locale-gen" ]; then echo ${shellQuote(`${locale} ${charset}`)} > "$1/etc/locale.gen" && chroot "$1" locale-gen; fi`,
  );
  for (const user of users) {
    for (const group of user.groups) {
      hooks.push(
        `chroot "$1" /usr/bin/getent group ${shellQuote(group)} >/dev/null || chroot "$1" /usr/sbin/groupadd --system ${shellQuote(group)}`,
      );
    }
    const groups = user.groups.length > 0 ? `--groups ${shellQuote(user.groups.join(','))}` : '';
    hooks.push(
      `chroot "$1" /usr/sbin/useradd --create-home --user-group --shell ${shellQuote(user.shell)} ${groups} ${shellQuote(user.name)}`,
    );
    // No password: autologin users never type one, the others get one from whoever administers the key.
    hooks.push(`chroot "$1" /usr/bin/passwd --lock ${shellQuote(user.name)} >/dev/null`);
  }
  hooks.push(
    'chroot "$1" /usr/bin/passwd --lock root >/dev/null',
    'chroot "$1" systemctl enable systemd-networkd.service',
    ...firstBootHooks(manifest),
    // Live systems make a fresh machine id on every boot; a fixed one would make every key the same machine.
    ': > "$1/etc/machine-id"',
    'rm -f "$1/var/lib/dbus/machine-id" "$1/etc/hostname" "$1"/etc/ssh/ssh_host_*',
    'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1/var/cache/ldconfig/aux-cache"',
    'rm -rf "$1"/var/log/apt "$1"/var/log/*.log "$1"/var/log/journal/*',
    'rm -f "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old',
  );
  return hooks;
}

/**
 * live-boot looks for its layers on every partition whose file system the initramfs can mount; the key's content
 * partition is exFAT, which neither initramfs-tools nor live-boot's hook adds. This initramfs hook, in place before
 * the kernel package builds the initrd, adds the module (no second update-initramfs run).
 */
const EXFAT_INITRAMFS_HOOK = [
  '#!/bin/sh',
  'case "$1" in prereqs) exit 0 ;; esac',
  '. /usr/share/initramfs-tools/hook-functions',
  'manual_add_modules exfat',
  '',
].join('\n');

export function essentialHooks(): string[] {
  return [
    `mkdir -p "$1/etc/initramfs-tools/hooks" && printf '%s' ${shellQuote(EXFAT_INITRAMFS_HOOK)} > "$1/etc/initramfs-tools/hooks/openkey-exfat" && chmod 755 "$1/etc/initramfs-tools/hooks/openkey-exfat"`,
  ];
}

async function newest(dir: string, prefix: string): Promise<string> {
  const names = (await readdir(dir)).filter((name) => name.startsWith(prefix)).sort();
  const last = names.at(-1);
  if (last === undefined)
    throw new OpenKeyError('E_ROOTFS', `no ${prefix}* in the rootfs /boot`, {
      hint: 'the manifest must install linux-image-amd64',
    });
  return path.join(dir, last);
}

/**
 * Debian trixie (or the manifest's suite) bootstrapped with mmdebstrap, squashed as the bottom layer `00-os`.
 * The tree itself is not kept: the layer, the kernel, the initrd and the package list are all later stages need.
 */
export const rootfsStage: StageDefinition = {
  name: 'rootfs',
  extraKey: (manifest) => ({
    compression: manifest.compression,
    implicit: rootfsPackages(manifest),
    hooks: customizeHooks(manifest),
    setup: initramfsHooks(),
    // The packages come through the .deb archive and dpkg runs under eatmydata: the same tree, made faster.
    eatmydata: EATMYDATA_HOOKS,
    essentialHooks: essentialHooks(),
  }),
  async run(context) {
    const { manifest } = context;
    const tree = path.join(context.workDir, 'tree');
    const archive = DebArchive.inCache(Cache.rootOfTemp(context.workDir));
    const into = path.join(context.workDir, 'archive-in');
    const out = path.join(context.workDir, 'archive-out');
    const staged = await archive.stage(into);
    if (staged.corrupt.length > 0)
      context.log(
        `${staged.corrupt.length} cached packages failed their SHA-256 and will be downloaded again: ${staged.corrupt.join(', ')}`,
      );
    context.log(`${staged.linked} packages in the cache's .deb archive`);
    const hooks = archiveHooks(into, out);
    let phase = '';
    try {
      await mmdebstrap({
        suite: manifest.base.suite,
        target: tree,
        sources: aptSources(manifest),
        include: rootfsPackages(manifest),
        variant: 'apt',
        aptOptions: ['APT::Install-Recommends "false"', 'Acquire::Retries "3"'],
        dpkgOptions: DPKG_EXCLUDES,
        hookDirs: [EATMYDATA_HOOKS],
        // The essential packages stay in /var/cache/apt/archives until the archive hook has taken them.
        skip: ['essential/unlink'],
        setupHooks: [...hooks.setup, ...initramfsHooks()],
        customizeHooks: [...hooks.customize, ...customizeHooks(manifest)],
        essentialHooks: essentialHooks(),
        sourceDateEpoch: context.sourceDateEpoch,
        signal: context.signal,
        onLine: (line) => {
          const match = /^I: (.*)/.exec(line.trim());
          const hook = /^running --(setup|extract|essential|customize)-hook/.exec(match?.[1] ?? '')?.[1];
          const message = hook === undefined ? match?.[1] : (HOOK_PHASES[hook] ?? match?.[1]);
          if (message !== undefined && message !== phase) {
            phase = message;
            context.log(phase);
          }
        },
      });
      const index = await readPackagesIndex(
        (await readdir(path.join(out, 'lists')))
          .filter((n) => n.endsWith('_Packages'))
          .map((n) => path.join(out, 'lists', n)),
      );
      const added = await archive.add(path.join(out, 'debs'), index);
      await archive.keepLists(path.join(out, 'lists'));
      context.log(
        `${added.added.length} packages downloaded, ${added.known} already in the archive${added.rejected.length > 0 ? `; not archived (no match in apt's index): ${added.rejected.join(', ')}` : ''}`,
      );
      const packages = await dpkgQueryList(tree, context.signal);
      await writeFile(
        path.join(context.outDir, 'packages.tsv'),
        packages.map((p) => `${p.name}\t${p.version}\t${p.architecture}\n`).join(''),
      );
      const kernel = await newest(path.join(tree, 'boot'), 'vmlinuz-');
      const initrd = await newest(path.join(tree, 'boot'), 'initrd.img-');
      await copyFile(kernel, path.join(context.outDir, 'vmlinuz'));
      await copyFile(initrd, path.join(context.outDir, 'initrd.img'));
      const treeSize = await treeBytes(tree);
      context.log('squashing the OS tree (00-os.squashfs)');
      await mkdir(path.join(context.outDir), { recursive: true });
      await mksquashfs(tree, path.join(context.outDir, '00-os.squashfs'), {
        compression: manifest.compression.squashfs,
        level: manifest.compression.level,
        sourceDateEpoch: context.sourceDateEpoch,
        signal: context.signal,
        totalBytes: treeSize,
        onProgress: context.progress,
      });
      const outputs: Record<string, number> = {};
      for (const name of ['00-os.squashfs', 'vmlinuz', 'initrd.img']) {
        outputs[name] = (await stat(path.join(context.outDir, name))).size;
      }
      return {
        outputs,
        details: {
          kernel: path.basename(kernel).replace(/^vmlinuz-/, ''),
          packages: packages.length,
          treeBytes: treeSize,
          sources: aptSources(manifest),
          debs: { downloaded: added.added, fromArchive: added.known, corrupt: staged.corrupt },
        },
      };
    } finally {
      await removeTree(tree);
      await removeTree(into);
      await removeTree(out);
    }
  },
};
