/**
 * Synthetic teaching ntuples: a streaming ROOT TTree writer (rootio/) and physics-shaped toy samples with known
 * truth in the ATLAS 13 TeV open-data `mini` format. The image build calls `writeSyntheticDataset` for manifest
 * datasets with `source: synthetic`; `openkey synth` is the command-line front end.
 */
export {
  checkOutputPath,
  datasetDefaults,
  updateDatasetJson,
  validateSpec,
  writeSyntheticDataset,
  writeSyntheticFile,
  type DatasetFileEntry,
  type DatasetJson,
  type SynthFileResult,
  type SynthOptions,
  type SynthProgress,
  type SyntheticSpec,
} from './dataset.ts';
export { PROCESSES, processDef, type ProcessName } from './processes.ts';
export { ATLAS13_MINI_BRANCHES, ATLAS13_MINI_TREE, SCHEMAS, type SchemaName } from './schema.ts';
export { RootFileWriter, datimeFromDate, type RootFileOptions } from '../../rootio/write/file.ts';
export { TreeWriter, type BranchSpec, type TreeOptions } from '../../rootio/write/tree.ts';
export { ROOT_DEFAULT_COMPRESSION, type Compression } from '../../rootio/format.ts';
