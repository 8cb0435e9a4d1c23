/**
 * scripts/boot-test's logic: the boot matrix of an ISO (firmware × media) and the persistence boot test of a disk.
 *
 * The persistence boot test: a key's disk (the raw image, a key written from it, the qcow2 or the OVA's VMDK) boots
 * twice under QEMU on one qcow2 overlay, so the disk itself stays as built. The first boot writes a file in the
 * user's home through the image's boot-test probe (a unit that acts only on QEMU's fw_cfg entry opt/openkey/test), the
 * second reads it back; both must end with a healthy service, and the persistence file system must fill the disk.
 *
 * A raw image is booted as a larger USB stick (as after dd onto a bigger key, so the first boot must grow the
 * persistence partition); a key already written (a block device) as the USB stick it is; a qcow2 or a VMDK as the SATA
 * disk VirtualBox attaches.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, truncate } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { PARTITION_NUMBER } from '../disk/layout.ts';
import { checkHub, checkSingle, teacherPasswordFrom, type HubReport, type SingleReport } from './jupyter-check.ts';
import { run } from './exec.ts';
import { qemuImgInfo, qemuImgOverlay } from './qemu-img.ts';
import { UsageError } from '../../common/errors.ts';
import { parseBenchArgs, wholeNumber } from '../../common/bench.ts';
import {
  bootTest,
  describeQemuCpu,
  requireFirmware,
  screenshotWhenGraphical,
  type BootMedia,
  type BootTestResult,
  type Firmware,
} from './qemu.ts';

export type DiskFormat = 'raw' | 'qcow2' | 'vmdk';

/** A raw key image boots as a stick of this size: a 2 GiB key is the smallest a class is likely to use. */
export const STICK_BYTES = 2 * 1024 ** 3;
/** ext4's own overhead (journal, inode tables) on a small file system stays well under this share. */
const FILESYSTEM_SHARE = 0.9;

export interface PersistenceBootOptions {
  /** A .img, a block device (a written key), a .qcow2, a .vmdk or an .ova. */
  disk: string;
  firmwares: Firmware[];
  user: string;
  deadlineMs: number;
  /** Trust the guest's own health check (a kiosk's service listens on 127.0.0.1 only). */
  guestHealth?: boolean;
  onSerial?: (line: string) => void;
  /** Progress lines for the person watching ("booting …", "PASS …"). */
  log?: (line: string) => void;
  /** One boot only: healthy, a file written on a persistence partition that fills the disk (no reboot). */
  once?: boolean;
}

export interface PersistenceBoot {
  firmware: Firmware;
  media: BootMedia;
  format: DiskFormat;
  /** The disk as the guest sees it, and the persistence file system the guest found on it. */
  diskBytes: number;
  persistenceBytes: number;
  write: BootTestResult;
  read?: BootTestResult;
  passed: boolean;
  reason?: string;
}

/** What the boot-test probe printed, parsed: `wrote NONCE persistence=DEV bytes=N` or `read WORD persistence=…`. */
export function parseProbe(
  line: string | undefined,
): { verb: 'wrote' | 'read'; word: string; device: string; bytes: number } | undefined {
  // The line may end with " home=MOUNT" (which mount holds /home), kept for the log.
  const match = /^(wrote|read) (\S+) persistence=(\S+) bytes=(\d+)(?: home=\S+)?$/.exec(line ?? '');
  if (match === null) return undefined;
  return { verb: match[1] as 'wrote' | 'read', word: match[2]!, device: match[3]!, bytes: Number(match[4]) };
}

/**
 * Judges the two boots: both healthy, the first wrote the nonce on a persistence partition, the second read the
 * same nonce back, and the persistence file system holds at least 90 % of what the disk leaves after the
 * partitions before it (it grew to fill the stick or the VM disk). The reason names the first thing that failed.
 */
export function judgePersistence(options: {
  nonce: string;
  write: BootTestResult;
  read?: BootTestResult;
  /** Disk bytes from the persistence partition's start to the end of the disk. */
  roomBytes: number;
  /** No second boot was asked for: judge the first boot's write and size alone. */
  once?: boolean;
}): { passed: boolean; reason?: string; persistenceBytes: number } {
  const { write, read, nonce } = options;
  const wrote = parseProbe(write.probe);
  if (!write.passed) return { passed: false, reason: `first boot: ${write.reason ?? 'failed'}`, persistenceBytes: 0 };
  if (wrote?.verb !== 'wrote' || wrote.word !== nonce)
    return { passed: false, reason: `first boot: the probe said "${write.probe ?? 'nothing'}"`, persistenceBytes: 0 };
  if (!wrote.device.startsWith('/dev/'))
    return { passed: false, reason: 'first boot: no persistence partition was mounted', persistenceBytes: 0 };
  if (read === undefined && options.once !== true)
    return { passed: false, reason: 'no second boot', persistenceBytes: wrote.bytes };
  const readBack = parseProbe(read?.probe);
  const persistenceBytes = readBack?.bytes ?? wrote.bytes;
  if (read !== undefined && !read.passed)
    return { passed: false, reason: `second boot: ${read.reason ?? 'failed'}`, persistenceBytes };
  if (read !== undefined && (readBack?.verb !== 'read' || readBack.word !== nonce))
    return {
      passed: false,
      reason: `second boot: the file did not survive the reboot (the probe said "${read.probe ?? 'nothing'}")`,
      persistenceBytes,
    };
  const wanted = Math.floor(options.roomBytes * FILESYSTEM_SHARE);
  if (persistenceBytes < wanted)
    return {
      passed: false,
      reason: `the persistence file system holds ${persistenceBytes} bytes; it should have grown to at least ${wanted}`,
      persistenceBytes,
    };
  return { passed: true, persistenceBytes };
}

/** The VMDK inside an OVA, extracted into `dir`. */
export async function vmdkFromOva(ova: string, dir: string): Promise<string> {
  const extract = tar.extract();
  let found = '';
  extract.on('entry', (header, stream, next) => {
    if (header.name.endsWith('.vmdk') && found === '') {
      found = path.join(dir, path.basename(header.name));
      stream.pipe(createWriteStream(found)).on('finish', next).on('error', next);
    } else {
      stream.on('end', next);
      stream.resume();
    }
  });
  await pipeline(createReadStream(ova), extract);
  if (found === '') throw new Error(`${ova} holds no .vmdk`);
  return found;
}

/** Where the persistence partition starts, read from the disk's own GPT (the first MiB, whatever the format). */
async function persistenceOffset(disk: string, format: DiskFormat, scratch: string): Promise<number> {
  const head = path.join(scratch, 'head.raw');
  await run('qemu-img', ['dd', '-f', format, '-O', 'raw', 'bs=1M', 'count=1', `if=${disk}`, `of=${head}`], {
    aptPackage: 'qemu-utils',
  });
  // Only the primary table is in the copy: at the disk's full (sparse) size sfdisk trusts it and warns about the
  // missing backup, which is fine here; at 1 MiB it would see the protective MBR only.
  await truncate(head, await virtualBytes(disk));
  const { stdout } = await run('sfdisk', ['--json', head]);
  const table = JSON.parse(stdout) as { partitiontable: { partitions: { node: string; start: number }[] } };
  const entry = table.partitiontable.partitions.find((p) => p.node.endsWith(String(PARTITION_NUMBER.persistence)));
  if (entry === undefined) throw new Error(`${disk} has no partition ${PARTITION_NUMBER.persistence} (persistence)`);
  return entry.start * 512;
}

async function virtualBytes(disk: string): Promise<number> {
  if ((await stat(disk)).isBlockDevice()) return blockDeviceBytes(disk);
  return Number((await qemuImgInfo(disk))['virtual-size']);
}

/** stat() says 0 bytes for a block device. */
async function blockDeviceBytes(device: string): Promise<number> {
  const { stdout } = await run('blockdev', ['--getsize64', device]);
  return Number(stdout.trim());
}

export async function persistenceBootTest(options: PersistenceBootOptions): Promise<PersistenceBoot[]> {
  const log = options.log ?? (() => undefined);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'openkey-persist-'));
  const boots: PersistenceBoot[] = [];
  try {
    let backing = path.resolve(options.disk);
    let format: DiskFormat = 'raw';
    if (backing.endsWith('.ova')) {
      backing = await vmdkFromOva(backing, scratch);
      format = 'vmdk';
    } else if (backing.endsWith('.qcow2')) format = 'qcow2';
    else if (backing.endsWith('.vmdk')) format = 'vmdk';
    const isDevice = (await stat(backing)).isBlockDevice();
    if (isDevice) {
      // A written key is booted from a sparse copy of its bytes: QEMU reading a loop device as an overlay's backing
      // was so slow under SeaBIOS that GRUB's menu took minutes to draw and never counted down; the copy boots at
      // once. The copy holds exactly what the key holds, so the check stays the same.
      const copy = path.join(scratch, 'written-key.raw');
      await run('cp', ['--sparse=always', backing, copy]);
      backing = copy;
    }
    // A written key boots as itself; an image as a bigger stick; a VM disk at the size it was made.
    const media: BootMedia = format === 'raw' ? 'usb' : 'sata';
    const growTo = format === 'raw' && !isDevice ? STICK_BYTES : undefined;
    const offset = await persistenceOffset(backing, format, scratch);
    for (const firmware of options.firmwares) {
      await requireFirmware(firmware);
      const overlay = path.join(scratch, `${firmware}.qcow2`);
      await rm(overlay, { force: true });
      await qemuImgOverlay(backing, format, overlay, growTo);
      const diskBytes = Number((await qemuImgInfo(overlay))['virtual-size']);
      const nonce = `n${Date.now().toString(36)}${firmware}`;
      const boot = (probe: string) =>
        bootTest({
          image: overlay,
          firmware,
          media,
          format: 'qcow2',
          snapshot: false,
          probe,
          deadlineMs: options.deadlineMs,
          ...(options.guestHealth ? { hostHealth: false } : {}),
          ...(options.onSerial ? { onSerial: options.onSerial } : {}),
        });
      const name = `${firmware}-${media} (${format}${isDevice ? ', written key' : ''})`;
      log(`booting ${options.disk} ${name}: writing ${nonce} in ~${options.user}…`);
      const write = await boot(`write ${options.user} ${nonce}`);
      log(
        `${write.passed ? 'healthy' : 'FAILED'} after ${write.secondsToHealthy ?? '-'} s; probe: ${write.probe ?? '-'}`,
      );
      let read: BootTestResult | undefined;
      if (options.once !== true && write.passed && parseProbe(write.probe)?.word === nonce) {
        log(`rebooting ${name}: reading it back…`);
        read = await boot(`read ${options.user}`);
      }
      const verdict = judgePersistence({
        nonce,
        write,
        ...(read ? { read } : {}),
        roomBytes: diskBytes - offset,
        ...(options.once ? { once: true } : {}),
      });
      boots.push({
        firmware,
        media,
        format,
        diskBytes,
        persistenceBytes: verdict.persistenceBytes,
        write,
        ...(read ? { read } : {}),
        passed: verdict.passed,
        ...(verdict.reason ? { reason: verdict.reason } : {}),
      });
      log(
        `${verdict.passed ? 'PASS' : 'FAIL'} ${name}: healthy after ${write.secondsToHealthy ?? '-'} s and ${read?.secondsToHealthy ?? '-'} s, persistence ${verdict.persistenceBytes} bytes on a ${diskBytes}-byte disk${verdict.reason ? `: ${verdict.reason}` : ''}`,
      );
      const failed = read !== undefined && !read.passed ? read : !write.passed ? write : undefined;
      if (failed) for (const line of failed.serialTail.slice(-25)) log(`  | ${line}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return boots;
}

/**
 * The kiosk's browser asking for the portal and getting it, as the analysis service logs it (fastify's request
 * lines, which the boot report copies to the serial console): `incoming request` for GET / and `request completed`
 * with status 200 (or 304) under the same request id. Only the kiosk asks for /: the boot scripts ask for /api/health.
 */
export class PortalWatch {
  private readonly asked = new Set<string>();
  served = false;

  line(line: string): void {
    if (this.served || !line.startsWith('OPENKEY-LOG {')) return;
    let entry: {
      reqId?: unknown;
      msg?: unknown;
      req?: { method?: unknown; url?: unknown };
      res?: { statusCode?: unknown };
    };
    try {
      entry = JSON.parse(line.slice('OPENKEY-LOG '.length)) as typeof entry;
    } catch {
      return;
    }
    const id = String(entry.reqId);
    if (entry.msg === 'incoming request' && entry.req?.method === 'GET' && entry.req.url === '/') this.asked.add(id);
    // 304: the browser's cache (a key with persistence keeps chromium's profile) already holds the page.
    const status = entry.res?.statusCode;
    if (entry.msg === 'request completed' && this.asked.has(id) && (status === 200 || status === 304))
      this.served = true;
  }
}

/** After the boot is healthy, how long the kiosk may take to ask for the portal (chromium under TCG is slow). */
const KIOSK_PORTAL_MS = 300_000;
/** Then how long the portal may take to paint. */
const KIOSK_SCREEN_MS = 180_000;

/** A notebook-server check to run while the guest is up (builder/tools/jupyter-check.ts). */
export interface JupyterBootCheck {
  mode: 'hub' | 'single';
  /** The notebook server's port in the guest (services.jupyter.port). */
  port: number;
  /** Simulated students (hub). */
  students?: number;
  deadlineMs?: number;
}

/**
 * The bootTest options that run a Jupyter check while the guest is up: Jupyter's port forwarded, the serial console
 * read for the teacher's password (the console banner), and the check in whileReady; `report()` gives its outcome.
 */
export function jupyterDuringBoot(
  check: JupyterBootCheck,
  log: (line: string) => void,
): {
  forwardPorts: number[];
  onSerial: (line: string) => void;
  whileReady: (vm: { hostPort: number; ports: ReadonlyMap<number, number> }) => Promise<void>;
  report: () => HubReport | SingleReport | undefined;
} {
  const banner: string[] = [];
  let report: HubReport | SingleReport | undefined;
  return {
    forwardPorts: [check.port],
    onSerial: (line) => {
      if (/teacher:/.test(line)) banner.push(line);
    },
    whileReady: async (vm) => {
      const portalUrl = `http://127.0.0.1:${vm.hostPort}`;
      const jupyterUrl = `http://127.0.0.1:${vm.ports.get(check.port) ?? 0}`;
      const deadlineMs = check.deadlineMs ?? 900_000;
      if (check.mode === 'single') {
        report = await checkSingle({ jupyterUrl, portalUrl, deadlineMs, log });
        return;
      }
      // The banner is printed once the hub started: wait for it (agetty prints it on the serial console).
      const until = Date.now() + Math.min(deadlineMs, 300_000);
      while (teacherPasswordFrom(banner) === undefined && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 1000));
      const teacherPassword = teacherPasswordFrom(banner);
      if (teacherPassword === undefined) {
        report = {
          passed: false,
          students: [],
          teacherSaw: {},
          reasons: ['the console banner never showed the teacher password'],
          seconds: 0,
        };
        return;
      }
      const students = Array.from({ length: check.students ?? 5 }, (_, i) => `student${i + 1}`);
      report = await checkHub({ hubUrl: jupyterUrl, portalUrl, teacherPassword, students, deadlineMs, log });
    },
    report: () => report,
  };
}

/** Student stdout is long: the log keeps its last lines. */
function jupyterReplacer(key: string, value: unknown): unknown {
  return key === 'stdout' && typeof value === 'string' ? value.split('\n').slice(-4).join('\n') : value;
}

export const BOOT_TEST_USAGE =
  'scripts/boot-test IMAGE.iso [--only bios-cd,bios-usb,uefi-cd,uefi-usb] [--json] [--verbose] [--screendump FILE.png] [--kiosk] [--deadline S] [--guest-health] [--jupyter hub|single] [--jupyter-port 8888] [--students 5]\n' +
  '       scripts/boot-test DISK.img|/dev/KEY|.qcow2|.vmdk|.ova --persistence [--only bios,uefi] [--user NAME] [--deadline S] [--guest-health] [--json] [--verbose]';

const ISO_COMBOS = ['bios-cd', 'bios-usb', 'uefi-cd', 'uefi-usb'] as const;

export type BootTestPlan =
  | {
      kind: 'matrix';
      image: string;
      combos: { firmware: Firmware; media: BootMedia }[];
      common: CommonBootArgs;
      screendump?: string;
      /** A kiosk key: each boot passes only once the browser got the portal and the screen shows a page. */
      kiosk?: boolean;
      jupyter?: JupyterBootCheck;
    }
  | { kind: 'persistence'; disk: string; firmwares: Firmware[]; user: string; common: CommonBootArgs };

interface CommonBootArgs {
  deadlineMs: number;
  guestHealth: boolean;
  json: boolean;
  verbose: boolean;
}

/** scripts/boot-test's command line, checked: unknown combinations and firmwares are usage errors that list the known. */
export function parseBootTestArgs(argv: string[]): BootTestPlan {
  const { values, positionals } = parseBenchArgs(
    argv,
    {
      only: { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
      deadline: { type: 'string' },
      screendump: { type: 'string' },
      kiosk: { type: 'boolean' },
      jupyter: { type: 'string' },
      'jupyter-port': { type: 'string' },
      students: { type: 'string' },
      'guest-health': { type: 'boolean' },
      persistence: { type: 'boolean' },
      user: { type: 'string' },
    },
    BOOT_TEST_USAGE,
    true,
  );
  const [image, ...rest] = positionals;
  if (image === undefined) throw new UsageError('which image? none was given', `usage: ${BOOT_TEST_USAGE}`);
  if (rest.length > 0) throw new UsageError(`one image at a time; also given: ${rest.join(' ')}`);
  const persistence = values.persistence === true;
  const common: CommonBootArgs = {
    deadlineMs: wholeNumber(values.deadline ?? (persistence ? '400' : '300'), '--deadline', 10) * 1000,
    guestHealth: values['guest-health'] === true,
    json: values.json === true,
    verbose: values.verbose === true,
  };
  const only = values.only?.split(',').filter(Boolean);
  if (persistence) {
    if (values.screendump !== undefined) throw new UsageError('--screendump is for the ISO boots, not --persistence');
    if (values.kiosk === true) throw new UsageError('--kiosk is for the ISO boots, not --persistence');
    const firmwares = only ?? ['bios', 'uefi'];
    for (const firmware of firmwares)
      if (firmware !== 'bios' && firmware !== 'uefi')
        throw new UsageError(`--only ${firmware}: with --persistence, name firmwares: bios, uefi`);
    const user = values.user ?? 'student';
    if (!/^[a-z_][a-z0-9_-]*$/.test(user)) throw new UsageError(`--user ${user} is not a user name`);
    return { kind: 'persistence', disk: image, firmwares: firmwares as Firmware[], user, common };
  }
  if (values.user !== undefined) throw new UsageError('--user goes with --persistence');
  let jupyter: JupyterBootCheck | undefined;
  if (values.jupyter !== undefined) {
    if (values.jupyter !== 'hub' && values.jupyter !== 'single')
      throw new UsageError(`--jupyter ${values.jupyter}: give hub or single (services.jupyter.mode)`);
    if (values.screendump !== undefined || values.kiosk === true)
      throw new UsageError('--jupyter with --screendump or --kiosk: one check per boot');
    jupyter = {
      mode: values.jupyter,
      port: wholeNumber(values['jupyter-port'] ?? '8888', '--jupyter-port', 1),
      students: wholeNumber(values.students ?? '5', '--students', 1),
    };
  } else if (values['jupyter-port'] !== undefined || values.students !== undefined) {
    throw new UsageError('--jupyter-port and --students go with --jupyter hub|single');
  }
  const combos = (only ?? [...ISO_COMBOS]).map((name) => {
    if (!(ISO_COMBOS as readonly string[]).includes(name))
      throw new UsageError(`--only ${name}: name combinations from ${ISO_COMBOS.join(', ')}`);
    const [firmware, media] = name.split('-') as [Firmware, BootMedia];
    return { firmware, media };
  });
  return {
    kind: 'matrix',
    image,
    combos,
    common,
    ...(values.screendump === undefined ? {} : { screendump: values.screendump }),
    ...(values.kiosk === true ? { kiosk: true } : {}),
    ...(jupyter === undefined ? {} : { jupyter }),
  };
}

/** An ISO booted in each firmware × media combination; each result says seconds to healthy or why it failed. */
export async function bootMatrix(
  plan: Extract<BootTestPlan, { kind: 'matrix' }>,
  log: (line: string) => void,
): Promise<(BootTestResult & { jupyter?: HubReport | SingleReport })[]> {
  const results: (BootTestResult & { jupyter?: HubReport | SingleReport })[] = [];
  for (const { firmware, media } of plan.combos) {
    await requireFirmware(firmware);
    log(`booting ${plan.image} (${firmware}, ${media})…`);
    const portal = new PortalWatch();
    // A kiosk's screen is kept beside the image unless a file was named.
    const screendump =
      plan.screendump ??
      (plan.kiosk === true ? path.join(path.dirname(plan.image), `kiosk-${firmware}-${media}.png`) : undefined);
    let kioskFailure: string | undefined;
    const jupyter = plan.jupyter === undefined ? undefined : jupyterDuringBoot(plan.jupyter, log);
    const result: BootTestResult & { jupyter?: HubReport | SingleReport } = await bootTest({
      image: plan.image,
      firmware,
      media,
      deadlineMs: plan.common.deadlineMs,
      ...(plan.common.guestHealth || plan.kiosk === true ? { hostHealth: false } : {}),
      ...(screendump === undefined
        ? {}
        : {
            whileReady: async (vm) => {
              if (plan.kiosk === true) {
                const until = performance.now() + KIOSK_PORTAL_MS;
                while (!portal.served && performance.now() < until)
                  await new Promise((resolve) => setTimeout(resolve, 1000));
                if (!portal.served)
                  kioskFailure = `the kiosk did not get the portal (GET / answered) within ${KIOSK_PORTAL_MS / 1000} s of the boot report`;
              }
              const shot = await screenshotWhenGraphical(
                vm,
                screendump,
                plan.kiosk === true ? KIOSK_SCREEN_MS : 900_000,
              );
              log(`screendump ${screendump}${shot.graphical ? '' : ' (the screen never showed a graphical page)'}`);
              if (plan.kiosk === true && !shot.graphical && kioskFailure === undefined)
                kioskFailure = `the kiosk got the portal but the screen showed no page within ${KIOSK_SCREEN_MS / 1000} s`;
            },
          }),
      ...(jupyter === undefined
        ? {}
        : {
            // Five students' servers and kernels beside the hub and the service.
            memoryMiB: 3072,
            forwardPorts: jupyter.forwardPorts,
            whileReady: jupyter.whileReady,
          }),
      onSerial: (line: string) => {
        portal.line(line);
        jupyter?.onSerial(line);
        if (plan.common.verbose) log(`  | ${line}`);
      },
    });
    const report = jupyter?.report();
    if (jupyter !== undefined) {
      if (report !== undefined) result.jupyter = report;
      if (result.passed && report?.passed !== true) {
        result.passed = false;
        result.reason = `Jupyter (${plan.jupyter?.mode}) check failed: ${
          report === undefined ? 'it never ran' : 'reasons' in report ? report.reasons.join('; ') : report.reason
        }`;
      }
      if (report !== undefined) log(`jupyter: ${JSON.stringify(report, jupyterReplacer)}`);
    }
    if (kioskFailure !== undefined && result.passed) {
      result.passed = false;
      result.reason = kioskFailure;
    }
    results.push(result);
    log(
      `${result.passed ? 'PASS' : 'FAIL'} ${firmware}-${media}: healthy after ${result.secondsToHealthy ?? '-'} s (${cpuNote(result)}), boot report after ${result.secondsToReport ?? '-'} s (${result.systemState ?? 'no report'})${result.reason ? `: ${result.reason}` : ''}`,
    );
    if (!result.passed) for (const line of result.serialTail.slice(-25)) log(`  | ${line}`);
  }
  return results;
}

/** QEMU's CPU time by the healthy answer (or by the end of a failed boot), beside the wall time it took. */
function cpuNote(result: BootTestResult): string {
  return describeQemuCpu(result.secondsToHealthy ?? result.secondsRun, result.qemuCpuSeconds) || 'QEMU CPU -';
}

/** Runs what the command line asked for; the results without their serial tails, for --json. */
export async function runBootTest(
  plan: BootTestPlan,
  log: (line: string) => void,
): Promise<{ passed: boolean; results: unknown[] }> {
  if (plan.kind === 'matrix') {
    const results = await bootMatrix(plan, log);
    return { passed: results.every((r) => r.passed), results: results.map(({ serialTail: _tail, ...rest }) => rest) };
  }
  const boots = await persistenceBootTest({
    disk: plan.disk,
    firmwares: plan.firmwares,
    user: plan.user,
    deadlineMs: plan.common.deadlineMs,
    guestHealth: plan.common.guestHealth,
    log,
    ...(plan.common.verbose ? { onSerial: (line: string) => log(`  | ${line}`) } : {}),
  });
  const strip = (result: BootTestResult | undefined) => {
    if (result === undefined) return undefined;
    const { serialTail: _tail, ...rest } = result;
    return rest;
  };
  return {
    passed: boots.length > 0 && boots.every((b) => b.passed),
    results: boots.map((b) => ({ ...b, write: strip(b.write), read: strip(b.read) })),
  };
}
