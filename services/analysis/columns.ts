/**
 * Selected columns of a dataset as a compact binary stream (POST /api/columns), for the Python client's
 * `openkey.arrays` and for notebooks: the branches' values of the events passing a selection, jagged branches as
 * (offsets, content). The selection is compiled by the analyses' own compiler, so the language and its limits are
 * the same; it fills the entry number (a pseudo-column) once per passing event, which gives the passing entries.
 *
 * Stream layout (little-endian): "OKCOLS1\n", uint32 header length, the JSON header
 * `{ entries, events, columns: [{ name, type, dtype, jagged, events, length }] }`, then per column, each buffer
 * starting on an 8-byte boundary: for a jagged column int64 offsets (events + 1) then its content, else its values.
 */
import { closeSync, openSync } from 'node:fs';
import { OpenKeyError } from '../../common/errors.ts';
import { closest } from '../../common/suggest.ts';
import { compileDraw, type BranchInfo, type Column } from './expr/index.ts';
import { selectFiles } from './analyses/plan.ts';
import type { Dataset, FileInfo } from './datasets.ts';
import { readColumn, type ReadStats } from '../../rootio/read/columns.ts';
import type { BranchMeta, ElementType } from '../../rootio/read/types.ts';

export const COLUMNS_MAGIC = 'OKCOLS1\n';

import type { ColumnsRequest } from './api.ts';
export type { ColumnsRequest };

export interface ColumnsLimits {
  /** Entries scanned per request (before the selection). */
  maxEntries: number;
  /** Bytes of one answer. */
  maxBytes: number;
}

/** Sized for a classroom: a million events of a few branches, well under what a laptop's browser or numpy holds. */
export const DEFAULT_COLUMNS_LIMITS: ColumnsLimits = { maxEntries: 5_000_000, maxBytes: 256 * 1024 * 1024 };

/** How each of the stream's dtypes is written and read: one table for the encoder and the decoder. */
interface DtypeCodec {
  bytes: number;
  write(out: Buffer, value: number, at: number): void;
  read(buffer: Buffer, at: number): number;
}

const CODECS = {
  f4: { bytes: 4, write: (o, v, at) => o.writeFloatLE(v, at), read: (b, at) => b.readFloatLE(at) },
  f8: { bytes: 8, write: (o, v, at) => o.writeDoubleLE(v, at), read: (b, at) => b.readDoubleLE(at) },
  i4: { bytes: 4, write: (o, v, at) => o.writeInt32LE(v, at), read: (b, at) => b.readInt32LE(at) },
  u4: { bytes: 4, write: (o, v, at) => o.writeUInt32LE(v, at), read: (b, at) => b.readUInt32LE(at) },
  u1: { bytes: 1, write: (o, v, at) => o.writeUInt8(v, at), read: (b, at) => b.readUInt8(at) },
} satisfies Record<string, DtypeCodec>;

type Dtype = keyof typeof CODECS;

/** The stream's dtype per element type: the values round-trip exactly (the reader decodes everything to float64). */
const DTYPE: Record<ElementType, Dtype> = {
  f32: 'f4',
  f64: 'f8',
  i8: 'i4',
  u8: 'u1',
  bool: 'u1',
  i16: 'i4',
  u16: 'i4',
  i32: 'i4',
  u32: 'u4',
  // int64 values beyond 2^53 are not exact in the reader's float64 either; f8 says so honestly.
  i64: 'f8',
  u64: 'f8',
};

const codecOf = (element: ElementType): DtypeCodec => CODECS[DTYPE[element]];

/** The entry-number pseudo-column the selection fills; a tree with a branch of this name gets a longer one. */
function entryColumnName(taken: Set<string>): string {
  let name = '__openkey_entry__';
  while (taken.has(name)) name += '_';
  return name;
}

interface Part {
  name: string;
  type: string;
  element: ElementType;
  jagged: boolean;
  /** Per file slice: selected values (and offsets for jagged). */
  chunks: { values: Float64Array; offsets?: Float64Array }[];
  events: number;
  length: number;
}

function tooLarge(message: string, hint: string, params: { limit: number; unit: 'entries' | 'bytes' }): OpenKeyError {
  return new OpenKeyError('E_TOO_LARGE', message, { hint, params });
}

/** Checks the request against the dataset (branches exist, readable, range sane) before any basket is read. */
export function planColumns(
  dataset: Dataset,
  request: ColumnsRequest,
  limits: ColumnsLimits,
): { files: FileInfo[]; branches: BranchMeta[]; first: number; last: number } {
  const readable = dataset.files.filter((f) => f.meta !== undefined);
  if (readable.length === 0)
    throw new OpenKeyError('E_UNKNOWN_TREE', `dataset "${dataset.id}" has no readable tree`, {
      params: { dataset: dataset.id },
    });
  const files = selectFiles(dataset.id, readable, request.files);
  const reference = files[0]!.meta!;
  const known = new Map(reference.branches.map((b) => [b.name, b]));
  const branches = request.columns.map((name) => {
    const branch = known.get(name);
    if (branch === undefined) {
      const near = closest(name, [...known.keys()]);
      throw new OpenKeyError('E_UNKNOWN_BRANCH', `unknown branch "${name}" in dataset "${dataset.id}"`, {
        hint: near ? `did you mean "${near}"?` : 'GET /api/datasets/<id> lists the branches',
        params: { dataset: dataset.id, name, ...(near ? { suggestions: near } : {}) },
      });
    }
    if (branch.element === undefined)
      throw new OpenKeyError('E_BAD_COLUMN', `branch "${name}" has type ${branch.type}, which cannot be read`, {});
    return branch;
  });
  if (new Set(request.columns).size !== request.columns.length)
    throw new OpenKeyError('E_BAD_COLUMN', 'a column is asked for twice', {});
  const total = files.reduce((n, f) => n + f.entries, 0);
  const first = request.entryStart ?? 0;
  const last = Math.min(request.entryStop ?? total, total);
  if (first > last)
    throw new OpenKeyError('E_BAD_RANGE', `entryStart ${first} is after entryStop ${last}`, {
      hint: `the dataset has ${total} entries`,
    });
  if (last - first > limits.maxEntries)
    throw tooLarge(
      `the request scans ${last - first} entries; the limit is ${limits.maxEntries}`,
      'ask for fewer with entryStart/entryStop (entry_start/entry_stop in openkey.py)',
      { limit: limits.maxEntries, unit: 'entries' },
    );
  return { files, branches, first, last };
}

/**
 * Reads the selected events' columns. Runs file by file and yields to the event loop between files, so other
 * requests are answered; the size bound is enforced while reading, before the answer grows past it.
 */
export async function readColumns(
  dataset: Dataset,
  request: ColumnsRequest,
  limits: ColumnsLimits = DEFAULT_COLUMNS_LIMITS,
): Promise<Buffer> {
  const { files, branches, first, last } = planColumns(dataset, request, limits);
  const branchInfo: BranchInfo[] = files[0]!
    .meta!.branches.filter((b) => b.element !== undefined)
    .map((b) => ({
      name: b.name,
      isArray: b.isArray,
    }));
  const ENTRY_COLUMN = entryColumnName(new Set(branchInfo.map((b) => b.name)));
  branchInfo.push({ name: ENTRY_COLUMN, isArray: false });
  const infos = new Map(branchInfo.map((b) => [b.name, b]));
  const program =
    request.selection === undefined || request.selection.trim() === ''
      ? undefined
      : compileDraw({ selection: request.selection, expressions: [ENTRY_COLUMN], eventCount: true }, infos);
  const parts: Part[] = branches.map((b) => ({
    name: b.name,
    type: b.type,
    element: b.element!,
    jagged: b.isArray,
    chunks: [],
    events: 0,
    length: 0,
  }));
  // The branches read from each file: the columns asked for and what the selection reads, not the entry number.
  const needed = new Set([...branches.map((b) => b.name), ...(program?.branches ?? [])]);
  needed.delete(ENTRY_COLUMN);
  let bytes = 0;
  let scanned = 0;
  let offset = 0;
  const stats: ReadStats = { diskBytes: 0, dataBytes: 0 };
  for (const file of files) {
    const from = Math.max(first - offset, 0);
    const to = Math.min(last - offset, file.entries);
    offset += file.entries;
    if (to <= from) continue;
    const meta = new Map(file.meta!.branches.map((b) => [b.name, b]));
    const columns = new Map<string, Column>();
    const fd = openSync(file.path, 'r');
    try {
      for (const name of needed) {
        const branch = meta.get(name);
        if (branch === undefined)
          throw new OpenKeyError('E_UNKNOWN_BRANCH', `${file.name}: the file has no branch "${name}"`, {
            params: { file: file.name, name },
          });
        columns.set(name, await readColumn(fd, branch, from, to, stats));
      }
    } catch (error) {
      if (error instanceof OpenKeyError) throw error;
      throw new OpenKeyError('E_ROOT_READ', `${file.name}: ${(error as Error).message}`, {
        params: { file: file.name },
      });
    } finally {
      closeSync(fd);
    }
    const events = to - from;
    scanned += events;
    let selected: Uint32Array;
    if (program === undefined) {
      selected = new Uint32Array(events);
      for (let i = 0; i < events; i++) selected[i] = i;
    } else {
      const entry = new Float64Array(events);
      for (let i = 0; i < events; i++) entry[i] = i;
      columns.set(ENTRY_COLUMN, { kind: 'scalar', values: entry });
      const passing: number[] = [];
      program.processBatch({ events, columns }, (_h, x) => passing.push(x));
      selected = Uint32Array.from(passing);
    }
    for (const part of parts) {
      const column = columns.get(part.name)!;
      const size = codecOf(part.element).bytes;
      if (column.kind === 'scalar') {
        const values = new Float64Array(selected.length);
        for (let k = 0; k < selected.length; k++) values[k] = column.values[selected[k]!]!;
        part.chunks.push({ values });
        bytes += values.length * size;
        part.length += values.length;
      } else {
        const offsets = new Float64Array(selected.length + 1);
        let length = 0;
        for (let k = 0; k < selected.length; k++) {
          const i = selected[k]!;
          length += column.offsets[i + 1]! - column.offsets[i]!;
          offsets[k + 1] = length;
        }
        const values = new Float64Array(length);
        for (let k = 0, at = 0; k < selected.length; k++) {
          const i = selected[k]!;
          const run = column.values.subarray(column.offsets[i]!, column.offsets[i + 1]!);
          values.set(run, at);
          at += run.length;
        }
        part.chunks.push({ values, offsets });
        bytes += values.length * size + (selected.length + 1) * 8;
        part.length += length;
      }
      part.events += selected.length;
    }
    if (bytes > limits.maxBytes)
      throw tooLarge(
        `the answer would exceed ${limits.maxBytes} bytes (${bytes} after ${scanned} entries)`,
        'ask for fewer columns or entries, or a tighter cut',
        { limit: limits.maxBytes, unit: 'bytes' },
      );
    await new Promise((resolve) => setImmediate(resolve));
  }
  return encodeColumns(last - first, parts);
}

function encodeColumns(entries: number, parts: Part[]): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      entries,
      events: parts[0]?.events ?? 0,
      columns: parts.map((p) => ({
        name: p.name,
        type: p.type,
        dtype: DTYPE[p.element],
        jagged: p.jagged,
        events: p.events,
        length: p.length,
      })),
    }),
  );
  const align = (n: number) => Math.ceil(n / 8) * 8;
  let size = COLUMNS_MAGIC.length + 4 + header.length;
  for (const p of parts) {
    if (p.jagged) size = align(size) + (p.events + 1) * 8;
    size = align(size) + p.length * codecOf(p.element).bytes;
  }
  const out = Buffer.alloc(size);
  out.write(COLUMNS_MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, COLUMNS_MAGIC.length);
  header.copy(out, COLUMNS_MAGIC.length + 4);
  let at = COLUMNS_MAGIC.length + 4 + header.length;
  for (const p of parts) {
    if (p.jagged) {
      at = align(at);
      // Offsets continue across files: each file's chunk starts where the previous one ended.
      let base = 0;
      out.writeBigInt64LE(0n, at);
      at += 8;
      for (const chunk of p.chunks) {
        const offsets = chunk.offsets!;
        for (let k = 1; k < offsets.length; k++, at += 8) out.writeBigInt64LE(BigInt(base + offsets[k]!), at);
        base += offsets[offsets.length - 1]!;
      }
    }
    at = align(at);
    const codec = codecOf(p.element);
    for (const chunk of p.chunks) {
      const v = chunk.values;
      for (let k = 0; k < v.length; k++, at += codec.bytes) codec.write(out, v[k]!, at);
    }
  }
  return out;
}

/** Decodes a column stream (the tests' and the apps' side of the format; openkey.py has its own in Python). */
export function decodeColumns(buffer: Buffer): {
  entries: number;
  columns: Record<string, { values: number[]; offsets?: number[] }>;
} {
  if (buffer.toString('latin1', 0, COLUMNS_MAGIC.length) !== COLUMNS_MAGIC) throw new Error('not a column stream');
  const length = buffer.readUInt32LE(COLUMNS_MAGIC.length);
  let at = COLUMNS_MAGIC.length + 4;
  const header = JSON.parse(buffer.toString('utf8', at, at + length)) as {
    entries: number;
    columns: { name: string; dtype: string; jagged: boolean; events: number; length: number }[];
  };
  at += length;
  const align = () => (at = Math.ceil(at / 8) * 8);
  const out: Record<string, { values: number[]; offsets?: number[] }> = {};
  for (const c of header.columns) {
    const column: { values: number[]; offsets?: number[] } = { values: [] };
    if (c.jagged) {
      align();
      column.offsets = [];
      for (let k = 0; k <= c.events; k++, at += 8) column.offsets.push(Number(buffer.readBigInt64LE(at)));
    }
    align();
    const codec: DtypeCodec | undefined = CODECS[c.dtype as Dtype];
    if (codec === undefined) throw new Error(`column ${c.name} has an unknown dtype ${c.dtype}`);
    for (let k = 0; k < c.length; k++, at += codec.bytes) column.values.push(codec.read(buffer, at));
    out[c.name] = column;
  }
  return { entries: header.entries, columns: out };
}
