import path from 'node:path';
import { UsageError } from '../../common/errors.ts';
import { ALLOW_PATH_HELP, ALLOW_PATH_OPTION, loadManifest, loadOptionsOf } from '../manifest/index.ts';
import type { Origin } from '../manifest/types.ts';
import type { PosNode } from '../manifest/yaml.ts';
import type { Command } from './types.ts';

function scalarText(value: string | number | boolean | null): string {
  if (typeof value !== 'string') return String(value);
  return /^[\w./@+:=-][\w ./@+:=()-]*$/.test(value) && !/^(true|false|null|[0-9.]+)$/.test(value)
    ? value
    : JSON.stringify(value);
}

/** The resolved manifest as YAML, each value followed by the file:line it came from. */
export function explainLines(root: PosNode, cwd: string): string[] {
  const where = (origin: Origin) => `${path.relative(cwd, origin.file) || origin.file}:${origin.line}`;
  interface Row {
    text: string;
    origin?: Origin;
  }
  const render = (node: PosNode, indent: string): Row[] => {
    const rows: Row[] = [];
    const valueRows = (head: string, value: PosNode): void => {
      if (value.kind === 'scalar') rows.push({ text: `${head} ${scalarText(value.value)}`, origin: value.origin });
      else if (value.kind === 'map' && value.entries.length === 0)
        rows.push({ text: `${head} {}`, origin: value.origin });
      else if (value.kind === 'seq' && value.items.length === 0)
        rows.push({ text: `${head} []`, origin: value.origin });
      else {
        rows.push({ text: head });
        rows.push(...render(value, indent + '  '));
      }
    };
    if (node.kind === 'map') {
      for (const entry of node.entries) valueRows(`${indent}${entry.key}:`, entry.value);
    } else if (node.kind === 'seq') {
      for (const item of node.items) {
        if (item.kind === 'map' && item.entries.length > 0) {
          const inner = render(item, indent + '  ');
          const first = inner[0]!;
          first.text = `${indent}- ${first.text.slice(indent.length + 2)}`;
          rows.push(...inner);
        } else {
          valueRows(`${indent}-`, item);
        }
      }
    } else {
      rows.push({ text: `${indent}${scalarText(node.value)}`, origin: node.origin });
    }
    return rows;
  };
  const rows = render(root, '');
  const width = Math.min(80, Math.max(...rows.map((row) => row.text.length)));
  return rows.map((row) => (row.origin ? `${row.text.padEnd(width)}  # ${where(row.origin)}` : row.text));
}

export const command: Command = {
  name: 'explain',
  help: `Usage: openkey explain [--json] <manifest.yaml>

Prints the resolved manifest (after extends and merging) as YAML, each value followed by the file and line it came
from. --json prints { manifest, origins } where origins maps each dotted path to "file:line:col".

Options:
${ALLOW_PATH_HELP}
`,
  options: {
    ...ALLOW_PATH_OPTION,
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const [file, ...extra] = args.positionals;
    if (file === undefined || extra.length > 0)
      throw new UsageError('expected exactly one manifest', 'openkey explain manifests/s.yaml');
    const { manifest, tree } = await loadManifest(file, io.cwd, loadOptionsOf(args.values, io.signal));
    if (args.values.json) {
      const origins: Record<string, string> = {};
      const walk = (node: PosNode, at: string) => {
        if (node.kind === 'map')
          for (const entry of node.entries) walk(entry.value, at ? `${at}.${entry.key}` : entry.key);
        else if (node.kind === 'seq') node.items.forEach((item, index) => walk(item, `${at}[${index}]`));
        else origins[at] = `${path.relative(io.cwd, node.origin.file)}:${node.origin.line}:${node.origin.col}`;
      };
      walk(tree, '');
      io.out(JSON.stringify({ manifest, origins }, null, 2) + '\n');
    } else {
      io.out(explainLines(tree, io.cwd).join('\n') + '\n');
    }
    return 0;
  },
};
