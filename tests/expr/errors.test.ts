/** Every way an expression can be wrong, with the exact message a user gets back. */
import { describe, expect, it } from 'vitest';
import { compileDraw, ExpressionError, LIMITS, type BranchInfo } from '../../services/analysis/expr/index.ts';

const SCALARS = ['lep_n', 'met_et', 'mcWeight', 'scaleFactor_PILEUP', 'alljet_n', 'trigE'];
const ARRAYS = ['lep_pt', 'lep_eta', 'lep_phi', 'lep_E', 'lep_charge', 'lep_type', 'jet_pt'];
const branches: ReadonlyMap<string, BranchInfo> = new Map(
  [...SCALARS.map((name) => ({ name, isArray: false })), ...ARRAYS.map((name) => ({ name, isArray: true }))].map(
    (info) => [info.name, info],
  ),
);

type Field = 'selection' | 'weight' | 'expr';

function compileError(field: Field, text: string): ExpressionError {
  const spec =
    field === 'selection'
      ? { selection: text, expressions: ['met_et'] }
      : field === 'weight'
        ? { weight: text, expressions: ['met_et'] }
        : { expressions: ['met_et', 'lep_pt', text] };
  try {
    compileDraw(spec, branches);
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

// [field, text, code, message]; histogram expressions are the third histogram, so their field is histograms[2].expr
const cases: [Field, string, string, string][] = [
  ['selection', 'lep_n == 2 && )', 'E_EXPR_SYNTAX', 'selection: column 15: unexpected ")" (expected an expression)'],
  ['expr', 'lep_pt[0] >', 'E_EXPR_SYNTAX', 'column 12: unexpected end of expression (expected an expression)'],
  ['expr', ')', 'E_EXPR_SYNTAX', 'column 1: unexpected ")" (expected an expression)'],
  [
    'expr',
    '(lep_n',
    'E_EXPR_SYNTAX',
    'column 7: unexpected end of expression (expected ")" to close the "(" at column 1)',
  ],
  [
    'expr',
    'lep_n == 2)',
    'E_EXPR_SYNTAX',
    'column 11: unexpected ")" (expected an operator or the end of the expression)',
  ],
  ['selection', 'lep_n = 2', 'E_EXPR_SYNTAX', 'selection: column 7: unexpected "=" (did you mean "=="?)'],
  [
    'selection',
    'lep_n == 2 and met_et > 0',
    'E_EXPR_SYNTAX',
    'selection: column 12: "and" is not an operator; write "&&"',
  ],
  ['selection', 'lep_n == 2 or trigE', 'E_EXPR_SYNTAX', 'selection: column 12: "or" is not an operator; write "||"'],
  ['selection', 'not trigE', 'E_EXPR_SYNTAX', 'selection: column 1: "not" is not an operator; write "!"'],
  ['expr', 'lep_pt[', 'E_EXPR_SYNTAX', 'column 8: unexpected end of expression (expected an expression)'],
  [
    'expr',
    'lep_pt[0',
    'E_EXPR_SYNTAX',
    'column 9: unexpected end of expression (expected "]" to close the "[" at column 7)',
  ],
  [
    'expr',
    'sqrt(lep_pt[0]',
    'E_EXPR_SYNTAX',
    'column 15: unexpected end of expression (expected "," or ")" to close the "(" at column 5)',
  ],
  ['expr', 'sqrt()', 'E_EXPR_ARITY', 'column 1: sqrt takes 1 argument, got 0'],
  ['expr', '1 + pow(2)', 'E_EXPR_ARITY', 'column 5: pow takes 2 arguments, got 1'],
  ['expr', 'min(1, 2, 3)', 'E_EXPR_ARITY', 'column 1: min takes 2 arguments, got 3'],
  ['expr', 'Length$(lep_pt, 1)', 'E_EXPR_ARITY', 'column 1: Length$ takes 1 argument, got 2'],
  ['expr', 'sqr(met_et)', 'E_EXPR_UNKNOWN_FUNCTION', 'column 1: unknown function "sqr" (did you mean sq, sqrt, sin?)'],
  ['expr', 'Sqrt(met_et)', 'E_EXPR_UNKNOWN_FUNCTION', 'column 1: unknown function "Sqrt" (did you mean sqrt?)'],
  [
    'expr',
    'TMath::Foo(met_et)',
    'E_EXPR_UNKNOWN_FUNCTION',
    'column 1: unknown function "TMath::Foo" (did you mean TMath::Cos, TMath::Floor, TMath::Log?)',
  ],
  [
    'expr',
    'lep_pt(0)',
    'E_EXPR_UNKNOWN_FUNCTION',
    'column 1: unknown function "lep_pt" ("lep_pt" is a branch; index arrays with [ ])',
  ],
  [
    'expr',
    'Entry$',
    'E_EXPR_UNKNOWN_FUNCTION',
    'column 1: "Entry$" is not supported (the special functions are Length$, Sum$, Max$, Min$)',
  ],
  ['expr', 'met_et / lep_Pt', 'E_EXPR_UNKNOWN_BRANCH', 'column 10: unknown branch "lep_Pt" (did you mean lep_pt?)'],
  [
    'weight',
    'mcWieght*2',
    'E_EXPR_UNKNOWN_BRANCH',
    'weight: column 1: unknown branch "mcWieght" (did you mean mcWeight?)',
  ],
  ['expr', 'foo_bar_baz', 'E_EXPR_UNKNOWN_BRANCH', 'column 1: unknown branch "foo_bar_baz"'],
  ['expr', '1.2.3', 'E_EXPR_SYNTAX', 'column 1: malformed number "1.2.3"'],
  ['expr', '2x', 'E_EXPR_SYNTAX', 'column 1: malformed number "2x"'],
  ['expr', 'met_et # 2', 'E_EXPR_SYNTAX', 'column 8: unexpected character "#"'],
  ['expr', 'met_et > é', 'E_EXPR_SYNTAX', 'column 10: unexpected character "é"'],
  ['expr', '"abc"', 'E_EXPR_SYNTAX', 'column 1: unexpected character "\\"" (strings are not supported)'],
  ['expr', 'met_et[0]', 'E_EXPR_NOT_ARRAY', 'column 1: "met_et" is not an array branch, so it cannot be indexed'],
  [
    'expr',
    'lep_pt[0][1]',
    'E_EXPR_SYNTAX',
    'column 10: unexpected "[" (only one index is allowed ("lep_pt" is read as a one-dimensional array))',
  ],
  ['expr', '(lep_pt)[0]', 'E_EXPR_SYNTAX', 'column 9: unexpected "[" (only a branch name can be indexed)'],
  ['expr', 'lep_pt[-1]', 'E_EXPR_INDEX', 'column 8: index -1 is out of range (indices start at 0)'],
  [
    'expr',
    'met_et > 0 ? 1',
    'E_EXPR_SYNTAX',
    'column 15: unexpected end of expression (expected ":" for the "?" at column 12)',
  ],
  [
    'expr',
    'met_et >> h(100,0,1)',
    'E_EXPR_SYNTAX',
    'column 8: unexpected ">>" (a histogram\'s binning is given by its bins, min and max, not by ">>" in the expression)',
  ],
  [
    'expr',
    'met_et:lep_n',
    'E_EXPR_SYNTAX',
    'column 7: unexpected ":" (one expression per histogram; "x:y" 2-D draws are not supported)',
  ],
  ['expr', 'met_et << 2', 'E_EXPR_SYNTAX', 'column 8: unexpected "<<" (bit shifts are not supported)'],
  ['expr', 'sqrt', 'E_EXPR_SYNTAX', 'column 1: "sqrt" is a function; call it as sqrt(…)'],
  ['expr', 'TMath::Pi', 'E_EXPR_SYNTAX', 'column 1: "TMath::Pi" is a function; call it as TMath::Pi(…)'],
  ['expr', '', 'E_EXPR_SYNTAX', 'column 1: the expression is empty'],
  ['expr', '   ', 'E_EXPR_SYNTAX', 'column 1: the expression is empty'],
  [
    'expr',
    'met_et 5',
    'E_EXPR_SYNTAX',
    'column 8: unexpected number "5" (expected an operator or the end of the expression)',
  ],
  [
    'expr',
    'met_et, 1',
    'E_EXPR_SYNTAX',
    'column 7: unexpected "," (expected an operator or the end of the expression)',
  ],
  [
    'expr',
    'lep_pt[0]]',
    'E_EXPR_SYNTAX',
    'column 10: unexpected "]" (expected an operator or the end of the expression)',
  ],
  ['expr', 'met_et ** 2 =', 'E_EXPR_SYNTAX', 'column 13: unexpected "=" (did you mean "=="?)'],
  ['expr', '('.repeat(100_000), 'E_EXPR_TOO_DEEP', 'column 65: the expression nests deeper than 64 levels'],
  ['expr', '-'.repeat(100_000) + '1', 'E_EXPR_TOO_DEEP', 'column 65: the expression nests deeper than 64 levels'],
  ['expr', '2^'.repeat(70) + '2', 'E_EXPR_TOO_DEEP', 'column 130: the expression nests deeper than 64 levels'],
  ['expr', '1<'.repeat(65) + '1', 'E_EXPR_TOO_DEEP', 'column 130: the expression nests deeper than 64 levels'],
  ['expr', 'sqrt('.repeat(65) + '1', 'E_EXPR_TOO_DEEP', 'column 325: the expression nests deeper than 64 levels'],
  [
    'expr',
    'met_et+'.repeat(1000) + '1',
    'E_EXPR_TOO_LONG',
    'column 4097: the expression is 7001 characters long; the limit is 4096',
  ],
];

describe('expression errors', () => {
  it.each(cases)('%s %j → %s', (field, text, code, message) => {
    const error = compileError(field, text);
    expect(error.code).toBe(code);
    expect(error.message).toBe(field === 'expr' ? `histograms[2].expr: ${message}` : message);
    expect(error.field).toBe(field === 'expr' ? 'histograms[2].expr' : field);
    expect(error.column).toBe(Number(/column (\d+)/.exec(message)![1]));
    expect(error.exitCode).toBe(2);
  });

  it('lists the closest names of an unknown branch or function as suggestions', () => {
    expect(compileError('expr', 'lep_ptt').suggestions).toEqual(['lep_pt', 'lep_eta', 'lep_phi']);
    expect(compileError('expr', 'Lep_PT').suggestions).toEqual(['lep_pt']);
    expect(compileError('expr', 'lep_et').suggestions).toEqual(['lep_E', 'lep_eta', 'lep_pt']);
    expect(compileError('expr', 'TMath::cosh(1)').suggestions).toEqual(['TMath::CosH']);
    expect(compileError('expr', 'zzzzzzzzzz').suggestions).toEqual([]);
    expect(compileError('expr', 'lep_Pt').hint).toBe(
      'Branch names are case-sensitive; the dataset description lists them.',
    );
  });

  it('reports the first error in reading order', () => {
    expect(compileError('expr', 'foo + sqrt(').message).toBe('histograms[2].expr: column 1: unknown branch "foo"');
    expect(compileError('expr', 'met_et + (2 # foo').message).toBe(
      'histograms[2].expr: column 13: unexpected character "#"',
    );
  });

  it('accepts the deepest nesting allowed and the longest text allowed', () => {
    const depth = LIMITS.maxDepth;
    expect(() =>
      compileDraw({ expressions: ['('.repeat(depth) + 'met_et' + ')'.repeat(depth)] }, branches),
    ).not.toThrow();
    expect(() => compileDraw({ expressions: ['-'.repeat(depth) + 'met_et'] }, branches)).not.toThrow();
    // long chains of one operator stay flat: JavaScript's parser would overflow on 2000 nested parentheses
    const chains: [string, string][] = [
      ['1', '+'],
      ['met_et', '-'],
      ['2', '*'],
      ['lep_n>0', '&&'],
      ['trigE', '||'],
    ];
    for (const [term, op] of chains) {
      const long =
        `${term}${op}`.repeat(Math.floor((LIMITS.maxLength - term.length) / (term.length + op.length))) + term;
      expect(long.length).toBeLessThanOrEqual(LIMITS.maxLength);
      expect(() => compileDraw({ selection: long, expressions: [long] }, branches)).not.toThrow();
    }
  });

  it('names the histogram whose expression is wrong', () => {
    try {
      compileDraw({ expressions: ['met_et', 'met_et', 'met_et', 'lep_pt[', 'met_et'] }, branches);
      expect.unreachable();
    } catch (error) {
      expect((error as ExpressionError).field).toBe('histograms[3].expr');
    }
  });
});
