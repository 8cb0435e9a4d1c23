import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const MANIFESTS = path.resolve(import.meta.dirname, '../../manifests');

const created: string[] = [];
afterAll(() => {
  for (const folder of created.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A folder laid out like the repository: manifests/ beside image/overlay/ and content/docs/. */
export function scratchProject(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'openkey-manifest-'));
  created.push(root);
  for (const overlay of ['common', 'kiosk', 'desktop', 'jupyter'])
    mkdirSync(path.join(root, 'image/overlay', overlay), { recursive: true });
  mkdirSync(path.join(root, 'content/docs'), { recursive: true });
  writeFileSync(path.join(root, 'content/docs/getting-started.md'), '# hello\n');
  mkdirSync(path.join(root, 'manifests'));
  cpSync(path.join(MANIFESTS, 'base.yaml'), path.join(root, 'manifests/base.yaml'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(root, 'manifests', name), text);
  return path.join(root, 'manifests');
}
