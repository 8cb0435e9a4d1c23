import { accessSync, constants, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { OpenKeyError, UsageError } from '../../common/errors.ts';
import { closest } from '../../common/suggest.ts';
import { Detector } from './detector.ts';
import { channelCounts, DATA_RUNS, MC_RUN_NUMBER, PROCESSES, processDef, type ProcessName } from './processes.ts';
import { Rng } from './random.ts';
import { ROOT_DEFAULT_COMPRESSION, type Compression } from '../../rootio/format.ts';
import { datimeFromDate, RootFileWriter } from '../../rootio/write/file.ts';
import { TreeWriter } from '../../rootio/write/tree.ts';
import { ATLAS13_MINI_BRANCHES, ATLAS13_MINI_TREE, MiniRowBuilder, SCHEMAS, type SchemaName } from './schema.ts';

/** What a manifest's `source: synthetic` dataset asks for. */
export interface SyntheticSpec {
  schema: string;
  process: string;
  events: number;
  seed: number;
}

export interface SynthProgress {
  events: number;
  total: number;
  /** Bytes written to the file so far. */
  bytes: number;
  elapsedMs: number;
}

export interface SynthOptions {
  onProgress?: (progress: SynthProgress) => void;
  signal?: AbortSignal;
  compression?: Compression;
  basketSize?: number;
  autoFlush?: number;
  /** Read for SOURCE_DATE_EPOCH (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * A part of a simulated file that is its own sample (the Higgs signal inside the diphoton file): the events whose
 * `selection` is true, normalised with their own cross-section and sum of weights.
 */
export interface DatasetSubsample {
  sample: string;
  process: string;
  /** True for the signal of an S/√B (the Higgs), false for the background it hides in. */
  signal: boolean;
  selection: string;
  crossSectionPb: number;
  kFactor: number;
  filterEfficiency: number;
  sumOfWeights: number;
}

/**
 * One file's entry in dataset.json (read by the analysis service; every field optional there). Simulation is
 * scaled to data by crossSectionPb × kFactor × filterEfficiency × luminosity / sumOfWeights; data states the
 * luminosity it amounts to (luminosityFb).
 */
export interface DatasetFileEntry {
  sample: string;
  process: string;
  /** Total cross-section in pb (older name; the service also serves it as `xsec`). */
  crossSection?: number;
  kind: 'data' | 'simulation';
  role: 'data' | 'simulation';
  crossSectionPb?: number;
  kFactor?: number;
  filterEfficiency?: number;
  /** Σ mcWeight over the file (every event has mcWeight 1, so its number of events). */
  sumOfWeights?: number;
  luminosityFb?: number;
  subsamples?: DatasetSubsample[];
  truth: Record<string, unknown>;
}

export interface DatasetJson {
  title?: string;
  description?: string;
  licence?: string;
  tree?: string;
  files: Record<string, DatasetFileEntry>;
}

export interface SynthFileResult {
  path: string;
  bytes: number;
  events: number;
  elapsedMs: number;
  entry: DatasetFileEntry;
}

/** The fallback timestamp: the 13 TeV ATLAS open data release (July 2020). */
const DEFAULT_DATE = Date.UTC(2020, 6, 30, 0, 0, 0);
const MAX_EVENTS = 100_000_000;

/** Checks a spec before anything is written; usage errors say what was wrong and what would be right. */
export function validateSpec(spec: SyntheticSpec): { schema: SchemaName; process: ProcessName } {
  if (!(SCHEMAS as readonly string[]).includes(spec.schema)) {
    const guess = closest(spec.schema, SCHEMAS);
    throw new UsageError(
      `unknown schema "${spec.schema}"`,
      guess ? `did you mean "${guess}"? (schemas: ${SCHEMAS.join(', ')})` : `schemas: ${SCHEMAS.join(', ')}`,
    );
  }
  if (!(PROCESSES as readonly string[]).includes(spec.process)) {
    const guess = closest(spec.process, PROCESSES);
    throw new UsageError(
      `unknown process "${spec.process}"`,
      guess ? `did you mean "${guess}"? (processes: ${PROCESSES.join(', ')})` : `processes: ${PROCESSES.join(', ')}`,
    );
  }
  if (!Number.isInteger(spec.events) || spec.events <= 0) {
    throw new UsageError(`events must be a positive integer, got ${spec.events}`, 'for example --events 100000');
  }
  if (spec.events > MAX_EVENTS) {
    throw new UsageError(`events must be at most ${MAX_EVENTS}, got ${spec.events}`);
  }
  if (!Number.isSafeInteger(spec.seed) || spec.seed < 0) {
    throw new UsageError(`seed must be a non-negative integer, got ${spec.seed}`);
  }
  return { schema: spec.schema as SchemaName, process: spec.process as ProcessName };
}

/** Fails early, as a usage error, when `path` cannot become a file: missing or non-directory parent, no access. */
export function checkOutputPath(path: string, shown: string = path): void {
  const directory = dirname(resolve(path));
  let parent;
  try {
    parent = statSync(directory);
  } catch {
    throw new UsageError(
      `cannot write ${shown}: directory ${directory} does not exist`,
      `create it first: mkdir -p ${directory}`,
    );
  }
  if (!parent.isDirectory()) throw new UsageError(`cannot write ${shown}: ${directory} is not a directory`);
  try {
    accessSync(directory, constants.W_OK);
  } catch {
    throw new UsageError(`cannot write ${shown}: no write permission on ${directory}`);
  }
  let existing;
  try {
    existing = statSync(path);
  } catch {
    return;
  }
  if (existing.isDirectory())
    throw new UsageError(`cannot write ${shown}: it is a directory`, 'give a file name, e.g. out/zll.root');
}

function fileDate(env: NodeJS.ProcessEnv): Date {
  const epoch = env.SOURCE_DATE_EPOCH;
  // TDatime counts from 1995: earlier dates cannot be represented.
  if (epoch !== undefined && /^\d+$/.test(epoch)) return new Date(Math.max(Number(epoch) * 1000, Date.UTC(1995, 0, 1)));
  return new Date(DEFAULT_DATE);
}

function processStream(process: string): number {
  let h = 0;
  for (let i = 0; i < process.length; i++) h = (Math.imul(h, 31) + process.charCodeAt(i)) | 0;
  return h >>> 0;
}

/** Generates one ROOT file of `spec.events` events; the file appears under `outPath` only once complete. */
export async function writeSyntheticFile(
  spec: SyntheticSpec,
  outPath: string,
  options: SynthOptions = {},
): Promise<SynthFileResult> {
  const { process } = validateSpec(spec);
  checkOutputPath(outPath);
  const def = processDef(process);
  const isData = def.kind === 'data';
  const counts = channelCounts(def.channels, spec.events);
  const stream = processStream(process);
  const rng = new Rng(spec.seed, stream);
  const uuidRng = new Rng(spec.seed, stream ^ 0x5bd1e995);
  const uuid = new Uint8Array(16);
  const uuidView = new DataView(uuid.buffer);
  for (let i = 0; i < 4; i++) uuidView.setUint32(4 * i, uuidRng.nextU32());
  const ctx = { rng, det: new Detector(rng, isData) };
  const rows = new MiniRowBuilder(rng);

  let file: RootFileWriter;
  try {
    file = await RootFileWriter.open(outPath, {
      compression: options.compression ?? ROOT_DEFAULT_COMPRESSION,
      datime: datimeFromDate(fileDate(options.env ?? globalThis.process.env)),
      uuid,
    });
  } catch (error) {
    throw new OpenKeyError('E_SYNTH_WRITE', `cannot create ${outPath}: ${(error as Error).message}`, {
      exitCode: 2,
      cause: error,
    });
  }
  const started = performance.now();
  try {
    const tree = new TreeWriter(file, ATLAS13_MINI_TREE, ATLAS13_MINI_BRANCHES, {
      title: ATLAS13_MINI_TREE,
      ...(options.basketSize === undefined ? {} : { basketSize: options.basketSize }),
      ...(options.autoFlush === undefined ? {} : { autoFlush: options.autoFlush }),
    });
    const remaining = counts.slice();
    let left = spec.events;
    let lastReport = started;
    for (let i = 0; i < spec.events; i++) {
      // Each channel is drawn with probability remaining/left: random order, exact totals.
      let pick = rng.int(left);
      let k = 0;
      while (pick >= remaining[k]!) pick -= remaining[k++]!;
      remaining[k]!--;
      left--;
      const channel = def.channels[k]!;
      const event = channel.generate(ctx);
      const runNumber = isData ? DATA_RUNS[rng.int(DATA_RUNS.length)]! : MC_RUN_NUMBER;
      const row = rows.build(event, {
        runNumber,
        eventNumber: isData ? 1 + rng.int(2_000_000_000) : i + 1,
        channelNumber: isData ? runNumber : channel.dsid,
        mcWeight: 1,
        xsection: isData ? 0 : channel.xsection,
        sumWeights: isData ? 0 : counts[k]!,
        isData,
      });
      const wait = tree.fill(row);
      if (wait) await wait;
      if ((i & 4095) === 4095) {
        if (options.signal?.aborted) throw new OpenKeyError('E_INTERRUPTED', `interrupted after ${i + 1} events`);
        const now = performance.now();
        if (options.onProgress && now - lastReport >= 200) {
          lastReport = now;
          options.onProgress({ events: i + 1, total: spec.events, bytes: file.end, elapsedMs: now - started });
        }
      }
    }
    await tree.close();
  } catch (error) {
    file.abort();
    if (error instanceof OpenKeyError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EACCES' || code === 'EROFS' || code === 'EIO') {
      throw new OpenKeyError('E_SYNTH_WRITE', `writing ${outPath} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    throw error;
  }
  const elapsedMs = performance.now() - started;
  const bytes = file.end;
  options.onProgress?.({ events: spec.events, total: spec.events, bytes, elapsedMs });

  const totalXsection = def.channels.reduce((sum, c) => sum + c.xsection, 0);
  const truth: Record<string, unknown> = {
    ...def.truth,
    generator: 'openkey synth (toy generator + parametric detector)',
    seed: spec.seed,
    channels: def.channels.map((c, i) => ({ dsid: c.dsid, name: c.name, xsectionPb: c.xsection, events: counts[i] })),
  };
  if (isData) truth.equivalentLuminosityPerPb = spec.events / totalXsection;
  // Channels are drawn in proportion to their cross-sections with mcWeight 1, so the file as a whole is normalised
  // by its total cross-section over its number of events, and each channel by its own.
  const entry: DatasetFileEntry = {
    sample: def.sample,
    process,
    ...(isData ? {} : { crossSection: Math.round(totalXsection * 1e4) / 1e4 }),
    kind: def.kind,
    role: def.kind,
    ...(isData
      ? { luminosityFb: spec.events / totalXsection / 1000 }
      : { crossSectionPb: totalXsection, kFactor: 1, filterEfficiency: 1, sumOfWeights: spec.events }),
    truth,
  };
  const signals = def.channels.filter((c) => c.signal === true);
  if (!isData && signals.length > 0) {
    entry.subsamples = def.channels.map((c, i) => ({
      sample: c.sample ?? c.name,
      process: c.name,
      signal: c.signal === true,
      selection: `channelNumber==${c.dsid}`,
      crossSectionPb: c.xsection,
      kFactor: 1,
      filterEfficiency: 1,
      sumOfWeights: counts[i]!,
    }));
  }
  return { path: outPath, bytes, events: spec.events, elapsedMs, entry };
}

/** Adds (or replaces) one file's entry in `directory`/dataset.json, written atomically. */
export function updateDatasetJson(
  directory: string,
  fileName: string,
  entry: DatasetFileEntry,
  defaults: Omit<DatasetJson, 'files'>,
): string {
  const path = join(directory, 'dataset.json');
  let current: DatasetJson = { ...defaults, files: {} };
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<DatasetJson>;
    if (parsed && typeof parsed === 'object' && parsed.files && typeof parsed.files === 'object') {
      current = { ...defaults, ...parsed, files: parsed.files };
    }
  } catch {
    // no (usable) dataset.json yet
  }
  current.files[fileName] = entry;
  const temp = join(directory, `.dataset.json.${globalThis.process.pid}.partial`);
  try {
    writeFileSync(temp, JSON.stringify(current, null, 2) + '\n');
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new OpenKeyError('E_SYNTH_WRITE', `cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
  return path;
}

export function datasetDefaults(process: ProcessName): Omit<DatasetJson, 'files'> {
  const def = processDef(process);
  return { title: def.title, description: def.description, licence: 'CC0-1.0', tree: ATLAS13_MINI_TREE };
}

/**
 * Writes `<process>.root` and `dataset.json` into `outDir` for a manifest dataset with `source: synthetic`.
 * The same inputs give the same bytes (timestamps come from SOURCE_DATE_EPOCH or a fixed date, the UUID from
 * the seed).
 */
export async function writeSyntheticDataset(
  spec: SyntheticSpec,
  outDir: string,
  options: SynthOptions = {},
): Promise<{ files: string[]; bytes: number; events: number }> {
  const { process } = validateSpec(spec);
  const rootPath = join(outDir, `${process}.root`);
  const result = await writeSyntheticFile(spec, rootPath, options);
  const jsonPath = updateDatasetJson(outDir, basename(rootPath), result.entry, datasetDefaults(process));
  return { files: [rootPath, jsonPath], bytes: result.bytes + statSync(jsonPath).size, events: result.events };
}
