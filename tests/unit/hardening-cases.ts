/**
 * Hostile manifests (issue 11) and the one problem each must produce. Every case runs `openkey check main.yaml` in a
 * fresh scratch project (scratch.ts: <project>/manifests/{base,main}.yaml, empty overlays, one doc) after `setup`
 * has made the files it needs under <project>; it must exit 2 with exactly this pointer line, then the count line.
 * Lines are written relative to manifests/, with the project folder as <project>.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface HostileCase {
  name: string;
  /** main.yaml's text after `extends: base.yaml` and `name: t` (or before `name: t` when it has its own extends). */
  yaml: string;
  /** Makes files under the project folder before the check. */
  setup?: (project: string) => void;
  expected: string;
}

const SHA = 'a'.repeat(64);
const ROOTS = '(sources must be inside <toolchain> or <project>; name another folder with --allow-path DIR)';

const mkfifo = (file: string) => execFileSync('mkfifo', [file]);
const write = (project: string, file: string, text = '') => {
  mkdirSync(path.dirname(path.join(project, file)), { recursive: true });
  writeFileSync(path.join(project, file), text);
};
const link = (project: string, file: string, target: string) => {
  mkdirSync(path.dirname(path.join(project, file)), { recursive: true });
  symlinkSync(target, path.join(project, file));
};
const urlDataset = (url: string) =>
  `datasets:\n  - {id: d, title: D, description: x, licence: CC0-1.0, source: url, url: "${url}", sha256: ${SHA}, size: 10}\n`;
const doc = (p: string) => `docs:\n  - {id: d, title: D, path: "${p}"}\n`;
const localDataset = (p: string) =>
  `datasets:\n  - {id: d, title: D, description: x, licence: CC0-1.0, source: local, path: "${p}"}\n`;
const user = (fields: string) => `system:\n  users:\n    - {${fields}}\n`;

export const HOSTILE_CASES: HostileCase[] = [
  // 1. A URL dataset's file name is checked after decoding.
  {
    name: 'URL file name decoding to ../../../tmp/victim/x.root',
    yaml: urlDataset('https://example.org/a/..%2F..%2F..%2Ftmp%2Fvictim%2Fx.root'),
    expected:
      'main.yaml:4:75 datasets[0].url: the file name "../../../tmp/victim/x.root" this URL decodes to holds a path separator or a control character (name the file plainly in the URL)',
  },
  {
    name: 'URL file name longer than 255 bytes',
    yaml: urlDataset(`https://example.org/a/${'x'.repeat(300)}.root`),
    expected: `main.yaml:4:75 datasets[0].url: the file name "${'x'.repeat(300)}.root" this URL decodes to is longer than 255 bytes (name the file plainly in the URL)`,
  },
  {
    name: 'URL file name with an encoded backslash',
    yaml: urlDataset('https://example.org/a/..%5Cx.root'),
    expected:
      'main.yaml:4:75 datasets[0].url: the file name "..\\\\x.root" this URL decodes to holds a path separator or a control character (name the file plainly in the URL)',
  },
  {
    name: 'URL file name with an encoded newline',
    yaml: urlDataset('https://example.org/a/x%0A.root'),
    expected:
      'main.yaml:4:75 datasets[0].url: the file name "x\\n.root" this URL decodes to holds a path separator or a control character (name the file plainly in the URL)',
  },
  {
    name: 'URL with broken percent-encoding',
    yaml: urlDataset('https://example.org/a/x%E0%A4%A.root'),
    expected:
      'main.yaml:4:75 datasets[0].url: the URL https://example.org/a/x%E0%A4%A.root is not valid or its file name is not valid percent-encoding',
  },
  // 2. Overlays: symlinks where the build writes, devices, FIFOs, host folders.
  {
    name: 'overlay whose etc is a symlink to the host /etc',
    yaml: 'overlays: [../evil]\n',
    setup: (p) => link(p, 'evil/etc', '/etc'),
    expected:
      'main.yaml:3:12 overlays[1]: overlay <project>/evil: etc is a symlink, but the build writes etc itself (make it a real folder or file, or remove it)',
  },
  {
    name: 'overlay whose etc/hostname is a symlink to /etc/shadow',
    yaml: 'overlays: [../evil]\n',
    setup: (p) => link(p, 'evil/etc/hostname', '/etc/shadow'),
    expected:
      'main.yaml:3:12 overlays[1]: overlay <project>/evil: etc/hostname is a symlink, but the build writes etc/hostname itself (make it a real folder or file, or remove it)',
  },
  {
    name: 'overlay holding a FIFO',
    yaml: 'overlays: [../evil]\n',
    setup: (p) => {
      mkdirSync(path.join(p, 'evil/etc'), { recursive: true });
      mkfifo(path.join(p, 'evil/etc/pipe'));
    },
    expected:
      'main.yaml:3:12 overlays[1]: overlay <project>/evil: etc/pipe is a FIFO (only regular files, folders and symlinks may be copied into the image)',
  },
  {
    name: 'overlay file name with a newline',
    yaml: 'overlays: [../evil]\n',
    setup: (p) => write(p, 'evil/etc/a\nb', 'x'),
    expected:
      'main.yaml:3:12 overlays[1]: overlay <project>/evil: the name "etc/a\\nb" holds a path separator or a control character',
  },
  {
    name: 'overlay /etc',
    yaml: 'overlays: [/etc]\n',
    expected: `main.yaml:3:12 overlays[1]: overlay folder /etc is outside the project ${ROOTS}`,
  },
  {
    name: 'overlay ../../../../../../etc',
    yaml: 'overlays: [../../../../../../../../etc]\n',
    expected: `main.yaml:3:12 overlays[1]: overlay folder /etc is outside the project ${ROOTS}`,
  },
  {
    name: 'overlay folder that is a symlink to /etc',
    yaml: 'overlays: [../evil]\n',
    setup: (p) => link(p, 'evil', '/etc'),
    expected: `main.yaml:3:12 overlays[1]: overlay folder <project>/evil is outside the project (it leads to /etc) ${ROOTS}`,
  },
  {
    name: 'overlay /proc/self',
    yaml: 'overlays: [/proc/self]\n',
    expected: `main.yaml:3:12 overlays[1]: overlay folder /proc/self is a system path (/proc, /sys, /dev) ${ROOTS}`,
  },
  // 4. Docs, datasets and notebooks: host files, devices, FIFOs, symlinks out, bad names.
  {
    name: 'doc /etc/shadow',
    yaml: doc('/etc/shadow'),
    expected: `main.yaml:4:29 docs[1].path: doc /etc/shadow is outside the project ${ROOTS}`,
  },
  {
    name: 'doc ../../../../etc/passwd',
    yaml: doc('../../../../../../../../etc/passwd'),
    expected: `main.yaml:4:29 docs[1].path: doc /etc/passwd is outside the project ${ROOTS}`,
  },
  {
    name: 'doc /etc',
    yaml: doc('/etc'),
    expected: `main.yaml:4:29 docs[1].path: doc /etc is outside the project ${ROOTS}`,
  },
  {
    name: 'doc /root (refused before any walk)',
    yaml: doc('/root'),
    expected: `main.yaml:4:29 docs[1].path: doc /root is outside the project ${ROOTS}`,
  },
  {
    name: 'doc /proc/self',
    yaml: doc('/proc/self'),
    expected: `main.yaml:4:29 docs[1].path: doc /proc/self is a system path (/proc, /sys, /dev) ${ROOTS}`,
  },
  {
    name: 'doc /dev/urandom',
    yaml: doc('/dev/urandom'),
    expected: `main.yaml:4:29 docs[1].path: doc /dev/urandom is a system path (/proc, /sys, /dev) ${ROOTS}`,
  },
  {
    name: 'doc that is a FIFO in the project',
    yaml: doc('../pipe.md'),
    setup: (p) => mkfifo(path.join(p, 'pipe.md')),
    expected: 'main.yaml:4:29 docs[1].path: doc <project>/pipe.md is a FIFO, not a file or folder',
  },
  {
    name: 'doc that is a symlink in the project to /etc/passwd',
    yaml: doc('../notes.md'),
    setup: (p) => link(p, 'notes.md', '/etc/passwd'),
    expected: `main.yaml:4:29 docs[1].path: doc <project>/notes.md is outside the project (it leads to /etc/passwd) ${ROOTS}`,
  },
  {
    name: 'doc folder holding a symlink to /etc/shadow',
    yaml: doc('../notes'),
    setup: (p) => {
      write(p, 'notes/index.md', '# hi\n');
      link(p, 'notes/secret.md', '/etc/shadow');
    },
    expected: `main.yaml:4:29 docs[1].path: doc <project>/notes: the symlink secret.md leads out of the project, to /etc/shadow ${ROOTS}`,
  },
  {
    name: 'doc folder holding a symlink to a folder (a loop)',
    yaml: doc('../notes'),
    setup: (p) => {
      write(p, 'notes/index.md', '# hi\n');
      link(p, 'notes/again', '.');
    },
    expected:
      'main.yaml:4:29 docs[1].path: doc <project>/notes: the symlink again leads to a folder (only symlinks to regular files are followed; copy the folder instead)',
  },
  {
    name: 'doc folder holding a file whose name has a newline',
    yaml: doc('../notes'),
    setup: (p) => write(p, 'notes/a\nmain.yaml:1:1 forged.md', 'x'),
    expected:
      'main.yaml:4:29 docs[1].path: doc <project>/notes: the name "a\\nmain.yaml:1:1 forged.md" holds a path separator or a control character',
  },
  {
    name: 'doc folder nested 40 deep',
    yaml: doc('../deep'),
    setup: (p) => write(p, `deep/${'d/'.repeat(40)}x.md`, 'x'),
    expected: 'main.yaml:4:29 docs[1].path: doc <project>/deep nests folders more than 32 deep',
  },
  {
    name: 'local dataset /etc/shadow',
    yaml: localDataset('/etc/shadow'),
    expected: `main.yaml:4:78 datasets[0].path: dataset /etc/shadow is outside the project ${ROOTS}`,
  },
  {
    name: 'local dataset folder holding a symlink to /etc/passwd',
    yaml: localDataset('../data'),
    setup: (p) => link(p, 'data/x.root', '/etc/passwd'),
    expected: `main.yaml:4:78 datasets[0].path: dataset <project>/data: the symlink x.root leads out of the project, to /etc/passwd ${ROOTS}`,
  },
  {
    name: 'local dataset /dev/zero',
    yaml: localDataset('/dev/zero'),
    expected: `main.yaml:4:78 datasets[0].path: dataset /dev/zero is a system path (/proc, /sys, /dev) ${ROOTS}`,
  },
  {
    name: 'notebook /etc/passwd',
    yaml:
      'packages:\n  nb: [jupyter-notebook]\noverlays: [../image/overlay/jupyter]\nsystem:\n  users:\n    - {name: student, autologin: true, groups: [audio], shell: /bin/bash}\n' +
      'services:\n  jupyter:\n    enabled: true\nnotebooks:\n  - {id: n, title: N, path: /etc/passwd}\n',
    expected: `main.yaml:13:29 notebooks[0].path: notebook /etc/passwd is outside the project ${ROOTS}`,
  },
  // 4. extends: host files, blocking files, binary files.
  {
    name: 'extends a FIFO',
    yaml: 'extends: fifo.yaml\n',
    setup: (p) => mkfifo(path.join(p, 'manifests/fifo.yaml')),
    expected: 'main.yaml:1:10 extends: parent manifest <project>/manifests/fifo.yaml is a FIFO, not a file or folder',
  },
  {
    name: 'extends /dev/urandom',
    yaml: 'extends: /dev/urandom\n',
    expected: `main.yaml:1:10 extends: parent manifest /dev/urandom is a system path (/proc, /sys, /dev) ${ROOTS}`,
  },
  {
    name: 'extends /etc/passwd (no line of it echoed)',
    yaml: 'extends: ../../../../../../../../etc/passwd\n',
    expected: `main.yaml:1:10 extends: parent manifest /etc/passwd is outside the project ${ROOTS}`,
  },
  {
    name: 'extends a text file of the project that is not YAML-named',
    yaml: 'extends: ../notes.txt\n',
    setup: (p) => write(p, 'notes.txt', 'root:x:0:0:root:/root:/bin/bash\n'),
    expected: 'main.yaml:1:10 extends: parent notes.txt is not a .yaml or .yml file (no manifests in that folder)',
  },
  {
    name: 'extends a binary file named .yaml',
    yaml: 'extends: blob.yaml\n',
    setup: (p) => write(p, 'manifests/blob.yaml', 'a: \u0000\u0001\u0002'),
    expected: 'main.yaml:1:10 extends: parent blob.yaml is not UTF-8 text',
  },
  {
    name: 'extends a 300 KB parent',
    yaml: 'extends: big.yaml\n',
    setup: (p) => write(p, 'manifests/big.yaml', `# ${'x'.repeat(300_000)}\n`),
    expected: 'main.yaml:1:10 extends: parent big.yaml is 300003 bytes, over the 256 KiB a manifest may have',
  },
  // 7. Limits of one file.
  {
    name: '100 000 unknown keys (refused by size before parsing)',
    yaml: Array.from({ length: 100_000 }, (_, i) => `k${i}: 1\n`).join(''),
    expected: 'main.yaml:1:1 is 988917 bytes, over the 256 KiB a manifest may have',
  },
  {
    name: '5 000 unknown keys (refused by count, in linear time)',
    yaml: Array.from({ length: 5_000 }, (_, i) => `k${i}: 1\n`).join(''),
    expected:
      'main.yaml:1:1 a mapping of 5002 keys, more than the 1000 allowed (a manifest needs far fewer; was a data file named by mistake?)',
  },
  {
    name: 'a package list of 6 000 names',
    yaml: `packages:\n  many: [${Array.from({ length: 6_000 }, (_, i) => `p${i}`).join(',')}]\n`,
    expected:
      'main.yaml:4:9 a list of 6000 items, more than the 5000 allowed (a manifest needs far fewer; was a data file named by mistake?)',
  },
  {
    name: 'a package list of 20 000 lines',
    yaml: `packages:\n  many:\n${Array.from({ length: 20_000 }, (_, i) => `    - p${i}\n`).join('')}`,
    expected: 'main.yaml:1:1 has 20004 lines and list items, over the 10000 a manifest may have',
  },
  {
    name: 'flow lists nested 40 deep',
    yaml: `description: ${'['.repeat(40)}${']'.repeat(40)}\n`,
    expected: 'main.yaml:1:1 nests lists or mappings more than 32 levels deep',
  },
  {
    name: 'block mappings nested 40 deep',
    yaml: Array.from({ length: 40 }, (_, i) => `${'  '.repeat(i)}k${i}:\n`).join(''),
    expected: 'main.yaml:36:67 nested more than 32 levels deep (flatten the structure)',
  },
  // 5. Values that reach GRUB, apt, useradd: refused for their target.
  {
    name: 'kernel argument with ; (a second GRUB command)',
    yaml: 'boot:\n  cmdline: ["quiet;reboot"]\n',
    expected:
      'main.yaml:4:13 boot.cmdline[0]: "quiet;reboot" is not valid (expected one kernel argument of letters, digits and _.,:=/+@%~^!- (write each argument as its own list item))',
  },
  {
    name: 'kernel argument with } and {',
    yaml: 'boot:\n  cmdline: ["}menuentry x{"]\n',
    expected:
      'main.yaml:4:13 boot.cmdline[0]: "}menuentry x{" is not valid (expected one kernel argument of letters, digits and _.,:=/+@%~^!- (write each argument as its own list item))',
  },
  {
    name: 'kernel argument with $ (GRUB variable expansion)',
    yaml: 'boot:\n  cmdline: ["init=${root}"]\n',
    expected:
      'main.yaml:4:13 boot.cmdline[0]: "init=${root}" is not valid (expected one kernel argument of letters, digits and _.,:=/+@%~^!- (write each argument as its own list item))',
  },
  {
    name: 'menu entry argument with a quote',
    yaml: 'boot:\n  menu:\n    - {id: live, label: L, cmdline: ["a\'b"]}\n',
    expected:
      'main.yaml:5:38 boot.menu[0].cmdline[0]: "a\'b" is not valid (expected one kernel argument of letters, digits and _.,:=/+@%~^!- (write each argument as its own list item))',
  },
  {
    name: 'menu title with a newline',
    yaml: 'boot:\n  menu:\n    - {id: live, label: "Start\\n}\\nmenuentry evil {", cmdline: []}\n',
    expected: 'main.yaml:5:25 boot.menu[0].label: must fit on one line (remove the line break or tab)',
  },
  {
    name: 'mirror with a newline and a second, trusted source',
    yaml: 'base:\n  mirror: "http://deb.debian.org/debian trixie main\\ndeb [trusted=yes] http://evil/ x"\n',
    expected:
      'main.yaml:4:11 base.mirror: "http://deb.debian.org/debian trixie main\\ndeb [trusted=yes] http://evil/ x" is not valid (expected an http://, https:// or file:// URL of letters, digits and . _ ~ : / ? @ & + , = % [ ] -)',
  },
  {
    name: 'security archive with a space and options',
    yaml: 'base:\n  security: "http://x/ [trusted=yes]"\n',
    expected:
      'main.yaml:4:13 base.security: "http://x/ [trusted=yes]" is not valid (expected an http://, https:// or file:// URL of letters, digits and . _ ~ : / ? @ & + , = % [ ] -)',
  },
  {
    name: 'hostname with a shell metacharacter',
    yaml: 'system:\n  hostname: "a;b"\n',
    expected:
      'main.yaml:4:13 system.hostname: "a;b" is not valid (expected a hostname: lowercase letters, digits and \'-\')',
  },
  {
    name: 'ISO label with a newline',
    yaml: 'label: "A\\nB"\n',
    expected:
      'main.yaml:3:8 label: "A\\nB" is not valid (expected 1 to 32 uppercase letters, digits or \'_\' (ISO 9660 volume label))',
  },
  {
    name: 'user name with a space',
    yaml: user('name: "a b", autologin: false, groups: [], shell: /bin/sh'),
    expected:
      "main.yaml:5:14 system.users[0].name: \"a b\" is not valid (expected a user or group name: lowercase letters, digits, '_' or '-', at most 32)",
  },
  {
    name: 'user root',
    yaml: user('name: root, autologin: false, groups: [], shell: /bin/sh'),
    expected:
      'main.yaml:5:14 system.users[0].name: "root" is an account of the base system (choose another name, such as student)',
  },
  {
    name: 'group name with a comma (a second group for useradd)',
    yaml: user('name: s, autologin: false, groups: ["audio,sudo"], shell: /bin/sh'),
    expected:
      "main.yaml:5:44 system.users[0].groups[0]: \"audio,sudo\" is not valid (expected a user or group name: lowercase letters, digits, '_' or '-', at most 32)",
  },
  {
    name: 'autologin user in sudo',
    yaml: user('name: s, autologin: true, groups: [audio, sudo], shell: /bin/sh'),
    expected:
      'main.yaml:5:50 system.users[0].groups[1]: the autologin user s must not be in the sudo group: anyone at the key would be root (remove the group, or give it to a user without autologin)',
  },
  {
    name: 'autologin user in disk',
    yaml: user('name: s, autologin: true, groups: [disk], shell: /bin/sh'),
    expected:
      'main.yaml:5:43 system.users[0].groups[0]: the autologin user s must not be in the disk group: anyone at the key would be root (remove the group, or give it to a user without autologin)',
  },
  {
    name: 'autologin user in shadow',
    yaml: user('name: s, autologin: true, groups: [shadow], shell: /bin/sh'),
    expected:
      'main.yaml:5:43 system.users[0].groups[0]: the autologin user s must not be in the shadow group: anyone at the key would be root (remove the group, or give it to a user without autologin)',
  },
  {
    name: 'shell with a newline',
    yaml: user('name: s, autologin: false, groups: [], shell: "/bin/sh\\nx"'),
    expected:
      "main.yaml:5:54 system.users[0].shell: \"/bin/sh\\nx\" is not valid (expected an absolute path of letters, digits, '.', '_', '/', '+' or '-')",
  },
  {
    name: 'package name with a shell metacharacter',
    yaml: 'packages:\n  x: ["vim;rm"]\n',
    expected:
      'main.yaml:4:7 packages.x[0]: "vim;rm" is not a Debian package name (lowercase letters, digits, "+", "-" and ".", at least two characters)',
  },
  {
    name: 'package name that looks like an option',
    yaml: 'packages:\n  x: ["--allow-unauthenticated"]\n',
    expected:
      'main.yaml:4:7 packages.x[0]: "--allow-unauthenticated" is not a Debian package name (lowercase letters, digits, "+", "-" and ".", at least two characters)',
  },
  // 8. Smaller ones.
  {
    name: 'top-level __proto__ key',
    yaml: '__proto__: {polluted: true}\n',
    expected:
      'main.yaml:3:1 __proto__: unknown key "__proto__" (allowed keys: extends, name, version, variant, description, label, sourceDateEpoch, base, packages, system, session, boot, overlays, services, datasets, docs, apps, notebooks, outputs, media, compression)',
  },
  {
    name: 'nested __proto__ key',
    yaml: 'media:\n  __proto__: {size: 64GB}\n',
    expected: 'main.yaml:4:3 media.__proto__: unknown key "__proto__" (allowed keys: size, headroomPercent)',
  },
  {
    name: 'snapshot 00000000T000000Z (a negative SOURCE_DATE_EPOCH)',
    yaml: 'base:\n  snapshot: 00000000T000000Z\n',
    expected: 'main.yaml:4:13 base.snapshot: "00000000T000000Z" is not a real date and time from 1970 on',
  },
  {
    name: 'snapshot in month 13',
    yaml: 'base:\n  snapshot: 20251301T000000Z\n',
    expected: 'main.yaml:4:13 base.snapshot: "20251301T000000Z" is not a real date and time from 1970 on',
  },
  {
    name: 'snapshot after 2106',
    yaml: 'base:\n  snapshot: 29991231T000000Z\n',
    expected: 'main.yaml:4:13 base.snapshot: "29991231T000000Z" is after 2106 (squashfs and FAT store 32-bit times)',
  },
  {
    name: 'sourceDateEpoch 1e300',
    yaml: 'sourceDateEpoch: 1e300\n',
    expected: 'main.yaml:3:18 sourceDateEpoch: 1e+300 is too large (the maximum is 4294967295)',
  },
  {
    name: 'sourceDateEpoch -1',
    yaml: 'sourceDateEpoch: -1\n',
    expected: 'main.yaml:3:18 sourceDateEpoch: -1 is too small (the minimum is 0)',
  },
  {
    name: 'an ANSI escape in a value',
    yaml: 'description: "\\e[2J\\e[31mall good"\n',
    expected:
      'main.yaml:3:14 description: holds a control character (remove it; terminal escapes and NUL bytes have no place here)',
  },
  {
    name: 'a newline in an unknown key forging a second problem line',
    yaml: '"x\\nmain.yaml:1:1 name: forged": 1\n',
    expected:
      'main.yaml:3:1 x\\nmain.yaml:1:1 name: forged: unknown key "x\\nmain.yaml:1:1 name: forged" (allowed keys: extends, name, version, variant, description, label, sourceDateEpoch, base, packages, system, session, boot, overlays, services, datasets, docs, apps, notebooks, outputs, media, compression)',
  },
  {
    name: 'an ANSI escape in an enum value',
    yaml: 'session: "\\e[31mkiosk"\n',
    expected: 'main.yaml:3:10 session: "\\u001b[31mkiosk" is not one of: none, kiosk, desktop',
  },
  {
    name: 'a right-to-left override in a title',
    yaml: 'docs:\n  - {id: x, title: "a\\u202eb", path: ../content/docs/getting-started.md}\n',
    expected:
      'main.yaml:4:20 docs[1].title: holds a control character (remove it; terminal escapes and NUL bytes have no place here)',
  },
];
