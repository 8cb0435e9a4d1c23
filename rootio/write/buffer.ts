/**
 * A growable big-endian write buffer with ROOT's object framing (TBufferFile semantics): byte counts, class tags
 * and object references. Positions recorded in the object and class maps include `displacement`, the number of
 * bytes that precede the buffer in its record (the key header), because ROOT measures them from the record start.
 */

import {
  BYTE_COUNT_MASK as kByteCountMask,
  CLASS_MASK as kClassMask,
  MAP_OFFSET as kMapOffset,
  NEW_CLASS_TAG as kNewClassTag,
} from '../format.ts';

/** Anything ROOT can write through WriteObjectAny: it names its class and streams itself (version word included). */
export interface Streamable {
  readonly className: string;
  stream(buffer: WBuffer): void;
}

export class WBuffer {
  private bytes: Uint8Array;
  private view: DataView;
  pos = 0;
  private readonly objectMap = new Map<object, number>();
  private readonly classMap = new Map<string, number>();

  constructor(
    capacity = 4096,
    readonly displacement = 0,
  ) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.pos));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(value: number): void {
    this.ensure(1);
    this.bytes[this.pos++] = value & 0xff;
  }
  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }
  i16(value: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, value);
    this.pos += 2;
  }
  u16(value: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, value);
    this.pos += 2;
  }
  i32(value: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, value);
    this.pos += 4;
  }
  u32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, value >>> 0);
    this.pos += 4;
  }
  i64(value: number | bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, BigInt(value));
    this.pos += 8;
  }
  u64(value: number | bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt(value));
    this.pos += 8;
  }
  f32(value: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, value);
    this.pos += 4;
  }
  f64(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, value);
    this.pos += 8;
  }
  raw(data: Uint8Array): void {
    this.ensure(data.length);
    this.bytes.set(data, this.pos);
    this.pos += data.length;
  }

  /** TString: one length byte, or 255 and a 4-byte length, then the characters (no terminator). */
  tstring(text: string): void {
    const data = Buffer.from(text, 'latin1');
    if (data.length < 255) this.u8(data.length);
    else {
      this.u8(255);
      this.i32(data.length);
    }
    this.raw(data);
  }

  /** TNamed::Streamer: version 1, TObject, name, title. */
  tnamed(name: string, title: string, bits: number): void {
    const at = this.startObject(1);
    this.tobject(bits);
    this.tstring(name);
    this.tstring(title);
    this.setByteCount(at);
  }

  /** A C string with its terminating zero, as class names are stored after a new-class tag. */
  cstring(text: string): void {
    this.raw(Buffer.from(text, 'latin1'));
    this.u8(0);
  }

  /** Reserves a byte-count word; pass the returned position to `setByteCount` once the object is written. */
  reserveByteCount(): number {
    const at = this.pos;
    this.u32(0);
    return at;
  }
  setByteCount(at: number): void {
    this.view.setUint32(at, (this.pos - at - 4) | kByteCountMask);
  }

  /** Byte count plus version, as WriteVersion(cl, kTRUE) writes; returns the byte-count position. */
  startObject(version: number): number {
    const at = this.reserveByteCount();
    this.i16(version);
    return at;
  }

  /** TObject::Streamer: version 1, fUniqueID, fBits. */
  tobject(bits: number, uniqueId = 0): void {
    this.i16(1);
    this.u32(uniqueId);
    this.u32(bits);
  }

  private writeClass(className: string): void {
    const known = this.classMap.get(className);
    if (known !== undefined) {
      this.u32(known | kClassMask);
      return;
    }
    const at = this.pos;
    this.u32(kNewClassTag);
    this.cstring(className);
    this.classMap.set(className, this.displacement + at + kMapOffset);
  }

  /** WriteObjectAny: null, a reference to an object already in this buffer, or byte count + class + object. */
  writeObjectAny(object: Streamable | null): void {
    if (object === null) {
      this.u32(0);
      return;
    }
    const known = this.objectMap.get(object);
    if (known !== undefined) {
      this.u32(known);
      return;
    }
    const at = this.reserveByteCount();
    this.writeClass(object.className);
    this.objectMap.set(object, this.displacement + at + kMapOffset);
    object.stream(this);
    this.setByteCount(at);
  }

  get length(): number {
    return this.pos;
  }

  /** The written bytes (a view: copy it if the buffer is written to again). */
  result(): Uint8Array {
    return this.bytes.subarray(0, this.pos);
  }
}
