/**
 * Test datasets built in a temp folder from ../shared/data (the real files are never copied into the repository),
 * plus damaged copies made in the temp folder for the corrupt-file cases. The service follows no symlink out of
 * its datasets folder, so the datasets' entries are links made by linkInside (services/analysis/bench/dataset.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkInside } from '../../services/analysis/bench/dataset.ts';
import { ATLAS, COMPRESSIONS, SKHEP } from './jsroot-helpers.ts';

export { linkInside };

export const ATLAS_FILES = [
  'mc_105986.ZZ.root',
  'mc_110090.stop_tchan_top.root',
  'mc_110091.stop_tchan_antitop.root',
  'mc_110119.stop_schan.root',
  'mc_167746.WtaunuWithB.root',
  'mc_173045.DYtautauM08to15.root',
  'mc_173046.DYtautauM15to40.root',
];
export const ATLAS_ENTRIES = 61738;

export interface Fixture {
  root: string;
  dispose(): void;
}

/**
 * atlas: the 7 ATLAS 8 TeV files with a dataset.json; hzz and zmumu: the uproot files in every compression;
 * long: the ATLAS files repeated `longRepeats` times (for cancel, queue and load tests);
 * broken: a truncated file and one with a damaged basket, next to a good one.
 */
export function makeDatasets(longRepeats = 0): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'openkey-service-'));
  const atlas = join(root, 'atlas');
  mkdirSync(atlas);
  const link = (dir: string, target: string, name?: string) => linkInside(root, target, dir, name);
  for (const f of ATLAS_FILES) link(atlas, ATLAS + f);
  writeFileSync(
    join(atlas, 'dataset.json'),
    JSON.stringify({
      title: 'ATLAS 8 TeV MC sample',
      description: '10 % subsamples',
      licence: 'CC0-1.0',
      tree: 'mini',
      files: {
        'mc_105986.ZZ.root': {
          sample: 'ZZ',
          process: 'zz',
          crossSection: 0.677,
          kind: 'simulation',
          truth: { secret: 1 },
        },
        'mc_167746.WtaunuWithB.root': { sample: 'W', kind: 'simulation' },
      },
    }),
  );
  for (const [name, stem] of [
    ['hzz', 'uproot-HZZ'],
    ['zmumu', 'uproot-Zmumu'],
  ] as const) {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const c of COMPRESSIONS) link(dir, `${SKHEP}${stem}${c}.root`);
  }
  if (longRepeats > 0) {
    const dir = join(root, 'long');
    mkdirSync(dir);
    for (let r = 0; r < longRepeats; r++)
      for (const f of ATLAS_FILES) link(dir, ATLAS + f, `r${String(r).padStart(3, '0')}-${f}`);
  }
  const broken = join(root, 'broken');
  mkdirSync(broken);
  link(broken, `${SKHEP}uproot-HZZ-zlib.root`, 'good.root');
  const bytes = readFileSync(`${SKHEP}uproot-HZZ-zlib.root`);
  writeFileSync(join(broken, 'truncated.root'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  return {
    root,
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A copy of a file whose first basket of `branch` has its compressed payload overwritten with garbage. */
export function damageBasket(target: string, source: string, seek: number, keylen: number): void {
  const bytes = Buffer.from(readFileSync(source));
  for (let i = seek + keylen + 9; i < seek + keylen + 60; i++) bytes[i] = 0x5a;
  writeFileSync(target, bytes);
}
