import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { LIMITS } from './limits.ts';
import type { Origin } from './types.ts';

/**
 * YAML parsed into a tree that remembers where every key and value was written, so schema errors and
 * `openkey explain` can point at file:line:col. Tags are kept: `!remove` (drop an inherited list item) and
 * `!replace` (a list or map that replaces the inherited one instead of merging) are the merge directives.
 */
export type PosNode = MapNode | SeqNode | ScalarNode;

interface NodeBase {
  origin: Origin;
  tag: string | undefined;
}

export interface MapEntry {
  key: string;
  keyOrigin: Origin;
  value: PosNode;
}

export interface MapNode extends NodeBase {
  kind: 'map';
  entries: MapEntry[];
}

export interface SeqNode extends NodeBase {
  kind: 'seq';
  items: PosNode[];
}

export interface ScalarNode extends NodeBase {
  kind: 'scalar';
  value: string | number | boolean | null;
}

export interface SourceProblem {
  origin: Origin;
  message: string;
  hint?: string;
}

export const MERGE_TAGS = new Set(['!remove', '!replace']);

const YAML_ERROR_HINTS: Record<string, string> = {
  DUPLICATE_KEY: 'each key may appear once per mapping; merge the two entries',
  TAB_AS_INDENT: 'YAML indents with spaces only; replace the tab with spaces',
  MISSING_CHAR: 'close the quote or bracket that was opened',
  BAD_INDENT: 'indent nested items consistently with spaces',
  BLOCK_AS_IMPLICIT_KEY: 'put the nested mapping on its own indented lines, or quote the value',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line; check for a missing ":"',
  UNEXPECTED_TOKEN: 'check the punctuation near this position',
};

/**
 * An unclosed quote or bracket is only noticed at the end of the file; point at the last line with text instead,
 * which is where the unclosed construct started in every realistic case.
 */
function errorOffset(text: string, offset: number): number {
  if (offset < text.trimEnd().length) return offset;
  const lastLineStart = text.trimEnd().lastIndexOf('\n') + 1;
  return lastLineStart + (text.slice(lastLineStart).length - text.slice(lastLineStart).trimStart().length);
}

export interface ParsedYaml {
  root: PosNode | undefined;
  problems: SourceProblem[];
}

export function parseYamlWithPositions(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  // uniqueKeys is checked below with a Set: the parser's own check compares every key with every other one, which
  // takes minutes on a file of 100 000 keys.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, strict: true });
  const at = (offset: number): Origin => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  const problems: SourceProblem[] = [];
  for (const error of document.errors) {
    const hint = YAML_ERROR_HINTS[error.code];
    problems.push({
      origin: at(errorOffset(text, error.pos[0])),
      message: `YAML syntax: ${error.message.split('\n')[0]}`,
      ...(hint === undefined ? {} : { hint }),
    });
  }
  // Tab characters anywhere in indentation are refused even where the YAML parser tolerates them, since they
  // render differently in every editor and hide real nesting mistakes.
  if (!document.errors.some((error) => error.code === 'TAB_AS_INDENT')) {
    const tabLine = text.split('\n').findIndex((line) => /^[ ]*\t/.test(line));
    if (tabLine >= 0) {
      const line = text.split('\n')[tabLine] ?? '';
      problems.push({
        origin: { file, line: tabLine + 1, col: line.indexOf('\t') + 1 },
        message: 'YAML syntax: tab character in indentation',
        hint: YAML_ERROR_HINTS.TAB_AS_INDENT!,
      });
    }
  }
  for (const warning of document.warnings) {
    if (warning.code === 'TAG_RESOLVE_FAILED') continue; // tags are checked below, with positions
    problems.push({ origin: at(warning.pos[0]), message: `YAML: ${warning.message.split('\n')[0]}` });
  }
  if (problems.length > 0) return { root: undefined, problems };

  let tooDeep = false;
  let overLimit = false;
  const convert = (node: YamlNode | null | undefined, fallbackOffset: number, depth: number): PosNode => {
    const offset = node?.range?.[0] ?? fallbackOffset;
    const origin = at(offset);
    if (depth > LIMITS.depth) {
      if (!tooDeep)
        problems.push({
          origin,
          message: `nested more than ${LIMITS.depth} levels deep`,
          hint: 'flatten the structure',
        });
      tooDeep = overLimit = true;
      return { kind: 'scalar', value: null, origin, tag: undefined };
    }
    const tag = node?.tag;
    if (tag !== undefined && !MERGE_TAGS.has(tag) && !tag.startsWith('tag:yaml.org,2002:')) {
      problems.push({ origin, message: `unknown YAML tag ${tag}`, hint: 'the only tags are !remove and !replace' });
    }
    if (node === null || node === undefined) return { kind: 'scalar', value: null, origin, tag: undefined };
    if (isAlias(node)) {
      problems.push({
        origin,
        message: 'YAML aliases (*name) are not supported',
        hint: 'use extends: to share values',
      });
      return { kind: 'scalar', value: null, origin, tag };
    }
    if (isMap(node)) {
      const entries: MapEntry[] = [];
      const keys = new Set<string>();
      if (node.items.length > LIMITS.mapKeys) {
        problems.push({
          origin,
          message: `a mapping of ${node.items.length} keys, more than the ${LIMITS.mapKeys} allowed`,
          hint: 'a manifest needs far fewer; was a data file named by mistake?',
        });
        overLimit = true;
        return { kind: 'map', entries, origin, tag };
      }
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const keyOffset = keyNode?.range?.[0] ?? offset;
        const keyValue = isScalar(keyNode) ? keyNode.value : undefined;
        if (typeof keyValue !== 'string') {
          problems.push({ origin: at(keyOffset), message: 'mapping keys must be plain strings' });
          continue;
        }
        if (keys.has(keyValue)) {
          problems.push({
            origin: at(keyOffset),
            message: 'YAML syntax: Map keys must be unique',
            hint: YAML_ERROR_HINTS.DUPLICATE_KEY!,
          });
          continue;
        }
        keys.add(keyValue);
        entries.push({
          key: keyValue,
          keyOrigin: at(keyOffset),
          value: convert(pair.value as YamlNode, keyOffset, depth + 1),
        });
      }
      return { kind: 'map', entries, origin, tag };
    }
    if (isSeq(node)) {
      if (node.items.length > LIMITS.listItems) {
        problems.push({
          origin,
          message: `a list of ${node.items.length} items, more than the ${LIMITS.listItems} allowed`,
          hint: 'a manifest needs far fewer; was a data file named by mistake?',
        });
        overLimit = true;
        return { kind: 'seq', items: [], origin, tag };
      }
      return {
        kind: 'seq',
        items: node.items.map((item) => convert(item as YamlNode, offset, depth + 1)),
        origin,
        tag,
      };
    }
    if (isScalar(node)) {
      const value = node.value;
      if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        return { kind: 'scalar', value, origin, tag };
      }
      // Timestamps and binary scalars are not in the core schema we use; keep their text.
      return { kind: 'scalar', value: String(node.source ?? value), origin, tag };
    }
    return { kind: 'scalar', value: null, origin, tag };
  };
  const root = document.contents === null ? undefined : convert(document.contents as YamlNode, 0, 0);
  // Past a limit the file is no manifest (a data file named by mistake, or hostile): nothing more is checked in it.
  return overLimit ? { root: undefined, problems } : { root, problems };
}

/** The node at a JSON pointer path (as ajv reports it), with the entry whose key names it when there is one. */
export function nodeAtPath(
  root: PosNode,
  segments: readonly string[],
): { node: PosNode; keyOrigin?: Origin; depthReached: number } {
  let node = root;
  let keyOrigin: Origin | undefined;
  let depth = 0;
  for (const segment of segments) {
    if (node.kind === 'map') {
      const entry = node.entries.find((candidate) => candidate.key === segment);
      if (entry === undefined) break;
      node = entry.value;
      keyOrigin = entry.keyOrigin;
    } else if (node.kind === 'seq') {
      const item = node.items[Number(segment)];
      if (item === undefined) break;
      node = item;
      keyOrigin = undefined;
    } else {
      break;
    }
    depth++;
  }
  return keyOrigin === undefined ? { node, depthReached: depth } : { node, keyOrigin, depthReached: depth };
}
