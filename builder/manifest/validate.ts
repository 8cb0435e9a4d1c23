import type { ErrorObject } from 'ajv';
import { closest } from '../../common/suggest.ts';
import { dottedPath, type ManifestProblem } from './problems.ts';
import { layerSchema, manifestSchema } from './schema.ts';
import { validateLayer, validateManifest } from './validators.generated.js';
import type { Origin } from './types.ts';
import { nodeAtPath, type PosNode } from './yaml.ts';

/** Plain-language names for the patterns in the schema, so an error says what is expected, not a regex. */
const PATTERN_MEANINGS: Record<string, string> = {
  '^[a-z0-9][a-z0-9._-]*$': "lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
  '^[a-z0-9][a-z0-9-]{0,62}$': "lowercase letters, digits and '-', at most 63 characters",
  '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$': 'a version like 1.2.3',
  '^[A-Z0-9_]{1,32}$': "1 to 32 uppercase letters, digits or '_' (ISO 9660 volume label)",
  '^[a-z]+$': 'a Debian suite name such as trixie',
  '^(https?|file)://[A-Za-z0-9._~:/?@&+,=%\\[\\]-]+$':
    'an http://, https:// or file:// URL of letters, digits and . _ ~ : / ? @ & + , = % [ ] -',
  '^[0-9]{8}T[0-9]{6}Z$': 'a snapshot.debian.org timestamp like 20251101T000000Z',
  '^[a-z][a-z0-9-]*$': "lowercase letters, digits and '-', starting with a letter",
  '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$': "a hostname: lowercase letters, digits and '-'",
  '^[a-z]{2,3}(_[A-Z]{2})?(\\.UTF-8)?$': 'a locale like en_US.UTF-8',
  '^[a-z]{2,3}(\\([a-z0-9_-]+\\))?$': 'an XKB layout like us, fr or de(nodeadkeys)',
  '^(UTC|[A-Z][A-Za-z_-]+(/[A-Za-z0-9_+-]+){1,2})$': 'a tz database name like Europe/Paris or UTC',
  '^[a-z_][a-z0-9_-]{0,31}$': "a user or group name: lowercase letters, digits, '_' or '-', at most 32",
  '^/[A-Za-z0-9._/+-]+$': "an absolute path of letters, digits, '.', '_', '/', '+' or '-'",
  '^[A-Za-z0-9_.,:=/+@%~^!-]+$':
    'one kernel argument of letters, digits and _.,:=/+@%~^!- (write each argument as its own list item)',
  '^https?://[!-~]+$': 'an http:// or https:// URL without spaces or control characters',
  '^[0-9a-f]{64}$': '64 lowercase hexadecimal digits (a SHA-256)',
  '^[A-Za-z_][A-Za-z0-9_]*$': 'a ROOT tree name',
};

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return `a ${typeof value}`;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
};

function describeValue(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

function segmentsOf(instancePath: string): string[] {
  return instancePath === ''
    ? []
    : instancePath
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function valueAt(data: unknown, segments: readonly string[]): unknown {
  let current = data;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** The schema object that holds the keyword at `schemaPath` (`#/properties/media/additionalProperties`). */
function schemaAt(schema: unknown, schemaPath: string): unknown {
  const segments = schemaPath.replace(/^#\/?/, '').split('/').slice(0, -1);
  return valueAt(
    schema,
    segments.map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')),
  );
}

function errorToProblem(
  error: ErrorObject,
  plain: unknown,
  schema: unknown,
  root: PosNode,
  file: string,
): ManifestProblem | undefined {
  const segments = segmentsOf(error.instancePath);
  const located = nodeAtPath(root, segments);
  const valueOrigin: Origin = located.node.origin;
  const here = (origin: Origin, extraSegments: string[], message: string, hint?: string): ManifestProblem => ({
    origin,
    path: dottedPath([...segments, ...extraSegments]),
    message,
    ...(hint === undefined ? {} : { hint }),
  });
  const params = error.params as Record<string, unknown>;
  const data = valueAt(plain, segments);
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const inner = nodeAtPath(root, [...segments, key]);
      const parent = schemaAt(schema, error.schemaPath) as { properties?: Record<string, unknown> } | undefined;
      const allowed = Object.keys(parent?.properties ?? {});
      const guess = closest(key, allowed);
      const hint = guess ? `did you mean "${guess}"?` : `allowed keys: ${allowed.join(', ')}`;
      return here(inner.keyOrigin ?? valueOrigin, [key], `unknown key "${key}"`, hint);
    }
    case 'required': {
      const key = String(params.missingProperty);
      const where = segments.length === 0 ? { file, line: 1, col: 1 } : (located.keyOrigin ?? valueOrigin);
      const hint =
        segments.length === 0
          ? 'set it here, or inherit it with "extends: base.yaml"'
          : `add "${key}:" to this mapping`;
      return here(where, [key], `missing required key "${key}"`, hint);
    }
    case 'type': {
      const expected = String(params.type)
        .split(',')
        .map((t) => TYPE_WORDS[t] ?? t)
        .join(' or ');
      const hint =
        typeof data === 'string' && /^-?[0-9]+$/.test(data)
          ? 'remove the quotes'
          : expected === 'a string' && (typeof data === 'number' || typeof data === 'boolean')
            ? 'YAML read this as a number or boolean: put it in quotes'
            : undefined;
      return here(valueOrigin, [], `expected ${expected}, got ${typeName(data)}`, hint);
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const guess = typeof data === 'string' ? closest(data, allowed) : undefined;
      return here(
        valueOrigin,
        [],
        `${describeValue(data)} is not one of: ${allowed.join(', ')}`,
        guess ? `did you mean "${guess}"?` : undefined,
      );
    }
    case 'pattern': {
      const pattern = String(params.pattern);
      const meaning = PATTERN_MEANINGS[pattern] ?? `text matching ${pattern}`;
      if (error.propertyName !== undefined) {
        const inner = nodeAtPath(root, [...segments, error.propertyName]);
        return here(
          inner.keyOrigin ?? valueOrigin,
          [error.propertyName],
          `bad name "${error.propertyName}"`,
          `expected ${meaning}`,
        );
      }
      return here(valueOrigin, [], `${describeValue(data)} is not valid`, `expected ${meaning}`);
    }
    case 'propertyNames':
      return undefined; // reported by the inner pattern error, which names the key
    case 'minimum':
    case 'exclusiveMinimum':
      return here(valueOrigin, [], `${describeValue(data)} is too small`, `the minimum is ${String(params.limit)}`);
    case 'maximum':
    case 'exclusiveMaximum':
      return here(valueOrigin, [], `${describeValue(data)} is too large`, `the maximum is ${String(params.limit)}`);
    case 'minLength':
      return here(valueOrigin, [], 'must not be empty');
    case 'maxLength':
      return here(valueOrigin, [], `is longer than ${String(params.limit)} characters`);
    case 'minItems':
      return here(valueOrigin, [], `needs at least ${String(params.limit)} item(s)`);
    case 'uniqueItems':
      return here(
        valueOrigin,
        [],
        `items ${String(params.j)} and ${String(params.i)} are the same`,
        'list each item once',
      );
    case 'anyOf':
      return here(valueOrigin, [], 'expected a file name or a list of file names');
    default:
      return here(valueOrigin, [], error.message ?? `fails ${error.keyword}`);
  }
}

/**
 * Validates plain data built from `root` and maps every ajv error to a positioned problem. `layer` checks one file
 * (nothing required); `full` checks the resolved manifest. `file` is where file-level problems point.
 */
export function validateAgainstSchema(
  kind: 'layer' | 'full',
  data: unknown,
  root: PosNode,
  file: string,
): ManifestProblem[] {
  const validate = kind === 'layer' ? validateLayer : validateManifest;
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  // anyOf branches report their own failures too; the anyOf summary says it better.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const relevant = errors.filter(
    (e) =>
      e.keyword === 'anyOf' ||
      ![...anyOfPaths].some((p) => e.instancePath.startsWith(p) && e.schemaPath.includes('/anyOf/')),
  );
  const schema = kind === 'layer' ? layerSchema : manifestSchema;
  return relevant.flatMap((error) => errorToProblem(error, data, schema, root, file) ?? []);
}
