import type { ResolvedManifest } from './types.ts';

/**
 * Checks of values for the file or command line they end up in, beyond what the schema's patterns say: the schema
 * keeps each value to one line and one word where it must (GRUB's `linux` line, apt's one-line sources), these
 * check what a pattern cannot say well (control characters anywhere, reserved user names, privileged groups, dates).
 */
/** The last second squashfs (and FAT's 2107 limit) can store: SOURCE_DATE_EPOCH must not pass it. */
export const MAX_EPOCH = 4294967295;

type At = (segments: (string | number)[], message: string, hint?: string) => void;

/**
 * C0 controls but tab and newline, DEL, C1 controls (ESC starts the ANSI sequences that repaint a terminal), and the
 * bidirectional overrides that make text display in another order than it reads.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** Strings printed on one line: a GRUB menu title, a title in the portal, an id. */
const LINE_BREAK = /[\n\t\u2028\u2029]/;

/**
 * Accounts of Debian's base system (base-passwd, systemd) and root: a manifest user with one of these names would
 * fail in useradd or, worse, take over a system account.
 */
const RESERVED_USERS = new Set([
  'root',
  'daemon',
  'bin',
  'sys',
  'sync',
  'games',
  'man',
  'lp',
  'mail',
  'news',
  'uucp',
  'proxy',
  'www-data',
  'backup',
  'list',
  'irc',
  'gnats',
  'nobody',
  '_apt',
  'messagebus',
  'polkitd',
  'lightdm',
  'systemd-network',
  'systemd-resolve',
  'systemd-timesync',
  'systemd-journal',
]);

/**
 * Groups that give root or its equivalent (sudo, reading every disk or /etc/shadow, the kernel's memory, containers
 * run as root): the user a key logs in automatically, with no password, must hold none of them.
 */
export const PRIVILEGED_GROUPS = new Set([
  'root',
  'sudo',
  'wheel',
  'admin',
  'adm',
  'disk',
  'shadow',
  'kmem',
  'staff',
  'docker',
  'lxd',
  'libvirt',
  'systemd-journal',
]);

/** Every string of the manifest with where it sits, for the control-character check. */
function* strings(value: unknown, segments: (string | number)[]): Generator<[string, (string | number)[]]> {
  if (typeof value === 'string') yield [value, segments];
  else if (Array.isArray(value))
    for (const [index, item] of value.entries()) yield* strings(item, [...segments, index]);
  else if (value !== null && typeof value === 'object')
    for (const [key, inner] of Object.entries(value)) yield* strings(inner, [...segments, key]);
}

/** The snapshot.debian.org timestamp as seconds, or undefined when it is no real date from 1970 on. */
export function snapshotEpoch(snapshot: string): number | undefined {
  const [y, mo, d, h, mi, s] = [0, 4, 6, 9, 11, 13].map((start, i) => +snapshot.slice(start, start + (i ? 2 : 4)));
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  const date = new Date(ms);
  const real =
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo! - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  return real && ms >= 0 ? ms / 1000 : undefined;
}

export function checkValues(manifest: ResolvedManifest, at: At): void {
  for (const [text, segments] of strings(manifest, [])) {
    // Package names have their own, stricter check.
    if (segments[0] !== 'packages' && CONTROL.test(text))
      at(segments, 'holds a control character', 'remove it; terminal escapes and NUL bytes have no place here');
  }
  const oneLine = (segments: (string | number)[], text: string) => {
    if (LINE_BREAK.test(text)) at(segments, 'must fit on one line', 'remove the line break or tab');
  };
  manifest.boot.menu.forEach((entry, index) => oneLine(['boot', 'menu', index, 'label'], entry.label));
  for (const key of ['datasets', 'docs', 'notebooks'] as const)
    manifest[key].forEach((item, index) => oneLine([key, index, 'title'], item.title));
  oneLine(['name'], manifest.name);

  manifest.system.users.forEach((user, index) => {
    if (RESERVED_USERS.has(user.name) || user.name.startsWith('systemd-'))
      at(
        ['system', 'users', index, 'name'],
        `"${user.name}" is an account of the base system`,
        'choose another name, such as student',
      );
    if (!user.autologin) return;
    user.groups.forEach((group, groupIndex) => {
      if (PRIVILEGED_GROUPS.has(group))
        at(
          ['system', 'users', index, 'groups', groupIndex],
          `the autologin user ${user.name} must not be in the ${group} group: anyone at the key would be root`,
          'remove the group, or give it to a user without autologin',
        );
    });
  });
  const autologins = manifest.system.users.filter((user) => user.autologin);
  if (autologins.length > 1)
    at(
      ['system', 'users', manifest.system.users.indexOf(autologins[1]!), 'autologin'],
      'only one user may log in automatically',
    );

  if (manifest.base.snapshot !== undefined) {
    const epoch = snapshotEpoch(manifest.base.snapshot);
    if (epoch === undefined)
      at(['base', 'snapshot'], `"${manifest.base.snapshot}" is not a real date and time from 1970 on`);
    else if (epoch > MAX_EPOCH)
      at(['base', 'snapshot'], `"${manifest.base.snapshot}" is after 2106`, 'squashfs and FAT store 32-bit times');
  }
}
