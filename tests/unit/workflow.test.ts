import { accessSync, constants, existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { validateWorkflow } from '@action-validator/core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { commands } from '../../builder/commands/index.ts';
import { parseBootTestArgs } from '../../builder/tools/boot-test.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FILE = path.join(ROOT, '.github/workflows/keys.yml');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Workflow {
  on: { push: { tags: string[] } };
  jobs: Record<
    string,
    {
      if?: string;
      needs?: string[];
      steps: Step[];
      strategy?: { matrix: { include: ({ variant: string } & Record<string, string>)[] } };
    }
  >;
}

describe('the GitHub Actions workflow', () => {
  it('is a valid workflow (action-validator, the schema GitHub publishes)', async () => {
    expect(validateWorkflow(await readFile(FILE, 'utf8')).errors).toEqual([]);
  });

  it('is refused when broken, so the check above can fail', async () => {
    const broken = (await readFile(FILE, 'utf8')).replace('runs-on: ubuntu-24.04', 'runs-onn: ubuntu-24.04');
    expect(validateWorkflow(broken).errors.length).toBeGreaterThan(0);
  });

  it('builds every shipped variant, keeps the stage cache, boots each key and releases on tags', async () => {
    const workflow = parse(await readFile(FILE, 'utf8')) as Workflow;
    // the variants mu, s, m, l (manifests named NAME-… are extra keys built on demand, base.yaml is no key)
    const shipped = (await readdir(path.join(ROOT, 'manifests')))
      .filter((name) => name.endsWith('.yaml') && name !== 'base.yaml' && !name.includes('-'))
      .map((name) => name.replace(/\.yaml$/, ''))
      .sort();
    const build = workflow.jobs.build!;
    expect(build.strategy?.matrix.include.map((entry) => entry.variant).sort()).toEqual(shipped);
    const step = (predicate: (s: Step) => boolean) => build.steps.find(predicate);
    expect(step((s) => s.uses?.startsWith('actions/cache@') === true)?.with?.path).toBe('.stage-cache');
    expect(step((s) => s.run?.includes('scripts/build manifests/${{ matrix.variant }}.yaml') === true)).toBeDefined();
    expect(step((s) => s.run?.includes('scripts/boot-test') === true)).toBeDefined();
    const release = workflow.jobs.release!;
    expect(workflow.on.push.tags).toEqual(['v*']);
    expect(release.if).toBe("startsWith(github.ref, 'refs/tags/v')");
    expect(release.needs).toContain('build');
    const script = release.steps.map((s) => s.run ?? '').join('\n');
    for (const part of ['SHA256SUMS', '*.report.html', '*.{iso,img,qcow2,ova}', 'gh release create'])
      expect(script).toContain(part);
  });

  it('runs only scripts, groups, manifests, commands and options that exist today', async () => {
    const workflow = parse(await readFile(FILE, 'utf8')) as Workflow;
    const groups = [
      ...(await readFile(path.join(ROOT, 'scripts/host-packages.txt'), 'utf8')).matchAll(/^\[(\w+)\]/gm),
    ].map((m) => m[1]);
    const npmScripts = Object.keys(
      (JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
        .scripts,
    );
    /** The command lines of every run step, once per matrix entry, with the entry's values put in. */
    const lines: string[] = [];
    for (const job of Object.values(workflow.jobs))
      for (const entry of job.strategy?.matrix.include ?? [{}])
        for (const step of job.steps)
          for (const line of (step.run ?? '').replace(/\\\n\s*/g, ' ').split('\n'))
            lines.push(
              line
                .replace(
                  /\$\{\{\s*matrix\.([\w-]+)\s*\}\}/g,
                  (_, key: string) => (entry as Record<string, string>)[key]!,
                )
                .replace(/\$\{\{[^}]*\}\}/g, 'X'),
            );
    const invocations = lines.flatMap((line) =>
      line
        .split(/&&|\|\||;|\|/)
        .map((part) => part.replace(/>.*$/, '').trim().split(/\s+/).filter(Boolean))
        .filter((words) => words.length > 0),
    );
    const checked = new Set<string>();
    for (const [program, ...args] of invocations) {
      if (program!.startsWith('scripts/')) {
        const file = path.join(ROOT, program!);
        expect(existsSync(file), program).toBe(true);
        accessSync(file, constants.X_OK);
        checked.add(program!);
      }
      if (program === 'scripts/install-host-packages') for (const group of args) expect(groups).toContain(group);
      if (program === 'scripts/boot-test') expect(() => parseBootTestArgs(args)).not.toThrow();
      const cli = program === 'scripts/build' ? ['build', ...args] : program === 'node' ? args.slice(1) : undefined;
      if (cli !== undefined) {
        if (program === 'node') expect(args[0]).toBe('bin/openkey.mjs');
        const [name, ...rest] = cli;
        expect(Object.keys(commands), `openkey ${name}`).toContain(name);
        const { command } = await commands[name!]!.load();
        const { positionals } = parseArgs({
          args: rest,
          options: command.options,
          allowPositionals: true,
          strict: true,
        });
        if (name === 'build') expect(existsSync(path.join(ROOT, positionals[0]!)), positionals[0]).toBe(true);
        checked.add(`openkey ${name}`);
      }
      if (program === 'npm' && args[0] !== 'ci') expect(npmScripts).toContain(args[0] === 'run' ? args[1] : args[0]);
    }
    // the checks above saw every kind of line they are for
    expect([...checked].sort()).toEqual([
      'openkey build',
      'openkey cache',
      'scripts/boot-test',
      'scripts/build',
      'scripts/install-host-packages',
    ]);
  });

  it('the check above fails on a boot-test flag the script does not know', () => {
    expect(() => parseBootTestArgs(['out/x.iso', '--only', 'bios-cd', '--guest-helth'])).toThrow(/unknown option/);
  });
});
