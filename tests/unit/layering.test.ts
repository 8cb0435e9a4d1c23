import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: ROOT });

/** The messages of the layering rule for `source` linted as if it were the file `filePath` of the project. */
async function layering(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path.join(ROOT, filePath) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')
    .map((m) => m.message);
}

describe('layering lint rule', () => {
  it('fails the eslint command on a service module importing builder/ (exit 1, the rule named)', () => {
    // lints stdin under a path inside services/, so nothing is written into the tree
    const result = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/eslint/bin/eslint.js'),
        '--stdin',
        '--stdin-filename',
        'services/analysis/layering-probe.ts',
      ],
      { cwd: ROOT, input: "import { closest } from '../../builder/manifest/validate.ts';\nexport { closest };\n" },
    );
    expect(result.status).toBe(1);
    expect(result.stdout.toString()).toMatch(
      /'\.\.\/\.\.\/builder\/manifest\/validate\.ts' import is restricted from being used by a pattern\. services\/, apps\/, common\/ and rootio\/ must not import builder\/.*no-restricted-imports/s,
    );
  }, 60_000);

  it.each([
    [
      'services/analysis/probe.ts',
      "import { OpenKeyError } from '../../builder/errors.ts';",
      'must not import builder/',
    ],
    ['rootio/read/probe.ts', "import { x } from '../../builder/synth/index.ts';", 'must not import builder/'],
    ['common/probe.ts', "import { x } from '../builder/plan/index.ts';", 'must not import builder/'],
    ['apps/portal/probe.ts', "import { x } from '../../builder/stages/iso.ts';", 'must not import builder/'],
    ['builder/build-probe.ts', "import { x } from './commands/plan.ts';", 'must not import commands/'],
    ['builder/stages/probe.ts', "import { x } from '../commands/doctor.ts';", 'must not import commands/'],
    ['apps/portal/probe.ts', "import { buildApp } from '../../services/analysis/app.ts';", 'only the service contract'],
    [
      'apps/shared/api.ts',
      "import type { X } from '../../services/analysis/analyses.ts';",
      'only the service contract',
    ],
    ['apps/shared/api.ts', "import { x } from '../../services/analysis/schemas.ts';", 'only the service contract'],
  ])('refuses in %s: %s', async (file, line, message) => {
    const messages = await layering(file, `${line}\nexport { };\n`);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(message);
  });

  it.each([
    ['builder/cli.ts', "import { commands } from './commands/index.ts';"],
    ['builder/commands/probe.ts', "import { command } from './plan.ts';"],
    ['builder/stages/probe.ts', "import { OpenKeyError } from '../../common/errors.ts';"],
    ['services/analysis/probe.ts', "import { closest } from '../../common/suggest.ts';"],
    ['apps/portal/probe.ts', "import type { X } from '../../services/analysis/api.ts';"],
  ])('allows in %s: %s', async (file, line) => {
    expect(await layering(file, `${line}\nexport { };\n`)).toEqual([]);
  });
});
