import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript, since it runs before tsx (bin/cli-bundle.mjs)
import { buildBundle, freshEntry, pinImportMeta } from '../../bin/cli-bundle.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/openkey.mjs');
const run = promisify(execFile);

describe('the CLI bundle', () => {
  it('pins import.meta to the source file, but not inside a string', () => {
    const file = '/repo/builder/plan/survey.ts';
    const source = [
      "const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');",
      'const here = import.meta.dirname + import.meta.filename;',
      `const header = "const require = createRequire(import.meta.url);";`,
    ].join('\n');
    expect(pinImportMeta(source, file).split('\n')).toEqual([
      `const root = path.resolve(path.dirname(fileURLToPath("file:///repo/builder/plan/survey.ts")), '../..');`,
      'const here = "/repo/builder/plan" + "/repo/builder/plan/survey.ts";',
      `const header = "const require = createRequire(import.meta.url);";`,
    ]);
  });

  it('is fresh when made, stale when a recorded source differs', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'openkey-bundle-'));
    expect(freshEntry(dir)).toBeUndefined();
    const entry = await buildBundle(dir);
    expect(freshEntry(dir)).toBe(entry);
    // Split at the commands: the entry does not import the write command's packages (koffi) itself.
    expect(readFileSync(entry, 'utf8')).not.toMatch(/from "koffi"/);
    const current = path.join(dir, 'current.json');
    const text = readFileSync(current, 'utf8');
    // current.json lists every source with its size and mtime; the CLI's entry is among them.
    expect(text).toContain('["builder/cli.ts",');
    writeFileSync(current, text.replace(/\["builder\/cli\.ts",\d+,/, '["builder/cli.ts",1,'));
    expect(freshEntry(dir)).toBeUndefined();
    writeFileSync(current, text.replace(/\["builder\/cli\.ts",/, '["builder/no-such-file.ts",'));
    expect(freshEntry(dir)).toBeUndefined();
    writeFileSync(current, text);
    rmSync(entry);
    expect(freshEntry(dir)).toBeUndefined();
  }, 120_000);

  it('imports a .ts file named at run time from bundled code (importSource), where a plain import fails', async () => {
    // The service stage imports services/analysis/bundle.ts at run time: from the CLI's bundle, plain Node runs it.
    const esbuild = await import('esbuild');
    const work = path.join(ROOT, '.cache', `import-source-test-${process.pid}`);
    mkdirSync(work, { recursive: true });
    try {
      const bundled = path.join(work, 'import-source.mjs');
      await esbuild.build({
        entryPoints: [path.join(ROOT, 'builder/util/import-source.ts')],
        outfile: bundled,
        bundle: true,
        platform: 'node',
        format: 'esm',
        packages: 'external',
        logLevel: 'silent',
      });
      const fixture = path.join(ROOT, 'tests/unit/fixtures/typed-module.ts');
      const script = (how: string) =>
        `import { importSource } from ${JSON.stringify(bundled)};\n` +
        `const m = await ${how}(${JSON.stringify(fixture)});\nconsole.log(m.answer);`;
      const node = (source: string) => run(process.execPath, ['--input-type=module', '-e', source], { cwd: work });
      expect((await node(script('importSource'))).stdout).toBe('42\n');
      const plain = `import { pathToFileURL } from 'node:url';\nconst load = (f) => import(pathToFileURL(f).href);\n`;
      await expect(node(plain + script('load').replace(/^import \{ importSource \}.*\n/, ''))).rejects.toThrow(
        /ERR_UNKNOWN_FILE_EXTENSION/,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);

  it('gives the same answers as the sources through tsx', async () => {
    // plan resolves the project's files from import.meta (PROJECT_ROOT): the bundle must find the same ones.
    const args = [BIN, 'plan', '--json', 'manifests/s.yaml'];
    const bundled = await run(process.execPath, args, { cwd: ROOT });
    const fromSources = await run(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, OPENKEY_NO_BUNDLE: '1' },
    });
    expect(bundled.stdout).toBe(fromSources.stdout);
    const stages = (JSON.parse(bundled.stdout) as { plan: { stages: { name: string }[] } }).plan.stages;
    expect(stages.map((stage) => stage.name)).toEqual(expect.arrayContaining(['rootfs', 'bootloader', 'content']));
    expect(freshEntry()).toMatch(/openkey-\w+\.mjs$/);
  }, 120_000);
});
