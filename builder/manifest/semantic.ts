import { confine, isRefusal, urlFileName, walkSource, type Roots } from './confine.ts';
import { dottedPath, type ManifestProblem } from './problems.ts';
import { checkValues } from './values.ts';
import type { Dataset, ResolvedManifest } from './types.ts';
import { nodeAtPath, type MapNode } from './yaml.ts';
import { checkOpendataFiles } from '../opendata/check.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** FAT32 caps a file at 4 GiB − 1 byte; ISO 9660 needs multi-extent files beyond it, which many readers mishandle. */
export const MAX_FILE_BYTES = 4 * GiB - 1;
/** Usable bytes of a key sold as N GB (decimal gigabytes, a little under for the partition table). */
export const MEDIA_BYTES: Record<ResolvedManifest['media']['size'], number> = {
  '8GB': 8e9 * 0.98,
  '16GB': 16e9 * 0.98,
  '32GB': 32e9 * 0.98,
  '64GB': 64e9 * 0.98,
};
/** Whether the key carries the variant's OVA in its content partition (M and L, when the OVA is built). */
export function carriesOva(manifest: ResolvedManifest): boolean {
  return manifest.outputs.ova.enabled && (manifest.variant === 'M' || manifest.variant === 'L');
}

/** Bytes a key of the manifest's media size may fill, keeping its headroom free. */
export function mediaCapacityBytes(media: ResolvedManifest['media']): number {
  return MEDIA_BYTES[media.size] * (1 - media.headroomPercent / 100);
}
/** Debian package names as policy §5.6.1 allows them. */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const NOTEBOOK_PACKAGES = ['jupyter-notebook', 'python3-notebook', 'jupyterlab', 'python3-jupyterlab'];
/** Debian's JupyterHub (trixie main); it brings node-configurable-http-proxy and python3-notebook. */
const HUB_PACKAGE = 'jupyterhub';

/**
 * Compressed size in the OS layer of packages that weigh much more than the typical one. Measured on trixie
 * squashfs (zstd) images; anything unlisted counts as TYPICAL_PACKAGE_BYTES. Only an estimate: it decides whether a
 * build can fit the key before minutes are spent on it.
 */
const HEAVY_PACKAGES: Record<string, number> = {
  'linux-image-amd64': 110 * MiB,
  'firmware-linux-free': 2 * MiB,
  nodejs: 35 * MiB,
  chromium: 230 * MiB,
  'firefox-esr': 220 * MiB,
  'task-xfce-desktop': 700 * MiB,
  xfce4: 250 * MiB,
  cage: 15 * MiB,
  'jupyter-notebook': 120 * MiB,
  jupyterhub: 40 * MiB,
  'python3-matplotlib': 60 * MiB,
  'python3-scipy': 70 * MiB,
  'python3-numpy': 30 * MiB,
  'python3-pandas': 60 * MiB,
  libreoffice: 400 * MiB,
};
/**
 * Paths the overlay stage writes from the manifest, and the folders that hold them (tests/unit/overlay.test.ts
 * keeps this list in step with builder/stages/overlay.ts).
 */
export const BUILD_WRITTEN: readonly string[] = [
  'etc',
  'etc/default',
  'etc/default/keyboard',
  'etc/default/locale',
  'etc/hostname',
  'etc/hosts',
  'etc/issue',
  'etc/lightdm',
  'etc/lightdm/lightdm.conf.d',
  'etc/lightdm/lightdm.conf.d/50-openkey-autologin.conf',
  'etc/localtime',
  'etc/openkey',
  'etc/openkey/analysis.env',
  'etc/openkey/kiosk.env',
  'etc/openkey/session-user',
  'etc/timezone',
  'etc/systemd',
  'etc/systemd/system',
  'etc/systemd/system/multi-user.target.wants',
  'etc/systemd/system/openkey-kiosk.service.d',
  'etc/systemd/system/openkey-kiosk.service.d/user.conf',
  'etc/openkey/jupyter.env',
  'etc/systemd/system/openkey-jupyter.service.d',
  'etc/systemd/system/openkey-jupyter.service.d/user.conf',
];
const BASE_SYSTEM_BYTES = 200 * MiB;
const TYPICAL_PACKAGE_BYTES = 4 * MiB;
/** Compressed bytes per synthetic event (atlas13-mini, zlib level 1): measured 245 (hyy) to 359 (ttbar). */
export const SYNTHETIC_BYTES_PER_EVENT = 300;
/** The most a synthetic event has weighed (ttbar), for the per-file limit: better refuse early than fail at 4 GiB. */
const SYNTHETIC_MAX_BYTES_PER_EVENT = 360;

export function estimateOsBytes(manifest: ResolvedManifest): number {
  const names = new Set(Object.values(manifest.packages).flat());
  let total = BASE_SYSTEM_BYTES;
  for (const name of names) total += HEAVY_PACKAGES[name] ?? TYPICAL_PACKAGE_BYTES;
  return total;
}

function human(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / MiB)} MiB`;
}

export interface SemanticOptions {
  roots: Roots;
  signal?: AbortSignal;
  /** Bytes of the real-data datasets known before a build (builder/opendata/sizes.ts), by dataset id. */
  opendataBytes?: ReadonlyMap<string, number>;
}

export async function checkSemantics(
  manifest: ResolvedManifest,
  tree: MapNode,
  options: SemanticOptions,
): Promise<ManifestProblem[]> {
  const problems: ManifestProblem[] = [];
  const { roots } = options;
  const at = (segments: (string | number)[], message: string, hint?: string) => {
    const located = nodeAtPath(tree, segments.map(String));
    problems.push({
      origin: located.node.origin,
      path: dottedPath(segments),
      message,
      ...(hint === undefined ? {} : { hint }),
    });
  };

  // (An impossible base.snapshot leaves it unset too; checkValues names the snapshot instead.)
  if (manifest.sourceDateEpoch === undefined && manifest.base.snapshot === undefined) {
    at(
      [],
      'no sourceDateEpoch and no base.snapshot: builds could not be reproducible',
      'set sourceDateEpoch: <seconds since 1970> or base.snapshot',
    );
  }

  checkValues(manifest, at);

  for (const [group, names] of Object.entries(manifest.packages)) {
    names.forEach((name, index) => {
      if (!PACKAGE_NAME.test(name))
        at(
          ['packages', group, index],
          `"${name}" is not a Debian package name`,
          'lowercase letters, digits, "+", "-" and ".", at least two characters',
        );
    });
  }

  // Referenced paths exist, their sizes count towards the media, and no single file is too big for FAT32/ISO 9660.
  let contentBytes = 0;
  // What takes the space, by item, so a manifest that does not fit is told which items are the biggest.
  const items: { name: string; bytes: number }[] = [];
  const count = (name: string, bytes: number) => {
    contentBytes += bytes;
    items.push({ name, bytes });
  };
  const tooBig = (segments: (string | number)[], file: string, bytes: number) =>
    at(
      segments,
      `${file} is ${human(bytes)}: FAT32 and ISO 9660 layouts cannot hold a file over 4 GiB`,
      'split the file (for example with hadd -n or by run) into parts under 4 GiB',
    );
  // The walk of a source stops once the key is full: a folder such as /root is refused, not walked for minutes.
  const byteBudget = mediaCapacityBytes(manifest.media) + 1;
  const checkPath = async (segments: (string | number)[], target: string, what: string, name: string) => {
    options.signal?.throwIfAborted();
    const confined = await confine(target, roots, what);
    if (isRefusal(confined)) return at(segments, confined.message, confined.hint);
    const walked = await walkSource(confined.real, target, {
      roots,
      what,
      keepLinks: false,
      byteBudget,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (isRefusal(walked)) return at(segments, walked.message, walked.hint);
    count(name, walked.bytes);
    if (walked.biggest.bytes > MAX_FILE_BYTES) tooBig(segments, walked.biggest.path, walked.biggest.bytes);
  };
  for (const [index, overlay] of manifest.overlays.entries()) {
    options.signal?.throwIfAborted();
    const confined = await confine(overlay, roots, 'overlay folder');
    if (isRefusal(confined)) {
      at(['overlays', index], confined.message, confined.hint);
      continue;
    }
    if (!confined.isDirectory) {
      at(['overlays', index], `overlay is not a folder: ${overlay}`);
      continue;
    }
    const walked = await walkSource(confined.real, overlay, {
      roots,
      what: 'overlay',
      keepLinks: true,
      byteBudget: Number.MAX_SAFE_INTEGER,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (isRefusal(walked)) {
      at(['overlays', index], walked.message, walked.hint);
      continue;
    }
    // Links in an overlay are links inside the image, never followed on the host; but one standing where the build
    // writes its own files (etc/hostname, etc/openkey/…) would make that write land on the host.
    const written = walked.links.find((link) => BUILD_WRITTEN.some((target) => target === link));
    if (written !== undefined)
      at(
        ['overlays', index],
        `overlay ${overlay}: ${written} is a symlink, but the build writes ${written} itself`,
        'make it a real folder or file, or remove it',
      );
  }
  for (const [index, doc] of manifest.docs.entries())
    await checkPath(['docs', index, 'path'], doc.path, 'doc', `docs.${doc.id}`);
  for (const [index, notebook] of manifest.notebooks.entries())
    await checkPath(['notebooks', index, 'path'], notebook.path, 'notebook', `notebooks.${notebook.id}`);

  const seenIds = new Set<string>();
  for (const [index, dataset] of manifest.datasets.entries()) {
    if (seenIds.has(dataset.id)) at(['datasets', index, 'id'], `dataset id "${dataset.id}" is used twice`);
    seenIds.add(dataset.id);
    await checkDataset(
      dataset,
      index,
      at,
      async (segments, target) => checkPath(segments, target, 'dataset', `datasets.${dataset.id}`),
      (bytes) => count(`datasets.${dataset.id}`, bytes),
    );
    const realBytes = dataset.source === 'opendata' ? options.opendataBytes?.get(dataset.id) : undefined;
    if (realBytes !== undefined) count(`datasets.${dataset.id}`, realBytes);
    if (dataset.source === 'url' && dataset.size !== undefined && dataset.size > MAX_FILE_BYTES)
      tooBig(['datasets', index, 'size'], dataset.url, dataset.size);
  }

  const services = manifest.services;
  if (services.analysis.enabled && services.jupyter.enabled && services.analysis.port === services.jupyter.port) {
    at(
      ['services', 'jupyter', 'port'],
      `port ${services.jupyter.port} is already used by services.analysis`,
      'give each service its own port',
    );
  }

  const installed = new Set(Object.values(manifest.packages).flat());
  if (services.jupyter.enabled && services.jupyter.mode === 'hub' && !installed.has(HUB_PACKAGE)) {
    at(
      ['services', 'jupyter', 'mode'],
      `mode hub runs JupyterHub, but no package group installs ${HUB_PACKAGE}`,
      `add ${HUB_PACKAGE} to a packages group (Debian's, with node-configurable-http-proxy), or set mode: single`,
    );
  }
  // The hub makes an account per student at first login; the single-user server runs as the key's own user.
  if (services.jupyter.enabled && services.jupyter.mode === 'single' && manifest.system.users.length === 0) {
    at(
      ['services', 'jupyter', 'enabled'],
      "Jupyter runs as the key's user, but system.users is empty",
      'add a user such as student with autologin: true, or set mode: hub (an account per student)',
    );
  }
  if (services.jupyter.enabled && !manifest.overlays.some((overlay) => overlay.endsWith('/overlay/jupyter'))) {
    at(
      ['services', 'jupyter', 'enabled'],
      'Jupyter is enabled but the image/overlay/jupyter overlay (its unit) is not in overlays',
      'add ../image/overlay/jupyter to overlays',
    );
  }

  if (manifest.notebooks.length > 0) {
    const packages = new Set(Object.values(manifest.packages).flat());
    if (!NOTEBOOK_PACKAGES.some((name) => packages.has(name))) {
      at(
        ['notebooks'],
        'notebooks need a Jupyter server, but no package group installs one',
        `add ${NOTEBOOK_PACKAGES[0]} to a packages group`,
      );
    }
    if (!services.jupyter.enabled)
      at(['notebooks'], 'notebooks are listed but services.jupyter is disabled', 'set services.jupyter.enabled: true');
  }

  if (manifest.session !== 'none' && !manifest.system.users.some((user) => user.autologin)) {
    at(
      ['session'],
      `a ${manifest.session} session needs a user with autologin: true`,
      'add a user such as student with autologin: true',
    );
  }
  if (manifest.session === 'kiosk' && !manifest.apps.includes('portal'))
    at(['apps'], 'the kiosk opens the portal, but apps does not include portal');
  if (manifest.session !== 'none' && !services.analysis.enabled)
    at(
      ['services', 'analysis', 'enabled'],
      `the ${manifest.session} session shows the portal, which needs the analysis service`,
    );

  const menuIds = new Set<string>();
  manifest.boot.menu.forEach((entry, index) => {
    if (menuIds.has(entry.id)) at(['boot', 'menu', index, 'id'], `menu entry id "${entry.id}" is used twice`);
    menuIds.add(entry.id);
  });

  const osBytes = estimateOsBytes(manifest);
  const capacity = mediaCapacityBytes(manifest.media);
  const needed = osBytes + contentBytes;
  // The OVA on an M or L key holds the same disk again (compressed squashfs and ROOT files barely shrink).
  const ovaBytes = carriesOva(manifest) ? needed : 0;
  const onKey = needed + ovaBytes;
  if (onKey > capacity) {
    const keyItems = ovaBytes > 0 ? [...items, { name: 'the OVA carried on the key', bytes: ovaBytes }] : items;
    at(
      ['media', 'size'],
      `content (${human(contentBytes)}) plus the estimated OS (${human(osBytes)})${ovaBytes > 0 ? ` and the OVA (${human(ovaBytes)})` : ''} need ${human(onKey)}, more than the ${manifest.media.size} key holds with ${manifest.media.headroomPercent}% headroom (${human(capacity)}); biggest: ${biggestItems(keyItems)}`,
      ovaBytes > 0
        ? 'choose a larger media.size, fewer datasets, or outputs.ova.enabled: false'
        : 'choose a larger media.size or fewer datasets',
    );
  }
  // A VM twin carries the key's disk: its disk must hold the content, the OS and a persistence partition.
  for (const output of ['qcow2', 'ova'] as const) {
    const vm = manifest.outputs[output];
    const vmBytes = vm.vm.diskGiB * 1024 ** 3;
    if (vm.enabled && vmBytes < needed + VM_PERSISTENCE_MIN_BYTES) {
      at(
        ['outputs', output, 'vm', 'diskGiB'],
        `a ${vm.vm.diskGiB} GiB VM disk cannot hold the content (${human(contentBytes)}), the OS (${human(osBytes)}) and a persistence partition of ${human(VM_PERSISTENCE_MIN_BYTES)}`,
        `use diskGiB: ${Math.ceil((needed + VM_PERSISTENCE_MIN_BYTES) / 1024 ** 3)} or more`,
      );
    }
  }
  // The VM twins are the one machine whose memory the build knows: a column cache budget above it is refused
  // (the service would refuse to start there).
  const { cacheMiB } = manifest.services.analysis;
  for (const output of ['qcow2', 'ova'] as const) {
    const vm = manifest.outputs[output];
    if (!manifest.services.analysis.enabled || cacheMiB === undefined || !vm.enabled) continue;
    if (cacheMiB > vm.vm.memoryMiB)
      at(
        ['services', 'analysis', 'cacheMiB'],
        `a column cache of ${cacheMiB} MiB is more than the ${vm.vm.memoryMiB} MiB of memory of the ${output} VM`,
        `use cacheMiB: ${Math.floor(vm.vm.memoryMiB / 4)} or less, or leave it out (a quarter of the memory of the machine it runs on)`,
      );
  }
  return problems;
}

/** The smallest persistence partition worth having in a VM twin. */
const VM_PERSISTENCE_MIN_BYTES = 256 * 1024 ** 2;

function biggestItems(items: { name: string; bytes: number }[]): string {
  return [...items]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 3)
    .map((item) => `${item.name} ${human(item.bytes)}`)
    .join(', ');
}

async function checkDataset(
  dataset: Dataset,
  index: number,
  at: (segments: (string | number)[], message: string, hint?: string) => void,
  checkPath: (segments: (string | number)[], target: string) => Promise<void>,
  addBytes: (bytes: number) => void,
): Promise<void> {
  const fieldsBySource = {
    local: ['path', 'sha256'],
    url: ['url', 'sha256', 'size'],
    synthetic: ['synthetic'],
    opendata: ['opendata'],
  } as const;
  const present = dataset as unknown as Record<string, unknown>;
  for (const [source, fields] of Object.entries(fieldsBySource)) {
    if (source === dataset.source) continue;
    for (const field of fields) {
      if (present[field] !== undefined && !(fieldsBySource[dataset.source] as readonly string[]).includes(field)) {
        at(
          ['datasets', index, field],
          `"${field}" does not apply to source: ${dataset.source}`,
          `it belongs to source: ${source}`,
        );
      }
    }
  }
  switch (dataset.source) {
    case 'local':
      if (dataset.path === undefined)
        at(['datasets', index], 'a local dataset needs "path"', 'path: a .root file or a folder of them');
      else await checkPath(['datasets', index, 'path'], dataset.path);
      break;
    case 'url':
      if (dataset.url === undefined) at(['datasets', index], 'a url dataset needs "url"');
      else {
        const named = urlFileName(dataset.url, dataset.id);
        if (isRefusal(named)) at(['datasets', index, 'url'], named.message, named.hint);
      }
      if (dataset.sha256 === undefined)
        at(['datasets', index], 'a url dataset needs "sha256"', 'downloads are verified; compute it with sha256sum');
      if (dataset.size === undefined)
        at(['datasets', index], 'a url dataset needs "size" in bytes', 'the media check runs before any download');
      else addBytes(dataset.size);
      break;
    case 'opendata':
      if (dataset.opendata === undefined)
        at(
          ['datasets', index],
          'an opendata dataset needs "opendata: { record, files }"',
          'record: the CERN Open Data record id',
        );
      else
        checkOpendataFiles(dataset.opendata, (segments, message, hint) =>
          at(['datasets', index, 'opendata', ...segments], message, hint),
        );
      break;
    case 'synthetic':
      if (dataset.synthetic === undefined)
        at(['datasets', index], 'a synthetic dataset needs "synthetic: { schema, process, events, seed }"');
      else {
        addBytes(dataset.synthetic.events * SYNTHETIC_BYTES_PER_EVENT);
        const fileBytes = dataset.synthetic.events * SYNTHETIC_MAX_BYTES_PER_EVENT;
        if (fileBytes > MAX_FILE_BYTES) {
          at(
            ['datasets', index, 'synthetic', 'events'],
            `${dataset.synthetic.events} events make one file of about ${human(fileBytes)}: FAT32 and ISO 9660 layouts cannot hold a file over 4 GiB`,
            `use at most ${Math.floor(MAX_FILE_BYTES / SYNTHETIC_MAX_BYTES_PER_EVENT)} events per dataset, or several datasets`,
          );
        }
      }
      break;
  }
}
