import { OpenKeyError } from '../../../common/errors.ts';
import { FUNCTIONS, HELPERS, numberLiteral, type HelperName } from './functions.ts';
import { parseExpression, sameChain, type Node } from './parser.ts';
import {
  STATS,
  type Accumulators,
  type Batch,
  type BranchInfo,
  type DrawProgram,
  type DrawSpec,
  type Values,
} from './types.ts';

/**
 * Compiles a DrawSpec to one JavaScript kernel that loops over a batch's events. The kernel's text is generated from
 * the AST only: identifiers are our own (s0, o1, v1, r0 …), numbers pass through numberLiteral, functions come from
 * the FUNCTIONS table; no character of the user's text reaches it. See README.md for the semantics.
 */
export function compileDraw(spec: DrawSpec, branches: ReadonlyMap<string, BranchInfo>): DrawProgram {
  const plan = planDraw(spec, branches);
  const callKernel = (new Function(plan.source) as () => Kernel<Fill>)();
  let fillKernel: Kernel<Accumulators> | undefined;
  const slots = plan.slots;
  return {
    branches: slots.map((slot) => slot.name),
    processBatch(batch: Batch, fill: Fill): void {
      if (plan.histograms === 0 || batch.events === 0) return;
      callKernel(batch.events, fill, columnsFor(batch, slots));
    },
    fillBatch(batch: Batch, into: Accumulators): void {
      if (plan.histograms === 0 || batch.events === 0) return;
      fillKernel ??= (new Function(plan.inlineSource) as () => Kernel<Accumulators>)();
      fillKernel(batch.events, into, columnsFor(batch, slots));
    },
  };
}

/**
 * The generated kernel's source, for tests and for looking at what an expression compiles to: with `fill` calls,
 * or (inline) with the fills written out over the Accumulators.
 */
export function kernelSource(spec: DrawSpec, branches: ReadonlyMap<string, BranchInfo>, inline = false): string {
  const plan = planDraw(spec, branches);
  return inline ? plan.inlineSource : plan.source;
}

type Fill = (histogram: number, value: number, weight: number) => void;
type Kernel<Target> = (events: number, target: Target, columns: readonly Values[]) => void;

interface Slot {
  name: string;
  array: boolean;
  /** Index of the first of its typed arrays in the kernel's `columns` (values; or offsets then values). */
  column: number;
}

interface Formula {
  field: string;
  ast: Node;
}

function columnsFor(batch: Batch, slots: readonly Slot[]): Values[] {
  const columns: Values[] = [];
  const events = batch.events;
  for (const slot of slots) {
    const column = batch.columns.get(slot.name);
    if (column === undefined) throw batchError(`the batch has no column for branch "${slot.name}"`);
    if (slot.array) {
      if (column.kind !== 'array') throw batchError(`branch "${slot.name}" is an array but its column is scalar`);
      const end = column.offsets[events];
      if (end === undefined || column.values.length < end) {
        throw batchError(`the array column of "${slot.name}" is shorter than the batch's ${events} events`);
      }
      columns.push(column.offsets, column.values);
    } else {
      if (column.kind !== 'scalar') throw batchError(`branch "${slot.name}" is scalar but its column is an array`);
      if (column.values.length < events) {
        throw batchError(`the column of "${slot.name}" is shorter than the batch's ${events} events`);
      }
      columns.push(column.values);
    }
  }
  return columns;
}

/** The reader and the compiled program disagree: a bug in the service, not a user mistake. */
function batchError(message: string): OpenKeyError {
  return new OpenKeyError('E_EXPR_BATCH', message);
}

const isBlank = (text: string | undefined): boolean => text === undefined || text.trim() === '';

interface Plan {
  source: string;
  inlineSource: string;
  slots: Slot[];
  histograms: number;
}

function planDraw(spec: DrawSpec, branches: ReadonlyMap<string, BranchInfo>): Plan {
  const lookup = {
    get: (name: string) => branches.get(name),
    keys: () => branches.keys(),
  };
  const parse = (text: string, field: string): Formula => ({ field, ast: parseExpression(text, field, lookup) });
  const selection = isBlank(spec.selection) ? undefined : parse(spec.selection!, 'selection');
  const weight = isBlank(spec.weight) ? undefined : parse(spec.weight!, 'weight');
  const expressions = spec.expressions.map((text, i) => parse(text, `histograms[${i}].expr`));
  const generator = new Generator(branches);
  const source = generator.kernel(selection, weight, expressions, spec.eventCount === true);
  return {
    source: source.replace(FILL_MARK, (_, h: string) => `fill(${h}, x, w);`),
    inlineSource: inlineFills(source, expressions.length),
    slots: generator.slots,
    histograms: expressions.length,
  };
}

/** Where the generator puts a fill of histogram h with value x and weight w; planDraw writes it one way or the other. */
const FILL_MARK = /@fill\((\d+)\);/g;

/**
 * The kernel with its fills written out (issue 13: no call per value). Each histogram's binning and sums are
 * locals of the kernel, taken from the Accumulators once per batch; the arithmetic is the worker's former fill
 * function's, operation for operation, so the sums are the same to the last bit.
 */
function inlineFills(source: string, histograms: number): string {
  const locals = Array.from(
    { length: histograms },
    (_, h) =>
      `m${h} = into.min[${h}], k${h} = into.scale[${h}], z${h} = into.bins[${h}], ` +
      `sw${h} = into.sumw[${h}], sq${h} = into.sumw2[${h}]`,
  );
  const fill = (h: number): string => {
    const s = h * STATS;
    return [
      `if (w !== 0) {`,
      `bin = x - x === 0 ? Math.floor((x - m${h}) * k${h}) : z${h} + 1;`,
      `bin = bin < 0 ? 0 : bin >= z${h} ? z${h} + 1 : bin + 1;`,
      `sw${h}[bin] += w; sq${h}[bin] += w * w; st[${s}] += 1;`,
      `if (bin > 0 && bin <= z${h}) { st[${s + 1}] += w; st[${s + 2}] += w * w; st[${s + 3}] += w * x; st[${s + 4}] += w * x * x; }`,
      `}`,
    ].join(' ');
  };
  return source
    .replace(
      'return function kernel(events, fill, columns) {',
      [
        'return function kernel(events, into, columns) {',
        ...(histograms > 0 ? [`  const st = into.stats, ${locals.join(', ')};`] : []),
        '  let bin = 0;',
      ].join('\n'),
    )
    .replace(FILL_MARK, (_, h: string) => fill(Number(h)));
}

/** Array branches used without an index, outside any reduction: they set how many instances a formula has. */
function unindexedArrays(node: Node, out: Set<string>): Set<string> {
  switch (node.kind) {
    case 'branch':
      if (node.array) out.add(node.name);
      break;
    case 'index':
      unindexedArrays(node.index, out);
      break;
    case 'unary':
      unindexedArrays(node.arg, out);
      break;
    case 'binary':
      unindexedArrays(node.left, out);
      unindexedArrays(node.right, out);
      break;
    case 'ternary':
      unindexedArrays(node.cond, out);
      unindexedArrays(node.then, out);
      unindexedArrays(node.otherwise, out);
      break;
    case 'call':
      for (const arg of node.args) unindexedArrays(arg, out);
      break;
    case 'number':
    case 'reduce':
      break;
  }
  return out;
}

/**
 * The constant indices `a[k]` that evaluating the node always reads (outside reductions and the lazy sides of
 * `&&`, `||` and `?:`), as the largest k per array branch. When one of them is out of range the formula's
 * evaluation is out of range whatever else happens, so one length test up front can stand for all of them.
 */
function certainIndices(node: Node, out: Map<string, number>): Map<string, number> {
  switch (node.kind) {
    case 'index':
      if (node.index.kind === 'number') {
        const k = Math.trunc(node.index.value);
        if (k <= MAX_CONSTANT_INDEX) out.set(node.name, Math.max(out.get(node.name) ?? -1, k));
      } else {
        certainIndices(node.index, out);
      }
      break;
    case 'unary':
      certainIndices(node.arg, out);
      break;
    case 'binary':
      certainIndices(node.left, out);
      if (node.op !== '&&' && node.op !== '||') certainIndices(node.right, out);
      break;
    case 'ternary':
      certainIndices(node.cond, out);
      break;
    case 'call':
      for (const arg of node.args) certainIndices(arg, out);
      break;
    case 'number':
    case 'branch':
    case 'reduce':
      break;
  }
  return out;
}

/** Constant indices up to this are compiled as a length test and a read; beyond, as a general index. */
const MAX_CONSTANT_INDEX = 0x3fffffff;

/** Whether evaluating the node (outside reductions) can meet an index out of range. */
function hasIndex(node: Node): boolean {
  switch (node.kind) {
    case 'index':
      return true;
    case 'unary':
      return hasIndex(node.arg);
    case 'binary':
      return hasIndex(node.left) || hasIndex(node.right);
    case 'ternary':
      return hasIndex(node.cond) || hasIndex(node.then) || hasIndex(node.otherwise);
    case 'call':
      return node.args.some(hasIndex);
    case 'number':
    case 'branch':
    case 'reduce':
      return false;
  }
}

/** The terms of a && b && c, in evaluation order. */
function conjuncts(node: Node): Node[] {
  const terms: Node[] = [];
  const stack: Node[] = [node];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.kind === 'binary' && top.op === '&&') stack.push(top.right, top.left);
    else terms.push(top);
  }
  return terms;
}

function hasReduction(node: Node): boolean {
  switch (node.kind) {
    case 'reduce':
      return true;
    case 'index':
      return hasReduction(node.index);
    case 'unary':
      return hasReduction(node.arg);
    case 'binary':
      return hasReduction(node.left) || hasReduction(node.right);
    case 'ternary':
      return hasReduction(node.cond) || hasReduction(node.then) || hasReduction(node.otherwise);
    case 'call':
      return node.args.some(hasReduction);
    case 'number':
    case 'branch':
      return false;
  }
}

/** Every branch a node reads, reductions included. */
function branchesOf(node: Node, out: Set<string>): Set<string> {
  switch (node.kind) {
    case 'branch':
    case 'index':
      out.add(node.name);
      if (node.kind === 'index') branchesOf(node.index, out);
      break;
    case 'unary':
      branchesOf(node.arg, out);
      break;
    case 'binary':
      branchesOf(node.left, out);
      branchesOf(node.right, out);
      break;
    case 'ternary':
      branchesOf(node.cond, out);
      branchesOf(node.then, out);
      branchesOf(node.otherwise, out);
      break;
    case 'call':
      for (const arg of node.args) branchesOf(arg, out);
      break;
    case 'reduce':
      branchesOf(node.arg, out);
      break;
    case 'number':
      break;
  }
  return out;
}

/** A canonical text of a node, to compute identical reductions once per event. */
export function canonical(node: Node): string {
  switch (node.kind) {
    case 'number':
      return numberLiteral(node.value);
    case 'branch':
      return JSON.stringify(node.name);
    case 'index':
      return `${JSON.stringify(node.name)}[${canonical(node.index)}]`;
    case 'unary':
      return `(${node.op}${canonical(node.arg)})`;
    case 'binary':
      return `(${canonical(node.left)}${node.op}${canonical(node.right)})`;
    case 'ternary':
      return `(${canonical(node.cond)}?${canonical(node.then)}:${canonical(node.otherwise)})`;
    case 'call':
    case 'reduce': {
      const args = node.kind === 'call' ? node.args : [node.arg];
      return `${node.fn}(${args.map(canonical).join(',')})`;
    }
  }
}

const COMPARISON: Readonly<Partial<Record<string, string>>> = {
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
  '==': '===',
  '!=': '!==',
};

const isBooleanNode = (node: Node): boolean =>
  (node.kind === 'binary' && (COMPARISON[node.op] !== undefined || node.op === '&&' || node.op === '||')) ||
  (node.kind === 'unary' && node.op === '!');

class Generator {
  readonly slots: Slot[] = [];
  private readonly slotByName = new Map<string, { id: number; slot: Slot }>();
  private readonly helpers = new Set<HelperName>();
  private readonly reductions = new Map<string, number>();
  private readonly computedArrays = new Set<string>();
  private temps = 0;
  /** Per array slot id: the largest k for which the code being generated runs only when the array has k + 1 elements. */
  private readonly checked = new Map<number, number>();
  private readonly branches: ReadonlyMap<string, BranchInfo>;

  constructor(branches: ReadonlyMap<string, BranchInfo>) {
    this.branches = branches;
  }

  private slot(name: string, array: boolean): number {
    let entry = this.slotByName.get(name);
    if (entry === undefined) {
      const previous = this.slots.at(-1);
      const column = previous === undefined ? 0 : previous.column + (previous.array ? 2 : 1);
      entry = { id: this.slotByName.size, slot: { name, array, column } };
      this.slotByName.set(name, entry);
      this.slots.push(entry.slot);
    }
    return entry.id;
  }

  kernel(
    selection: Formula | undefined,
    weight: Formula | undefined,
    expressions: readonly Formula[],
    eventCount = false,
  ): string {
    // Slots in reading order: selection, weight, then the histograms.
    for (const formula of [selection, weight, ...expressions]) {
      if (formula === undefined) continue;
      for (const name of branchesOf(formula.ast, new Set())) this.slot(name, this.branches.get(name)?.isArray === true);
    }

    const body: string[] = [];
    // The leading conditions of a selection a && b && … that read only scalars (lep_n == 2) are tested before
    // anything else is loaded: most events stop there.
    let selectionAst = selection?.ast;
    if (selectionAst !== undefined && isBooleanNode(selectionAst)) {
      const terms = conjuncts(selectionAst);
      let first = 0;
      while (first < terms.length && this.scalarOnly(terms[first]!)) first++;
      if (first > 0) {
        const test = terms.slice(0, first).map((term) => this.condition(term, null));
        body.push(`if (!(${test.join(' && ')})) continue;`);
        selectionAst = terms
          .slice(first)
          .reduce<Node | undefined>(
            (left, right) => (left === undefined ? right : { kind: 'binary', pos: right.pos, op: '&&', left, right }),
            undefined,
          );
      }
    }
    const cut = [selectionAst, weight?.ast].filter((node): node is Node => node !== undefined);
    const cutArrays = new Set<string>();
    for (const node of cut) unindexedArrays(node, cutArrays);
    const cutPerInstance = cutArrays.size > 0;

    // Selection and weight first, so that a rejected event costs as little as possible.
    for (const node of cut) this.prepare(node, body);
    if (!cutPerInstance) this.weightCode(selectionAst, weight?.ast, null, 'continue', body);

    for (const formula of expressions) this.prepare(formula.ast, body);
    expressions.forEach((formula, h) => {
      const arrays = unindexedArrays(formula.ast, cutPerInstance ? new Set(cutArrays) : new Set());
      const valueIndexed = hasIndex(formula.ast);
      if (arrays.size === 0) {
        // The indices the value always reads are tested once, around it (out of range: no fill, as oob would do).
        const test = this.lengthTest(formula.ast);
        const lines: string[] = [];
        if (valueIndexed) lines.push('oob = 0;');
        lines.push(`x = ${this.value(formula.ast, null)};`);
        lines.push(valueIndexed ? `if (oob === 0) { @fill(${h}); }` : `@fill(${h});`);
        this.uncheck(test.added);
        if (test.code === '') body.push(...lines);
        else body.push(`if (${test.code}) {`, ...lines.map((line) => '  ' + line), '}');
        return;
      }
      body.push(...this.instanceCount([...arrays], 'n'));
      body.push('for (let k = 0; k < n; k++) {');
      const inner: string[] = [];
      if (cutPerInstance) this.weightCode(selectionAst, weight?.ast, 'k', 'continue', inner);
      if (valueIndexed) inner.push('oob = 0;');
      inner.push(`x = ${this.value(formula.ast, 'k')};`);
      if (valueIndexed) inner.push('if (oob !== 0) continue;');
      // The event counter stops at the event's first passing instance.
      inner.push(eventCount && h === expressions.length - 1 ? `@fill(${h}); break;` : `@fill(${h});`);
      body.push(...inner.map((line) => '  ' + line), '}');
    });

    const declarations = this.slots.map(({ array, column }, id) =>
      array ? `o${id} = columns[${column}], v${id} = columns[${column + 1}]` : `s${id} = columns[${column}]`,
    );
    const locals = ['oob = 0', 'w = 1', 'x = 0', 'n = 0', 'c = 0'];
    for (const id of this.slotByName.values()) {
      if (id.slot.array) locals.push(`b${id.id} = 0`, `n${id.id} = 0`);
    }
    for (let r = 0; r < this.reductions.size; r++) locals.push(`r${r} = 0`);
    for (let t = 0; t < this.temps; t++) locals.push(`t${t} = 0`);
    return [
      "'use strict';",
      ...[...this.helpers].map((name) => HELPERS[name]),
      'return function kernel(events, fill, columns) {',
      declarations.length ? `  const ${declarations.join(', ')};` : '',
      `  let ${locals.join(', ')};`,
      '  for (let e = 0; e < events; e++) {',
      ...body.map((line) => '    ' + line),
      '  }',
      '};',
    ].join('\n');
  }

  /**
   * The length test (`n3 > 1 && n9 > 1`) for the constant indices the node always reads and no earlier test
   * covers; from here on value() reads them without a test. `added` is what to take back when the test's scope
   * ends (uncheck).
   */
  private lengthTest(node: Node): { code: string; added: Map<number, number | undefined> } {
    const tests: string[] = [];
    const added = new Map<number, number | undefined>();
    for (const [name, k] of certainIndices(node, new Map())) {
      const id = this.slotByName.get(name)!.id;
      const known = this.checked.get(id);
      if (known !== undefined && known >= k) continue;
      added.set(id, known);
      this.checked.set(id, k);
      tests.push(`n${id} > ${k}`);
    }
    return { code: tests.join(' && '), added };
  }

  private uncheck(added: ReadonlyMap<number, number | undefined>): void {
    for (const [id, known] of added) {
      if (known === undefined) this.checked.delete(id);
      else this.checked.set(id, known);
    }
  }

  /** A condition that reads no array and has no reduction, so it can be tested before any array is touched. */
  private scalarOnly(node: Node): boolean {
    if (hasReduction(node)) return false;
    for (const name of branchesOf(node, new Set())) if (this.branches.get(name)?.isArray === true) return false;
    return true;
  }

  /** Per-event set-up a formula needs before it is evaluated: array bounds, then its reductions (innermost first). */
  private prepare(ast: Node, body: string[]): void {
    for (const name of branchesOf(ast, new Set())) {
      const entry = this.slotByName.get(name)!;
      if (entry.slot.array && !this.computedArrays.has(name)) {
        this.computedArrays.add(name);
        const id = entry.id;
        body.push(`b${id} = o${id}[e]; n${id} = o${id}[e + 1] - b${id};`);
      }
    }
    this.prepareReductions(ast, body);
  }

  private prepareReductions(node: Node, body: string[]): void {
    switch (node.kind) {
      case 'index':
        this.prepareReductions(node.index, body);
        return;
      case 'unary':
        this.prepareReductions(node.arg, body);
        return;
      case 'binary':
        this.prepareReductions(node.left, body);
        this.prepareReductions(node.right, body);
        return;
      case 'ternary':
        this.prepareReductions(node.cond, body);
        this.prepareReductions(node.then, body);
        this.prepareReductions(node.otherwise, body);
        return;
      case 'call':
        for (const arg of node.args) this.prepareReductions(arg, body);
        return;
      case 'number':
      case 'branch':
        return;
      case 'reduce':
        break;
    }
    const key = canonical(node);
    if (this.reductions.has(key)) return;
    // A reduction's argument has its own instances, independent of the enclosing formula's: compute it per event.
    this.prepareReductions(node.arg, body);
    const r = `r${this.reductions.size}`;
    this.reductions.set(key, this.reductions.size);
    const arrays = [...unindexedArrays(node.arg, new Set())];
    const indexed = hasIndex(node.arg);
    const loop = arrays.length > 0 ? 'q' : null;
    if (node.fn === 'Length$' && !indexed) {
      body.push(loop === null ? `${r} = 1;` : `${this.instanceCount(arrays, r).join(' ')}`);
      return;
    }
    const update: Record<typeof node.fn, string> = {
      Length$: `${r}++;`,
      Sum$: `${r} += x;`,
      Max$: `if (c === 0 || x > ${r}) ${r} = x; c = 1;`,
      Min$: `if (c === 0 || x < ${r}) ${r} = x; c = 1;`,
    };
    const lines = [
      ...(indexed ? ['oob = 0;'] : []),
      `x = ${this.value(node.arg, loop)};`,
      indexed ? `if (oob === 0) { ${update[node.fn]} }` : update[node.fn],
    ];
    // Max$ and Min$ of no instance are 0, as in ROOT
    body.push(`${r} = 0; c = 0;`);
    if (loop === null) {
      body.push(...lines);
    } else {
      body.push(
        ...this.instanceCount(arrays, 'n'),
        'for (let q = 0; q < n; q++) {',
        ...lines.map((l) => '  ' + l),
        '}',
      );
    }
    if (indexed) body.push('oob = 0;');
  }

  /** `target` = the smallest length among the arrays: TTree::Draw's number of instances. */
  private instanceCount(arrays: readonly string[], target: string): string[] {
    const ids = arrays.map((name) => this.slotByName.get(name)!.id);
    return [`${target} = n${ids[0]};`, ...ids.slice(1).map((id) => `if (n${id} < ${target}) ${target} = n${id};`)];
  }

  /**
   * Sets `w` = selection × weight, or leaves by `exit` when it is 0 (or NaN, as JSROOT does) or an index was out
   * of range. A selection that is a comparison or a logical operation is compiled as a branch, not a product.
   */
  private weightCode(
    selection: Node | undefined,
    weight: Node | undefined,
    loop: string | null,
    exit: string,
    out: string[],
  ): void {
    if (selection === undefined && weight === undefined) return;
    const indexed = (selection !== undefined && hasIndex(selection)) || (weight !== undefined && hasIndex(weight));
    if (indexed) out.push('oob = 0;');
    // Per event, an index out of range in the cut rejects the event: the indices a term always reads are tested
    // once before it, and read without a test from then on (lep_pt[1] after lep_pt[0] > 25000 && …).
    const guard = (node: Node): void => {
      if (loop !== null) return;
      const test = this.lengthTest(node);
      if (test.code !== '') out.push(`if (!(${test.code})) ${exit};`);
    };
    if (selection !== undefined && isBooleanNode(selection)) {
      if (loop === null) {
        for (const term of conjuncts(selection)) {
          guard(term);
          out.push(`if (!${this.condition(term, loop)}) ${exit};`);
        }
      } else {
        out.push(`if (!${this.condition(selection, loop)}) ${exit};`);
      }
      if (weight === undefined) {
        if (indexed) out.push(`if (oob !== 0) ${exit};`);
        out.push('w = 1;');
        return;
      }
      guard(weight);
      out.push(`w = ${this.value(weight, loop)};`);
    } else if (selection !== undefined) {
      guard(selection);
      out.push(`w = ${this.value(selection, loop)};`);
      if (weight !== undefined) {
        out.push(`if (w === 0) ${exit};`);
        guard(weight);
        out.push(`w *= ${this.value(weight, loop)};`);
      }
    } else {
      guard(weight!);
      out.push(`w = ${this.value(weight!, loop)};`);
    }
    out.push(indexed ? `if (oob !== 0 || !w) ${exit};` : `if (!w) ${exit};`);
  }

  private condition(node: Node, loop: string | null): string {
    switch (node.kind) {
      case 'binary': {
        const op = COMPARISON[node.op];
        if (op !== undefined) return `(${this.value(node.left, loop)} ${op} ${this.value(node.right, loop)})`;
        if (node.op === '&&' || node.op === '||') {
          // a && b && c: the left operand continues the chain without parentheses (see sameChain)
          const left = this.condition(node.left, loop);
          const flat = sameChain(node.op, node.left) ? left.slice(1, -1) : left;
          return `(${flat} ${node.op} ${this.condition(node.right, loop)})`;
        }
        break;
      }
      case 'unary':
        if (node.op === '!') return `!${this.condition(node.arg, loop)}`;
        break;
      case 'number':
        // C++ truth: any non-zero value, NaN included
        return node.value !== 0 ? 'true' : 'false';
      default:
        break;
    }
    return `(${this.value(node, loop)} !== 0)`;
  }

  private value(node: Node, loop: string | null): string {
    switch (node.kind) {
      case 'number':
        return numberLiteral(node.value);
      case 'branch': {
        const id = this.slotByName.get(node.name)!.id;
        if (!node.array) return `s${id}[e]`;
        if (loop === null) throw new Error('bug: an unindexed array outside an instance loop');
        return `v${id}[b${id} + ${loop}]`;
      }
      case 'index': {
        const id = this.slotByName.get(node.name)!.id;
        if (node.index.kind === 'number') {
          // C++ truncates a non-integer index; the parser rejected negative constants
          const k = Math.trunc(node.index.value);
          if (k <= MAX_CONSTANT_INDEX) {
            const known = this.checked.get(id);
            if (known !== undefined && known >= k) return `v${id}[b${id} + ${k}]`;
            return `(n${id} > ${k} ? v${id}[b${id} + ${k}] : (oob = 1, NaN))`;
          }
        }
        const t = `t${this.temps++}`;
        return (
          `((${t} = ${this.value(node.index, loop)}) > -1 && ${t} < n${id} ? ` +
          `v${id}[b${id} + (${t} | 0)] : (oob = 1, NaN))`
        );
      }
      case 'unary':
        if (node.op === '!') return `(${this.condition(node.arg, loop)} ? 0 : 1)`;
        return node.op === '-' ? `(-${this.value(node.arg, loop)})` : this.value(node.arg, loop);
      case 'binary': {
        if (COMPARISON[node.op] !== undefined || node.op === '&&' || node.op === '||') {
          return `(${this.condition(node, loop)} ? 1 : 0)`;
        }
        let left = this.value(node.left, loop);
        const right = this.value(node.right, loop);
        // a + b - c: the left operand continues the chain without parentheses (see sameChain)
        if (sameChain(node.op, node.left)) left = left.slice(1, -1);
        switch (node.op) {
          case '^':
            return `Math.pow(${left}, ${right})`;
          case '%':
            return this.helper('mod', `mod(${left}, ${right})`);
          case '&':
            return this.helper('band', `band(${left}, ${right})`);
          case '|':
            return this.helper('bor', `bor(${left}, ${right})`);
          default:
            return `(${left} ${node.op} ${right})`;
        }
      }
      case 'ternary':
        return (
          `(${this.condition(node.cond, loop)} ? ` +
          `${this.value(node.then, loop)} : ${this.value(node.otherwise, loop)})`
        );
      case 'call': {
        const def = FUNCTIONS.get(node.fn)!;
        for (const helper of def.helpers ?? []) this.helpers.add(helper);
        return def.emit(node.args.map((arg) => this.value(arg, loop)));
      }
      case 'reduce':
        return `r${this.reductions.get(canonical(node))!}`;
    }
  }

  private helper(name: HelperName, code: string): string {
    this.helpers.add(name);
    return code;
  }
}
