/** A result's JSON written in slices (services/analysis/json-slices.ts) is JSON.stringify's text, byte for byte. */
import { describe, expect, it } from 'vitest';
import { stringifyInSlices } from '../../services/analysis/json-slices.ts';

const ramp = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe('stringifyInSlices', () => {
  it.each<[string, unknown]>([
    ['no long array', { id: 'a', progress: { entriesDone: 1, entriesTotal: 2 }, list: [1, 2, 3] }],
    ['an array just at the slice length', { a: ramp(8, (i) => i) }],
    ['an array one past it', { a: ramp(9, (i) => i / 3) }],
    ['several slices, two arrays, odd values', { h: { fArray: ramp(50, (i) => i * 0.1), fSumw2: ramp(17, () => -0) } }],
    ['NaN and infinities (null in JSON), nested arrays', { a: [...ramp(10, (i) => i), NaN, Infinity, -1e300, [1, 2]] }],
    ['a long array of objects and strings', { a: ramp(20, (i) => (i % 2 ? { i } : `s"${i}\n`)) }],
    ['a long array at the top', ramp(30, (i) => i)],
    ['strings that look like placeholders', { a: ramp(9, (i) => i), s: '\u00000', t: 'abcdef0123456789:0' }],
    [
      'the same long array twice',
      (() => {
        const a = ramp(12, (i) => i);
        return { a, b: a };
      })(),
    ],
  ])('%s', async (_name, value) => {
    expect(await stringifyInSlices(value, 8)).toBe(JSON.stringify(value));
  });

  it('lets other callbacks run between slices', async () => {
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    const text = await stringifyInSlices({ a: ramp(200_000, (i) => i * 1.1) }, 1000);
    clearInterval(timer);
    expect(JSON.parse(text).a).toHaveLength(200_000);
    expect(turns).toBeGreaterThan(0);
  });
});
