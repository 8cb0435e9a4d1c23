import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';
import { consoleFailure, failureComplete, failureExcerpt, type ConsoleFailureKind } from './console-watch.ts';
import { run } from './exec.ts';

export type Firmware = 'bios' | 'uefi';
/** cd: an IDE CD-ROM; usb: a USB stick on xHCI; sata: an AHCI disk, as VirtualBox attaches a VM's disk. */
export type BootMedia = 'cd' | 'usb' | 'sata';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface BootTestOptions {
  image: string;
  firmware: Firmware;
  media: BootMedia;
  /** Guest port of the analysis service, forwarded to a free port on 127.0.0.1. */
  guestPort?: number;
  /** More guest ports to forward (e.g. Jupyter's), each to a free port on 127.0.0.1: RunningVm.ports maps them. */
  forwardPorts?: number[];
  /** Give up after this long (power-on to healthy and reported). */
  deadlineMs?: number;
  memoryMiB?: number;
  /** Called with every line the guest prints on its serial console. */
  onSerial?: (line: string) => void;
  /** Called with QEMU's process id once it started (a caller's own CPU time reading: processCpuSeconds). */
  onSpawn?: (pid: number) => void;
  /** While the guest runs and is healthy: e.g. take a screendump through the monitor. */
  whileReady?: (vm: RunningVm) => Promise<void>;
  /** false when the service listens on 127.0.0.1 only (no LAN): health then comes from the guest's boot report. */
  hostHealth?: boolean;
  /** Use KVM instead of TCG (only where /dev/kvm works). */
  kvm?: boolean;
  /** Disk image format (raw unless told: qcow2, vmdk). */
  format?: 'raw' | 'qcow2' | 'vmdk';
  /** false: the guest's writes reach the image file (a persistence test's overlay); default true. */
  snapshot?: boolean;
  /** A command for the image's boot-test probe unit, passed as QEMU fw_cfg opt/openkey/test. */
  probe?: string;
  signal?: AbortSignal;
}

export interface BootTestResult {
  firmware: Firmware;
  media: BootMedia;
  passed: boolean;
  /** Seconds from starting QEMU to the first healthy answer of GET /api/health. */
  secondsToHealthy?: number;
  /** Seconds from starting QEMU to the boot report line on the serial console. */
  secondsToReport?: number;
  /**
   * QEMU's CPU time (user + system, read each second) when the service first answered, or at the end if it never
   * did. Under TCG the guest runs only while QEMU has a core: this over secondsToHealthy is the share of a core the
   * host gave it, so boots at different loads compare by it.
   */
  qemuCpuSeconds?: number;
  /** Seconds QEMU ran in all, to the end of the boot test. */
  secondsRun?: number;
  systemState?: string;
  /** The guest's own GET /api/health on 127.0.0.1, from the boot report: ok, down or disabled. */
  guestHealth?: string;
  failedUnits: string[];
  /** What the probe unit printed (OPENKEY-TEST lines), without the prefix. */
  probe?: string;
  health?: unknown;
  reason?: string;
  /** A kernel panic or an emergency shell seen on the serial console: the boot was given up at once. */
  consoleFailure?: ConsoleFailureKind;
  /** The serial lines that show that failure (the oops trace, the panic line). */
  failureLines?: string[];
  serialTail: string[];
}

export interface RunningVm {
  hostPort: number;
  /** Guest port → host port on 127.0.0.1, for forwardPorts. */
  ports: ReadonlyMap<number, number>;
  /** Sends one command to the QEMU human monitor and returns its answer. */
  monitor: (command: string) => Promise<string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function monitorCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = net.createConnection(socket);
    let buffer = '';
    let sent = false;
    const timer = setTimeout(() => {
      client.destroy();
      reject(new Error(`QEMU monitor did not answer ${command}`));
    }, 30_000);
    client.on('data', (data) => {
      buffer += data.toString();
      if (!sent && buffer.includes('(qemu)')) {
        sent = true;
        buffer = '';
        client.write(`${command}\n`);
      } else if (sent && buffer.includes('(qemu)')) {
        clearTimeout(timer);
        client.end();
        resolve(buffer.replace(/\(qemu\)\s*$/, '').trim());
      }
    });
    client.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const BOOT_LINE = /OPENKEY-BOOT state=(\S+) failed=\[([^\]]*)\](?: health=(\S+))?/;

/**
 * Boots an image in QEMU (TCG unless told otherwise) under SeaBIOS or OVMF, as a CD or as a USB stick, and waits for
 * the analysis service to answer through hostfwd and for the key's boot report on the serial console. Passes when the
 * service is healthy and no systemd unit failed.
 */
export async function bootTest(options: BootTestOptions): Promise<BootTestResult> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'openkey-boot-'));
  const hostPort = await freePort();
  const ports = new Map<number, number>();
  for (const guest of options.forwardPorts ?? []) ports.set(guest, await freePort());
  const forwards = [[hostPort, options.guestPort ?? 8080], ...[...ports].map(([guest, host]) => [host, guest])]
    .map(([host, guest]) => `hostfwd=tcp:127.0.0.1:${host}-:${guest}`)
    .join(',');
  const monitorSocket = path.join(scratch, 'monitor.sock');
  const deadlineMs = options.deadlineMs ?? 240_000;
  const args = [
    // One TCG thread for both vCPUs: with a thread per vCPU (QEMU's default MTTCG), a vCPU can run a stale
    // translation while the other patches kernel text (jump labels, text_poke_bp's int3), and the guest dies early in
    // boot with "Oops: int3" in sched_clock_cpu (seen here under SeaBIOS and OVMF alike). Round-robin keeps two vCPUs.
    ...(options.kvm ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=single']),
    '-m',
    String(options.memoryMiB ?? 2048),
    '-smp',
    '2',
    '-display',
    'none',
    '-vga',
    'std',
    '-serial',
    'stdio',
    '-monitor',
    `unix:${monitorSocket},server,nowait`,
    '-netdev',
    `user,id=net0,${forwards}`,
    '-device',
    'virtio-net-pci,netdev=net0',
    // Entropy from the host: the guest's random pool is ready as soon as the driver loads, instead of being built
    // from timer jitter, which under TCG is slow and reaches code paths a real PC with RDRAND never takes.
    '-object',
    'rng-random,id=rng0,filename=/dev/urandom',
    '-device',
    'virtio-rng-pci,rng=rng0',
    '-no-reboot',
  ];
  if (options.firmware === 'uefi') {
    const vars = path.join(scratch, 'OVMF_VARS.fd');
    await copyFile(OVMF_VARS, vars);
    args.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${vars}`,
    );
  }
  if (options.probe !== undefined) args.push('-fw_cfg', `name=opt/openkey/test,string=${options.probe}`);
  const format = options.format ?? 'raw';
  const snapshot = options.snapshot === false ? 'off' : 'on';
  if (options.media === 'cd') {
    args.push('-drive', `file=${options.image},media=cdrom,if=ide,readonly=on`, '-boot', 'order=d');
  } else if (options.media === 'sata') {
    args.push(
      '-device',
      'ahci,id=ahci',
      '-drive',
      `if=none,id=disk,format=${format},snapshot=${snapshot},file=${options.image}`,
      '-device',
      'ide-hd,bus=ahci.0,drive=disk,bootindex=0',
    );
  } else {
    args.push(
      '-device',
      'qemu-xhci,id=xhci',
      '-drive',
      `if=none,id=stick,format=${format},snapshot=${snapshot},file=${options.image}`,
      '-device',
      'usb-storage,bus=xhci.0,drive=stick,bootindex=0',
    );
  }

  const serial: string[] = [];
  const result: BootTestResult = {
    firmware: options.firmware,
    media: options.media,
    passed: false,
    failedUnits: [],
    serialTail: [],
  };
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let exited = false;
  let exitError: unknown;
  let lineCount = 0;
  let fatal: { kind: ConsoleFailureKind; line: number; at: number; complete: boolean } | undefined;
  let qemuPid: number | undefined;
  const sampleCpu = async () => {
    const cpu = qemuPid === undefined ? undefined : await processCpuSeconds(qemuPid);
    if (cpu !== undefined) result.qemuCpuSeconds = cpu;
  };
  const qemu = run('qemu-system-x86_64', args, {
    aptPackage: 'qemu-system-x86',
    signal: stop.signal,
    onSpawn: (pid) => {
      qemuPid = pid;
      options.onSpawn?.(pid);
    },
    onLine: (line) => {
      // eslint-disable-next-line no-control-regex
      const clean = line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
      serial.push(clean);
      lineCount += 1;
      if (serial.length > 400) serial.shift();
      options.onSerial?.(clean);
      const failure = consoleFailure(clean);
      if (failure !== undefined && fatal === undefined)
        fatal = { kind: failure, line: lineCount, at: performance.now(), complete: false };
      if (fatal !== undefined && failureComplete(clean)) fatal.complete = true;
      const probe = /OPENKEY-TEST (.*)$/.exec(clean);
      if (probe && result.probe === undefined) result.probe = (probe[1] ?? '').trim();
      const match = BOOT_LINE.exec(clean);
      if (match && result.systemState === undefined) {
        result.systemState = match[1] ?? '';
        result.failedUnits = (match[2] ?? '').split(' ').filter(Boolean);
        result.secondsToReport = seconds();
        result.guestHealth = match[3] ?? 'unknown';
        // A key whose service listens on 127.0.0.1 only (kiosk) cannot be reached through hostfwd: the guest's own
        // check in the boot report is the health signal then.
        if (result.guestHealth === 'ok' && options.hostHealth === false)
          result.secondsToHealthy = result.secondsToReport;
      }
    },
  }).then(
    () => {
      exited = true;
    },
    (error: unknown) => {
      exited = true;
      exitError = error;
    },
  );

  try {
    const deadline = started + deadlineMs;
    while (
      performance.now() < deadline &&
      !exited &&
      // A panic or an emergency shell ends the boot: wait only for the rest of its trace.
      !(fatal !== undefined && (fatal.complete || performance.now() - fatal.at > 2000)) &&
      (result.secondsToHealthy === undefined ||
        result.systemState === undefined ||
        (options.probe !== undefined && result.probe === undefined))
    ) {
      options.signal?.throwIfAborted();
      if (result.secondsToHealthy === undefined) await sampleCpu();
      if (result.secondsToHealthy === undefined && options.hostHealth !== false) {
        try {
          const response = await fetch(`http://127.0.0.1:${hostPort}/api/health`, {
            signal: AbortSignal.timeout(3000),
          });
          if (response.ok) {
            result.secondsToHealthy = seconds();
            await sampleCpu();
            result.health = await response.json().catch(() => undefined);
          }
        } catch {
          // Not up yet.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    if (fatal !== undefined) {
      result.consoleFailure = fatal.kind;
      result.failureLines = failureExcerpt(serial, serial.length - 1 - (lineCount - fatal.line));
      result.reason = `${fatal.kind} on the serial console after ${Math.round((fatal.at - started) / 100) / 10} s:\n${result.failureLines.map((l) => `  | ${l}`).join('\n')}`;
    } else if (exited) {
      result.reason = `QEMU exited early${exitError instanceof Error ? `: ${exitError.message}` : ''}`;
    } else if (result.secondsToHealthy === undefined) {
      result.reason = `GET /api/health did not answer within ${deadlineMs / 1000} s`;
    } else if (result.systemState === undefined) {
      result.reason = `no boot report on the serial console within ${deadlineMs / 1000} s`;
    } else if (result.failedUnits.length > 0) {
      result.reason = `failed units: ${result.failedUnits.join(', ')}`;
    } else if (options.probe !== undefined && result.probe === undefined) {
      result.reason = `the boot-test probe printed nothing within ${deadlineMs / 1000} s`;
    } else {
      result.passed = true;
      if (options.whileReady !== undefined) {
        await options.whileReady({ hostPort, ports, monitor: (command) => monitorCommand(monitorSocket, command) });
      }
    }
  } finally {
    if (result.secondsToHealthy === undefined) await sampleCpu();
    result.secondsRun = seconds();
    stop.abort();
    await qemu;
    options.signal?.removeEventListener('abort', onOuterAbort);
    result.serialTail = serial.slice(-60);
    await rm(scratch, { recursive: true, force: true });
  }
  if (exitError !== undefined && (exitError as { code?: string }).code === 'E_TOOL_MISSING') {
    throw exitError;
  }
  return result;
}

/** Linux's USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on every architecture that has QEMU). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * User + system CPU seconds from the text of /proc/PID/stat; undefined when it is not such a line. The command name
 * (field 2) is in parentheses and may hold spaces or parentheses, so the fields are counted after its last ')'.
 */
export function cpuSecondsFromStat(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After the name: state is field 3, utime field 14, stime field 15.
  const fields = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  if (!Number.isInteger(utime) || !Number.isInteger(stime) || fields[12] === undefined) return undefined;
  return Math.round(((utime + stime) / CLOCK_TICKS_PER_SECOND) * 10) / 10;
}

/**
 * "QEMU CPU 129.5 s, 41 % of a core" for a boot's log line: how much of the wall time the host let the guest run.
 * Empty when either figure is missing.
 */
export function describeQemuCpu(wallSeconds: number | undefined, cpuSeconds: number | undefined): string {
  if (wallSeconds === undefined || cpuSeconds === undefined || wallSeconds <= 0) return '';
  return `QEMU CPU ${cpuSeconds} s, ${Math.round((cpuSeconds / wallSeconds) * 100)} % of a core`;
}

/** A running process's CPU seconds so far, or undefined once it has gone. */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  return cpuSecondsFromStat(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''));
}

/** Distinct colours among a sample of a binary PPM's pixels, and the share of (near) black ones. */
export function ppmStats(ppm: Buffer): { colours: number; blackShare: number } {
  const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(ppm.subarray(0, 64).toString('latin1'));
  if (header === null) throw new Error('not a binary PPM');
  const offset = header[0].length;
  const pixels = (ppm.length - offset) / 3;
  const colours = new Set<number>();
  let black = 0;
  let samples = 0;
  for (let i = 0; i < pixels; i += 97) {
    const at = offset + i * 3;
    const [r = 0, g = 0, b = 0] = [ppm[at], ppm[at + 1], ppm[at + 2]];
    colours.add((r << 16) | (g << 8) | b);
    if (r + g + b < 30) black += 1;
    samples += 1;
  }
  return { colours: colours.size, blackShare: samples === 0 ? 1 : black / samples };
}

/**
 * Waits until the guest's screen shows a graphical page (many colours, mostly not black: a browser, not a text
 * console), then saves it as PNG. Gives up after `timeoutMs` and saves whatever is on the screen.
 */
export async function screenshotWhenGraphical(
  vm: RunningVm,
  file: string,
  timeoutMs: number,
): Promise<{ graphical: boolean }> {
  const { readFile } = await import('node:fs/promises');
  const probe = path.join(os.tmpdir(), `openkey-screen-${process.pid}.ppm`);
  const deadline = performance.now() + timeoutMs;
  let graphical = false;
  while (performance.now() < deadline) {
    await vm.monitor(`screendump ${probe}`);
    const stats = ppmStats(await readFile(probe).catch(() => Buffer.alloc(0)));
    if (stats.colours > 24 && stats.blackShare < 0.5) {
      graphical = true;
      // Let the page finish painting.
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
  await vm.monitor(`screendump ${file} -f png`);
  await rm(probe, { force: true });
  return { graphical };
}

/** Fails loudly when a firmware file the boot tests need is missing (a missing tool fails, never skips). */
export async function requireFirmware(firmware: Firmware): Promise<void> {
  if (firmware !== 'uefi') return;
  const { access } = await import('node:fs/promises');
  for (const file of [OVMF_CODE, OVMF_VARS]) {
    await access(file).catch(() => {
      throw new OpenKeyError('E_TOOL_MISSING', `${file} is missing`, { hint: 'apt-get install ovmf' });
    });
  }
}
