/**
 * A result's JSON written by a real analysis worker (result-json.ts): the bytes are those of JSON.stringify on this
 * thread, the buffers handed over are detached here, and a view's JSON made around them parses to the view itself,
 * cached or not, as does the fallback written in slices when no worker wrote it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AnalysisResult, AnalysisView } from '../../services/analysis/api.ts';
import { template } from '../../services/analysis/histogram.ts';
import { WorkerPool } from '../../services/analysis/pool/pool.ts';
import {
  keepResultJson,
  resultBody,
  viewJson,
  withCached,
  type ResultJob,
} from '../../services/analysis/result-json.ts';

/** Sums with values JSON writes in every form: fractions, exponents, negatives and zeros. */
function job(bins: number, files: number | undefined): ResultJob {
  const sums = (seed: number) => ({
    sumw: [Float64Array.from({ length: bins + 2 }, (_, i) => (i % 7 === 0 ? 0 : (seed + i) / 3 - 5e-7 * i))],
    sumw2: [Float64Array.from({ length: bins + 2 }, (_, i) => ((seed + i) / 3) ** 2 * 1e21)],
    // Two histograms' statistics: the request's and the plan's event count after it.
    stats: Float64Array.from({ length: 10 }, (_, i) => seed * 10 + i),
  });
  return {
    template: template(),
    specs: [
      { bins, min: -1.5, max: 2.5 },
      { bins: 1, min: 0, max: 1 },
    ],
    histograms: [{ name: 'h', expr: 'x "quoted" \u00e9' }],
    entries: 1234,
    seconds: 0.125,
    bytesRead: 99,
    total: sums(1),
    ...(files === undefined
      ? {}
      : {
          byFile: Array.from({ length: files }, (_, f): [string, ReturnType<typeof sums>] => [
            `f${f}.root`,
            sums(f + 2),
          ]),
        }),
  };
}

const pool = new WorkerPool({ size: 1 });
afterAll(() => pool.close());

describe('result JSON from a worker', () => {
  it.each([
    ['per-file histograms', 1000, 3],
    ['per-file histograms left out', 100_000, undefined],
  ])('%s: the bytes are JSON.stringify of the result body', async (_name, bins, files) => {
    const expected = JSON.stringify(resultBody(job(bins, files)));
    const sent = job(bins, files);
    const bytes = await pool.resultJson(sent, 'g');
    expect(Buffer.from(bytes).toString('utf8')).toBe(expected);
    // Transferred, not copied: the main thread's sums are gone.
    expect(sent.total.sumw[0]!.length).toBe(0);
  });

  it('a view made around the bytes is the view, cached or not; without bytes it is written in slices', async () => {
    const sent = job(5000, 2);
    const result: AnalysisResult = { cached: false, ...resultBody(job(5000, 2)) };
    keepResultJson(result, await pool.resultJson(sent, 'g'));
    const cached = withCached(result, true);
    const plain: AnalysisResult = { ...result, cached: true };
    for (const r of [result, cached, plain]) {
      const view: AnalysisView = {
        id: 'a1',
        state: 'done',
        progress: { entriesDone: 1234, entriesTotal: 1234 },
        result: r,
      };
      const json = await viewJson(view);
      expect(typeof json === 'string').toBe(r === plain);
      expect(JSON.parse(json.toString())).toEqual(JSON.parse(JSON.stringify(view)));
    }
  });
});
