/**
 * One error registry (common/errors.ts): every code the service, the reader and the expression engine can produce
 * is listed with its status, exit code and meaning, and the HTTP answers take their status from it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ERRORS, errorEntry, httpStatus, OpenKeyError } from '../../common/errors.ts';
import { buildApp } from '../../services/analysis/app.ts';
import { makeDatasets } from './fixtures.ts';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('the error registry', () => {
  it('lists every code the service, rootio and the expressions use', () => {
    const used = new Set<string>();
    for (const file of [...sources('services/analysis'), ...sources('rootio/read')])
      for (const m of readFileSync(file, 'utf8').matchAll(/'(E_[A-Z0-9_]+)'/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((code) => errorEntry(code) === undefined)).toEqual([]);
  });

  it('gives each entry a meaning, a status and an exit code; errors take exit code and hint from it', () => {
    for (const [code, entry] of Object.entries(ERRORS)) {
      expect(entry.what.length, code).toBeGreaterThan(3);
      expect([400, 404, 413, 429, 500, 503], code).toContain(entry.status);
      expect([1, 2], code).toContain(entry.exitCode);
    }
    const e = new OpenKeyError('E_QUEUE_FULL', 'the analysis queue is full (3 waiting)');
    expect([e.exitCode, e.hint]).toEqual([1, 'retry in a few seconds']);
    expect(new OpenKeyError('E_BAD_BINNING', 'x').exitCode).toBe(2);
    expect(new OpenKeyError('E_BAD_BINNING', 'x', { hint: 'mine' }).hint).toBe('mine');
    expect(httpStatus('E_UNKNOWN_DATASET')).toBe(404);
  });

  it('is what the service answers with', async () => {
    const fixture = makeDatasets();
    const app = await buildApp({ datasets: fixture.root, workers: 1 });
    try {
      const cases: [keyof typeof ERRORS, string | InjectOptions][] = [
        ['E_UNKNOWN_DATASET', '/api/datasets/nope'],
        ['E_UNKNOWN_ANALYSIS', '/api/analyses/nope'],
        ['E_NOT_FOUND', '/nope'],
        [
          'E_BAD_BINNING',
          {
            method: 'POST',
            url: '/api/analyses',
            payload: { dataset: 'hzz', histograms: [{ name: 'a', expr: 'Muon_Px', bins: 3, min: 1, max: 0 }] },
          },
        ],
      ];
      for (const [code, request] of cases) {
        const res = await app.inject(request);
        expect(res.json(), code).toMatchObject({ code, statusCode: ERRORS[code].status });
        expect(res.statusCode).toBe(ERRORS[code].status);
      }
      expect((await app.inject('/api/analyses/nope')).json().hint).toBe(ERRORS.E_UNKNOWN_ANALYSIS.hint);
    } finally {
      await app.close();
      fixture.dispose();
    }
  });
});
