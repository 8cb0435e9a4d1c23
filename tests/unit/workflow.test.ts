import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { validateWorkflow } from '@action-validator/core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

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
    { if?: string; needs?: string[]; steps: Step[]; strategy?: { matrix: { include: { variant: string }[] } } }
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
});
