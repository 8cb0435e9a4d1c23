import { ExpressionError } from './errors.ts';

export type Operator =
  | '('
  | ')'
  | '['
  | ']'
  | ','
  | '?'
  | ':'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^'
  | '!'
  | '<'
  | '<='
  | '>'
  | '>='
  | '=='
  | '!='
  | '&&'
  | '||'
  | '&'
  | '|';

export type Token =
  | { kind: 'number'; text: string; pos: number; value: number }
  | { kind: 'name'; text: string; pos: number }
  | { kind: 'op'; text: string; pos: number; op: Operator }
  | { kind: 'end'; text: ''; pos: number };

const TWO_CHAR: ReadonlyMap<string, Operator> = new Map<string, Operator>([
  ['<=', '<='],
  ['>=', '>='],
  ['==', '=='],
  ['!=', '!='],
  ['&&', '&&'],
  ['||', '||'],
  ['**', '^'], // TFormula turns "**" into "^" (power)
]);
const ONE_CHAR = new Set('()[],?:+-*/%^!<>&|');

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isNameStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isNamePart = (c: number): boolean => isNameStart(c) || isDigit(c) || c === 46; // '.' joins split-branch names

const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;

/**
 * A hand-written, lazy tokenizer: it reads one token at a time, so an error late in a huge input is only found
 * after the parser has had the chance to reject what comes before it.
 */
export class Lexer {
  private index = 0;
  readonly text: string;
  readonly field: string;

  constructor(text: string, field: string) {
    this.text = text;
    this.field = field;
  }

  /** A syntax error at `pos`; its params name what was found there ('' at the end) and what would fit. */
  error(pos: number, detail: string, params: { expected?: string; suggestion?: string } = {}): ExpressionError {
    const found = /^(?:[\w$.:]+|\S{1,2})/u.exec(this.text.slice(pos))?.[0] ?? '';
    return new ExpressionError('E_EXPR_SYNTAX', this.field, pos + 1, detail, { params: { found, ...params } });
  }

  next(): Token {
    const text = this.text;
    let i = this.index;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      i++;
    }
    const pos = i;
    if (i >= text.length) {
      this.index = i;
      return { kind: 'end', text: '', pos };
    }
    const c = text.charCodeAt(i);

    if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(i + 1)))) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      let end = i + (match ? match[0].length : 1);
      // "2x", "1.2.3", "1e", "0x1F": report the whole run rather than a confusing error on its tail
      if (end < text.length && (isNamePart(text.charCodeAt(end)) || text[end] === '$')) {
        while (end < text.length && (isNamePart(text.charCodeAt(end)) || text[end] === '$')) end++;
        throw this.error(pos, `malformed number "${text.slice(pos, end)}"`);
      }
      const raw = text.slice(pos, end);
      this.index = end;
      return { kind: 'number', text: raw, pos, value: Number(raw) };
    }

    if (isNameStart(c)) {
      let end = i + 1;
      while (end < text.length && isNamePart(text.charCodeAt(end))) end++;
      if (text[end] === '$') end++;
      // a namespace-qualified function name such as TMath::Abs is one token
      while (text[end] === ':' && text[end + 1] === ':' && isNameStart(text.charCodeAt(end + 2))) {
        end += 3;
        while (end < text.length && isNamePart(text.charCodeAt(end))) end++;
      }
      this.index = end;
      return { kind: 'name', text: text.slice(pos, end), pos };
    }

    const two = text.slice(i, i + 2);
    const twoOp = TWO_CHAR.get(two);
    if (twoOp !== undefined) {
      this.index = i + 2;
      return { kind: 'op', text: two, pos, op: twoOp };
    }
    if (two === '>>') {
      throw this.error(
        pos,
        'unexpected ">>" (a histogram\'s binning is given by its bins, min and max, not by ">>" in the expression)',
      );
    }
    if (two === '<<') throw this.error(pos, 'unexpected "<<" (bit shifts are not supported)');
    if (two === '::') throw this.error(pos, 'unexpected "::" (only function names such as TMath::Abs take a "::")');
    const ch = text[i]!;
    if (ONE_CHAR.has(ch)) {
      this.index = i + 1;
      return { kind: 'op', text: ch, pos, op: ch as Operator };
    }
    if (ch === '=') throw this.error(pos, 'unexpected "=" (did you mean "=="?)', { suggestion: '==' });
    if (ch === '"' || ch === "'")
      throw this.error(pos, `unexpected character ${quote(ch)} (strings are not supported)`);
    const codePoint = text.codePointAt(i)!;
    throw this.error(pos, `unexpected character ${quote(String.fromCodePoint(codePoint))}`);
  }
}

/** The character between double quotes, with control characters made visible. */
export function quote(text: string): string {
  return JSON.stringify(text);
}
