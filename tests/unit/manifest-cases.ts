/**
 * Invalid manifests and the exact problems they must produce. Each case writes its files into a fresh project folder
 * (see scratch.ts: the shipped base.yaml, empty overlay folders and one doc), then checks `manifests/main.yaml`.
 * Expected lines are `file:line:col path: message (hint)`, file names relative to manifests/, and the project folder
 * written as <project>. `HEAD` stands for the two lines every child manifest starts with.
 */
export interface InvalidCase {
  name: string;
  files: Record<string, string>;
  /** Folders to create beside the manifests. */
  folders?: string[];
  expected: string[];
}

export const HEAD = 'extends: base.yaml\nname: t\n';
/** What a Jupyter key needs besides the service: its unit's overlay and a user to run it. */
const JUPYTER =
  'overlays:\n  - ../image/overlay/jupyter\nsystem:\n  users:\n    - name: student\n      autologin: true\n      groups: [audio]\n      shell: /bin/bash\n';

export const INVALID_CASES: InvalidCase[] = [
  {
    name: 'YAML syntax: unclosed flow sequence',
    files: {
      'main.yaml': HEAD + 'apps: [portal, analyser\n',
    },
    expected: [
      'main.yaml:3:1 YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ] (indent nested items consistently with spaces)',
    ],
  },
  {
    name: 'YAML syntax: duplicate key',
    files: {
      'main.yaml': HEAD + 'label: A\nlabel: B\n',
    },
    expected: [
      'main.yaml:4:1 YAML syntax: Map keys must be unique (each key may appear once per mapping; merge the two entries)',
    ],
  },
  {
    name: 'YAML syntax: tab in indentation',
    files: {
      'main.yaml': HEAD + 'system:\n\thostname: x\n',
    },
    expected: [
      'main.yaml:4:1 YAML syntax: Tabs are not allowed as indentation (YAML indents with spaces only; replace the tab with spaces)',
    ],
  },
  {
    name: 'YAML syntax: unterminated quote',
    files: {
      'main.yaml': HEAD + 'description: "open\n',
    },
    expected: ['main.yaml:3:1 YAML syntax: Missing closing "quote (close the quote or bracket that was opened)'],
  },
  {
    name: 'unknown top-level key with a suggestion',
    files: {
      'main.yaml': HEAD + 'dataset: []\n',
    },
    expected: ['main.yaml:3:1 dataset: unknown key "dataset" (did you mean "datasets"?)'],
  },
  {
    name: 'unknown nested key with a suggestion',
    files: {
      'main.yaml': HEAD + 'services:\n  analysis:\n    prot: 8081\n',
    },
    expected: ['main.yaml:5:5 services.analysis.prot: unknown key "prot" (did you mean "port"?)'],
  },
  {
    name: 'unknown key without a close match lists the allowed keys',
    files: {
      'main.yaml': HEAD + 'media:\n  colour: blue\n',
    },
    expected: ['main.yaml:4:3 media.colour: unknown key "colour" (allowed keys: size, headroomPercent)'],
  },
  {
    name: 'quoted number where an integer is expected',
    files: {
      'main.yaml': HEAD + 'services:\n  analysis:\n    port: "8080"\n',
    },
    expected: ['main.yaml:5:11 services.analysis.port: expected an integer, got a string (remove the quotes)'],
  },
  {
    name: 'string where a list is expected',
    files: {
      'main.yaml': HEAD + 'apps: portal\n',
    },
    expected: ['main.yaml:3:7 apps: expected a list, got a string'],
  },
  {
    name: 'bad enum value',
    files: {
      'main.yaml': HEAD + 'variant: XL\n',
    },
    expected: ['main.yaml:3:10 variant: "XL" is not one of: mu, S, M, L (did you mean "L"?)'],
  },
  {
    name: 'bad enum value with a suggestion',
    files: {
      'main.yaml': HEAD + 'session: kiosks\n',
    },
    expected: ['main.yaml:3:10 session: "kiosks" is not one of: none, kiosk, desktop (did you mean "kiosk"?)'],
  },
  {
    name: 'bad synthetic process with a suggestion',
    files: {
      'main.yaml':
        HEAD +
        "datasets:\n  - id: z\n    title: Z\n    description: ''\n    licence: CC0-1.0\n    source: synthetic\n    synthetic: { schema: atlas13-mini, process: zl, events: 10, seed: 1 }\n",
    },
    expected: [
      'main.yaml:9:49 datasets[0].synthetic.process: "zl" is not one of: zll, wlnu, ttbar, hyy, zz4l, mystery, data-mix (did you mean "zll"?)',
    ],
  },
  {
    name: 'extends cycle',
    files: {
      'main.yaml': 'extends: [base.yaml, a.yaml]\nname: t\n',
      'a.yaml': 'extends: main.yaml\n',
    },
    expected: [
      'a.yaml:1:10 extends: extends cycle: main.yaml → a.yaml → main.yaml (remove one of these extends entries)',
    ],
  },
  {
    name: 'missing parent',
    files: {
      'main.yaml': 'extends: nothere.yaml\nname: t\n',
    },
    expected: [
      'main.yaml:1:10 extends: parent manifest not found: nothere.yaml (manifests there: base.yaml, main.yaml)',
    ],
  },
  {
    name: 'parent is a folder, not a file',
    files: {
      'main.yaml': 'extends: [base.yaml, sub]\nname: t\n',
    },
    folders: ['sub'],
    expected: [
      'main.yaml:1:22 extends: parent sub is a folder, not a manifest file (manifests there: base.yaml, main.yaml)',
    ],
  },
  {
    name: 'extends with a number',
    files: {
      'main.yaml': 'extends: 3\nname: t\n',
    },
    expected: ['main.yaml:1:10 extends: expected a file name or a list of file names'],
  },
  {
    name: 'missing required key in a dataset',
    files: {
      'main.yaml':
        HEAD +
        "datasets:\n  - id: z\n    description: ''\n    licence: CC0-1.0\n    source: synthetic\n    synthetic: { schema: atlas13-mini, process: zll, events: 10, seed: 1 }\n",
    },
    expected: ['main.yaml:4:5 datasets[0].title: missing required key "title" (add "title:" to this mapping)'],
  },
  {
    name: 'url dataset without sha256',
    files: {
      'main.yaml':
        HEAD +
        "datasets:\n  - id: web\n    title: Web\n    description: ''\n    licence: CC0-1.0\n    source: url\n    url: https://example.org/a.root\n    size: 1000\n",
    },
    expected: [
      'main.yaml:4:5 datasets[0]: a url dataset needs "sha256" (downloads are verified; compute it with sha256sum)',
    ],
  },
  {
    name: 'malformed sha256',
    files: {
      'main.yaml':
        HEAD +
        "datasets:\n  - id: web\n    title: Web\n    description: ''\n    licence: CC0-1.0\n    source: url\n    url: https://example.org/a.root\n    sha256: ABC\n    size: 1000\n",
    },
    expected: [
      'main.yaml:10:13 datasets[0].sha256: "ABC" is not valid (expected 64 lowercase hexadecimal digits (a SHA-256))',
    ],
  },
  {
    name: 'local dataset path that does not exist',
    files: {
      'main.yaml':
        HEAD +
        "datasets:\n  - id: mine\n    title: Mine\n    description: ''\n    licence: CC0-1.0\n    source: local\n    path: ../data/missing.root\n",
    },
    expected: [
      'main.yaml:9:11 datasets[0].path: dataset not found: <project>/data/missing.root (paths are relative to the manifest that declares them)',
    ],
  },
  {
    name: 'doc path that does not exist',
    files: {
      'main.yaml': HEAD + 'docs:\n  - id: guide\n    title: Guide\n    path: ../content/docs/nope.md\n',
    },
    expected: [
      'main.yaml:6:11 docs[1].path: doc not found: <project>/content/docs/nope.md (paths are relative to the manifest that declares them)',
    ],
  },
  {
    name: 'overlay folder that does not exist',
    files: {
      'main.yaml': HEAD + 'overlays:\n  - ../image/overlay/nope\n',
    },
    folders: ['sub'],
    expected: [
      'main.yaml:4:5 overlays[1]: overlay folder not found: <project>/image/overlay/nope (paths are relative to the manifest that declares them)',
    ],
  },
  {
    name: 'badly formed package name',
    files: {
      'main.yaml': HEAD + 'packages:\n  extra: [Foo_Bar]\n',
    },
    expected: [
      'main.yaml:4:11 packages.extra[0]: "Foo_Bar" is not a Debian package name (lowercase letters, digits, "+", "-" and ".", at least two characters)',
    ],
  },
  {
    name: 'bad package group name',
    files: {
      'main.yaml': HEAD + 'packages:\n  Desktop: [xfce4]\n',
    },
    expected: [
      'main.yaml:4:3 packages.Desktop: bad name "Desktop" (expected lowercase letters, digits and \'-\', starting with a letter)',
    ],
  },
  {
    name: 'content larger than the key',
    files: {
      'main.yaml':
        HEAD +
        "datasets:\n  - id: huge\n    title: Huge\n    description: ''\n    licence: CC0-1.0\n    source: synthetic\n    synthetic: { schema: atlas13-mini, process: zll, events: 100000000, seed: 1 }\n",
    },
    expected: [
      'base.yaml:95:9 media.size: content (27.9 GiB) plus the estimated OS (393 MiB) need 28.3 GiB, more than the 8GB key holds with 10% headroom (6.6 GiB); biggest: datasets.huge 27.9 GiB, docs.getting-started 0 MiB (choose a larger media.size or fewer datasets)',
      'main.yaml:9:62 datasets[0].synthetic.events: 100000000 events make one file of about 33.5 GiB: FAT32 and ISO 9660 layouts cannot hold a file over 4 GiB (use at most 11930464 events per dataset, or several datasets)',
    ],
  },
  {
    name: 'an M key whose content fits, but not twice with the OVA it carries',
    files: {
      'main.yaml':
        HEAD +
        "variant: M\noutputs:\n  ova:\n    enabled: true\n    vm: { diskGiB: 16 }\ndatasets:\n  - id: big\n    title: Big\n    description: ''\n    licence: CC0-1.0\n    source: synthetic\n    synthetic: { schema: atlas13-mini, process: zll, events: 6000000, seed: 1 }\n  - id: bigger\n    title: Bigger\n    description: ''\n    licence: CC0-1.0\n    source: synthetic\n    synthetic: { schema: atlas13-mini, process: zll, events: 7000000, seed: 2 }\n",
    },
    expected: [
      'base.yaml:95:9 media.size: content (3.6 GiB) plus the estimated OS (393 MiB) and the OVA (4.0 GiB) need 8.0 GiB, more than the 8GB key holds with 10% headroom (6.6 GiB); biggest: the OVA carried on the key 4.0 GiB, datasets.bigger 2.0 GiB, datasets.big 1.7 GiB (choose a larger media.size, fewer datasets, or outputs.ova.enabled: false)',
    ],
  },
  {
    name: 'file over 4 GiB',
    files: {
      'main.yaml':
        HEAD +
        "media:\n  size: 64GB\ndatasets:\n  - id: web\n    title: Web\n    description: ''\n    licence: CC0-1.0\n    source: url\n    url: https://example.org/a.root\n    sha256: '0000000000000000000000000000000000000000000000000000000000000000'\n    size: 5000000000\n",
    },
    expected: [
      'main.yaml:13:11 datasets[0].size: https://example.org/a.root is 4.7 GiB: FAT32 and ISO 9660 layouts cannot hold a file over 4 GiB (split the file (for example with hadd -n or by run) into parts under 4 GiB)',
    ],
  },
  {
    name: 'file over 4 GiB on a FAT32 content partition',
    files: {
      'main.yaml':
        HEAD +
        "outputs:\n  usb:\n    filesystem: fat32\nmedia:\n  size: 64GB\ndatasets:\n  - id: web\n    title: Web\n    description: ''\n    licence: CC0-1.0\n    source: url\n    url: https://example.org/a.root\n    sha256: '0000000000000000000000000000000000000000000000000000000000000000'\n    size: 5000000000\n",
    },
    expected: [
      'main.yaml:16:11 datasets[0].size: https://example.org/a.root is 4.7 GiB: FAT32 and ISO 9660 layouts cannot hold a file over 4 GiB (split the file (for example with hadd -n or by run) into parts under 4 GiB)',
    ],
  },
  {
    name: 'a persistence mode live-boot does not know',
    files: { 'main.yaml': HEAD + 'outputs:\n  usb:\n    persistence: /home bind\n' },
    expected: ['main.yaml:5:18 outputs.usb.persistence: "/home bind" is not one of: /home union, / union'],
  },
  {
    name: 'a VM disk smaller than the content',
    files: {
      'main.yaml':
        HEAD +
        "outputs:\n  qcow2:\n    enabled: true\n    vm: { diskGiB: 4 }\nmedia:\n  size: 16GB\ndatasets:\n  - id: big\n    title: Big\n    description: ''\n    licence: CC0-1.0\n    source: synthetic\n    synthetic: { schema: atlas13-mini, process: zll, events: 7000000, seed: 1 }\n  - id: bigger\n    title: Bigger\n    description: ''\n    licence: CC0-1.0\n    source: synthetic\n    synthetic: { schema: atlas13-mini, process: zll, events: 7000000, seed: 2 }\n",
    },
    expected: [
      'main.yaml:6:20 outputs.qcow2.vm.diskGiB: a 4 GiB VM disk cannot hold the content (3.9 GiB), the OS (393 MiB) and a persistence partition of 256 MiB (use diskGiB: 5 or more)',
    ],
  },
  {
    name: 'a column cache budget above the memory of the VM twin',
    files: {
      'main.yaml':
        HEAD +
        'outputs:\n  qcow2:\n    enabled: true\n    vm: { memoryMiB: 2048 }\nservices:\n  analysis:\n    cacheMiB: 4096\n',
    },
    expected: [
      'main.yaml:9:15 services.analysis.cacheMiB: a column cache of 4096 MiB is more than the 2048 MiB of memory of the qcow2 VM (use cacheMiB: 512 or less, or leave it out (a quarter of the memory of the machine it runs on))',
    ],
  },
  {
    name: 'a column cache budget that is not a whole number of MiB',
    files: { 'main.yaml': HEAD + 'services:\n  analysis:\n    cacheMiB: 1.5\n' },
    expected: ['main.yaml:5:15 services.analysis.cacheMiB: expected an integer, got a number'],
  },
  {
    name: 'two services on one port',
    files: {
      'main.yaml': HEAD + JUPYTER + 'services:\n  jupyter:\n    enabled: true\n    port: 8080\n',
    },
    expected: [
      'main.yaml:14:11 services.jupyter.port: port 8080 is already used by services.analysis (give each service its own port)',
    ],
  },
  {
    name: 'notebooks without a Jupyter package',
    files: {
      'main.yaml':
        HEAD +
        JUPYTER +
        'services:\n  jupyter:\n    enabled: true\nnotebooks:\n  - id: nb\n    title: NB\n    path: ../content/docs/getting-started.md\n',
    },
    expected: [
      'main.yaml:15:3 notebooks: notebooks need a Jupyter server, but no package group installs one (add jupyter-notebook to a packages group)',
    ],
  },
  {
    name: 'Jupyter without its overlay or a user to run it',
    files: {
      'main.yaml': HEAD + 'services:\n  jupyter:\n    enabled: true\n',
    },
    expected: [
      "main.yaml:5:14 services.jupyter.enabled: Jupyter runs as the key's user, but system.users is empty (add a user such as student with autologin: true, or set mode: hub (an account per student))",
      'main.yaml:5:14 services.jupyter.enabled: Jupyter is enabled but the image/overlay/jupyter overlay (its unit) is not in overlays (add ../image/overlay/jupyter to overlays)',
    ],
  },
  {
    name: 'a hub without JupyterHub',
    files: {
      'main.yaml':
        HEAD + 'overlays:\n  - ../image/overlay/jupyter\nservices:\n  jupyter:\n    enabled: true\n    mode: hub\n',
    },
    expected: [
      "main.yaml:8:11 services.jupyter.mode: mode hub runs JupyterHub, but no package group installs jupyterhub (add jupyterhub to a packages group (Debian's, with node-configurable-http-proxy), or set mode: single)",
    ],
  },
  {
    name: 'a Jupyter mode that does not exist',
    files: { 'main.yaml': HEAD + 'services:\n  jupyter:\n    mode: lab\n' },
    expected: ['main.yaml:5:11 services.jupyter.mode: "lab" is not one of: single, hub (did you mean "hub"?)'],
  },
  {
    name: 'kiosk session without an autologin user',
    files: {
      'main.yaml': HEAD + 'session: kiosk\n',
    },
    expected: [
      'main.yaml:3:10 session: a kiosk session needs a user with autologin: true (add a user such as student with autologin: true)',
    ],
  },
  {
    name: '!remove of an item that was not inherited',
    files: {
      'main.yaml': HEAD + 'packages:\n  system:\n    - !remove emacs\n',
    },
    expected: [
      'main.yaml:5:15 packages.system: !remove emacs: no inherited item has this value or id (inherited items: linux-image-amd64, live-boot, systemd-sysv, systemd-resolved, dbus, iproute2, ca-certificates, locales, keyboard-configuration, console-setup, tzdata, less, nano)',
    ],
  },
  {
    name: '!remove outside a list',
    files: {
      'main.yaml': HEAD + 'label: !remove OPENKEY\n',
    },
    expected: ['main.yaml:3:16 label: !remove must tag a list item naming what to remove (write "- !remove nano")'],
  },
  {
    name: 'unknown YAML tag',
    files: {
      'main.yaml': HEAD + 'label: !include other.yaml\n',
    },
    expected: [
      'main.yaml:3:17 unknown YAML tag !include (the only tags are !remove and !replace)',
      'main.yaml:3:17 label: "other.yaml" is not valid (expected 1 to 32 uppercase letters, digits or \'_\' (ISO 9660 volume label))',
    ],
  },
  {
    name: 'YAML alias',
    files: {
      'main.yaml': HEAD + 'label: &l X\ndescription: *l\n',
    },
    expected: [
      'main.yaml:4:14 YAML aliases (*name) are not supported (use extends: to share values)',
      'main.yaml:4:14 description: expected a string, got null',
    ],
  },
  {
    name: 'invalid hostname',
    files: {
      'main.yaml': HEAD + 'system:\n  hostname: Open_Key\n',
    },
    expected: [
      'main.yaml:4:13 system.hostname: "Open_Key" is not valid (expected a hostname: lowercase letters, digits and \'-\')',
    ],
  },
  {
    name: 'kernel argument with a space',
    files: {
      'main.yaml': HEAD + 'boot:\n  cmdline: [quiet splash]\n',
    },
    expected: [
      'main.yaml:4:13 boot.cmdline[0]: "quiet splash" is not valid (expected one kernel argument of letters, digits and _.,:=/+@%~^!- (write each argument as its own list item))',
    ],
  },
  {
    name: 'lowercase volume label',
    files: {
      'main.yaml': HEAD + 'label: openkey\n',
    },
    expected: [
      'main.yaml:3:8 label: "openkey" is not valid (expected 1 to 32 uppercase letters, digits or \'_\' (ISO 9660 volume label))',
    ],
  },
  {
    name: 'negative boot timeout',
    files: {
      'main.yaml': HEAD + 'boot:\n  timeout: -1\n',
    },
    expected: ['main.yaml:4:12 boot.timeout: -1 is too small (the minimum is 0)'],
  },
  {
    name: 'duplicate dataset id in one file',
    files: {
      'main.yaml':
        HEAD +
        "datasets:\n  - { id: a, title: A, description: '', licence: x, source: synthetic, synthetic: { schema: atlas13-mini, process: zll, events: 1, seed: 1 } }\n  - { id: b, title: B, description: '', licence: x, source: synthetic, synthetic: { schema: atlas13-mini, process: zll, events: 1, seed: 1 } }\n  - { id: a, title: C, description: '', licence: x, source: synthetic, synthetic: { schema: atlas13-mini, process: wlnu, events: 1, seed: 1 } }\n",
    },
    expected: ['main.yaml:6:5 datasets[2]: "a" appears twice in this list (ids must be unique; merge the two items)'],
  },
  {
    name: 'field that does not apply to the source',
    files: {
      'main.yaml':
        HEAD +
        "datasets:\n  - id: z\n    title: Z\n    description: ''\n    licence: CC0-1.0\n    source: synthetic\n    url: https://example.org/z.root\n    synthetic: { schema: atlas13-mini, process: zll, events: 10, seed: 1 }\n",
    },
    expected: ['main.yaml:9:10 datasets[0].url: "url" does not apply to source: synthetic (it belongs to source: url)'],
  },
  {
    name: 'empty file',
    files: {
      'main.yaml': '',
    },
    expected: ['main.yaml:1:1 the manifest is empty (start with "extends: base.yaml")'],
  },
  {
    name: 'a list instead of a mapping',
    files: {
      'main.yaml': '- name: t\n',
    },
    expected: ['main.yaml:1:1 a manifest must be a mapping of keys to values (start with "extends: base.yaml")'],
  },
  {
    name: 'malformed version',
    files: {
      'main.yaml': HEAD + "version: '1.0'\n",
    },
    expected: ['main.yaml:3:10 version: "1.0" is not valid (expected a version like 1.2.3)'],
  },
  {
    name: 'no extends: every required key is reported',
    files: {
      'main.yaml':
        'name: t\nversion: 1.0.0\nvariant: S\ndescription: x\nlabel: T\nbase: { suite: trixie, mirror: http://deb.debian.org/debian, security: http://deb.debian.org/debian-security, architecture: amd64 }\npackages: {}\nsession: none\noverlays: []\ndatasets: []\ndocs: []\napps: []\nnotebooks: []\nmedia: { size: 8GB, headroomPercent: 10 }\ncompression: { squashfs: zstd, level: 3 }\n',
    },
    expected: [
      'main.yaml:1:1 boot: missing required key "boot" (set it here, or inherit it with "extends: base.yaml")',
      'main.yaml:1:1 outputs: missing required key "outputs" (set it here, or inherit it with "extends: base.yaml")',
      'main.yaml:1:1 services: missing required key "services" (set it here, or inherit it with "extends: base.yaml")',
      'main.yaml:1:1 system: missing required key "system" (set it here, or inherit it with "extends: base.yaml")',
    ],
  },
  {
    name: 'several problems in one file, all reported',
    files: {
      'main.yaml': HEAD + 'variant: XL\nservices:\n  analysis:\n    port: 70000\ncompression:\n  squashfs: bzip2\n',
    },
    expected: [
      'main.yaml:3:10 variant: "XL" is not one of: mu, S, M, L (did you mean "L"?)',
      'main.yaml:6:11 services.analysis.port: 70000 is too large (the maximum is 65535)',
      'main.yaml:8:13 compression.squashfs: "bzip2" is not one of: zstd, xz, gzip, lz4, lzo (did you mean "gzip"?)',
    ],
  },
  {
    name: "problem in a parent is reported at the parent's line",
    files: {
      'main.yaml': 'extends: mid.yaml\nname: t\n',
      'mid.yaml': 'extends: base.yaml\nmedia:\n  size: 12GB\n',
    },
    expected: ['mid.yaml:3:9 media.size: "12GB" is not one of: 8GB, 16GB, 32GB, 64GB (did you mean "16GB"?)'],
  },
  {
    name: 'sha256 of digits only is read as a number',
    files: {
      'main.yaml':
        HEAD +
        "datasets:\n  - id: web\n    title: Web\n    description: ''\n    licence: CC0-1.0\n    source: url\n    url: https://example.org/a.root\n    sha256: 1111111111111111111111111111111111111111111111111111111111111111\n    size: 1000\n",
    },
    expected: [
      'main.yaml:10:13 datasets[0].sha256: expected a string, got an integer (YAML read this as a number or boolean: put it in quotes)',
    ],
  },
  {
    name: '!remove where nothing is inherited',
    files: {
      'main.yaml': HEAD + 'packages:\n  extra: [!remove nano, vim]\n',
    },
    expected: [
      'main.yaml:4:19 packages.extra: !remove nano: nothing is inherited here to remove (remove this line, or check that the list is the inherited one)',
    ],
  },
  {
    name: 'synthetic dataset whose one file would pass 4 GiB',
    files: {
      'main.yaml':
        HEAD +
        "media:\n  size: 64GB\ndatasets:\n  - id: big\n    title: Big\n    description: ''\n    licence: CC0-1.0\n    source: synthetic\n    synthetic: { schema: atlas13-mini, process: ttbar, events: 30000000, seed: 1 }\n",
    },
    expected: [
      'main.yaml:11:64 datasets[0].synthetic.events: 30000000 events make one file of about 10.1 GiB: FAT32 and ISO 9660 layouts cannot hold a file over 4 GiB (use at most 11930464 events per dataset, or several datasets)',
    ],
  },
];
