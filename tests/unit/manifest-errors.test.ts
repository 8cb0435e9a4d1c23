import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest, ManifestError } from '../../builder/manifest/index.ts';
import { formatProblem } from '../../builder/manifest/problems.ts';
import { INVALID_CASES, type InvalidCase } from './manifest-cases.ts';
import { scratchProject } from './scratch.ts';

async function problemsOf(testCase: InvalidCase): Promise<string[]> {
  const folder = scratchProject(testCase.files);
  for (const name of testCase.folders ?? []) mkdirSync(path.join(folder, name));
  try {
    await loadManifest('main.yaml', folder);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    return error.problems.map((problem) =>
      formatProblem(problem, folder).split(path.dirname(folder)).join('<project>'),
    );
  }
  return [];
}

describe('invalid manifests', () => {
  it('has at least 30 cases', () => {
    expect(INVALID_CASES.length).toBeGreaterThanOrEqual(30);
  });
  it.each(INVALID_CASES.map((testCase) => [testCase.name, testCase] as const))('%s', async (_name, testCase) => {
    expect(await problemsOf(testCase)).toEqual(testCase.expected);
  });
});
