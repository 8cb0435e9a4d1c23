/**
 * The manifest fuzz suite of issue 11: hostile manifests, written by hand (hardening-cases.ts, exact messages) and
 * generated (every value that reaches GRUB, apt, useradd or a terminal, crossed with characters that would break
 * out of it). Every case must end in exit 2 with one pointer line and the count line, no stack trace, nothing that
 * could repaint the terminal, within 5 s. The cases that used to block, hang or fill memory also run as their own
 * process, whose peak RSS must stay under 300 MB.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../builder/cli.ts';
import { TOOLCHAIN_ROOT } from '../../builder/manifest/confine.ts';
import { HOSTILE_CASES } from './hardening-cases.ts';
import { HEAD } from './manifest-cases.ts';
import { scratchProject } from './scratch.ts';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function mainText(yaml: string): string {
  return yaml.startsWith('extends:') ? `${yaml}name: t\n` : HEAD + yaml;
}

async function check(folder: string, args: string[] = [], signal?: AbortSignal): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const started = performance.now();
  const code = await main(['check', ...args, 'main.yaml'], {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
    cwd: folder,
    env: {},
    signal: signal ?? new AbortController().signal,
    isTTY: false,
  });
  return { code, stdout, stderr, ms: performance.now() - started };
}

function anonymise(text: string, folder: string): string {
  return text.split(path.dirname(folder)).join('<project>').split(TOOLCHAIN_ROOT).join('<toolchain>');
}

/** The checks every hostile case must pass, whatever its message. */
function expectCleanRefusal(outcome: Outcome): string {
  expect(outcome.code).toBe(2);
  expect(outcome.stdout).toBe('');
  expect(outcome.stderr).not.toMatch(/internal error|\n\s+at /);
  // Nothing but printable text and the line ends: no ANSI sequence, no bidi override, no NUL.
  // eslint-disable-next-line no-control-regex
  expect(outcome.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  const lines = outcome.stderr.split('\n');
  expect(lines.at(-1)).toBe('');
  expect(lines.at(-2)).toMatch(/^main\.yaml: 1 problem$/);
  expect(lines).toHaveLength(3);
  expect(outcome.ms).toBeLessThan(5000);
  return lines[0]!;
}

// The first run of the CLI loads and compiles the command modules; the 5 s bound is on each case's own work.
beforeAll(async () => {
  await check(scratchProject({ 'main.yaml': HEAD }));
}, 60_000);

describe('hostile manifests (hand-written, exact messages)', () => {
  it.each(HOSTILE_CASES.map((testCase) => [testCase.name, testCase] as const))('%s', async (_name, testCase) => {
    const folder = scratchProject({ 'main.yaml': mainText(testCase.yaml) });
    testCase.setup?.(path.dirname(folder));
    const outcome = await check(folder);
    const line = expectCleanRefusal(outcome);
    expect(anonymise(line, folder)).toBe(testCase.expected);
  });
});

/** Characters that end a word, a line, a quote or a command in GRUB, apt, sh, or repaint a terminal. */
const BREAKERS = [';', '{', '}', '$', '#', "'", '"', '\\', ' ', '\n', '\t', '\u001b[31m', '\u0000', '\u202e', '|', '`'];

/** Where a value goes, and how to write it there. */
const TARGETS: { field: string; yaml: (value: string) => string; breakers?: string[] }[] = [
  { field: 'boot.cmdline[0]', yaml: (v) => `boot:\n  cmdline: [${JSON.stringify(`quiet${v}x`)}]\n` },
  {
    field: 'boot.menu[0].cmdline[0]',
    yaml: (v) => `boot:\n  menu:\n    - {id: live, label: L, cmdline: [${JSON.stringify(`a${v}b`)}]}\n`,
  },
  { field: 'base.mirror', yaml: (v) => `base:\n  mirror: ${JSON.stringify(`http://deb.debian.org/${v}debian`)}\n` },
  { field: 'base.security', yaml: (v) => `base:\n  security: ${JSON.stringify(`http://x/${v}y`)}\n` },
  { field: 'system.hostname', yaml: (v) => `system:\n  hostname: ${JSON.stringify(`key${v}x`)}\n` },
  { field: 'label', yaml: (v) => `label: ${JSON.stringify(`KEY${v}X`)}\n` },
  {
    field: 'system.users[0].name',
    yaml: (v) =>
      `system:\n  users:\n    - {name: ${JSON.stringify(`s${v}x`)}, autologin: false, groups: [], shell: /bin/sh}\n`,
  },
  {
    field: 'system.users[0].groups[0]',
    yaml: (v) =>
      `system:\n  users:\n    - {name: s, autologin: false, groups: [${JSON.stringify(`g${v}x`)}], shell: /bin/sh}\n`,
  },
  {
    field: 'system.users[0].shell',
    yaml: (v) =>
      `system:\n  users:\n    - {name: s, autologin: false, groups: [], shell: ${JSON.stringify(`/bin/sh${v}x`)}}\n`,
  },
  { field: 'packages.x[0]', yaml: (v) => `packages:\n  x: [${JSON.stringify(`vim${v}x`)}]\n` },
  { field: 'system.locale', yaml: (v) => `system:\n  locale: ${JSON.stringify(`en_US${v}`)}\n` },
  { field: 'system.timezone', yaml: (v) => `system:\n  timezone: ${JSON.stringify(`Europe/Paris${v}`)}\n` },
  { field: 'system.keyboard', yaml: (v) => `system:\n  keyboard: ${JSON.stringify(`us${v}`)}\n` },
  {
    field: 'datasets[0].url',
    yaml: (v) =>
      `datasets:\n  - {id: d, title: D, description: x, licence: CC0, source: url, url: ${JSON.stringify(`https://h/${v}x.root`)}, sha256: ${'a'.repeat(64)}, size: 1}\n`,
    // Only fetch() sees a URL; what matters is that it stays one token of printable text.
    breakers: [' ', '\n', '\t', '\u001b[31m', '\u0000', '\u202e'],
  },
];
/** Fields where only control characters and line breaks are refused (any other text is quoted where written). */
const TEXT_TARGETS: { field: string; yaml: (value: string) => string }[] = [
  {
    field: 'boot.menu[0].label',
    yaml: (v) => `boot:\n  menu:\n    - {id: live, label: ${JSON.stringify(`Start${v}x`)}, cmdline: []}\n`,
  },
  { field: 'description', yaml: (v) => `description: ${JSON.stringify(`a${v}b`)}\n` },
  {
    field: 'docs[1].title',
    yaml: (v) => `docs:\n  - {id: x, title: ${JSON.stringify(`a${v}b`)}, path: ../content/docs/getting-started.md}\n`,
  },
];
const TEXT_BREAKERS = ['\u001b[31m', '\u0000', '\u202e', '\u0007', '\u009b'];
const ONE_LINE_BREAKERS = ['\n', '\t', '\u2028'];

const GENERATED = [
  ...TARGETS.flatMap((target) => (target.breakers ?? BREAKERS).map((breaker) => ({ ...target, breaker }))),
  ...TEXT_TARGETS.flatMap((target) => TEXT_BREAKERS.map((breaker) => ({ ...target, breaker }))),
  ...TEXT_TARGETS.filter((target) => target.field !== 'description').flatMap((target) =>
    ONE_LINE_BREAKERS.map((breaker) => ({ ...target, breaker })),
  ),
];

describe('hostile manifests (generated: every target × every breaking character)', () => {
  it(`has ${GENERATED.length} cases`, () => {
    expect(GENERATED.length).toBeGreaterThan(200);
  });
  // One scratch project for all: each case rewrites main.yaml.
  const folder = scratchProject({});
  it.each(GENERATED.map((c) => [`${c.field} with ${JSON.stringify(c.breaker)}`, c] as const))(
    '%s',
    async (_name, testCase) => {
      writeFileSync(path.join(folder, 'main.yaml'), HEAD + testCase.yaml(testCase.breaker));
      const line = expectCleanRefusal(await check(folder));
      expect(line).toMatch(new RegExp(`^main\\.yaml:\\d+:\\d+ ${testCase.field.replace(/[[\].]/g, '\\$&')}: `));
    },
  );
});

describe('reading stops', () => {
  it('on SIGINT or SIGTERM (an aborted signal), with an error instead of a stack', async () => {
    const folder = scratchProject({ 'main.yaml': HEAD });
    const controller = new AbortController();
    controller.abort(new Error('interrupted by SIGTERM'));
    const outcome = await check(folder, [], controller.signal);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toBe(
      'openkey: error[E_INTERRUPTED]: stopped while reading main.yaml: interrupted by SIGTERM\n',
    );
  });

  it("accepts an overlay with systemd's escaped unit names (a backslash) and links for the image", async () => {
    const folder = scratchProject({ 'main.yaml': HEAD + 'overlays: [../ov]\n' });
    const unit = path.join(path.dirname(folder), 'ov/etc/systemd/system');
    mkdirSync(unit, { recursive: true });
    writeFileSync(path.join(unit, 'dev-disk-by\\x2dlabel-DATA.mount'), '[Mount]\n');
    symlinkSync('/lib/systemd/system/graphical.target', path.join(unit, 'default.target'));
    const outcome = await check(folder);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
  });

  it('prints at most 100 problems, then counts the rest', async () => {
    const keys = Array.from({ length: 150 }, (_, i) => `  k${i}: 1\n`).join('');
    const folder = scratchProject({ 'main.yaml': HEAD + `media:\n${keys}` });
    const lines = (await check(folder)).stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(102);
    expect(lines.at(-2)).toBe('main.yaml:103:3 50 more problems not shown');
    expect(lines.at(-1)).toBe('main.yaml: 150 problems');
  });

  it('accepts a source outside the project once --allow-path names its folder', async () => {
    const folder = scratchProject({ 'main.yaml': HEAD + 'docs:\n  - {id: x, title: X, path: ../../elsewhere/x.md}\n' });
    const elsewhere = path.join(path.dirname(path.dirname(folder)), 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    writeFileSync(path.join(elsewhere, 'x.md'), '# x\n');
    expect((await check(folder)).code).toBe(2);
    const allowed = await check(folder, ['--allow-path', elsewhere]);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
  });
});

/** `openkey check` as its own process (check-rss.mjs), with its peak RSS in kilobytes. */
async function checkProcess(folder: string): Promise<Outcome & { rssKiB: number }> {
  const started = performance.now();
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [path.join(import.meta.dirname, 'check-rss.mjs'), 'check', 'main.yaml'],
      { cwd: folder, timeout: 20_000 },
    );
    return {
      code: 0,
      stdout,
      stderr,
      ms: performance.now() - started,
      rssKiB: Number(/maxrss=(\d+)/.exec(stdout)?.[1]),
    };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return {
      code: failure.code,
      stdout: failure.stdout,
      stderr: failure.stderr,
      ms: performance.now() - started,
      rssKiB: Number(/maxrss=(\d+)/.exec(failure.stdout)?.[1]),
    };
  }
}

describe('the cases that blocked, hung or filled memory, each as its own process', () => {
  const heavy = [
    'extends a FIFO',
    'extends /dev/urandom',
    '100 000 unknown keys (refused by size before parsing)',
    '5 000 unknown keys (refused by count, in linear time)',
    'a package list of 20 000 lines',
    'doc that is a FIFO in the project',
    'doc /root (refused before any walk)',
  ];
  it.each(heavy)('%s: exit 2 within 5 s of work and under 300 MB', async (name) => {
    const testCase = HOSTILE_CASES.find((candidate) => candidate.name === name)!;
    const folder = scratchProject({ 'main.yaml': mainText(testCase.yaml) });
    testCase.setup?.(path.dirname(folder));
    const outcome = await checkProcess(folder);
    expect(outcome.code).toBe(2);
    expect(anonymise(outcome.stderr.split('\n')[0]!, folder)).toBe(testCase.expected);
    expect(outcome.rssKiB).toBeGreaterThan(0);
    expect(outcome.rssKiB).toBeLessThan(300 * 1024);
    // Process start (tsx compiling the CLI) included; the refusal itself takes milliseconds.
    expect(outcome.ms).toBeLessThan(15_000);
  });

  it('a 50 MB package list: refused by size, the file never read whole', async () => {
    const folder = scratchProject({
      'main.yaml': HEAD + 'packages:\n  many:\n' + '    - abcdefghij\n'.repeat(3_000_000),
    });
    const outcome = await checkProcess(folder);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(/^main\.yaml:1:1 is 51000045 bytes, over the 256 KiB a manifest may have\n/);
    expect(outcome.rssKiB).toBeLessThan(300 * 1024);
  });
});
