/**
 * The ATLAS Open Data for education releases, written down once: records on the CERN Open Data portal, skims, file
 * names and the labels that normalise simulation to data (process, DSID, cross-section, sum of weights, …). A
 * manifest names real data by record and file name (`source: opendata`); the content stage copies these labels into
 * each dataset's dataset.json, so the analyser can scale every simulated sample to the data's luminosity.
 *
 * Facts, not code, taken from the public ATLAS Open Data material (cited per release in `sources`):
 * - 8 TeV 2016: atlas-outreach-data-tools/atlas-outreach-data-tools-framework, Plotting/infofile.py (DSID, events,
 *   red_eff, sumw, xsec), Configurations/Configuration.py (file names), Configurations/PlotConf_*.py (1000 pb⁻¹),
 *   Plotting/Database.py (the scaling rule); record 3860 is the release's record (atlasopenmagic's RELEASES_DESC).
 * - 13 TeV 2020: atlas-outreach-data-tools/atlas-outreach-Python-uproot-framework-13tev, infofile.py (DSID, events,
 *   red_eff, sumw, xsec), HZZAnalysis.py / HyyAnalysis.py (file naming `mc_<DSID>.<name>.<skim>.root`,
 *   `data_<period>.<skim>.root`, 10 fb⁻¹ for periods A–D, 0.5 fb⁻¹ for A alone, the scaling rule).
 * - 13 TeV 2025: atlas-outreach-data-tools/notebooks-collection-opendata, 13-TeV-examples/uproot_python/
 *   HZZAnalysis.ipynb, HyyAnalysis.ipynb, Find_the_Z.ipynb (samples per skim, 36.6 fb⁻¹ for the release, 0.105 fb⁻¹
 *   for data15 period D, and the per-event branches xsec, kfac, filteff, sum_of_weights that carry the normalisation
 *   in the files themselves), the C++ H → γγ notebook (the 16 data periods); atlasopenmagic's data/urls_mc.py at
 *   9411ad2 (each sample's physics short name, the file naming per skim); record 93910 (atlasopenmagic's
 *   RELEASES_DESC for 2025e-13tev-beta). The 2025 cross-sections, k-factors and sums of weights live in the
 *   atlasopenmagic API and in each file's branches, not in a public repository: the catalogue does not copy them.
 * Sizes and checksums are the record API's: none is written here (openkey fetch reads them and the lock pins them).
 * Record ids of the 13 TeV 2020 skims (2lep 15003, 4lep 15005, GamGam 15006) are those the public analyses link to.
 */

export type ReleaseId = '8tev-2016' | '13tev-2020' | '13tev-2025';
export type Role = 'data' | 'simulation';

/** The labels one file carries into dataset.json (every field the source gives; none invented). */
export interface SampleLabels {
  release: ReleaseId;
  role: Role;
  /** Short process name as the release writes it (ZZ, ggH125_ZZ4lep, data_A …). */
  process: string;
  /** Dataset id of a simulated sample. */
  dsid?: number;
  /** Cross-section in picobarn. */
  crossSectionPb?: number;
  kFactor?: number;
  filterEfficiency?: number;
  /** Sum of the generator weights of the sample before any skim (the denominator of the normalisation). */
  sumOfWeights?: number;
  /** The releases' `red_eff`: the fraction of the sample the ntuple production kept; it divides sumOfWeights. */
  reductionEfficiency?: number;
  /** Events generated (simulation). */
  events?: number;
  /** Integrated luminosity a data file holds, in fb⁻¹ (when the source states it per file). */
  luminosityFb?: number;
  /** Branches holding the normalisation per event (13 TeV 2025: the files carry it themselves). */
  weightBranches?: string[];
}

export interface CatalogueFile extends SampleLabels {
  name: string;
  skim: string;
  /** Bytes, where a public source states them (the record API does; `openkey fetch` keeps what it read). */
  size?: number;
}

export interface Release {
  id: ReleaseId;
  title: string;
  energyTeV: number;
  /** Integrated luminosity of the release's whole data set, fb⁻¹. */
  luminosityFb: number;
  licence: string;
  /** How a simulated event is scaled to the data: the rule the release's own examples use. */
  normalisation: string;
  sources: string[];
  /** Skim name → CERN Open Data record id. */
  records: Record<string, number>;
  files: CatalogueFile[];
}

type Row = [
  process: string,
  dsid: number,
  events: number,
  reductionEfficiency: number,
  sumOfWeights: number,
  xsecPb: number,
];

// 8 TeV 2016: atlas-outreach-data-tools-framework Plotting/infofile.py (file names: Configurations/Configuration.py).
const ROWS_8TEV: Row[] = [
  ['WW', 105985, 2499890, 0.388, 2489550.66, 20.90286],
  ['ZZ', 105986, 245000, 0.95088, 243674.74, 1.5376],
  ['WZ', 105987, 999998, 0.96668, 996210.5, 6.9673],
  ['stop_tchan_top', 110090, 4994481, 0.08947185, 0.087147591, 18.39495],
  ['stop_tchan_antitop', 110091, 4944880, 0.058425933, 0.046283642, 9.95976],
  ['stop_schan', 110119, 5999781, 0.051100576, 5972600.588, 1.817694],
  ['stop_wtchan', 110140, 999692, 0.636162836, 996333.734, 22.3014],
  ['ttbar_had', 117049, 9822240, 1, 9753687.763, 115.518854],
  ['ttbar_lep', 117050, 49973332, 0.072212854, 49761200.21, 137.29749],
  ['Zee', 147770, 50182160, 0.151816307, 203795455568148.0, 1241.2072],
  ['Zmumu', 147771, 96086594, 0.124706551, 225316022111048.0, 1241.2072],
  ['Ztautau', 147772, 14968269, 0.921502294, 31508540303680.9, 1240.8988],
  ['WenuWithB', 167740, 14717449, 0.129496439, 4260058.061, 154.374],
  ['WenuJetsBVeto', 167741, 5659977, 0.981554126, 1719244.25, 591.624],
  ['WenuNoJetsBVeto', 167742, 23588938, 0.946929361, 13179098.28, 11324.5],
  ['WmunuWithB', 167743, 13850964, 0.133223309, 4010756.4, 154.429],
  ['WmunuJetsBVeto', 167744, 5999888, 0.905793003, 1726755.472, 513.117],
  ['WmunuNoJetsBVeto', 167745, 20782761, 0.943743915, 11600960.24, 11404.8],
  ['WtaunuWithB', 167746, 14999453, 0.188978183, 4343529.568, 154.374],
  ['WtaunuJetsBVeto', 167747, 5999680, 0.913648001, 1776192.932, 557.095],
  ['WtaunuNoJetsBVeto', 167748, 23844450, 0.926932574, 13316520.62, 11359.7],
  ['DYeeM08to15', 173041, 4999994, 0.893071694, 4772549.624, 92.15],
  ['DYeeM15to40', 173042, 13980986, 0.945799529, 13895470.42, 279.19],
  ['DYmumuM08to15', 173043, 4996000, 0.960298189, 4977032.008, 92.08],
  ['DYmumuM15to40', 173044, 14960488, 0.999654588, 11510844.32, 279.2],
  ['DYtautauM08to15', 173045, 2499696, 1, 2489620.309, 92.12],
  ['DYtautauM15to40', 173046, 13828870, 1, 13704752.81, 279.11],
  ['ggH125_ZZ4lep', 160155, 200000, 0.854398386, 198997.386, 0.00538752],
  ['VBFH125_ZZ4lep', 160205, 199999, 0.767804987, 199291.076, 0.000435528],
  ['ggH125_WW2lep', 161005, 500000, 0.357042356, 497986.026, 0.21288],
  ['VBFH125_WW2lep', 161055, 300000, 0.544650854, 298858.242, 0.0181],
  ['ZPrime400', 110899, 100000, 1, 99711.94, 4.2589],
  ['ZPrime500', 110901, 100000, 1, 99492.841, 3.925],
  ['ZPrime750', 110902, 100000, 1, 99473.46, 1.243],
  ['ZPrime1000', 110903, 99999, 1, 99854.551, 0.3937],
  ['ZPrime1250', 110904, 100000, 1, 99847.67, 0.1387],
  ['ZPrime1500', 110905, 99999, 1, 99613.589, 0.0524],
  ['ZPrime1750', 110906, 99997, 1, 99471.892, 0.0211],
  ['ZPrime2000', 110907, 99900, 1, 99693.276, 0.00894],
  ['ZPrime2250', 110908, 100000, 1, 99618.188, 0.00394],
  ['ZPrime2500', 110909, 100000, 1, 99661.651, 0.0018],
  ['ZPrime3000', 110910, 99499, 1, 99104.295, 0.000434],
];

// 13 TeV 2020: atlas-outreach-Python-uproot-framework-13tev infofile.py, the samples the 2lep, 4lep and GamGam
// examples use.
const ROWS_13TEV_2020: Record<string, Row> = {
  Zee: ['Zee', 361106, 79045597, 1, 150277594200, 1950.5295],
  Zmumu: ['Zmumu', 361107, 77497800, 1, 147334691090, 1950.6321],
  Ztautau: ['Ztautau', 361108, 29546000, 1, 56171652547.3, 1950.6321],
  ttbar_lep: ['ttbar_lep', 410000, 49386600, 1, 49386600, 452.693559],
  single_top_tchan: ['single_top_tchan', 410011, 4986200, 1, 0.218165148808, 44.152],
  single_antitop_tchan: ['single_antitop_tchan', 410012, 4989800, 1, 0.128694693283, 26.276],
  single_top_wtchan: ['single_top_wtchan', 410013, 4985800, 1, 4865800, 35.845486],
  single_antitop_wtchan: ['single_antitop_wtchan', 410014, 4985600, 1, 4945600, 35.824406],
  single_top_schan: ['single_top_schan', 410025, 997800, 1, 0.00204856751068, 2.06121],
  single_antitop_schan: ['single_antitop_schan', 410026, 995400, 1, 0.00125651986173, 1.288662],
  llll: ['llll', 363490, 17825300, 1, 7538705.8077, 1.2578],
  lllv: ['lllv', 363491, 15772084, 1, 5441475.00407, 4.6049],
  llvv: ['llvv', 363492, 14803000, 1, 5039259.9696, 12.466],
  lvvv: ['lvvv', 363493, 5922600, 1, 1727991.07441, 3.2286],
  Wplusenu: ['Wplusenu', 361100, 41870000, 1, 473389396815, 11500.4632],
  Wplusmunu: ['Wplusmunu', 361101, 39493600, 1, 446507925520, 11500.4632],
  Wminusenu: ['Wminusenu', 361103, 29886000, 1, 247538642447, 8579.63498],
  Wminusmunu: ['Wminusmunu', 361104, 31915400, 1, 264338188182, 8579.63498],
  ggH125_ZZ4lep: ['ggH125_ZZ4lep', 345060, 985000, 1, 27881776.6536, 0.0060239],
  VBFH125_ZZ4lep: ['VBFH125_ZZ4lep', 344235, 985000, 1, 3680490.83243, 0.0004633012],
  WH125_ZZ4lep: ['WH125_ZZ4lep', 341964, 149400, 1, 149400, 0.0003769],
  ZH125_ZZ4lep: ['ZH125_ZZ4lep', 341947, 150000, 1, 150000, 0.0000021424784],
  ggH125_gamgam: ['ggH125_gamgam', 343981, 1976000, 1, 55922617.6297, 0.102],
  VBFH125_gamgam: ['VBFH125_gamgam', 345041, 921000, 1, 3441426.13711, 0.008518764],
  WpH125J_Wincl_gamgam: ['WpH125J_Wincl_gamgam', 345318, 248000, 1, 213799.958463, 0.0019654512],
  ZH125J_Zincl_gamgam: ['ZH125J_Zincl_gamgam', 345319, 471000, 1, 358401.082034, 0.0017347836],
  ttH125_gamgam: ['ttH125_gamgam', 341081, 927400, 1, 485440, 0.0000026433864],
};

const SKIM_SAMPLES_2020: Record<string, string[]> = {
  '2lep': [
    'Zee',
    'Zmumu',
    'Ztautau',
    'ttbar_lep',
    'single_top_tchan',
    'single_antitop_tchan',
    'single_top_wtchan',
    'single_antitop_wtchan',
    'single_top_schan',
    'single_antitop_schan',
    'llll',
    'lllv',
    'llvv',
    'lvvv',
    'Wplusenu',
    'Wplusmunu',
    'Wminusenu',
    'Wminusmunu',
  ],
  '4lep': ['Zee', 'Zmumu', 'ttbar_lep', 'llll', 'ggH125_ZZ4lep', 'VBFH125_ZZ4lep', 'WH125_ZZ4lep', 'ZH125_ZZ4lep'],
  GamGam: ['ggH125_gamgam', 'VBFH125_gamgam', 'WpH125J_Wincl_gamgam', 'ZH125J_Zincl_gamgam', 'ttH125_gamgam'],
};

const simulation = (
  release: ReleaseId,
  skim: string,
  name: string,
  [process, dsid, events, reduction, sumw, xsec]: Row,
): CatalogueFile => ({
  name,
  skim,
  release,
  role: 'simulation',
  process,
  dsid,
  crossSectionPb: xsec,
  sumOfWeights: sumw,
  reductionEfficiency: reduction,
  events,
});

const release8: Release = {
  id: '8tev-2016',
  title: 'ATLAS Open Data 8 TeV, 2016 education release',
  energyTeV: 8,
  luminosityFb: 1,
  licence: 'CC0-1.0',
  normalisation:
    'weight = mcWeight·scaleFactors × luminosityFb·1000·crossSectionPb / (sumOfWeights·reductionEfficiency)',
  sources: [
    'atlas-outreach-data-tools/atlas-outreach-data-tools-framework: Plotting/infofile.py, Configurations/Configuration.py, Configurations/PlotConf_ZZAnalysis.py, Plotting/Database.py',
  ],
  records: { complete: 3860 },
  files: [
    ...ROWS_8TEV.map((row) => simulation('8tev-2016', 'complete', `mc_${row[1]}.${row[0]}.root`, row)),
    // Configuration.py reads Input/Data/DataEgamma*.root and DataMuons*.root: one file per trigger stream, 1 fb⁻¹.
    ...['DataEgamma', 'DataMuons'].map((process): CatalogueFile => ({
      name: `${process}.root`,
      skim: 'complete',
      release: '8tev-2016',
      role: 'data',
      process,
      luminosityFb: 1,
    })),
  ],
};

const PERIODS_2020 = ['A', 'B', 'C', 'D'] as const;
const release2020: Release = {
  id: '13tev-2020',
  title: 'ATLAS Open Data 13 TeV, 2020 education release',
  energyTeV: 13,
  luminosityFb: 10,
  licence: 'CC0-1.0',
  normalisation:
    'weight = mcWeight·scaleFactors × luminosityFb·1000·crossSectionPb / (sumOfWeights·reductionEfficiency)',
  sources: [
    'atlas-outreach-data-tools/atlas-outreach-Python-uproot-framework-13tev: infofile.py, HZZAnalysis.py, HyyAnalysis.py, HZZSamples.py',
  ],
  records: { '2lep': 15003, '4lep': 15005, GamGam: 15006 },
  files: Object.entries(SKIM_SAMPLES_2020).flatMap(([skim, samples]) => [
    ...PERIODS_2020.map((period): CatalogueFile => ({
      name: `data_${period}.${skim}.root`,
      skim,
      release: '13tev-2020',
      role: 'data',
      process: `data_${period}`,
      // HyyAnalysis.py: 0.5 fb⁻¹ for data_A alone; the other periods' share is not stated per file.
      ...(period === 'A' ? { luminosityFb: 0.5 } : {}),
    })),
    ...samples.map((key) => {
      const row = ROWS_13TEV_2020[key]!;
      return simulation('13tev-2020', skim, `mc_${row[1]}.${row[0]}.${skim}.root`, row);
    }),
  ]),
};

const WEIGHT_BRANCHES_2025 = ['xsec', 'kfac', 'filteff', 'sum_of_weights'];
// 13 TeV 2025: the physics short name of each sample (atlasopenmagic atlasopenmagic/data/urls_mc.py, commit 9411ad2,
// 2025-06-26, its 2025e-13tev-beta noskim list), for the samples the release's own examples use per skim.
const SAMPLES_2025: Record<number, string> = {
  343981: 'PowhegPythia8EvtGen_NNLOPS_nnlo_30_ggH125_gamgam',
  345060: 'PowhegPythia8EvtGen_NNLOPS_nnlo_30_ggH125_ZZ4l',
  345318: 'PowhegPythia8EvtGen_NNPDF30_AZNLO_WpH125J_Hyy_Wincl_MINLO',
  345319: 'PowhegPythia8EvtGen_NNPDF30_AZNLO_ZH125J_Hyy_Zincl_MINLO',
  346214: 'PowhegPy8EG_NNPDF30_AZNLOCTEQ6L1_VBFH125_gamgam',
  346228: 'PowhegPy8EG_NNPDF30_AZNLOCTEQ6L1_VBFH125_ZZ4lep_notau',
  346310: 'PowhegPythia8EvtGen_NNPDF30_AZNLO_ZH125J_Zincl_H_incl_MINLO',
  346311: 'PowhegPythia8EvtGen_NNPDF30_AZNLO_WpH125J_Wincl_H_incl_MINLO',
  346312: 'PowhegPythia8EvtGen_NNPDF30_AZNLO_WmH125J_Wincl_H_incl_MINLO',
  346340: 'PowhegPy8EG_A14NNPDF23_NNPDF30ME_ttH125_ZZ4l_allhad',
  346341: 'PowhegPy8EG_A14NNPDF23_NNPDF30ME_ttH125_ZZ4l_semilep',
  346342: 'PowhegPy8EG_A14NNPDF23_NNPDF30ME_ttH125_ZZ4l_dilep',
  364242: 'Sherpa_222_NNPDF30NNLO_WWW_3l3v_EW6',
  364243: 'Sherpa_222_NNPDF30NNLO_WWZ_4l2v_EW6',
  364246: 'Sherpa_222_NNPDF30NNLO_WZZ_3l3v_EW6',
  364248: 'Sherpa_222_NNPDF30NNLO_ZZZ_4l2v_EW6',
  410155: 'aMcAtNloPythia8EvtGen_MEN30NLO_A14N23LO_ttW',
  410218: 'aMcAtNloPythia8EvtGen_MEN30NLO_A14N23LO_ttee',
  410219: 'aMcAtNloPythia8EvtGen_MEN30NLO_A14N23LO_ttmumu',
  410470: 'PhPy8EG_A14_ttbar_hdamp258p75_nonallhad',
  412043: 'aMcAtNloPythia8EvtGen_A14NNPDF31_SM4topsNLO',
  700320: 'Sh_2211_Zee_maxHTpTV2_BFilter',
  700321: 'Sh_2211_Zee_maxHTpTV2_CFilterBVeto',
  700322: 'Sh_2211_Zee_maxHTpTV2_CVetoBVeto',
  700323: 'Sh_2211_Zmumu_maxHTpTV2_BFilter',
  700324: 'Sh_2211_Zmumu_maxHTpTV2_CFilterBVeto',
  700325: 'Sh_2211_Zmumu_maxHTpTV2_CVetoBVeto',
  700600: 'Sh_2212_llll',
};
const SKIM_SAMPLES_2025: Record<string, number[]> = {
  // HZZAnalysis.ipynb: Z, tt̄, tt̄+V, VVV background; ZZ*; the H → ZZ* → 4ℓ signal of every production mode
  exactly4lep: [
    410470, 410155, 410218, 410219, 412043, 364243, 364242, 364246, 364248, 700320, 700321, 700322, 700323, 700324,
    700325, 700600, 345060, 346228, 346310, 346311, 346312, 346340, 346341, 346342,
  ],
  // the H → γγ samples of the noskim list (HyyAnalysis.ipynb itself fits the data alone)
  GamGam: [343981, 346214, 345318, 345319],
  // Find_the_Z.ipynb and systematics_notebook.ipynb (Z → μμ), the Z mass notebook (Z → ee, 2to4lep)
  '2muons': [700323, 700324, 700325],
  '2to4lep': [700320, 700321, 700322, 700323, 700324, 700325],
};
// The 16 data periods of 2015-2016 (the C++ H → γγ notebook's list); only period D of 2015 has a stated luminosity.
const PERIODS_2025 = [
  'data15_periodD',
  'data15_periodE',
  'data15_periodF',
  'data15_periodG',
  'data15_periodH',
  'data15_periodJ',
  'data16_periodA',
  'data16_periodB',
  'data16_periodC',
  'data16_periodD',
  'data16_periodE',
  'data16_periodF',
  'data16_periodG',
  'data16_periodI',
  'data16_periodK',
  'data16_periodL',
];
/** The release's file naming (urls_mc.py): ODEO_FEB2025_v0_<skim>_<sample>.<skim>.root under …/atlas/rucio/opendata/. */
const name2025 = (skim: string, sample: string) => `ODEO_FEB2025_v0_${skim}_${sample}.${skim}.root`;
const release2025: Release = {
  id: '13tev-2025',
  title: 'ATLAS Open Data 13 TeV, 2025 education release (beta)',
  energyTeV: 13,
  luminosityFb: 36.6,
  licence: 'CC0-1.0',
  normalisation:
    'weight = mcWeight·scaleFactors × luminosityFb·1000·xsec·kfac·filteff / sum_of_weights (per-event branches)',
  sources: [
    'atlas-outreach-data-tools/notebooks-collection-opendata: 13-TeV-examples/uproot_python/HZZAnalysis.ipynb, HyyAnalysis.ipynb, Find_the_Z.ipynb, systematics_notebook.ipynb; 13-TeV-examples/cpp/ATLAS_OpenData_13-TeV__analysis_example-cpp_Hyy_channel.ipynb (data periods)',
    'atlas-outreach-data-tools/atlasopenmagic: atlasopenmagic/data/urls_mc.py at 9411ad2 (sample names, file naming per skim); RELEASES_DESC (record 93910)',
  ],
  // 93910 is the release's record; which of its records holds each file is the record API's to say (not verified here)
  records: { exactly4lep: 93910, GamGam: 93910, '2muons': 93910, '2to4lep': 93910 },
  files: Object.entries(SKIM_SAMPLES_2025).flatMap(([skim, dsids]) => [
    ...PERIODS_2025.map((period): CatalogueFile => ({
      name: name2025(skim, period),
      skim,
      release: '13tev-2025',
      role: 'data',
      process: period,
      ...(period === 'data15_periodD' ? { luminosityFb: 0.105 } : {}),
    })),
    ...dsids.map((dsid): CatalogueFile => ({
      name: name2025(skim, `mc_${dsid}.${SAMPLES_2025[dsid]!}`),
      skim,
      release: '13tev-2025',
      role: 'simulation',
      process: SAMPLES_2025[dsid]!,
      dsid,
      weightBranches: WEIGHT_BRANCHES_2025,
    })),
  ]),
};

export const RELEASES: readonly Release[] = [release8, release2020, release2025];

/** The catalogue's entry for a file of a record, if it knows the record and the file. */
export function catalogueFile(record: number, name: string): CatalogueFile | undefined {
  for (const release of RELEASES) {
    const skims = Object.entries(release.records)
      .filter(([, id]) => id === record)
      .map(([skim]) => skim);
    const file = release.files.find((f) => f.name === name && skims.includes(f.skim));
    if (file !== undefined) return file;
  }
  return undefined;
}

/** Every file name the catalogue knows for a record (empty when the record is not in the catalogue). */
export function catalogueNames(record: number): string[] {
  const names: string[] = [];
  for (const release of RELEASES) {
    const skims = new Set(
      Object.entries(release.records)
        .filter(([, id]) => id === record)
        .map(([skim]) => skim),
    );
    for (const file of release.files) if (skims.has(file.skim)) names.push(file.name);
  }
  return names;
}

export function releaseOf(id: ReleaseId): Release {
  const release = RELEASES.find((r) => r.id === id);
  if (release === undefined) throw new Error(`no release ${id}`);
  return release;
}

/**
 * The factor that scales one simulated event (already weighted by mcWeight and the scale factors) to `luminosityFb`
 * of data, by the release's own rule; undefined when the labels lack what the rule needs (13 TeV 2025 carries it in
 * per-event branches instead).
 */
export function luminosityScale(labels: SampleLabels, luminosityFb: number): number | undefined {
  if (labels.role !== 'simulation') return undefined;
  const { crossSectionPb, sumOfWeights } = labels;
  if (crossSectionPb === undefined || sumOfWeights === undefined || sumOfWeights === 0) return undefined;
  const k = labels.kFactor ?? 1;
  const filter = labels.filterEfficiency ?? 1;
  return (luminosityFb * 1000 * crossSectionPb * k * filter) / (sumOfWeights * (labels.reductionEfficiency ?? 1));
}
