/**
 * scripts/boot-test's command line and the persistence verdict, from probe lines as the key's test-probe unit prints
 * them (image/overlay/common/usr/local/lib/openkey/test-probe). The boots themselves are in tests/e2e.
 */
import { describe, expect, it } from 'vitest';
import { judgePersistence, parseBootTestArgs, parseProbe, PortalWatch } from '../../builder/tools/boot-test.ts';
import { cpuSecondsFromStat, describeQemuCpu, type BootTestResult } from '../../builder/tools/qemu.ts';

const healthy = (probe?: string): BootTestResult => ({
  firmware: 'bios',
  media: 'usb',
  passed: true,
  failedUnits: [],
  serialTail: [],
  ...(probe === undefined ? {} : { probe }),
});
const GiB = 1024 ** 3;
/** A 2 GiB stick from the persistence partition's start (sector 921600 of the μ key) to its end. */
const ROOM = 2 * GiB - 921600 * 512;

describe('boot-test arguments', () => {
  it('boots an ISO in all four combinations unless told, with a 300 s deadline', () => {
    const plan = parseBootTestArgs(['out/key.iso']);
    expect(plan.kind).toBe('matrix');
    if (plan.kind !== 'matrix') return;
    expect(plan.combos.map((c) => `${c.firmware}-${c.media}`)).toEqual(['bios-cd', 'bios-usb', 'uefi-cd', 'uefi-usb']);
    expect(plan.common.deadlineMs).toBe(300_000);
  });

  it('boots a disk with persistence under the firmwares named, as the user named', () => {
    const plan = parseBootTestArgs([
      'key.img',
      '--persistence',
      '--only',
      'uefi',
      '--user',
      'eleve',
      '--deadline',
      '600',
    ]);
    expect(plan).toMatchObject({ kind: 'persistence', disk: 'key.img', firmwares: ['uefi'], user: 'eleve' });
    expect(plan.common.deadlineMs).toBe(600_000);
  });

  it('runs a Jupyter check during each boot when asked', () => {
    const plan = parseBootTestArgs(['key.iso', '--only', 'bios-cd', '--jupyter', 'hub', '--students', '3']);
    expect(plan).toMatchObject({ kind: 'matrix', jupyter: { mode: 'hub', port: 8888, students: 3 } });
    expect(parseBootTestArgs(['key.iso', '--jupyter', 'single', '--jupyter-port', '9999'])).toMatchObject({
      jupyter: { mode: 'single', port: 9999 },
    });
  });

  it.each([
    [
      ['key.iso', '--only', 'bios-sata'],
      '--only bios-sata: name combinations from bios-cd, bios-usb, uefi-cd, uefi-usb',
    ],
    [
      ['key.img', '--persistence', '--only', 'bios-usb'],
      '--only bios-usb: with --persistence, name firmwares: bios, uefi',
    ],
    [['key.img', '--persistence', '--user', 'Robert; rm'], '--user Robert; rm is not a user name'],
    [['key.iso', '--user', 'student'], '--user goes with --persistence'],
    [['key.img', '--persistence', '--kiosk'], '--kiosk is for the ISO boots, not --persistence'],
    [['key.iso', '--deadline', 'soon'], '--deadline expects a whole number of at least 10, got "soon"'],
    [['key.iso', '--persistance'], 'unknown option --persistance'],
    [['key.iso', '--jupyter', 'lab'], '--jupyter lab: give hub or single (services.jupyter.mode)'],
    [['key.iso', '--students', '3'], '--jupyter-port and --students go with --jupyter hub|single'],
    [
      ['key.iso', '--jupyter', 'hub', '--students', 'many'],
      '--students expects a whole number of at least 1, got "many"',
    ],
    [[], 'which image? none was given'],
    [['a.iso', 'b.iso'], 'one image at a time; also given: b.iso'],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseBootTestArgs(argv)).toThrow(message);
  });
});

describe('the kiosk check', () => {
  it('takes --kiosk for the ISO boots', () => {
    expect(parseBootTestArgs(['key.iso', '--only', 'bios-cd', '--kiosk'])).toMatchObject({
      kind: 'matrix',
      kiosk: true,
    });
    expect(parseBootTestArgs(['key.iso'])).not.toHaveProperty('kiosk');
  });

  // The analysis service's request lines as fastify logs them and the boot report copies them to the serial console.
  const log = (reqId: string, rest: string) =>
    `OPENKEY-LOG {"level":30,"time":1796162024184,"pid":612,"hostname":"openkey","reqId":"${reqId}",${rest}}`;
  const asked = (reqId: string, url: string) =>
    log(
      reqId,
      `"req":{"method":"GET","url":"${url}","host":"127.0.0.1:8080","remoteAddress":"127.0.0.1","remotePort":39886},"msg":"incoming request"`,
    );
  const done = (reqId: string, status: number) =>
    log(reqId, `"res":{"statusCode":${status}},"responseTime":6.4,"msg":"request completed"`);

  it.each<[string, string[], boolean]>([
    ['the portal served', [asked('req-7', '/'), done('req-7', 200)], true],
    ['the portal from the browser cache', [asked('req-7', '/'), done('req-7', 304)], true],
    ['only the boot scripts health checks', [asked('req-1', '/api/health'), done('req-1', 200)], false],
    ['the portal asked for, not answered yet', [asked('req-7', '/')], false],
    ['the portal refused', [asked('req-7', '/'), done('req-7', 404)], false],
    ['another request answered', [asked('req-7', '/'), done('req-8', 200)], false],
    ['a line cut on the serial console', [asked('req-7', '/').slice(0, 80), done('req-7', 200)], false],
    ['the same text outside a log line', [asked('req-7', '/').slice(12), done('req-7', 200).slice(12)], false],
  ])('%s: served %s', (_name, lines, served) => {
    const watch = new PortalWatch();
    for (const line of lines) watch.line(line);
    expect(watch.served).toBe(served);
  });
});

describe('the persistence verdict', () => {
  const wrote = 'wrote n1 persistence=/dev/sda4 bytes=1616556032';
  const read = 'read n1 persistence=/dev/sda4 bytes=1616556032';

  it('parses the probe lines', () => {
    expect(parseProbe(wrote)).toEqual({ verb: 'wrote', word: 'n1', device: '/dev/sda4', bytes: 1616556032 });
    expect(parseProbe('read MISSING persistence=none bytes=0')).toMatchObject({ word: 'MISSING', device: 'none' });
    expect(parseProbe(`${wrote} home=/home`)).toMatchObject({ word: 'n1', bytes: 1616556032 });
    expect(parseProbe('wrote FAILED persistence=/dev/sda4 bytes=1 home=/')).toMatchObject({ word: 'FAILED' });
    expect(parseProbe('garbage')).toBeUndefined();
  });

  it('passes when the file came back and the file system filled the disk', () => {
    const verdict = judgePersistence({ nonce: 'n1', write: healthy(wrote), read: healthy(read), roomBytes: ROOM });
    expect(verdict).toEqual({ passed: true, persistenceBytes: 1616556032 });
  });

  it('fails when the file did not survive the reboot', () => {
    const verdict = judgePersistence({
      nonce: 'n1',
      write: healthy(wrote),
      read: healthy('read MISSING persistence=/dev/sda4 bytes=1616556032'),
      roomBytes: ROOM,
    });
    expect(verdict.passed).toBe(false);
    expect(verdict.reason).toBe(
      'second boot: the file did not survive the reboot (the probe said "read MISSING persistence=/dev/sda4 bytes=1616556032")',
    );
  });

  it('fails when the persistence partition did not grow', () => {
    const small = 'read n1 persistence=/dev/sda4 bytes=62914560';
    const verdict = judgePersistence({
      nonce: 'n1',
      write: healthy(wrote),
      read: healthy(small),
      roomBytes: ROOM,
    });
    expect(verdict.reason).toBe(
      `the persistence file system holds 62914560 bytes; it should have grown to at least ${Math.floor(ROOM * 0.9)}`,
    );
  });

  it('judges a single boot (a written key) by its write and its size alone', () => {
    expect(judgePersistence({ nonce: 'n1', write: healthy(wrote), roomBytes: ROOM, once: true }).passed).toBe(true);
    expect(judgePersistence({ nonce: 'n1', write: healthy(wrote), roomBytes: 4 * GiB, once: true }).reason).toMatch(
      /^the persistence file system holds 1616556032 bytes; it should have grown to at least \d+$/,
    );
    expect(judgePersistence({ nonce: 'n1', write: healthy(wrote), roomBytes: ROOM }).reason).toBe('no second boot');
  });

  it('fails when nothing was mounted as persistence, or a boot was unhealthy', () => {
    expect(
      judgePersistence({ nonce: 'n1', write: healthy('wrote n1 persistence=none bytes=0'), roomBytes: GiB }).reason,
    ).toBe('first boot: no persistence partition was mounted');
    expect(
      judgePersistence({
        nonce: 'n1',
        write: healthy(wrote),
        read: { ...healthy(), passed: false, reason: 'GET /api/health did not answer within 400 s' },
        roomBytes: GiB,
      }).reason,
    ).toBe('second boot: GET /api/health did not answer within 400 s');
  });
});

describe("QEMU's CPU time, from /proc/PID/stat", () => {
  // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
  const stat = (name: string, utime: number, stime: number) =>
    `4242 (${name}) R 1 4242 4242 0 -1 4194304 121 0 0 0 ${utime} ${stime} 0 0 20 0 3 0 1451232 3133440 386`;

  it.each([
    ['qemu-system-x86', 12_524, 428, 129.5],
    ['a (b) c', 1, 0, 0],
    ['', 250, 50, 3],
  ])('reads utime + stime of %j in seconds', (name, utime, stime, seconds) => {
    expect(cpuSecondsFromStat(stat(name, utime, stime))).toBe(seconds);
  });

  it.each([[''], ['4242 qemu R 1'], ['4242 (qemu) R 1 4242 4242 0 -1 4194304 121 0 0 0 12524']])(
    'gives undefined for %j (no process, no name, cut short)',
    (text) => {
      expect(cpuSecondsFromStat(text)).toBeUndefined();
    },
  );

  it('says how much of a core the guest had', () => {
    expect(describeQemuCpu(314, 129.5)).toBe('QEMU CPU 129.5 s, 41 % of a core');
    expect(describeQemuCpu(undefined, 129.5)).toBe('');
    expect(describeQemuCpu(314, undefined)).toBe('');
  });
});
