/** Evaluation on small hand-made batches: operators, functions, array semantics, selection and weight. */
import { describe, expect, it } from 'vitest';
import {
  compileDraw,
  kernelSource,
  STATS,
  type Accumulators,
  type Batch,
  type BranchInfo,
  type Column,
  type DrawSpec,
} from '../../services/analysis/expr/index.ts';
import { OpenKeyError } from '../../common/errors.ts';

type Data = Record<string, number[] | number[][]>;

function batchOf(data: Data): { batch: Batch; branches: Map<string, BranchInfo> } {
  const columns = new Map<string, Column>();
  const branches = new Map<string, BranchInfo>();
  let events = 0;
  for (const [name, values] of Object.entries(data)) {
    events = values.length;
    if (Array.isArray(values[0])) {
      const rows = values as number[][];
      const offsets = new Uint32Array(rows.length + 1);
      rows.forEach((row, i) => (offsets[i + 1] = offsets[i]! + row.length));
      columns.set(name, { kind: 'array', offsets, values: Float64Array.from(rows.flat()) });
      branches.set(name, { name, isArray: true });
    } else {
      columns.set(name, { kind: 'scalar', values: Float64Array.from(values as number[]) });
      branches.set(name, { name, isArray: false });
    }
  }
  return { batch: { events, columns }, branches };
}

/** Histograms of 2000 bins over [-1000, 1000), each fill binned as the worker's former fill function did. */
function accumulators(histograms: number): Accumulators {
  return {
    min: Array.from({ length: histograms }, () => -1000),
    scale: Array.from({ length: histograms }, () => 1),
    bins: Array.from({ length: histograms }, () => 2000),
    sumw: Array.from({ length: histograms }, () => new Float64Array(2002)),
    sumw2: Array.from({ length: histograms }, () => new Float64Array(2002)),
    stats: new Float64Array(histograms * STATS),
  };
}

function binFill(into: Accumulators, h: number, x: number, w: number): void {
  if (w === 0) return;
  const n = into.bins[h]!;
  let bin = Number.isFinite(x) ? Math.floor((x - into.min[h]!) * into.scale[h]!) : n + 1;
  bin = bin < 0 ? 0 : bin >= n ? n + 1 : bin + 1;
  into.sumw[h]![bin]! += w;
  into.sumw2[h]![bin]! += w * w;
  into.stats[h * STATS]! += 1;
  if (bin > 0 && bin <= n) {
    into.stats[h * STATS + 1]! += w;
    into.stats[h * STATS + 2]! += w * w;
    into.stats[h * STATS + 3]! += w * x;
    into.stats[h * STATS + 4]! += w * x * x;
  }
}

const bytesOf = (into: Accumulators): Buffer =>
  Buffer.concat([...into.sumw, ...into.sumw2, into.stats].map((a) => Buffer.from(a.buffer)));

/**
 * Every fill as [histogram, value, weight]. Each case also checks that the kernel with inline fills (fillBatch,
 * what the workers run) gives the same histograms, bit for bit, as binning these calls.
 */
function fills(spec: DrawSpec, data: Data): [number, number, number][] {
  const { batch, branches } = batchOf(data);
  const out: [number, number, number][] = [];
  const program = compileDraw(spec, branches);
  const called = accumulators(spec.expressions.length);
  program.processBatch(batch, (h, v, w) => {
    out.push([h, v, w]);
    binFill(called, h, v, w);
  });
  const inline = accumulators(spec.expressions.length);
  program.fillBatch(batch, inline);
  expect(bytesOf(inline).equals(bytesOf(called))).toBe(true);
  return out;
}

/** The values of a single histogram's fills, for the common case of weight 1. */
function valuesOf(expr: string, data: Data, selection?: string): number[] {
  return fills({ expressions: [expr], ...(selection === undefined ? {} : { selection }) }, data).map(([, v, w]) => {
    expect(w).toBe(1);
    return v;
  });
}

/** One event, so a constant expression evaluates once. */
const one: Data = { x: [0] };
const value = (expr: string): number => {
  const out = valuesOf(expr, one);
  expect(out).toHaveLength(1);
  return out[0]!;
};

describe('numbers, operators and precedence', () => {
  it.each([
    ['1e3', 1000],
    ['.5', 0.5],
    ['5.', 5],
    ['1.5E-3', 0.0015],
    ['2.5e+2', 250],
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['64 / 4 / 2', 8],
    ['1 + 2 * 3 ^ 2', 19],
    ['-2^2', -4],
    ['2^3^2', 512],
    ['2**10', 1024],
    ['2^-1', 0.5],
    ['- -3', 3],
    ['+4', 4],
    ['7 % 3', 1],
    ['-7 % 3', -1],
    ['7.9 % 3', 1],
    ['5 & 3', 1],
    ['5 | 3', 7],
    ['2^40 | 1', 2 ** 40 + 1],
    ['1 < 2 == 1', 1],
    ['3 > 2 > 1', 0],
    ['2 <= 2', 1],
    ['2 >= 3', 0],
    ['2 != 2', 0],
    ['1 || 0 && 0', 1],
    ['(1 || 0) && 0', 0],
    ['!0', 1],
    ['!5', 0],
    ['!!5', 1],
    ['1 ? 2 : 3', 2],
    ['0 ? 2 : 0 ? 3 : 4', 4],
    ['1 + (0 ? 10 : 20)', 21],
    ['!(0/0)', 0], // NaN is true in C++
    ['(0/0) ? 1 : 2', 1],
    ['1/0', Infinity],
    ['1e999', Infinity],
    ['pi', Math.PI],
  ])('%s = %d', (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });
});

describe('functions', () => {
  it.each([
    ['abs(-3)', 3],
    ['TMath::Abs(-3)', 3],
    ['sqrt(16)', 4],
    ['TMath::Sqrt(2)', Math.SQRT2],
    ['pow(2, 10)', 1024],
    ['TMath::Power(3, 3)', 27],
    ['sq(3)', 9],
    ['exp(1)', Math.E],
    ['log(TMath::E())', 1],
    ['log10(1000)', 3],
    ['TMath::Log10(0.01)', -2],
    ['sin(0.5)', Math.sin(0.5)],
    ['cos(0.5)', Math.cos(0.5)],
    ['tan(0.5)', Math.tan(0.5)],
    ['asin(0.5)', Math.asin(0.5)],
    ['acos(0.5)', Math.acos(0.5)],
    ['atan(0.5)', Math.atan(0.5)],
    ['atan2(1, -1)', Math.atan2(1, -1)],
    ['TMath::ATan2(-1, -1)', Math.atan2(-1, -1)],
    ['sinh(0.5)', Math.sinh(0.5)],
    ['cosh(0.5)', Math.cosh(0.5)],
    ['TMath::TanH(0.5)', Math.tanh(0.5)],
    ['min(2, 3)', 2],
    ['max(2, 3)', 3],
    ['TMath::Min(-1, -2)', -2],
    ['TMath::Max(-1, -2)', -1],
    ['min(0/0, 1)', 1], // TMath::Min(a, b) is a <= b ? a : b
    ['TMath::Pi()', Math.PI],
    ['TMath::TwoPi()', 2 * Math.PI],
    ['TMath::Hypot(3, 4)', 5],
    ['fmod(7.5, 2)', 1.5],
    ['int(-2.7)', -2],
    ['floor(-2.5)', -3],
    ['ceil(2.1)', 3],
    ['sign(-0.5)', -1],
    ['sqrt(sq(3) + sq(4))', 5],
  ])('%s = %d', (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });
});

describe('branches and TTree::Draw array semantics', () => {
  const events: Data = {
    n: [2, 0, 3, 1],
    met: [10, 20, 30, 40],
    pt: [[50, 20], [], [30, 60, 10], [70]],
    eta: [[0.5, -1], [], [1, 2, 0], [-2]],
    jet: [[100], [200, 300], [400, 500], []],
  };

  it('fills a scalar branch once per event', () => {
    expect(valuesOf('met', events)).toEqual([10, 20, 30, 40]);
  });

  it('fills an array branch without an index once per element', () => {
    expect(valuesOf('pt', events)).toEqual([50, 20, 30, 60, 10, 70]);
    expect(valuesOf('pt[]', events)).toEqual([50, 20, 30, 60, 10, 70]);
  });

  it('pairs the elements of arrays used together, as many as the shortest has', () => {
    expect(valuesOf('pt + eta', events)).toEqual([50.5, 19, 31, 62, 10, 68]);
    expect(valuesOf('jet - pt', events)).toEqual([50, 370, 440]);
  });

  it('broadcasts scalars and indexed elements over the instances', () => {
    expect(valuesOf('pt - met', events)).toEqual([40, 10, 0, 30, -20, 30]);
    expect(valuesOf('pt / pt[0]', events)).toEqual([1, 0.4, 1, 2, 1 / 3, 1]);
  });

  it('skips the event when an index is out of range', () => {
    expect(valuesOf('pt[1]', events)).toEqual([20, 60]);
    expect(valuesOf('pt[2] + met', events)).toEqual([40]);
    expect(valuesOf('met', events, 'pt[1] > 0')).toEqual([10, 30]);
    expect(valuesOf('met', events, '!(pt[1] > 1000)')).toEqual([10, 30]);
  });

  it('tests the length once for the indices a cut or a value always reads, and keeps the rest lazy', () => {
    // NaN != 5 would pass: the out-of-range read must reject the event, tested up front or not
    expect(valuesOf('met', events, 'pt[1] != 5')).toEqual([10, 30]);
    expect(valuesOf('met', events, 'pt[0] > 0 || pt[3] > 0')).toEqual([10, 30, 40]);
    expect(valuesOf('met', events, 'pt[0] > 25 && pt[1] != 5')).toEqual([10, 30]);
    expect(fills({ selection: 'pt[0] > 0', weight: 'pt[1]', expressions: ['met'] }, events)).toEqual([
      [0, 10, 20],
      [0, 30, 60],
    ]);
    expect(fills({ selection: 'pt[1] - 20', expressions: ['met'] }, events)).toEqual([[0, 30, 40]]);
    // one histogram out of range does not take the others' fills
    expect(fills({ expressions: ['pt[1]', 'met'] }, events)).toEqual([
      [0, 20, 1],
      [1, 10, 1],
      [1, 20, 1],
      [0, 60, 1],
      [1, 30, 1],
      [1, 40, 1],
    ]);
    const source = kernelSource(
      { selection: 'pt[0] > 25 && pt[1] != 5', expressions: ['pt[1] - pt[0]'] },
      batchOf(events).branches,
    );
    expect(source).toContain('if (!(n0 > 1)) continue;');
    expect(source).not.toContain('(n0 > 1 ? ');
  });

  it('evaluates an index lazily behind ?:, && and ||', () => {
    expect(valuesOf('n > 1 ? pt[1] : -1', events)).toEqual([20, -1, 60, -1]);
    expect(valuesOf('met', events, 'n > 1 && pt[1] > 30')).toEqual([30]);
    expect(valuesOf('met', events, 'n < 2 || pt[1] > 30')).toEqual([20, 30, 40]);
  });

  it('indexes with any expression, truncated towards zero', () => {
    expect(valuesOf('pt[n-1]', events)).toEqual([20, 10, 70]);
    expect(valuesOf('pt[1.9]', events)).toEqual([20, 60]);
    expect(valuesOf('pt[met/10 - 1]', events)).toEqual([50, 10]);
    expect(valuesOf('pt[pt[0] / 1000]', events)).toEqual([50, 30, 70]);
  });

  it('makes an index that is itself an array a per-element expression', () => {
    const data: Data = { idx: [[1, 0, 5]], v: [[7, 8, 9]] };
    expect(valuesOf('v[idx]', data)).toEqual([8, 7]);
  });

  it('selects elements with an array selection and repeats scalars for every passing element', () => {
    expect(valuesOf('pt', events, 'pt > 25')).toEqual([50, 30, 60, 70]);
    expect(valuesOf('eta', events, 'pt > 25')).toEqual([0.5, 1, 2, -2]);
    expect(valuesOf('met', events, 'pt > 25')).toEqual([10, 30, 30, 40]);
    expect(valuesOf('jet', events, 'pt > 25')).toEqual([100, 400, 500]);
    expect(valuesOf('pt', events, 'n != 3 && pt > 25')).toEqual([50, 70]);
    expect(valuesOf('pt', events, 'n != 3 && met > 15 && pt > 25')).toEqual([70]);
  });

  it('reduces arrays with Length$, Sum$, Max$ and Min$ (0 for an empty array)', () => {
    expect(valuesOf('Length$(pt)', events)).toEqual([2, 0, 3, 1]);
    expect(valuesOf('Length$(met)', events)).toEqual([1, 1, 1, 1]);
    expect(valuesOf('Length$(jet - pt)', events)).toEqual([1, 0, 2, 0]);
    expect(valuesOf('Length$(pt[1])', events)).toEqual([1, 0, 1, 0]);
    expect(valuesOf('Sum$(pt)', events)).toEqual([70, 0, 100, 70]);
    expect(valuesOf('Sum$(pt > 25)', events)).toEqual([1, 0, 2, 1]);
    expect(valuesOf('Sum$(pt[1])', events)).toEqual([20, 0, 60, 0]);
    expect(valuesOf('Max$(pt)', events)).toEqual([50, 0, 60, 70]);
    expect(valuesOf('Min$(eta)', events)).toEqual([-1, 0, 0, -2]);
    expect(valuesOf('Max$(pt * eta)', events)).toEqual([25, 0, 120, -140]);
  });

  it('keeps reductions scalar inside array expressions, and nests them', () => {
    expect(valuesOf('pt / Sum$(pt)', events)).toEqual([50 / 70, 20 / 70, 0.3, 0.6, 0.1, 1]);
    expect(valuesOf('Sum$(pt * Length$(jet))', events)).toEqual([70, 0, 200, 0]);
    expect(valuesOf('met', events, 'Sum$(pt > 25) >= 2')).toEqual([30]);
    expect(valuesOf('Max$(jet) + Max$(jet)', events)).toEqual([200, 600, 1000, 0]);
  });
});

describe('selection × weight', () => {
  const data: Data = { x: [1, 2, 3, 4, 5], w: [0.5, 0, -2, 1, 0 / 0], flag: [1, 1, 0, 1, 1] };

  it('uses a boolean selection as 0 or 1', () => {
    expect(fills({ selection: 'x > 2', expressions: ['x'] }, data)).toEqual([
      [0, 3, 1],
      [0, 4, 1],
      [0, 5, 1],
    ]);
  });

  it('multiplies a numeric selection by the weight and does not fill a zero or NaN weight', () => {
    expect(fills({ selection: 'w', expressions: ['x'] }, data)).toEqual([
      [0, 1, 0.5],
      [0, 3, -2],
      [0, 4, 1],
    ]);
    expect(fills({ selection: 'flag', weight: 'w * 2', expressions: ['x'] }, data)).toEqual([
      [0, 1, 1],
      [0, 4, 2],
    ]);
    expect(fills({ selection: 'x != 4', weight: 'w', expressions: ['x'] }, data)).toEqual([
      [0, 1, 0.5],
      [0, 3, -2],
    ]);
    expect(fills({ weight: 'x * (x > 3)', expressions: ['1'] }, data)).toEqual([
      [0, 1, 4],
      [0, 1, 5],
    ]);
  });

  it('treats a blank selection or weight as none', () => {
    expect(fills({ selection: '  ', weight: '', expressions: ['x'] }, data)).toHaveLength(5);
  });

  it('fills every histogram of an event with the same weight', () => {
    expect(fills({ selection: 'x >= 4', weight: 'flag * 3', expressions: ['x', '-x', '7'] }, data)).toEqual([
      [0, 4, 3],
      [1, -4, 3],
      [2, 7, 3],
      [0, 5, 3],
      [1, -5, 3],
      [2, 7, 3],
    ]);
  });

  it('evaluates an array weight per element', () => {
    const arrays: Data = { pt: [[10, 20, 30]], sf: [[1, 0, 2]] };
    expect(fills({ weight: 'sf', expressions: ['pt'] }, arrays)).toEqual([
      [0, 10, 1],
      [0, 30, 2],
    ]);
  });
});

describe('the program', () => {
  it('lists the branches it reads, selection first, each once', () => {
    const { branches } = batchOf({ a: [1], b: [[1]], c: [1], d: [1] });
    const program = compileDraw(
      { selection: 'c > 0', weight: 'd', expressions: ['b[0] + a', 'Sum$(b) * c'] },
      branches,
    );
    expect(program.branches).toEqual(['c', 'd', 'b', 'a']);
    expect(compileDraw({ expressions: ['1'] }, branches).branches).toEqual([]);
  });

  it('processes many batches with one compiled program and no state left between them', () => {
    const { batch, branches } = batchOf({ pt: [[1, 2], [3]] });
    const program = compileDraw({ expressions: ['pt', 'Sum$(pt)'] }, branches);
    for (let i = 0; i < 3; i++) {
      const out: number[] = [];
      program.processBatch(batch, (h, v) => out.push(h, v));
      expect(out).toEqual([0, 1, 0, 2, 1, 3, 0, 3, 1, 3]);
    }
  });

  it('does nothing for an empty batch or no histograms', () => {
    const { branches } = batchOf({ x: [1] });
    const empty: Batch = { events: 0, columns: new Map() };
    let calls = 0;
    compileDraw({ expressions: ['x'] }, branches).processBatch(empty, () => calls++);
    compileDraw({ expressions: [] }, branches).processBatch(batchOf({ x: [1] }).batch, () => calls++);
    expect(calls).toBe(0);
  });

  it('rejects a batch that does not match the branches (a reader bug, not a user error)', () => {
    const { branches } = batchOf({ x: [1], v: [[1]] });
    const program = compileDraw({ expressions: ['x + v'] }, branches);
    const attempt =
      (columns: Map<string, Column>, events = 1) =>
      () =>
        program.processBatch({ events, columns }, () => undefined);
    const x: Column = { kind: 'scalar', values: new Float64Array([1]) };
    const v: Column = { kind: 'array', offsets: new Uint32Array([0, 1]), values: new Float64Array([1]) };
    expect(attempt(new Map([['x', x]]))).toThrow('the batch has no column for branch "v"');
    expect(
      attempt(
        new Map<string, Column>([
          ['x', v],
          ['v', v],
        ]),
      ),
    ).toThrow('branch "x" is scalar but its column is an array');
    expect(
      attempt(
        new Map<string, Column>([
          ['x', x],
          ['v', x],
        ]),
      ),
    ).toThrow('branch "v" is an array but its column is scalar');
    expect(
      attempt(
        new Map<string, Column>([
          ['x', x],
          ['v', v],
        ]),
        2,
      ),
    ).toThrow('the column of "x" is shorter than the batch\'s 2 events');
    expect(attempt(new Map([['x', x]]))).toThrow(expect.objectContaining({ code: 'E_EXPR_BATCH' }));
    expect(attempt(new Map([['x', x]]))).toThrow(OpenKeyError);
  });

  it('never puts user text into the generated code', () => {
    const strange = ['constructor', '__proto__', 'e', 'w', 'x', 'fill', 'Math', 'process.exit', 'n0', 'columns'];
    const data: Data = Object.fromEntries(strange.map((name, i) => [name, [i + 1]]));
    const { branches } = batchOf(data);
    const spec = { selection: 'e > 0', weight: 'w', expressions: [strange.join(' + ')] };
    const source = kernelSource(spec, branches);
    for (const name of ['constructor', '__proto__', 'process', 'Math.exit']) expect(source).not.toContain(name);
    expect(fills(spec, data)).toEqual([[0, 55, 4]]);
    // a would-be call of something that is not in the function table is rejected, not executed
    expect(() => compileDraw({ expressions: ['process.exit(1)'] }, branches)).toThrow(
      'unknown function "process.exit" ("process.exit" is a branch; index arrays with [ ])',
    );
    expect(() => compileDraw({ expressions: ['constructor.constructor(1)'] }, branches)).toThrow('unknown function');
  });

  it('accepts newlines and tabs as white space', () => {
    expect(valuesOf('x\n\t+ 1', { x: [1] })).toEqual([2]);
  });
});
