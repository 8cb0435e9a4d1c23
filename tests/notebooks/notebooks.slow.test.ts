/**
 * Every shipped notebook runs top to bottom with Debian's Jupyter (nbconvert --execute) against the real service
 * over synthetic samples, and the numbers it prints are the physics: the Z mass within 1 GeV of 91.19, the Higgs
 * mass within 1.5 GeV of the injected 125 GeV, the hidden particle within 5 GeV of its truth.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticDataset } from '../../builder/synth/index.ts';
import { buildApp } from '../../services/analysis/app.ts';
import { DEBIAN_PATH, JUPYTER, NOTEBOOKS, PYTHON_PATH } from './python.ts';

const run = promisify(execFile);
const SAMPLES = [
  ['zll', 1],
  ['wlnu', 3],
  ['hyy', 2],
  ['zz4l', 6],
  ['mystery', 7],
] as const;

let root: string;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'openkey-notebooks-'));
  for (const [process, seed] of SAMPLES) {
    mkdirSync(join(root, process));
    // As the image build makes them: <process>.root and the dataset.json holding the truth.
    await writeSyntheticDataset({ schema: 'atlas13-mini', process, events: 50_000, seed }, join(root, process));
  }
  app = await buildApp({ datasets: root, workers: 2 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
}, 300_000);

afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Executes a notebook in a scratch folder and returns everything its cells printed. */
async function execute(name: string): Promise<string> {
  const work = join(root, `run-${name}`);
  mkdirSync(work);
  await run(
    JUPYTER,
    [
      'nbconvert',
      '--to',
      'notebook',
      '--execute',
      `--ExecutePreprocessor.timeout=300`,
      '--output-dir',
      work,
      join(NOTEBOOKS, `${name}.ipynb`),
    ],
    {
      env: {
        ...process.env,
        PATH: DEBIAN_PATH,
        OPENKEY_URL: url,
        PYTHONPATH: PYTHON_PATH,
        MPLBACKEND: 'Agg',
        PYDEVD_DISABLE_FILE_VALIDATION: '1',
      },
      timeout: 600_000,
    },
  );
  const notebook = JSON.parse(readFileSync(join(work, `${name}.ipynb`), 'utf8')) as {
    cells: { outputs?: { name?: string; text?: string | string[]; output_type: string }[] }[];
  };
  return notebook.cells
    .flatMap((cell) => cell.outputs ?? [])
    .filter((output) => output.output_type === 'stream' && output.name === 'stdout')
    .map((output) => (Array.isArray(output.text) ? output.text.join('') : (output.text ?? '')))
    .join('');
}

function number(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  expect(match, `${pattern} in:\n${text}`).not.toBeNull();
  return Number(match![1]);
}

// Each notebook starts a kernel and runs its fits: seconds each, more on a loaded machine.
describe('notebooks run top to bottom against the service', { timeout: 300_000 }, () => {
  it('ships the five notebooks', () => {
    expect(
      readdirSync(NOTEBOOKS)
        .filter((n) => n.endsWith('.ipynb'))
        .sort(),
    ).toEqual(['hidden-particle.ipynb', 'higgs-4l.ipynb', 'higgs-diphoton.ipynb', 'w-mass.ipynb', 'z-mass.ipynb']);
  });

  it('z-mass: the fitted Z mass is within 1 GeV of 91.19', async () => {
    const out = await execute('z-mass');
    expect(Math.abs(number(out, /fitted Z mass: ([\d.]+) ±/) - 91.19)).toBeLessThan(1);
  });

  it('higgs-diphoton: the fitted Higgs mass is within 1.5 GeV of 125, and the significance is large', async () => {
    const out = await execute('higgs-diphoton');
    expect(Math.abs(number(out, /fitted Higgs mass: ([\d.]+) ±/) - 125)).toBeLessThan(1.5);
    expect(number(out, /local significance: ([\d.]+) sigma/)).toBeGreaterThan(3);
  });

  it('higgs-4l: the four-lepton peak is within 1.5 GeV of 125', async () => {
    const out = await execute('higgs-4l');
    expect(Math.abs(number(out, /fitted Higgs mass: ([\d.]+) ±/) - 125)).toBeLessThan(1.5);
  });

  it('w-mass: the Jacobian edge lies near the W mass', async () => {
    const out = await execute('w-mass');
    const edge = number(out, /Jacobian edge near ([\d.]+) GeV/);
    expect(edge).toBeGreaterThan(76);
    expect(edge).toBeLessThan(92);
  });

  it('hidden-particle: the mass found is the truth of dataset.json', async () => {
    const truth = JSON.parse(readFileSync(join(root, 'mystery', 'dataset.json'), 'utf8')) as {
      files: Record<string, { truth: { hiddenMassMeV: number } }>;
    };
    const out = await execute('hidden-particle');
    const mass = number(out, /hidden particle: mass ([\d.]+) ±/);
    expect(Math.abs(mass - truth.files['mystery.root']!.truth.hiddenMassMeV / 1000)).toBeLessThan(5);
  });
});
