/**
 * Big-endian basket data → float64 columns for an entry range, the shape the expression engine consumes
 * (structurally the same as expr's Column).
 */
import { embeddedBasket, readBasket, type Basket } from './basket.ts';
import { ELEMENT_SIZE, type BranchMeta, type ElementType } from './types.ts';

export type Column =
  { kind: 'scalar'; values: Float64Array } | { kind: 'array'; offsets: Uint32Array; values: Float64Array };

export interface ReadStats {
  /** Bytes read from disk (compressed). */
  diskBytes: number;
  /** Bytes after decompression. */
  dataBytes: number;
}

/** Decodes `count` big-endian values of `element` starting at byte `pos` into out[at…]. */
export function decodeValues(
  view: DataView,
  pos: number,
  count: number,
  element: ElementType,
  out: Float64Array,
  at: number,
): void {
  switch (element) {
    case 'f32':
      for (let k = 0; k < count; k++, pos += 4) out[at + k] = view.getFloat32(pos, false);
      return;
    case 'f64':
      for (let k = 0; k < count; k++, pos += 8) out[at + k] = view.getFloat64(pos, false);
      return;
    case 'i32':
      for (let k = 0; k < count; k++, pos += 4) out[at + k] = view.getInt32(pos, false);
      return;
    case 'u32':
      for (let k = 0; k < count; k++, pos += 4) out[at + k] = view.getUint32(pos, false);
      return;
    case 'i16':
      for (let k = 0; k < count; k++, pos += 2) out[at + k] = view.getInt16(pos, false);
      return;
    case 'u16':
      for (let k = 0; k < count; k++, pos += 2) out[at + k] = view.getUint16(pos, false);
      return;
    case 'i8':
      for (let k = 0; k < count; k++, pos += 1) out[at + k] = view.getInt8(pos);
      return;
    case 'u8':
      for (let k = 0; k < count; k++, pos += 1) out[at + k] = view.getUint8(pos);
      return;
    case 'bool':
      for (let k = 0; k < count; k++, pos += 1) out[at + k] = view.getUint8(pos) !== 0 ? 1 : 0;
      return;
    case 'i64':
      for (let k = 0; k < count; k++, pos += 8) out[at + k] = Number(view.getBigInt64(pos, false));
      return;
    case 'u64':
      for (let k = 0; k < count; k++, pos += 8) out[at + k] = Number(view.getBigUint64(pos, false));
      return;
  }
}

/** Indexes of the baskets overlapping [first, last). */
export function basketsFor(branch: BranchMeta, first: number, last: number): number[] {
  const { entry } = branch.baskets;
  const out: number[] = [];
  for (let i = 0; i + 1 < entry.length; i++) if (entry[i]! < last && entry[i + 1]! > first) out.push(i);
  return out;
}

/** Reads one branch over entries [first, last) into a column (Double32_t ranges applied as jsroot does). */
export async function readColumn(
  fd: number,
  branch: BranchMeta,
  first: number,
  last: number,
  stats: ReadStats,
): Promise<Column> {
  const column = await readRawColumn(fd, branch, first, last, stats);
  if (branch.scale) {
    const { factor, min } = branch.scale;
    const values = column.values;
    for (let k = 0; k < values.length; k++) values[k] = values[k]! * factor + min;
  }
  return column;
}

async function readRawColumn(
  fd: number,
  branch: BranchMeta,
  first: number,
  last: number,
  stats: ReadStats,
): Promise<Column> {
  const element = branch.element;
  if (element === undefined) throw new Error(`branch ${branch.name} has type ${branch.type}, which cannot be read`);
  const size = ELEMENT_SIZE[element];
  const variable = branch.layout === 'counted' || branch.layout === 'vector';
  const header = branch.layout === 'vector' ? 10 : 0;
  const parts: { basket: Basket; start: number; from: number; to: number }[] = [];
  for (const i of basketsFor(branch, first, last)) {
    const start = branch.baskets.entry[i]!;
    const end = branch.baskets.entry[i + 1]!;
    const place = { branch: branch.name, index: i };
    const kept = branch.baskets.embedded?.[i];
    const basket = kept
      ? embeddedBasket(kept, variable, place)
      : await readBasket(fd, branch.baskets.seek[i]!, branch.baskets.bytes[i]!, variable, place);
    if (basket.entries !== end - start)
      throw new Error(`basket ${i} of ${branch.name} holds ${basket.entries} entries, the tree says ${end - start}`);
    stats.diskBytes += basket.diskBytes;
    stats.dataBytes += basket.data.length;
    parts.push({ basket, start, from: Math.max(first, start), to: Math.min(last, end) });
  }
  const events = last - first;
  const covered = parts.reduce((n, p) => n + (p.to - p.from), 0);
  if (covered !== events) throw new Error(`branch ${branch.name} has no basket for some entries in ${first}..${last}`);

  if (!variable && branch.layout === 'scalar') {
    const values = new Float64Array(events);
    let at = 0;
    for (const { basket, start, from, to } of parts) {
      const view = new DataView(basket.data.buffer, basket.data.byteOffset, basket.data.length);
      const pos = (from - start) * size;
      if (pos + (to - from) * size > basket.data.length) throw new Error(`basket of ${branch.name} is too short`);
      decodeValues(view, pos, to - from, element, values, at);
      at += to - from;
    }
    return { kind: 'scalar', values };
  }

  if (!variable) {
    const n = branch.fixedLength;
    const values = new Float64Array(events * n);
    const offsets = new Uint32Array(events + 1);
    for (let i = 0; i <= events; i++) offsets[i] = i * n;
    let at = 0;
    for (const { basket, start, from, to } of parts) {
      const view = new DataView(basket.data.buffer, basket.data.byteOffset, basket.data.length);
      const pos = (from - start) * size * n;
      if (pos + (to - from) * size * n > basket.data.length) throw new Error(`basket of ${branch.name} is too short`);
      decodeValues(view, pos, (to - from) * n, element, values, at);
      at += (to - from) * n;
    }
    return { kind: 'array', offsets, values };
  }

  const offsets = new Uint32Array(events + 1);
  let total = 0;
  let e = 0;
  for (const { basket, start, from, to } of parts) {
    const off = basket.offsets!;
    const view = new DataView(basket.data.buffer, basket.data.byteOffset, basket.data.length);
    for (let k = from - start; k < to - start; k++) {
      const bytes = off[k + 1]! - off[k]! - header;
      if (bytes < 0 || bytes % size !== 0) throw new Error(`entry ${start + k} of ${branch.name} is damaged`);
      // A vector entry also states its length after the 6-byte object header: both must agree.
      if (header > 0 && view.getInt32(off[k]! + 6, false) !== bytes / size)
        throw new Error(`entry ${start + k} of ${branch.name} is not a plain std::vector`);
      total += bytes / size;
      offsets[++e] = total;
    }
  }
  const values = new Float64Array(total);
  let at = 0;
  for (const { basket, start, from, to } of parts) {
    const off = basket.offsets!;
    const view = new DataView(basket.data.buffer, basket.data.byteOffset, basket.data.length);
    // Entries are contiguous inside a basket, so a whole run decodes in one call.
    const a = off[from - start]!;
    if (header === 0) {
      const count = (off[to - start]! - a) / size;
      decodeValues(view, a, count, element, values, at);
      at += count;
    } else {
      for (let k = from - start; k < to - start; k++) {
        const count = (off[k + 1]! - off[k]! - header) / size;
        decodeValues(view, off[k]! + header, count, element, values, at);
        at += count;
      }
    }
  }
  return { kind: 'array', offsets, values };
}
