import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../builder/cli.ts';
import type { CommandIo } from '../../builder/commands/types.ts';
import { openTree, tempDir } from './helpers.ts';

const dir = tempDir();
afterAll(() => dir.remove());

function fakeIo(cwd: string, signal = new AbortController().signal): CommandIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (text: string) => void (io.stdout += text),
    err: (text: string) => void (io.stderr += text),
    cwd,
    env: { SOURCE_DATE_EPOCH: '1596067200' },
    signal,
    isTTY: false,
  };
  return io;
}

function fresh(name: string): string {
  const path = join(dir.path, name);
  mkdirSync(path);
  return path;
}

describe('openkey synth', () => {
  it('writes the file and dataset.json, with progress on stderr and events/s and MB/s on stdout', async () => {
    const cwd = fresh('ok');
    const io = fakeIo(cwd);
    const code = await main(['synth', '--process', 'zll', '--events', '5k', '--seed', '4', '--out', 'zll.root'], io);
    expect(code).toBe(0);
    expect(readdirSync(cwd).sort()).toEqual(['dataset.json', 'zll.root']);
    expect(io.stdout).toMatch(
      /^wrote zll\.root: 5,000 events, [\d.]+ MB in [\d.]+ s \([\d,]+ events\/s, [\d.]+ MB\/s\)\n/,
    );
    expect(io.stdout).toContain(`updated ${join(cwd, 'dataset.json')}\n`);
    expect(io.stderr).toMatch(/synth zll: 100\.0% {2}5,000\/5,000 events {2}[\d,]+ events\/s {2}ETA 0 s\n$/);
    const { tree } = await openTree(join(cwd, 'zll.root'));
    expect(tree.fEntries).toBe(5000);
  });

  it('adds a second file to the same dataset.json', async () => {
    const cwd = fresh('merge');
    expect(await main(['synth', '--process', 'zll', '--events', '200', '--out', 'a.root'], fakeIo(cwd))).toBe(0);
    expect(await main(['synth', '--process', 'data-mix', '--events', '200', '--out', 'b.root'], fakeIo(cwd))).toBe(0);
    const { readFileSync } = await import('node:fs');
    const json = JSON.parse(readFileSync(join(cwd, 'dataset.json'), 'utf8')) as {
      files: Record<string, { kind: string }>;
    };
    expect(Object.keys(json.files).sort()).toEqual(['a.root', 'b.root']);
    expect(json.files['b.root']!.kind).toBe('data');
  });

  const cases: [string, string[], string][] = [
    [
      'unknown process',
      ['--process', 'zl', '--events', '10', '--out', 'x.root'],
      'openkey: error[E_USAGE]: unknown process "zl"\n  hint: did you mean "zll"? (processes: zll, wlnu, ttbar, hyy, zz4l, mystery, data-mix)\n',
    ],
    [
      'unknown schema',
      ['--schema', 'atlas13-mni', '--process', 'zll', '--events', '10', '--out', 'x.root'],
      'openkey: error[E_USAGE]: unknown schema "atlas13-mni"\n  hint: did you mean "atlas13-mini"? (schemas: atlas13-mini)\n',
    ],
    [
      'no events',
      ['--process', 'zll', '--events', '0', '--out', 'x.root'],
      'openkey: error[E_USAGE]: events must be a positive integer, got 0\n  hint: for example --events 100000\n',
    ],
    [
      'negative events',
      ['--process', 'zll', '--events=-5', '--out', 'x.root'],
      'openkey: error[E_USAGE]: --events expects a whole number, got "-5"\n  hint: for example --events 250000 or --events 10M\n',
    ],
    [
      'missing process',
      ['--events', '10', '--out', 'x.root'],
      'openkey: error[E_USAGE]: --process is required\n  hint: one of zll, wlnu, ttbar, hyy, zz4l, data-mix\n',
    ],
    [
      'missing directory',
      ['--process', 'zll', '--events', '10', '--out', 'no/such/dir/x.root'],
      'openkey: error[E_USAGE]: cannot write no/such/dir/x.root: directory CWD/no/such/dir does not exist\n  hint: create it first: mkdir -p CWD/no/such/dir\n',
    ],
    [
      'parent is a file',
      ['--process', 'zll', '--events', '10', '--out', 'plain/x.root'],
      'openkey: error[E_USAGE]: cannot write plain/x.root: CWD/plain is not a directory\n',
    ],
    [
      'output is a directory',
      ['--process', 'zll', '--events', '10', '--out', 'sub'],
      'openkey: error[E_USAGE]: cannot write sub: it is a directory\n  hint: give a file name, e.g. out/zll.root\n',
    ],
  ];

  it.each(cases)('%s: exit 2, a clear message, nothing written', async (_name, args, message) => {
    const cwd = fresh(`bad-${_name.replaceAll(' ', '-')}`);
    writeFileSync(join(cwd, 'plain'), 'not a directory');
    mkdirSync(join(cwd, 'sub'));
    const before = readdirSync(cwd).sort();
    const io = fakeIo(cwd);
    expect(await main(['synth', ...args], io)).toBe(2);
    expect(io.stderr).toBe(message.replaceAll('CWD', cwd));
    expect(io.stdout).toBe('');
    expect(readdirSync(cwd).sort()).toEqual(before);
  });

  it('stops on interruption with exit 1 and removes the partial file', async () => {
    const cwd = fresh('interrupted');
    const controller = new AbortController();
    controller.abort();
    const io = fakeIo(cwd, controller.signal);
    expect(await main(['synth', '--process', 'ttbar', '--events', '10000', '--out', 'tt.root'], io)).toBe(1);
    expect(io.stderr).toBe('openkey: error[E_INTERRUPTED]: interrupted after 4096 events\n');
    expect(readdirSync(cwd)).toEqual([]);
  });
});
