/**
 * One analysis as the API sees it (state, progress, error, result) and the listeners that follow it (SSE). Progress
 * is published at most every 100 ms; an end state always, once, after which nobody listens any more.
 */
import { randomUUID } from 'node:crypto';
import type { AnalysisError, DatasetRequest, AnalysisResult, AnalysisState, AnalysisView } from '../api.ts';
import type { Plan } from './plan.ts';

export type Listener = (view: AnalysisView) => void;

/** Progress events are sent at most this often. */
const NOTIFY_EVERY_MS = 100;

export class Analysis {
  readonly id = randomUUID();
  readonly request: DatasetRequest;
  state: AnalysisState = 'queued';
  readonly progress = { entriesDone: 0, entriesTotal: 0 };
  error?: AnalysisError;
  result?: AnalysisResult;
  /** What to run; dropped when the analysis ends. */
  plan?: Plan;
  /** Resolves when the analysis has ended, however it ended. */
  readonly finished: Promise<void>;
  private settle: () => void = () => {};
  private readonly listeners = new Set<Listener>();
  private lastNotify = 0;

  constructor(request: DatasetRequest) {
    this.request = request;
    this.finished = new Promise<void>((resolve) => (this.settle = resolve));
  }

  get ended(): boolean {
    return this.state === 'done' || this.state === 'failed' || this.state === 'cancelled';
  }

  view(): AnalysisView {
    const v: AnalysisView = { id: this.id, state: this.state, progress: { ...this.progress } };
    if (this.error) v.error = this.error;
    if (this.result) v.result = this.result;
    return v;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastNotify < NOTIFY_EVERY_MS) return;
    this.lastNotify = now;
    const view = this.view();
    for (const listener of this.listeners) listener(view);
  }

  end(state: AnalysisState, extra: { error?: AnalysisError; result?: AnalysisResult } = {}): void {
    this.state = state;
    if (extra.error) this.error = extra.error;
    if (extra.result) this.result = extra.result;
    delete this.plan;
    this.notify(true);
    this.listeners.clear();
    this.settle();
  }
}
