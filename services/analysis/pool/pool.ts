/**
 * A small worker_threads pool: a FIFO of tasks, one task per worker at a time. A worker that dies (crash, out of
 * memory, terminated for a cancel) is replaced and its task fails with a clean error; the pool keeps serving.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ResultJob } from '../result-json.ts';
import type { FileTable, FromWorker, Task, TaskResult, ToWorker, Work } from './protocol.ts';

/** The files a task reads, for messages: "a.root", or "a.root and 3 more files" when small files travel together. */
export function filesOf(task: Task): string {
  const others = new Set((task.more ?? []).map((p) => p.file));
  others.delete(task.file);
  return others.size === 0 ? task.file : `${task.file} and ${others.size} more file${others.size === 1 ? '' : 's'}`;
}

export class TaskError extends Error {
  readonly code: string;
  /** The error's facts for a translated message (common/errors.ts ErrorParams). */
  readonly params: Record<string, string | number>;
  constructor(code: string, message: string, params: Record<string, string | number> = {}) {
    super(message);
    this.name = 'TaskError';
    this.code = code;
    this.params = params;
  }
}

/** What a job's work gives back. */
type Answer = TaskResult | Uint8Array;

interface Job {
  id: number;
  work: Work;
  /** Jobs of one analysis share a group so they can be cancelled together. */
  group: string;
  resolve: (answer: Answer) => void;
  reject: (error: TaskError) => void;
  /** Cancelled while waiting in a worker: already rejected, the worker was told to skip it and will acknowledge. */
  dropped?: boolean;
}

interface Slot {
  worker: Worker;
  /** Jobs sent to this worker, in order; the first is running, the others wait in the worker. */
  jobs: Job[];
  ready: boolean;
  /** Set when a running job's group was cancelled: the worker is terminated if the job does not end promptly. */
  killTimer: NodeJS.Timeout | undefined;
  /** Groups cancelled while this worker held their jobs. */
  cancelled: Set<string>;
  /** Ids of the file tables this worker was sent (a new worker starts with none). */
  files: Set<number>;
}

/**
 * Tasks sent ahead to each worker: the next one is already there when the current one ends, so a worker does not
 * wait for the main thread between tasks (which matters when the machine is busy).
 */
const PIPELINE = 2;

/** Where the worker entry is: the .ts file next to this one in development, analysis-worker.js when bundled. */
export function defaultWorkerUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return new URL('./worker.ts', here);
  const bundled = new URL('./analysis-worker.js', here);
  return existsSync(fileURLToPath(bundled)) ? bundled : new URL('./pool/worker.js', here);
}

export interface PoolOptions {
  size: number;
  workerUrl?: URL;
  /** A cancelled task still running after this long has its worker terminated (and replaced). */
  cancelGraceMs?: number;
  /**
   * The workers' nice value (default 10, so HTTP answers first). A benchmark that compares them with baselines run
   * on the main thread gives 0, the same priority, or a busy shared machine would weigh the comparison.
   */
  nice?: number;
}

export class WorkerPool {
  readonly size: number;
  private readonly workerUrl: URL;
  private readonly grace: number;
  private readonly nice: number | undefined;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers replaced after dying, for health and tests. */
  restarts = 0;
  private startupFailures = 0;

  constructor(options: PoolOptions) {
    this.size = Math.max(1, Math.floor(options.size));
    this.workerUrl = options.workerUrl ?? defaultWorkerUrl();
    this.grace = options.cancelGraceMs ?? 300;
    this.nice = options.nice;
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const url = this.workerUrl;
    const worker = url.pathname.endsWith('.ts')
      ? new Worker(new URL('./tsx-boot.mjs', import.meta.url), { workerData: { entry: url.href, nice: this.nice } })
      : new Worker(url, { workerData: { nice: this.nice } });
    const slot: Slot = {
      worker,
      jobs: [],
      ready: false,
      killTimer: undefined,
      cancelled: new Set(),
      files: new Set(),
    };
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    worker.on('error', (error) => this.onExit(slot, `worker crashed: ${error.message}`));
    worker.on('exit', (code) => this.onExit(slot, `worker exited with code ${code}`));
    return slot;
  }

  private readonly readyWaiters: (() => void)[] = [];

  /** Resolves once every worker has started (loaded its code and said so); at once when they all have. */
  ready(): Promise<void> {
    if (this.closed || this.slots.every((s) => s.ready)) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    if (message.type === 'ready') {
      slot.ready = true;
      this.startupFailures = 0;
      if (this.slots.every((s) => s.ready)) for (const resolve of this.readyWaiters.splice(0)) resolve();
      this.dispatch();
      return;
    }
    const index = slot.jobs.findIndex((j) => j.id === message.id);
    if (index < 0) return;
    const [job] = slot.jobs.splice(index, 1);
    this.disarm(slot);
    if (message.type === 'done') job!.resolve(message.result);
    else if (message.type === 'json') job!.resolve(message.bytes);
    else job!.reject(new TaskError(message.code, message.message, message.params));
    this.dispatch();
  }

  /** Stops the kill timer once the worker holds no job of a cancelled group any more. */
  private disarm(slot: Slot): void {
    if (slot.jobs.some((j) => !j.dropped && slot.cancelled.has(j.group))) return;
    slot.cancelled.clear();
    if (slot.killTimer !== undefined) clearTimeout(slot.killTimer);
    slot.killTimer = undefined;
  }

  private onExit(slot: Slot, reason: string): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return; // already replaced ('error' is followed by 'exit')
    const jobs = slot.jobs.splice(0);
    if (slot.killTimer !== undefined) clearTimeout(slot.killTimer);
    if (this.closed) {
      this.slots.splice(index, 1);
      for (const job of jobs) job.reject(new TaskError('E_POOL_CLOSED', 'the service is shutting down'));
      return;
    }
    this.restarts++;
    if (!slot.ready && ++this.startupFailures > 3 * this.size) {
      // The worker cannot even start (a broken install): fail everything rather than respawn forever.
      this.closed = true;
      this.slots.splice(index, 1);
      for (const resolve of this.readyWaiters.splice(0)) resolve();
      const failure = new TaskError('E_POOL_BROKEN', `analysis workers cannot start: ${reason}`);
      for (const job of [...jobs, ...this.queue.splice(0)]) job.reject(failure);
      return;
    }
    this.slots[index] = this.spawn();
    // The running job is the one that died with the worker; the ones waiting behind it go back to the queue,
    // except those of a cancelled group.
    const [running, ...waiting] = jobs;
    const requeue = waiting.filter((j) => !j.dropped && !slot.cancelled.has(j.group));
    for (const j of waiting) if (slot.cancelled.has(j.group)) j.reject(new TaskError('E_CANCELLED', 'cancelled'));
    this.queue.unshift(...requeue);
    if (running) {
      if (slot.cancelled.has(running.group)) running.reject(new TaskError('E_CANCELLED', 'cancelled'));
      else if (running.work.type === 'result')
        running.reject(new TaskError('E_WORKER_CRASHED', `writing the result: ${reason}; the task was abandoned`));
      else
        running.reject(
          new TaskError('E_WORKER_CRASHED', `${filesOf(running.work.task)}: ${reason}; the task was abandoned`, {
            file: filesOf(running.work.task),
          }),
        );
    }
    this.dispatch();
  }

  private dispatch(): void {
    for (let depth = 1; depth <= PIPELINE; depth++) {
      for (const slot of this.slots) {
        if (this.queue.length === 0) return;
        if (!slot.ready || slot.jobs.length >= depth || slot.killTimer !== undefined) continue;
        const job = this.queue.shift()!;
        slot.jobs.push(job);
        const { work } = job;
        if (work.type === 'result')
          slot.worker.postMessage({ ...work, id: job.id } satisfies ToWorker, sumsBuffers(work.job));
        else
          slot.worker.postMessage({ type: 'task', id: job.id, task: this.forSlot(slot, work.task) } satisfies ToWorker);
      }
    }
  }

  /** The task as this worker gets it: only the file tables it does not have yet (it keeps those it was sent). */
  private forSlot(slot: Slot, task: Task): Task {
    if (task.files === undefined) return task;
    const files = task.files.filter((f) => !slot.files.has(f.id));
    for (const f of files) slot.files.add(f.id);
    const { files: _all, ...rest } = task;
    return files.length > 0 ? { ...rest, files } : rest;
  }

  /** Gives every worker these file tables now (start-up), so no task has to carry them; a worker started later gets
   * each one with the first task that needs it. */
  sendFiles(tables: readonly FileTable[]): void {
    if (this.closed) return;
    for (const slot of this.slots) {
      const files = tables.filter((f) => !slot.files.has(f.id));
      for (const f of files) slot.files.add(f.id);
      if (files.length > 0) slot.worker.postMessage({ type: 'files', files } satisfies ToWorker);
    }
  }

  /** Sends `message` to every worker (the column cache's word on what they keep); a worker started later has none. */
  broadcast(message: Extract<ToWorker, { type: 'pieces' }>): void {
    if (this.closed) return;
    for (const slot of this.slots) slot.worker.postMessage(message);
  }

  run(task: Task, group: string): Promise<TaskResult> {
    return this.submit({ type: 'task', task }, group, false) as Promise<TaskResult>;
  }

  /**
   * A finished analysis's JSON (result-json.ts), written by a worker; its sums' buffers are transferred (detached
   * here). It goes ahead of the queued tasks: it is short, and the analysis is done but for it.
   */
  resultJson(job: ResultJob, group: string): Promise<Uint8Array> {
    return this.submit({ type: 'result', job }, group, true) as Promise<Uint8Array>;
  }

  private submit(work: Work, group: string, first: boolean): Promise<Answer> {
    if (this.closed) return Promise.reject(new TaskError('E_POOL_CLOSED', 'the service is shutting down'));
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, work, group, resolve, reject };
      if (first) this.queue.unshift(job);
      else this.queue.push(job);
      this.dispatch();
    });
  }

  /** Drops the group's queued tasks and stops its running ones within the grace period. */
  cancel(group: string): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i]!;
      if (job.group !== group) continue;
      this.queue.splice(i, 1);
      job.reject(new TaskError('E_CANCELLED', 'cancelled'));
    }
    for (const slot of this.slots) {
      const [running, ...waiting] = slot.jobs;
      // Jobs waiting in a worker behind another one are skipped there; only a running job of the group warrants the
      // kill timer, which would otherwise also take down another analysis's running job.
      for (const job of waiting) {
        if (job.group !== group || job.dropped) continue;
        job.dropped = true;
        job.reject(new TaskError('E_CANCELLED', 'cancelled'));
        slot.worker.postMessage({ type: 'cancel', id: job.id } satisfies ToWorker);
      }
      if (running?.group !== group) continue;
      slot.cancelled.add(group);
      slot.killTimer ??= setTimeout(() => void slot.worker.terminate(), this.grace);
    }
  }

  get queued(): number {
    return this.queue.length;
  }

  get busy(): number {
    return this.slots.filter((s) => s.jobs.length > 0).length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
    for (const slot of this.slots) if (slot.killTimer !== undefined) clearTimeout(slot.killTimer);
    for (const job of this.queue.splice(0)) job.reject(new TaskError('E_POOL_CLOSED', 'the service is shutting down'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/** The buffers of a result job's sums, handed over to the worker without a copy. */
function sumsBuffers(job: ResultJob): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const sums of [job.total, ...(job.byFile ?? []).map(([, s]) => s)])
    for (const a of [...sums.sumw, ...sums.sumw2, sums.stats]) out.add(a.buffer as ArrayBuffer);
  return [...out];
}
