import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPTS = path.join(ROOT, 'scripts');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
/** Lines that are neither blank nor comments. */
const codeLines = (text: string) =>
  text.split('\n').filter((line) => line.trim() !== '' && !/^\s*(\/\*\*|\*|\*\/|\/\/)/.test(line));

const typescript = readdirSync(SCRIPTS)
  .filter((name) => name.endsWith('.ts'))
  .map((name) => `scripts/${name}`);

describe('scripts/ (issue 9 item 6: thin zx scripts over modules the tests exercise)', () => {
  it.each(typescript)('%s is a zx script', (file) => {
    expect(read(file)).toMatch(/^import \{[^}]*\} from 'zx';$/m);
  });

  it.each(typescript.filter((file) => !file.endsWith('test-all.ts')))(
    '%s is thin: a few lines over a module of builder/, services/ or common/',
    (file) => {
      const code = codeLines(read(file));
      expect(code.length).toBeLessThanOrEqual(15);
      expect(code.some((line) => /from '\.\.\/(builder|services|common)\//.test(line))).toBe(true);
      // no module of the project imports a script: the logic is the module's
      expect(code.join('\n')).not.toMatch(/^export /m);
    },
  );

  it('the shell wrappers hand over to scripts that exist', () => {
    const wrappers = readdirSync(SCRIPTS).filter((name) => !name.includes('.'));
    expect(wrappers.length).toBeGreaterThan(5);
    for (const name of wrappers) {
      accessSync(path.join(SCRIPTS, name), constants.X_OK);
      for (const [, target] of read(`scripts/${name}`).matchAll(/(scripts\/[\w-]+(?:\.\w+)?)/g))
        expect(existsSync(path.join(ROOT, target!)), `${name} → ${target}`).toBe(true);
    }
  });

  it("every script the README names exists (the README's instructions stay true)", () => {
    const named = new Set([...read('README.md').matchAll(/scripts\/[\w-]+(?:\.[\w]+)?/g)].map((m) => m[0]));
    expect(named.size).toBeGreaterThan(8);
    for (const file of named) expect(existsSync(path.join(ROOT, file)), file).toBe(true);
  });
});
