import { translationPaths } from '../../common/languages.ts';
import { SYNTHETIC_BYTES_PER_EVENT } from '../manifest/semantic.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { bootloaderStage } from './bootloader.ts';
import { contentStage } from './content.ts';
import { datasetsStage } from './datasets.ts';
import { diskStage } from './disk.ts';
import { isoFileName, isoStage } from './iso.ts';
import { sbomFileName } from '../sbom/index.ts';
import { osLayerStage } from './os-layer.ts';
import { carriesOva, ovaFileName, ovaStage } from './ova.ts';
import { overlayStage } from './overlay.ts';
import { qcow2FileName, qcow2Stage } from './qcow2.ts';
import { rootfsStage } from './rootfs.ts';
import { serviceLayerStage } from './service-layer.ts';
import { serviceStage } from './service.ts';
import type { StageDefinition } from './types.ts';
import { usbFileName, usbStage } from './usb.ts';

/**
 * The stage registry: every build stage is one record here, and everything else is derived from these records:
 * the planner (order, dependencies, which stages a manifest enables, the cache key of each), the survey (which files
 * and tool versions to read), the doctor and the pre-flight (which host tools), the disk-space check, the final
 * output folder (which files of which stage) and the report. Nothing else lists stages.
 *
 * How to add a stage:
 *  1. Write `builder/stages/<name>.ts` exporting a `StageDefinition` (its `run` writes into `context.outDir`, reads
 *     only the folders of the stages in its `dependsOn` through `dependency(context, name)`, and returns its outputs).
 *  2. Add its name to `StageName` below and its record to `STAGES`, after every stage it depends on: the manifest
 *     sections it reads (`inputs`), its code files and folders (`code`: editing one rebuilds it), the host programs
 *     it runs (`tools`, names from builder/doctor/host-tools.ts; add the program there if it is new), a generous disk
 *     estimate, the files it contributes to out/ (`artefacts`), and `enabled` if a manifest can switch it off.
 *     A stage that reads another only for some manifests names it in `alsoDependsOn` (the usb stage reads the ova
 *     for M and L); the build runs each stage as soon as all of them are done, two stages at a time.
 *  3. `npm test`: tests/unit/registry.test.ts checks the records against each other (order, dependencies, tools,
 *     code paths), tests/unit/plan.test.ts what changes rebuild what. `openkey plan manifests/s.yaml` shows it.
 * Anything a stage's bytes depend on must reach its key through `inputs`, `code` or `tools`; otherwise a changed
 * input reuses a stale cache entry.
 */
export type StageName =
  | 'rootfs'
  | 'overlay'
  | 'os-layer'
  | 'service'
  | 'service-layer'
  | 'bootloader'
  | 'datasets'
  | 'content'
  | 'iso'
  | 'disk'
  | 'usb'
  | 'qcow2'
  | 'ova';

/** What an `inputs` function may use besides the manifest: project-relative paths and the survey's file digests. */
export interface InputHelpers {
  /** A path relative to the project, with forward slashes: plans do not depend on where the checkout lives. */
  relative(file: string): string;
  /** `{ path, sha256 }` of a file or folder the manifest names (its digest from the survey). */
  digest(file: string): { path: string; sha256: string };
}

export interface StageRecord {
  name: StageName;
  /** One line for `openkey plan` and the README's stage table. */
  summary: string;
  /** Stages whose output folders this one reads; their keys are part of its key. */
  dependsOn: readonly StageName[];
  /** Stages it reads only for some manifests (the key of M and L carries the OVA): see dependenciesOf. */
  alsoDependsOn?: (manifest: ResolvedManifest) => readonly StageName[];
  /** Whether the manifest wants this stage (default: always). */
  enabled?: (manifest: ResolvedManifest) => boolean;
  /** The parts of the manifest (and digests of the files it names) that this stage's output depends on. */
  inputs: (manifest: ResolvedManifest, helpers: InputHelpers) => Record<string, unknown>;
  /** Files and folders, relative to the project root, whose content decides the stage's bytes. */
  code: readonly string[];
  /**
   * Host programs the stage runs (builder/doctor/host-tools.ts), checked by the doctor and the pre-flight; those
   * marked `keyed` there put their version into the cache key. `node` is the running Node.js.
   */
  tools: readonly string[];
  /** Free bytes on the cache's file system the stage needs when it is not cached (a generous estimate). */
  diskBytes: (manifest: ResolvedManifest) => number;
  /** Files of the stage's output folder that the build publishes in out/ (and that SHA256SUMS lists). */
  artefacts: (manifest: ResolvedManifest) => string[];
  /** Whether the output is kept in the cache under the stage's key; an uncached stage runs on every build. */
  cached: boolean;
  definition: StageDefinition;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** A local dataset (or real data no lock pins) is not read before the build; the disk check assumes this for one. */
const LOCAL_DATASET_BYTES = 512 * MiB;
/** mksquashfs, dpkg and the ova tools live in builder/tools; each stage lists the adapters it calls. */
const tool = (name: string) => `builder/tools/${name}.ts`;
const stage = (name: string) => `builder/stages/${name}.ts`;

function contentBytes(manifest: ResolvedManifest): number {
  return manifest.datasets.reduce(
    (sum, d) =>
      sum +
      (d.source === 'url'
        ? d.size
        : d.source === 'synthetic'
          ? d.synthetic.events * SYNTHETIC_BYTES_PER_EVENT
          : // real data pinned by its lock file: the sizes of exactly the files the build places
            d.source === 'opendata' && d.locked !== undefined
            ? d.locked.reduce((bytes, file) => bytes + file.size, 0)
            : LOCAL_DATASET_BYTES),
    0,
  );
}

const none = () => [];

/** The stages in build order: each after the stages it depends on. */
export const STAGES: readonly StageRecord[] = [
  {
    name: 'rootfs',
    summary: 'mmdebstrap of Debian with the kernel, live-boot and the packages, squashed as 00-os',
    dependsOn: [],
    inputs: (manifest) => ({
      base: manifest.base,
      packages: [...new Set(Object.values(manifest.packages).flat())].sort(),
      sourceDateEpoch: manifest.sourceDateEpoch,
      // what the stage derives from the manifest itself (implicit packages, user and locale hooks, compression)
      derived: rootfsStage.extraKey?.(manifest),
    }),
    code: [stage('rootfs'), tool('mmdebstrap'), tool('mksquashfs'), tool('dpkg')],
    tools: ['mmdebstrap', 'mksquashfs'],
    diskBytes: () => 3 * GiB,
    artefacts: none,
    cached: true,
    definition: rootfsStage,
  },
  {
    name: 'overlay',
    summary: 'image/overlay files and the generated settings (hostname, locale, session, service), layer 05-config',
    dependsOn: ['rootfs'],
    inputs: (manifest, { digest }) => ({
      system: manifest.system,
      session: manifest.session,
      services: manifest.services,
      overlays: manifest.overlays.map(digest),
    }),
    code: [stage('overlay')],
    tools: [],
    diskBytes: () => 0.1 * GiB,
    artefacts: none,
    cached: true,
    definition: overlayStage,
  },
  {
    name: 'os-layer',
    summary: 'the 00-os and 05-config squashfs layers with the kernel and initrd',
    dependsOn: ['rootfs', 'overlay'],
    inputs: (manifest) => ({ compression: manifest.compression }),
    code: [stage('os-layer'), tool('mksquashfs')],
    tools: ['mksquashfs'],
    diskBytes: () => 0.1 * GiB,
    artefacts: none,
    cached: true,
    definition: osLayerStage,
  },
  {
    name: 'service',
    summary: 'the analysis service bundled by esbuild, and the web apps',
    dependsOn: [],
    inputs: (manifest) => ({ apps: manifest.apps }),
    // everything the bundle is made of: the service, what it imports, the apps and the locked dependencies
    code: [stage('service'), 'services', 'rootio', 'common', 'apps', 'package.json', 'package-lock.json'],
    tools: ['node'],
    diskBytes: () => 0.2 * GiB,
    artefacts: none,
    cached: true,
    definition: serviceStage,
  },
  {
    name: 'service-layer',
    summary: 'the service as its own squashfs layer 10-service',
    dependsOn: ['service'],
    inputs: (manifest) => ({ compression: manifest.compression }),
    code: [stage('service-layer'), tool('mksquashfs')],
    tools: ['mksquashfs'],
    diskBytes: () => 0.1 * GiB,
    artefacts: none,
    cached: true,
    definition: serviceLayerStage,
  },
  {
    name: 'bootloader',
    summary: "GRUB's core images for both media and their marker, from live/ alone (a content change reuses them)",
    dependsOn: ['os-layer', 'service-layer'],
    inputs: () => ({}),
    code: [stage('bootloader'), tool('grub')],
    tools: ['grub-mkimage', '/usr/lib/grub/x86_64-efi/linux.mod'],
    diskBytes: () => 0.1 * GiB,
    artefacts: none,
    cached: true,
    definition: bootloaderStage,
  },
  {
    name: 'datasets',
    summary: 'the datasets: generated, downloaded and checked, or placed from the real-data store',
    dependsOn: [],
    inputs: (manifest, { relative, digest }) => ({
      datasets: manifest.datasets.map((dataset) =>
        dataset.source === 'local'
          ? { ...dataset, path: relative(dataset.path), sha256: digest(dataset.path).sha256 }
          : dataset,
      ),
      sourceDateEpoch: manifest.sourceDateEpoch,
    }),
    // the generator and the ROOT writer decide the bytes of every synthetic dataset, opendata/ places real ones
    code: [stage('datasets'), 'builder/synth', 'rootio', 'builder/opendata'],
    tools: [],
    diskBytes: contentBytes,
    artefacts: none,
    cached: true,
    definition: datasetsStage,
  },
  {
    name: 'content',
    summary: 'datasets, docs, notebooks and START-HERE.html on the medium under /openkey/',
    dependsOn: ['datasets'],
    inputs: (manifest, { digest }) => ({
      carriesOva: carriesOva(manifest),
      name: manifest.name,
      version: manifest.version,
      variant: manifest.variant,
      description: manifest.description,
      locale: manifest.system.locale,
      docs: manifest.docs.map((doc) => ({
        ...doc,
        ...digest(doc.path),
        translations: translationPaths(doc.path).map(digest),
      })),
      notebooks: manifest.notebooks.map((notebook) => ({ ...notebook, ...digest(notebook.path) })),
      apps: manifest.apps,
      service: { port: manifest.services.analysis.port, lan: manifest.services.analysis.lan },
      jupyter: manifest.services.jupyter,
      sourceDateEpoch: manifest.sourceDateEpoch,
    }),
    code: [stage('content'), stage('datasets'), 'common/languages.ts'],
    tools: [],
    // hard links to the datasets stage's files, and the docs
    diskBytes: () => 0.1 * GiB,
    artefacts: none,
    cached: true,
    definition: contentStage,
  },
  {
    name: 'iso',
    summary: 'the hybrid ISO, GRUB for BIOS and UEFI',
    dependsOn: ['os-layer', 'service-layer', 'bootloader', 'service', 'content'],
    inputs: (manifest) => ({ label: manifest.label, boot: manifest.boot, sourceDateEpoch: manifest.sourceDateEpoch }),
    // the SBOM reads the .deb archive's hashes through builder/cache/debs.ts
    code: [
      stage('iso'),
      tool('grub'),
      tool('mtools'),
      tool('xorriso'),
      tool('unsquashfs'),
      'builder/sbom',
      'builder/cache/debs.ts',
    ],
    tools: ['xorriso', 'unsquashfs', '/usr/lib/grub/i386-pc/boot_hybrid.img', 'mformat', 'mkfs.vfat'],
    diskBytes: (manifest) => 1.5 * GiB + contentBytes(manifest),
    artefacts: (manifest) => [isoFileName(manifest), sbomFileName(manifest)],
    cached: true,
    definition: isoStage,
  },
  {
    name: 'disk',
    summary: 'the key as a GPT disk: BIOS boot, EFI system, exFAT content OPENKEY, ext4 persistence',
    dependsOn: ['os-layer', 'service-layer', 'bootloader', 'service', 'content'],
    enabled: (manifest) =>
      manifest.outputs.usb.enabled || manifest.outputs.qcow2.enabled || manifest.outputs.ova.enabled,
    inputs: (manifest) => ({
      boot: manifest.boot,
      disk: manifest.outputs.usb,
      sourceDateEpoch: manifest.sourceDateEpoch,
    }),
    code: [stage('disk'), stage('iso'), 'builder/disk', tool('mkfs'), tool('mtools'), tool('sfdisk')],
    tools: ['sfdisk', 'mkfs.ext4', 'mkfs.vfat', 'mformat'],
    diskBytes: (manifest) => 1.5 * GiB + contentBytes(manifest),
    artefacts: none,
    cached: true,
    definition: diskStage,
  },
  {
    name: 'qcow2',
    summary: 'a qcow2 of the disk, its persistence partition grown to the VM disk size',
    dependsOn: ['disk'],
    enabled: (manifest) => manifest.outputs.qcow2.enabled,
    inputs: (manifest) => ({ vm: manifest.outputs.qcow2.vm }),
    code: [stage('qcow2'), 'builder/disk', tool('qemu-img'), tool('sfdisk'), tool('mkfs')],
    tools: ['qemu-img', 'sfdisk', 'mkfs.ext4'],
    diskBytes: (manifest) => 3 * GiB + contentBytes(manifest),
    artefacts: (manifest) => [qcow2FileName(manifest)],
    cached: true,
    definition: qcow2Stage,
  },
  {
    name: 'ova',
    summary: "an OVA for VirtualBox and VMware (the disk grown, VirtualBox's vbox:Machine), its OVF validated",
    dependsOn: ['disk'],
    enabled: (manifest) => manifest.outputs.ova.enabled,
    inputs: (manifest) => ({
      vm: manifest.outputs.ova.vm,
      name: manifest.name,
      version: manifest.version,
      port: manifest.services.analysis.port,
    }),
    code: [stage('ova'), 'builder/disk', tool('qemu-img'), tool('xmllint'), tool('sfdisk'), tool('mkfs')],
    tools: ['qemu-img', 'xmllint', 'sfdisk', 'mkfs.ext4'],
    diskBytes: (manifest) => 1.5 * GiB + contentBytes(manifest),
    artefacts: (manifest) => [ovaFileName(manifest)],
    cached: true,
    definition: ovaStage,
  },
  {
    name: 'usb',
    summary: 'the USB disk image (the disk stage output; for M and L laid out again with the OVA), its table checked',
    dependsOn: ['disk'],
    alsoDependsOn: (manifest) =>
      carriesOva(manifest) ? ['os-layer', 'service-layer', 'bootloader', 'service', 'content', 'ova'] : [],
    enabled: (manifest) => manifest.outputs.usb.enabled,
    inputs: (manifest) => ({
      media: manifest.media,
      carriesOva: carriesOva(manifest),
      ...(carriesOva(manifest) ? { boot: manifest.boot, disk: manifest.outputs.usb } : {}),
    }),
    code: [stage('usb'), stage('disk'), stage('iso'), 'builder/disk', tool('mkfs'), tool('mtools'), tool('sfdisk')],
    tools: ['sfdisk', 'mkfs.ext4', 'mkfs.vfat', 'mformat'],
    // a hard link to the disk stage's bytes, or the disk again with the OVA
    diskBytes: (manifest) => (carriesOva(manifest) ? 3 * GiB + contentBytes(manifest) : 0),
    artefacts: (manifest) => [usbFileName(manifest)],
    cached: true,
    definition: usbStage,
  },
];

const BY_NAME = new Map(STAGES.map((record) => [record.name, record]));

export function stageRecord(name: StageName): StageRecord {
  const record = BY_NAME.get(name);
  if (record === undefined) throw new Error(`no stage record for ${name}`);
  return record;
}

/** The stages a manifest needs, in build order. */
export function enabledStages(manifest: ResolvedManifest): StageRecord[] {
  return STAGES.filter((record) => record.enabled?.(manifest) ?? true);
}

/** The stages whose output folders a stage reads for this manifest (and whose keys are part of its key). */
export function dependenciesOf(record: StageRecord, manifest: ResolvedManifest): StageName[] {
  return [...new Set([...record.dependsOn, ...(record.alsoDependsOn?.(manifest) ?? [])])];
}

/** Every code path (relative to the project root) of every stage, for the survey to digest. */
export function stageCodePaths(): string[] {
  return [...new Set(STAGES.flatMap((record) => record.code))].sort();
}
