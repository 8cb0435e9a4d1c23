import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { loadManifest, ManifestError } from '../../builder/manifest/index.ts';
import { catalogueFile, catalogueNames, releaseOf } from '../../builder/opendata/catalogue.ts';
import { fileLabels } from '../../builder/opendata/place.ts';

const MU = path.resolve(import.meta.dirname, '../../manifests/mu.yaml');

it('names the 13 TeV 2025 files as the release’s own notebooks open them', () => {
  // Written out verbatim in atlas-outreach-data-tools/notebooks-collection-opendata (HZZAnalysis, the systematics and
  // Z mass notebooks, the C++ H → γγ notebook): the catalogue's naming rule must give exactly these.
  const cited = [
    'ODEO_FEB2025_v0_exactly4lep_mc_410470.PhPy8EG_A14_ttbar_hdamp258p75_nonallhad.exactly4lep.root',
    'ODEO_FEB2025_v0_2muons_mc_700323.Sh_2211_Zmumu_maxHTpTV2_BFilter.2muons.root',
    'ODEO_FEB2025_v0_2to4lep_mc_700320.Sh_2211_Zee_maxHTpTV2_BFilter.2to4lep.root',
    'ODEO_FEB2025_v0_GamGam_data15_periodD.GamGam.root',
    'ODEO_FEB2025_v0_exactly4lep_data15_periodD.exactly4lep.root',
    'ODEO_FEB2025_v0_2muons_data15_periodD.2muons.root',
  ];
  const names = catalogueNames(93910);
  for (const name of cited) expect(names).toContain(name);
  expect(new Set(names).size).toBe(names.length);
  const release = releaseOf('13tev-2025');
  // 16 data periods for each of the four skims, and the simulated samples the examples use
  expect(release.files.filter((f) => f.role === 'data')).toHaveLength(64);
  expect(release.files.filter((f) => f.skim === 'exactly4lep' && f.role === 'simulation')).toHaveLength(24);
  expect(catalogueFile(93910, cited[0]!)).toMatchObject({
    role: 'simulation',
    dsid: 410470,
    process: 'PhPy8EG_A14_ttbar_hdamp258p75_nonallhad',
    weightBranches: ['xsec', 'kfac', 'filteff', 'sum_of_weights'],
  });
  // No size, cross-section or checksum is invented for 2025: the files carry their normalisation per event.
  expect(release.files.some((f) => f.size !== undefined || f.crossSectionPb !== undefined)).toBe(false);
  const labels = fileLabels(93910, {
    name: cited[3]!,
    uri: `root://eospublic.cern.ch//eos/opendata/atlas/rucio/opendata/${cited[3]!}`,
    url: `https://opendata.cern.ch//eos/opendata/atlas/rucio/opendata/${cited[3]!}`,
    size: 1,
    adler32: '00000001',
    sha256: '0'.repeat(64),
  });
  expect(labels).toMatchObject({
    kind: 'data',
    process: 'data15_periodD',
    luminosityFb: 0.105,
    releaseLuminosityFb: 36.6,
  });
});

it('a manifest naming a 2025 file the catalogue does not list gets a suggestion before any network', async () => {
  const work = await mkdtemp(path.join(os.tmpdir(), 'openkey-catalogue-'));
  try {
    const file = path.join(work, 'key.yaml');
    const dataset = (name: string) => `extends: ${MU}
name: test-2025
datasets: !replace
  - id: hzz25
    title: H to 4 leptons, 13 TeV 2025
    description: Data of 2015 period D.
    licence: CC0-1.0
    source: opendata
    opendata: { record: 93910, files: [${name}] }
`;
    await writeFile(file, dataset('ODEO_FEB2025_v0_exactly4lep_data15_periodD.exactly4lep.root'));
    await expect(loadManifest(file)).resolves.toBeDefined();
    await writeFile(file, dataset('ODEO_FEB2025_v0_exactly4lep_data15_periodX.exactly4lep.root'));
    const error = await loadManifest(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).format(work)).toBe(
      'key.yaml:9:40 datasets[0].opendata.files[0]: record 93910 has no file "ODEO_FEB2025_v0_exactly4lep_data15_periodX.exactly4lep.root" (did you mean "ODEO_FEB2025_v0_exactly4lep_data15_periodD.exactly4lep.root"?)',
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
