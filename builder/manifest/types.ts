/**
 * The resolved manifest: what every later step (planner, stages, service config) reads. It is produced by
 * builder/manifest/index.ts from YAML files after schema validation, `extends` merging and semantic checks, and it is
 * deeply frozen. Paths inside it are absolute (resolved against the file that declared them).
 */

export type Variant = 'mu' | 'S' | 'M' | 'L';
export type Session = 'none' | 'kiosk' | 'desktop';
export type Firmware = 'bios' | 'efi';
export type MediaSize = '8GB' | '16GB' | '32GB' | '64GB';
export type SquashfsCompression = 'zstd' | 'xz' | 'gzip' | 'lz4' | 'lzo';

export interface BaseSystem {
  suite: string;
  mirror: string;
  security: string;
  /** snapshot.debian.org timestamp, e.g. 20251101T000000Z; when set, mirrors come from the snapshot archive. */
  snapshot?: string;
  architecture: 'amd64';
}

export interface User {
  name: string;
  autologin: boolean;
  groups: string[];
  shell: string;
}

export interface SystemSettings {
  hostname: string;
  locale: string;
  keyboard: string;
  timezone: string;
  users: User[];
}

export interface BootMenuEntry {
  id: string;
  label: string;
  /** Appended to boot.cmdline for this entry. */
  cmdline: string[];
}

export interface Boot {
  cmdline: string[];
  timeout: number;
  menu: BootMenuEntry[];
}

export interface AnalysisService {
  enabled: boolean;
  port: number;
  /** true: listen on 0.0.0.0 so other devices on the LAN reach it (classroom server); false: 127.0.0.1 only. */
  lan: boolean;
  /** 0 means one worker per core. */
  workers: number;
  /** The column cache's budget in MiB (0 off); absent, the service takes a quarter of the machine's memory. */
  cacheMiB?: number;
}

export interface JupyterService {
  enabled: boolean;
  port: number;
  lan: boolean;
  /** single: the key's user's own notebook server; hub: JupyterHub, an account per student made at first login. */
  mode: 'single' | 'hub';
}

export interface Services {
  analysis: AnalysisService;
  jupyter: JupyterService;
}

export interface SyntheticSource {
  schema: 'atlas13-mini';
  process: 'zll' | 'wlnu' | 'ttbar' | 'hyy' | 'zz4l' | 'mystery' | 'data-mix';
  events: number;
  seed: number;
}

interface DatasetCommon {
  id: string;
  title: string;
  description: string;
  licence: string;
  /** Tree name inside the files (default `mini`). */
  tree: string;
}

export interface LocalDataset extends DatasetCommon {
  source: 'local';
  /** Absolute path of a .root file or of a folder whose *.root files form the dataset. */
  path: string;
  sha256?: string;
}

export interface UrlDataset extends DatasetCommon {
  source: 'url';
  url: string;
  sha256: string;
  /** Bytes, declared so media sizing works before the download. */
  size: number;
}

export interface SyntheticDataset extends DatasetCommon {
  source: 'synthetic';
  synthetic: SyntheticSource;
}

/** One real-data file as the lock file pins it (attached by the build command, never written in a manifest). */
export interface LockedOpendataFile {
  name: string;
  uri: string;
  url: string;
  size: number;
  adler32: string;
  sha256: string;
}

export interface OpendataDataset extends DatasetCommon {
  source: 'opendata';
  /** A CERN Open Data record and, optionally, some of its files (all of them when omitted). */
  opendata: { record: number; files?: string[] };
  /** The files the lock file pins, once `openkey build` has read it. */
  locked?: LockedOpendataFile[];
}

export type Dataset = LocalDataset | UrlDataset | SyntheticDataset | OpendataDataset;

export interface Doc {
  id: string;
  title: string;
  /** Absolute path of a Markdown/HTML/PDF file or folder. */
  path: string;
}

export interface Notebook {
  id: string;
  title: string;
  path: string;
}

export type AppName = 'portal' | 'analyser' | 'browser';

export interface VmHardware {
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  firmware: Firmware;
}

export interface Outputs {
  iso: { enabled: boolean };
  usb: { enabled: boolean; filesystem?: 'exfat' | 'fat32'; persistence?: '/home union' | '/ union' };
  qcow2: { enabled: boolean; vm: VmHardware };
  ova: { enabled: boolean; vm: VmHardware };
}

export interface Compression {
  squashfs: SquashfsCompression;
  level: number;
}

export interface ResolvedManifest {
  name: string;
  version: string;
  variant: Variant;
  description: string;
  /** ISO volume label (≤ 32 chars, A-Z 0-9 _). */
  label: string;
  /** Seconds since the epoch used as SOURCE_DATE_EPOCH for every archive and filesystem of the build. */
  sourceDateEpoch: number;
  base: BaseSystem;
  /** Named groups of Debian package names; the rootfs installs their union, sorted. */
  packages: Record<string, string[]>;
  system: SystemSettings;
  session: Session;
  boot: Boot;
  /** Absolute paths of overlay folders, copied over the rootfs in this order. */
  overlays: string[];
  services: Services;
  datasets: Dataset[];
  docs: Doc[];
  apps: AppName[];
  notebooks: Notebook[];
  outputs: Outputs;
  media: { size: MediaSize; headroomPercent: number };
  compression: Compression;
}

/** Where a value of the resolved manifest came from, for `openkey explain` and error messages. */
export interface Origin {
  file: string;
  line: number;
  col: number;
}
