import { closestNames } from '../../../common/suggest.ts';
import { ExpressionError } from './errors.ts';
import { CALLABLE_NAMES, CONSTANTS, FUNCTIONS, REDUCTIONS, type ReductionName } from './functions.ts';
import { Lexer, quote, type Operator, type Token } from './lexer.ts';

export type BinaryOp =
  '+' | '-' | '*' | '/' | '%' | '^' | '<' | '<=' | '>' | '>=' | '==' | '!=' | '&&' | '||' | '&' | '|';

/** The AST. `pos` is the 0-based offset of the node's first character (of the operator for binary nodes). */
export type Node =
  | { kind: 'number'; pos: number; value: number }
  /** A branch without an index: a per-event value, or every element of an array branch in turn. */
  | { kind: 'branch'; pos: number; name: string; array: boolean }
  /** One element of an array branch. */
  | { kind: 'index'; pos: number; name: string; index: Node }
  | { kind: 'unary'; pos: number; op: '-' | '+' | '!'; arg: Node }
  | { kind: 'binary'; pos: number; op: BinaryOp; left: Node; right: Node }
  | { kind: 'ternary'; pos: number; cond: Node; then: Node; otherwise: Node }
  | { kind: 'call'; pos: number; fn: string; args: Node[] }
  | { kind: 'reduce'; pos: number; fn: ReductionName; arg: Node };

export const LIMITS = {
  /** Longest expression accepted, in characters. */
  maxLength: 4096,
  /** Deepest nesting of parentheses, brackets, calls, unary operators, powers and conditionals. */
  maxDepth: 64,
} as const;

export interface BranchLookup {
  get(name: string): { isArray: boolean } | undefined;
  keys(): Iterable<string>;
}

const PRECEDENCE: Partial<Record<Operator, number>> = {
  '||': 1,
  '&&': 2,
  '|': 3,
  '&': 4,
  '==': 5,
  '!=': 5,
  '<': 6,
  '<=': 6,
  '>': 6,
  '>=': 6,
  '+': 7,
  '-': 7,
  '*': 8,
  '/': 8,
  '%': 8,
};

/** Operators that JavaScript groups to the left at one precedence level, so a chain of them needs no parentheses. */
const CHAINS: Partial<Record<BinaryOp, number>> = { '+': 1, '-': 1, '*': 2, '/': 2, '&&': 3, '||': 4 };

/** Whether `left`, as the left operand of `op`, continues the same flat chain (a+b-c, a*b/c, p && q && r). */
export function sameChain(op: BinaryOp, left: Node): boolean {
  return left.kind === 'binary' && CHAINS[op] !== undefined && CHAINS[left.op] === CHAINS[op];
}

const WORD_OPERATORS: Readonly<Record<string, string>> = { and: '&&', or: '||', not: '!' };

const REDUCTION_SET: ReadonlySet<string> = new Set(REDUCTIONS);

/**
 * Parses one expression of TTree::Draw syntax into an AST, resolving branch and function names on the way so the
 * first error in reading order is the one reported. Throws ExpressionError.
 */
export function parseExpression(text: string, field: string, branches: BranchLookup): Node {
  const parser = new Parser(new Lexer(text, field), branches);
  const node = parser.parseAll();
  // Checked after parsing, which is linear and depth-limited, so that a pathological "((((…" still gets the
  // more useful E_EXPR_TOO_DEEP; everything after the parser walks the tree recursively and needs this bound.
  if (text.length > LIMITS.maxLength) {
    throw new ExpressionError(
      'E_EXPR_TOO_LONG',
      field,
      LIMITS.maxLength + 1,
      `the expression is ${text.length} characters long; the limit is ${LIMITS.maxLength}`,
      { params: { length: text.length, limit: LIMITS.maxLength } },
    );
  }
  return node;
}

class Parser {
  private token: Token;
  private depth = 0;
  private readonly nestings = new WeakMap<Node, number>();
  private readonly lexer: Lexer;
  private readonly branches: BranchLookup;

  constructor(lexer: Lexer, branches: BranchLookup) {
    this.lexer = lexer;
    this.branches = branches;
    this.token = lexer.next();
  }

  parseAll(): Node {
    if (this.token.kind === 'end') throw this.lexer.error(0, 'the expression is empty');
    const node = this.parseExpression();
    if (!this.atEnd()) throw this.unexpectedAfterExpression();
    return node;
  }

  private advance(): Token {
    const token = this.token;
    this.token = this.lexer.next();
    return token;
  }

  private atEnd(): boolean {
    return this.token.kind === 'end';
  }

  private isOp(op: Operator): boolean {
    return this.token.kind === 'op' && this.token.op === op;
  }

  /** Counts one level of nesting; the limit keeps recursion (here and in every later pass) far from the stack's end. */
  private enter(at: Token): void {
    if (++this.depth > LIMITS.maxDepth) {
      throw new ExpressionError(
        'E_EXPR_TOO_DEEP',
        this.lexer.field,
        at.pos + 1,
        `the expression nests deeper than ${LIMITS.maxDepth} levels`,
        { params: { limit: LIMITS.maxDepth } },
      );
    }
  }

  private leave(): void {
    this.depth--;
  }

  private parseExpression(): Node {
    const cond = this.parseBinary(1);
    if (!this.isOp('?')) return cond;
    const question = this.advance();
    this.enter(question);
    const then = this.parseExpression();
    if (!this.isOp(':')) {
      throw this.lexer.error(
        this.token.pos,
        `unexpected ${describe(this.token)} (expected ":" for the "?" at column ${question.pos + 1})`,
        { expected: ':' },
      );
    }
    this.advance();
    const otherwise = this.parseExpression();
    this.leave();
    return { kind: 'ternary', pos: cond.pos, cond, then, otherwise };
  }

  private parseBinary(minPrecedence: number): Node {
    let left = this.parseUnary();
    for (;;) {
      const token = this.token;
      if (token.kind !== 'op') return left;
      const precedence = PRECEDENCE[token.op];
      if (precedence === undefined || precedence < minPrecedence) return left;
      this.advance();
      const right = this.parseBinary(precedence + 1);
      left = { kind: 'binary', pos: token.pos, op: token.op as BinaryOp, left, right };
      // A chain such as a+b+c or x>0 && y>0 && … stays flat in the generated code; anything else nests, and
      // JavaScript's own parser overflows its stack at a couple of thousand levels.
      const nesting = Math.max(
        this.nesting(left.left) + (sameChain(left.op, left.left) ? 0 : 1),
        this.nesting(right) + 1,
      );
      this.nestings.set(left, nesting);
      if (nesting > LIMITS.maxDepth) {
        throw new ExpressionError(
          'E_EXPR_TOO_DEEP',
          this.lexer.field,
          token.pos + 1,
          `the expression nests deeper than ${LIMITS.maxDepth} levels`,
          { params: { limit: LIMITS.maxDepth } },
        );
      }
    }
  }

  /** How deeply the node's generated code nests (binary nodes are measured when built, the rest is depth-limited). */
  private nesting(node: Node): number {
    const known = this.nestings.get(node);
    if (known !== undefined) return known;
    let children: Node[];
    switch (node.kind) {
      case 'number':
      case 'branch':
        return 0;
      case 'index':
        children = [node.index];
        break;
      case 'unary':
        children = [node.arg];
        break;
      case 'binary':
        children = [node.left, node.right];
        break;
      case 'ternary':
        children = [node.cond, node.then, node.otherwise];
        break;
      case 'call':
        children = node.args;
        break;
      case 'reduce':
        children = [node.arg];
        break;
    }
    const nesting = 1 + Math.max(0, ...children.map((child) => this.nesting(child)));
    this.nestings.set(node, nesting);
    return nesting;
  }

  private parseUnary(): Node {
    const token = this.token;
    if (token.kind === 'op' && (token.op === '-' || token.op === '+' || token.op === '!')) {
      this.advance();
      this.enter(token);
      const arg = this.parseUnary();
      this.leave();
      return { kind: 'unary', pos: token.pos, op: token.op, arg };
    }
    return this.parsePower();
  }

  /** `^` binds tighter than unary minus (-x^2 is -(x^2)) and groups to the right (a^b^c is a^(b^c)). */
  private parsePower(): Node {
    const base = this.parsePrimary();
    if (!this.isOp('^')) return base;
    const token = this.advance();
    this.enter(token);
    const exponent = this.parseUnary();
    this.leave();
    return { kind: 'binary', pos: token.pos, op: '^', left: base, right: exponent };
  }

  private parsePrimary(): Node {
    const token = this.token;
    let node: Node;
    if (token.kind === 'number') {
      this.advance();
      node = { kind: 'number', pos: token.pos, value: token.value };
    } else if (token.kind === 'name') {
      this.advance();
      node = this.isOp('(') ? this.parseCall(token) : this.parseName(token);
    } else if (token.kind === 'op' && token.op === '(') {
      this.advance();
      this.enter(token);
      node = this.parseExpression();
      this.expectClosing(')', token);
      this.leave();
    } else {
      throw this.lexer.error(token.pos, `unexpected ${describe(token)} (expected an expression)`);
    }
    if (this.isOp('[')) {
      const detail =
        node.kind === 'index'
          ? `only one index is allowed ("${node.name}" is read as a one-dimensional array)`
          : 'only a branch name can be indexed';
      throw this.lexer.error(this.token.pos, `unexpected "[" (${detail})`);
    }
    return node;
  }

  private parseName(token: Token & { kind: 'name' }): Node {
    const name = token.text;
    const branch = this.branches.get(name);
    if (branch !== undefined) {
      if (!this.isOp('[')) return { kind: 'branch', pos: token.pos, name, array: branch.isArray };
      const open = this.advance();
      if (!branch.isArray) {
        throw new ExpressionError(
          'E_EXPR_NOT_ARRAY',
          this.lexer.field,
          token.pos + 1,
          `"${name}" is not an array branch, so it cannot be indexed`,
          { params: { name } },
        );
      }
      // name[] means every element, as in TTree::Draw
      if (this.isOp(']')) {
        this.advance();
        return { kind: 'branch', pos: token.pos, name, array: true };
      }
      this.enter(open);
      const index = this.parseExpression();
      this.expectClosing(']', open);
      this.leave();
      const constant = constantValue(index);
      if (constant !== undefined && !(constant > -1)) {
        throw new ExpressionError(
          'E_EXPR_INDEX',
          this.lexer.field,
          index.pos + 1,
          `index ${constant} is out of range (indices start at 0)`,
          { params: { index: constant } },
        );
      }
      return { kind: 'index', pos: token.pos, name, index };
    }
    const constant = CONSTANTS.get(name);
    if (constant !== undefined) return { kind: 'number', pos: token.pos, value: constant };
    const word = WORD_OPERATORS[name];
    if (word !== undefined)
      throw this.lexer.error(token.pos, `"${name}" is not an operator; write "${word}"`, { suggestion: word });
    if (FUNCTIONS.has(name) || REDUCTION_SET.has(name)) {
      throw this.lexer.error(token.pos, `"${name}" is a function; call it as ${name}(…)`, {
        suggestion: `${name}(…)`,
      });
    }
    if (name.endsWith('$')) throw this.unknownSpecial(token);
    const suggestions = closestNames(name, this.branches.keys());
    throw new ExpressionError(
      'E_EXPR_UNKNOWN_BRANCH',
      this.lexer.field,
      token.pos + 1,
      `unknown branch "${name}"` + (suggestions.length ? ` (did you mean ${suggestions.join(', ')}?)` : ''),
      { suggestions, hint: 'Branch names are case-sensitive; the dataset description lists them.', params: { name } },
    );
  }

  private parseCall(token: Token & { kind: 'name' }): Node {
    const name = token.text;
    const open = this.advance();
    const isReduction = REDUCTION_SET.has(name);
    const def = FUNCTIONS.get(name);
    if (!isReduction && def === undefined) {
      if (name.endsWith('$')) throw this.unknownSpecial(token);
      const suggestions = closestNames(name, CALLABLE_NAMES);
      const isBranch = this.branches.get(name) !== undefined;
      throw new ExpressionError(
        'E_EXPR_UNKNOWN_FUNCTION',
        this.lexer.field,
        token.pos + 1,
        `unknown function "${name}"` +
          (isBranch ? ` ("${name}" is a branch; index arrays with [ ])` : '') +
          (suggestions.length ? ` (did you mean ${suggestions.join(', ')}?)` : ''),
        { suggestions, params: { name } },
      );
    }
    this.enter(open);
    const args: Node[] = [];
    if (!this.isOp(')')) {
      for (;;) {
        args.push(this.parseExpression());
        if (this.isOp(',')) {
          this.advance();
          continue;
        }
        if (this.isOp(')')) break;
        throw this.lexer.error(
          this.token.pos,
          `unexpected ${describe(this.token)} (expected "," or ")" to close the "(" at column ${open.pos + 1})`,
          { expected: ')' },
        );
      }
    }
    this.advance();
    this.leave();
    const arity = isReduction ? 1 : def!.arity;
    if (args.length !== arity) {
      throw new ExpressionError(
        'E_EXPR_ARITY',
        this.lexer.field,
        token.pos + 1,
        `${name} takes ${arity} argument${arity === 1 ? '' : 's'}, got ${args.length}`,
        { params: { name, expected: arity, got: args.length } },
      );
    }
    if (isReduction) return { kind: 'reduce', pos: token.pos, fn: name as ReductionName, arg: args[0]! };
    if (def!.arity === 0) return { kind: 'number', pos: token.pos, value: Number(def!.emit([])) };
    return { kind: 'call', pos: token.pos, fn: name, args };
  }

  private unknownSpecial(token: Token): ExpressionError {
    const suggestions = closestNames(token.text, REDUCTIONS);
    return new ExpressionError(
      'E_EXPR_UNKNOWN_FUNCTION',
      this.lexer.field,
      token.pos + 1,
      `"${token.text}" is not supported (the special functions are ${REDUCTIONS.join(', ')})`,
      { suggestions, params: { name: token.text } },
    );
  }

  private expectClosing(close: ')' | ']', open: Token): void {
    if (this.isOp(close)) {
      this.advance();
      return;
    }
    throw this.lexer.error(
      this.token.pos,
      `unexpected ${describe(this.token)} (expected "${close}" to close the "${open.text}" at column ${open.pos + 1})`,
      { expected: close },
    );
  }

  private unexpectedAfterExpression(): ExpressionError {
    const token = this.token;
    if (token.kind === 'name' && WORD_OPERATORS[token.text] !== undefined) {
      return this.lexer.error(token.pos, `"${token.text}" is not an operator; write "${WORD_OPERATORS[token.text]}"`, {
        suggestion: WORD_OPERATORS[token.text]!,
      });
    }
    if (token.kind === 'op' && token.op === ':') {
      return this.lexer.error(
        token.pos,
        'unexpected ":" (one expression per histogram; "x:y" 2-D draws are not supported)',
      );
    }
    return this.lexer.error(
      token.pos,
      `unexpected ${describe(token)} (expected an operator or the end of the expression)`,
    );
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'end of expression';
    case 'number':
      return `number ${quote(token.text)}`;
    case 'name':
      return `name ${quote(token.text)}`;
    case 'op':
      return quote(token.text);
  }
}

/** The value of a constant index such as 2 or -1; undefined when it depends on the event. */
function constantValue(node: Node): number | undefined {
  if (node.kind === 'number') return node.value;
  if (node.kind === 'unary' && node.op !== '!') {
    const inner = constantValue(node.arg);
    return inner === undefined ? undefined : node.op === '-' ? -inner : inner;
  }
  return undefined;
}
