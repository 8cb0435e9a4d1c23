/** What the route plugins are given: the service's dataset store, worker pool and analyses. */
import type { AnalysisManager } from '../analyses/manager.ts';
import type { DatasetStore } from '../datasets.ts';
import type { WorkerPool } from '../pool/pool.ts';
import type { SampleAnalyses } from '../samples.ts';
import type { StreamStats } from './events.ts';

export interface ServiceParts {
  store: DatasetStore;
  pool: WorkerPool;
  /** The analyses of one dataset. */
  manager: AnalysisManager;
  /** What the routes submit to: requests of one dataset go to `manager`, those over several are combined. */
  analyses: SampleAnalyses;
  limits: {
    /** Analyses one client address may have running or waiting. */
    maxPerClient: number;
    /** An event stream whose client has not read for this long is dropped. */
    sseStallMs: number;
  };
  /** Event streams open and dropped. */
  streams: StreamStats;
  /**
   * Start-up work done before the first request needs it: every worker started and every dataset file's tree
   * metadata read (and kept). Resolves when both are done; a file that cannot be read is reported when asked for.
   */
  ready: Promise<void>;
}
