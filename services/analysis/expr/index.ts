/**
 * TTree::Draw expressions for the analysis service: parse (our own tokenizer and recursive-descent parser) to an
 * AST, compile the AST to a tight loop over a batch's columns. See README.md for the syntax and the semantics.
 */
export type { Accumulators, Batch, BranchInfo, Column, DrawProgram, DrawSpec, Values } from './types.ts';
export { STATS } from './types.ts';
export { ExpressionError, type ExpressionErrorCode } from './errors.ts';
export { compileDraw, kernelSource } from './compile.ts';
export { LIMITS, parseExpression, type Node } from './parser.ts';
