/**
 * A finished analysis's result and its JSON. The JSON is written by an analysis worker from the merged sums (one
 * JSON.stringify of 100 000 bins holds a thread for tens of milliseconds, and the main thread is the one that
 * answers /api/health); the main thread keeps the bytes beside the result and relays them: a view's JSON is a few
 * bytes of its own around them. Free of jsroot, so the workers can import it.
 */
import type { AnalysisResult, AnalysisView } from './api.ts';
import { stringifyInSlices } from './json-slices.ts';
import type { HistSpec } from './pool/protocol.ts';
import { STATS } from './pool/protocol.ts';
import { th1d, type Sums, type TH1D } from './th1d.ts';

/** What a result is made of: plain data and typed arrays, so it can go to a worker. */
export interface ResultJob {
  /** jsroot's TH1D as plain JSON (histogram.ts template()). */
  template: TH1D;
  specs: HistSpec[];
  /** The request's histograms, in the order of `specs`. */
  histograms: { name: string; expr: string }[];
  entries: number;
  seconds: number;
  bytesRead: number;
  total: Sums;
  /** Per file in the plan's order; absent when left out (the result says byFileOmitted). */
  byFile?: [string, Sums][];
}

/** The result, but for `cached` (the cache answers the same result with cached: true). */
export type ResultBody = Omit<AnalysisResult, 'cached'>;

export function resultBody(job: ResultJob): ResultBody {
  const map = (sums: Sums) => {
    const out: Record<string, TH1D> = {};
    job.histograms.forEach(
      (h, i) => (out[h.name] = th1d(job.template, job.specs[i]!, sums, i, h.name, h.name, h.expr)),
    );
    return out;
  };
  const byFile: Record<string, Record<string, TH1D>> = {};
  for (const [name, sums] of job.byFile ?? []) byFile[name] = map(sums);
  return {
    entries: job.entries,
    // The plan's last histogram, after the request's, counts the selected events (DrawText.eventCount).
    selected: job.total.stats[job.histograms.length * STATS]!,
    seconds: job.seconds,
    bytesRead: job.bytesRead,
    histograms: map(job.total),
    byFile,
    ...(job.byFile === undefined ? { byFileOmitted: true } : {}),
  };
}

/** The body's JSON as UTF-8, in a buffer of its own (a worker transfers it). */
export function resultBodyBytes(job: ResultJob): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(resultBody(job)));
}

/** Results whose JSON (but for `cached`) came from a worker. */
const bodies = new WeakMap<AnalysisResult, Uint8Array>();

export function keepResultJson(result: AnalysisResult, body: Uint8Array): void {
  bodies.set(result, body);
}

/** The same result with another `cached`, sharing the JSON. */
export function withCached(result: AnalysisResult, cached: boolean): AnalysisResult {
  const copy = { ...result, cached };
  const body = bodies.get(result);
  if (body !== undefined) bodies.set(copy, body);
  return copy;
}

/**
 * The view's JSON: around the worker's bytes when its result has them (a copy of them, nothing parsed or written
 * again), else written in slices on this thread (stringifyInSlices).
 */
export async function viewJson(view: AnalysisView): Promise<Buffer | string> {
  const result = view.result;
  const body = result === undefined ? undefined : bodies.get(result);
  if (result === undefined || body === undefined || body[0] !== 0x7b) return stringifyInSlices(view);
  const head = JSON.stringify({ ...view, result: undefined });
  // head is {…} without the result: its closing brace goes after it. body is {…} with at least one member.
  return Buffer.concat([
    Buffer.from(`${head.slice(0, -1)},"result":{"cached":${result.cached === true},`),
    body.subarray(1),
    Buffer.from('}'),
  ]);
}
