/**
 * The functions an expression may call. `emit` turns already-generated argument code into JavaScript; its output
 * is built only from this table, never from user text. Helpers named in `helpers` are defined once at the top of
 * the generated kernel (see HELPERS).
 */
export interface FunctionDef {
  /** How users write it, as found in error messages. */
  name: string;
  arity: number;
  emit: (args: readonly string[]) => string;
  helpers?: readonly HelperName[];
}

/** A reduction over the instances of its argument (TTreeFormula's "$" functions); always one argument. */
export type ReductionName = 'Length$' | 'Sum$' | 'Max$' | 'Min$';
export const REDUCTIONS: readonly ReductionName[] = ['Length$', 'Sum$', 'Max$', 'Min$'];

export type HelperName = 'min2' | 'max2' | 'mod' | 'band' | 'bor' | 'sign';

/** JavaScript source of the helpers, with ROOT's semantics where they differ from JavaScript's. */
export const HELPERS: Readonly<Record<HelperName, string>> = {
  // TMath::Min/Max are `a <= b ? a : b` and `a >= b ? a : b`: unlike Math.min they do not propagate NaN from `a`
  min2: 'function min2(a, b) { return a <= b ? a : b; }',
  max2: 'function max2(a, b) { return a >= b ? a : b; }',
  // TFormula's % works on the operands cast to integers, as C's % does (the sign follows the dividend)
  mod: 'function mod(a, b) { return Math.trunc(a) % Math.trunc(b); }',
  // TFormula's & and | are bitwise on the operands cast to integers; BigInt keeps 53-bit values exact
  band:
    'function band(a, b) { a = Math.trunc(a); b = Math.trunc(b); if ((a | 0) === a && (b | 0) === b) return a & b; ' +
    'if (!Number.isFinite(a) || !Number.isFinite(b)) return NaN; return Number(BigInt(a) & BigInt(b)); }',
  bor:
    'function bor(a, b) { a = Math.trunc(a); b = Math.trunc(b); if ((a | 0) === a && (b | 0) === b) return a | b; ' +
    'if (!Number.isFinite(a) || !Number.isFinite(b)) return NaN; return Number(BigInt(a) | BigInt(b)); }',
  // TFormula's sign(x): 1 for x >= 0, -1 otherwise
  sign: 'function sign(a) { return a < 0 ? -1 : 1; }',
};

const math1 = (name: string, js: string): FunctionDef => ({ name, arity: 1, emit: ([a]) => `Math.${js}(${a})` });
const constant = (name: string, value: number): FunctionDef => ({ name, arity: 0, emit: () => numberLiteral(value) });

const DEFINITIONS: FunctionDef[] = [
  math1('abs', 'abs'),
  math1('TMath::Abs', 'abs'),
  math1('fabs', 'abs'),
  math1('sqrt', 'sqrt'),
  math1('TMath::Sqrt', 'sqrt'),
  { name: 'sq', arity: 1, emit: ([a]) => `Math.pow(${a}, 2)` },
  { name: 'TMath::Sq', arity: 1, emit: ([a]) => `Math.pow(${a}, 2)` },
  { name: 'pow', arity: 2, emit: ([a, b]) => `Math.pow(${a}, ${b})` },
  { name: 'TMath::Power', arity: 2, emit: ([a, b]) => `Math.pow(${a}, ${b})` },
  math1('exp', 'exp'),
  math1('TMath::Exp', 'exp'),
  math1('log', 'log'),
  math1('TMath::Log', 'log'),
  math1('log10', 'log10'),
  math1('TMath::Log10', 'log10'),
  math1('sin', 'sin'),
  math1('TMath::Sin', 'sin'),
  math1('cos', 'cos'),
  math1('TMath::Cos', 'cos'),
  math1('tan', 'tan'),
  math1('TMath::Tan', 'tan'),
  math1('asin', 'asin'),
  math1('TMath::ASin', 'asin'),
  math1('acos', 'acos'),
  math1('TMath::ACos', 'acos'),
  math1('atan', 'atan'),
  math1('TMath::ATan', 'atan'),
  { name: 'atan2', arity: 2, emit: ([a, b]) => `Math.atan2(${a}, ${b})` },
  { name: 'TMath::ATan2', arity: 2, emit: ([a, b]) => `Math.atan2(${a}, ${b})` },
  math1('sinh', 'sinh'),
  math1('TMath::SinH', 'sinh'),
  math1('cosh', 'cosh'),
  math1('TMath::CosH', 'cosh'),
  math1('tanh', 'tanh'),
  math1('TMath::TanH', 'tanh'),
  math1('asinh', 'asinh'),
  math1('TMath::ASinH', 'asinh'),
  math1('acosh', 'acosh'),
  math1('TMath::ACosH', 'acosh'),
  math1('atanh', 'atanh'),
  math1('TMath::ATanH', 'atanh'),
  { name: 'min', arity: 2, emit: ([a, b]) => `min2(${a}, ${b})`, helpers: ['min2'] },
  { name: 'TMath::Min', arity: 2, emit: ([a, b]) => `min2(${a}, ${b})`, helpers: ['min2'] },
  { name: 'max', arity: 2, emit: ([a, b]) => `max2(${a}, ${b})`, helpers: ['max2'] },
  { name: 'TMath::Max', arity: 2, emit: ([a, b]) => `max2(${a}, ${b})`, helpers: ['max2'] },
  { name: 'TMath::Hypot', arity: 2, emit: ([a, b]) => `Math.hypot(${a}, ${b})` },
  { name: 'fmod', arity: 2, emit: ([a, b]) => `(${a} % ${b})` },
  math1('floor', 'floor'),
  math1('TMath::Floor', 'floor'),
  math1('ceil', 'ceil'),
  math1('TMath::Ceil', 'ceil'),
  math1('int', 'trunc'),
  { name: 'sign', arity: 1, emit: ([a]) => `sign(${a})`, helpers: ['sign'] },
  constant('TMath::Pi', Math.PI),
  constant('TMath::TwoPi', 2 * Math.PI),
  constant('TMath::PiOver2', Math.PI / 2),
  constant('TMath::E', Math.E),
];

export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(DEFINITIONS.map((def) => [def.name, def]));

/** Names that stand for a number without parentheses, as in TFormula. */
export const CONSTANTS: ReadonlyMap<string, number> = new Map([['pi', Math.PI]]);

/** Every name a user may call, for "did you mean" suggestions. */
export const CALLABLE_NAMES: readonly string[] = [...FUNCTIONS.keys(), ...REDUCTIONS];

/** A JavaScript literal for a finite or infinite number; the only way numbers enter generated code. */
export function numberLiteral(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '(-Infinity)';
  const text = String(value);
  if (!/^-?[0-9.e+-]+$/.test(text)) throw new Error(`bug: unexpected number text ${text}`);
  return value < 0 || Object.is(value, -0) ? `(${Object.is(value, -0) ? '-0' : text})` : text;
}
