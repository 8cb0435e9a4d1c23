/**
 * Places for running analyses: at most `maxActive` run, at most `maxQueued` wait in order; beyond that a submit is
 * refused. A place is released once however its analysis ends, and the next waiting one starts. After close()
 * nothing starts any more.
 */
import { OpenKeyError } from '../../../common/errors.ts';
import type { Analysis } from './publish.ts';

export interface ScheduleOptions {
  maxActive: number;
  maxQueued: number;
  /** Starts an analysis that got a place. */
  start: (a: Analysis) => void;
}

export class Scheduler {
  private readonly options: ScheduleOptions;
  private readonly waiting: Analysis[] = [];
  /** Analyses holding a place among the maxActive, until released. */
  private readonly running = new Set<Analysis>();
  private closing = false;

  constructor(options: ScheduleOptions) {
    this.options = options;
  }

  get counts(): { active: number; queued: number } {
    return { active: this.running.size, queued: this.waiting.length };
  }

  get closed(): boolean {
    return this.closing;
  }

  /** Throws E_SHUTTING_DOWN or E_QUEUE_FULL when an analysis could neither start nor wait now. */
  checkRoom(): void {
    if (this.closing) throw new OpenKeyError('E_SHUTTING_DOWN', 'the service is shutting down');
    if (this.running.size >= this.options.maxActive && this.waiting.length >= this.options.maxQueued)
      throw new OpenKeyError('E_QUEUE_FULL', `the analysis queue is full (${this.options.maxQueued} waiting)`, {
        params: { limit: this.options.maxQueued },
      });
  }

  /** Starts the analysis or queues it; throws E_SHUTTING_DOWN or E_QUEUE_FULL when it can do neither. */
  admit(a: Analysis): void {
    this.checkRoom();
    if (this.running.size < this.options.maxActive) {
      this.running.add(a);
      this.options.start(a);
    } else {
      this.waiting.push(a);
    }
  }

  /** Takes a waiting analysis out of the queue (cancelled before it started); false when it was not waiting. */
  unqueue(a: Analysis): boolean {
    const index = this.waiting.indexOf(a);
    if (index < 0) return false;
    this.waiting.splice(index, 1);
    return true;
  }

  /** Frees the analysis's place (once, however it ended) and starts the next waiting one. */
  release(a: Analysis): void {
    if (!this.running.delete(a)) return;
    if (this.closing) return;
    const next = this.waiting.shift();
    if (next) {
      this.running.add(next);
      this.options.start(next);
    }
  }

  /** Refuses everything from now on; returns the waiting analyses, taken out of the queue, for the caller to end. */
  close(): Analysis[] {
    this.closing = true;
    return this.waiting.splice(0);
  }
}
