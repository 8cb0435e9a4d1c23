import type { ResolvedManifest } from '../manifest/types.ts';
import type { PlannedStage } from '../plan/index.ts';
import type { StageName } from './registry.ts';

/**
 * The interface of a stage's code. What the build knows about a stage (order, dependencies, inputs, tools, disk,
 * artefacts) is its record in ./registry.ts; how to add a stage is written there.
 *
 * What a stage may use: its inputs, the folders of the stages it depends on, and a folder to write its output in. */
export interface StageContext {
  manifest: ResolvedManifest;
  stage: PlannedStage;
  /** The toolchain checkout (services/, apps/, image/ live there). */
  projectRoot: string;
  /** Output folders of the stages this one depends on, by name. */
  deps: Partial<Record<StageName, string>>;
  /** Empty folder the stage writes its output into; published to the cache by rename when the stage succeeds. */
  outDir: string;
  /** Scratch space on the same file system, removed after the stage. */
  workDir: string;
  sourceDateEpoch: number;
  offline: boolean;
  /** The build's cache folder (the content stage reads real-data files from its content cache). */
  cacheDir?: string;
  signal: AbortSignal;
  log: (message: string) => void;
  /** Percentage of the stage done, where the tool reports one. */
  progress: (percent: number) => void;
}

export interface StageResult {
  /** Files of the output (relative path → bytes) shown in the final table and the report. */
  outputs: Record<string, number>;
  /** Anything worth keeping in the report (kernel version, package count, dataset sizes…). */
  details?: Record<string, unknown>;
}

export interface StageDefinition {
  name: StageName;
  /**
   * Values the stage derives from the manifest itself that decide its bytes (implicit packages, generated hooks):
   * its registry record puts them into its inputs, so they are part of the cache key. A pure function.
   */
  extraKey?: (manifest: ResolvedManifest) => unknown;
  run(context: StageContext): Promise<StageResult>;
}

/** Reads the output folder of a dependency, failing loudly when the stage's record does not list it in dependsOn. */
export function dependency(context: StageContext, name: StageName): string {
  const dir = context.deps[name];
  if (dir === undefined) throw new Error(`stage ${context.stage.name} needs the output of ${name}, which did not run`);
  return dir;
}
