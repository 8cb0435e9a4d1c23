/** The micro-benchmark compares like with like: the engine and the hand-written loop fill exactly the same. */
import { expect, it } from 'vitest';
import { compileDraw } from '../../services/analysis/expr/index.ts';
import {
  handWritten,
  syntheticBatch,
  SYNTHETIC_BRANCHES,
  Z_MASS,
  Z_SELECTION,
  Z_WEIGHT,
} from '../../services/analysis/expr/bench.ts';

it('fills the Z→ℓℓ mass on synthetic batches exactly as the hand-written loop does', () => {
  const program = compileDraw({ selection: Z_SELECTION, weight: Z_WEIGHT, expressions: [Z_MASS] }, SYNTHETIC_BRANCHES);
  expect(program.branches.sort()).toEqual([...SYNTHETIC_BRANCHES.keys()].filter((name) => name !== 'lep_E').sort());
  for (const seed of [1, 2, 3]) {
    const batch = syntheticBatch(20_000, seed);
    const ours: number[] = [];
    const hand: number[] = [];
    program.processBatch(batch, (h, v, w) => ours.push(h, v, w));
    handWritten(batch, (h, v, w) => hand.push(h, v, w));
    expect(ours.length).toBeGreaterThan(3 * 500);
    expect(ours).toEqual(hand);
  }
});
