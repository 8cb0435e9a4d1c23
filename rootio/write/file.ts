import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { WBuffer, type Streamable } from './buffer.ts';
import { compressSync, loadEncoder } from '../compression/encode.ts';
import { compressionSetting, FILE_BEGIN as BEGIN, START_BIG_FILE, type Compression } from '../format.ts';
import { keyLength, tstringLength, writeKeyHeader } from '../key.ts';

/**
 * A ROOT file written front to back in one pass: the 100-byte header and the top directory record first (as
 * placeholders), then records appended at the end, then — on close — the streamer info, the key list, the free
 * list, and the header and directory rewritten in place. Everything goes to a temporary name beside the target
 * and is renamed over it only when complete, so an interrupted write leaves nothing under the final name.
 */

/** The ROOT release whose on-disk conventions (class versions, streamer infos) this writer follows: 6.20/04. */
export const ROOT_VERSION = 62004;

export interface RootFileOptions {
  compression: Compression;
  /** TDatime word stamped on every key and on the directory (see `datimeFromDate`). */
  datime: number;
  /** The file's 16-byte UUID. */
  uuid: Uint8Array;
  title?: string;
  /** Offsets above this use 64-bit keys and headers; only tests lower it (ROOT's value is 2e9). */
  bigFileThreshold?: number;
}

/** TDatime packing (year-1995)<<26 | month<<22 | day<<17 | hour<<12 | minute<<6 | second, here in UTC. */
export function datimeFromDate(date: Date): number {
  return (
    (((date.getUTCFullYear() - 1995) << 26) |
      ((date.getUTCMonth() + 1) << 22) |
      (date.getUTCDate() << 17) |
      (date.getUTCHours() << 12) |
      (date.getUTCMinutes() << 6) |
      date.getUTCSeconds()) >>>
    0
  );
}

interface DirectoryKey {
  header: Uint8Array;
}

export class RootFileWriter {
  readonly path: string;
  readonly tempPath: string;
  readonly name: string;
  readonly title: string;
  readonly compression: Compression;
  readonly datime: number;
  readonly bigThreshold: number;
  private readonly uuid: Uint8Array;
  private fd: number;
  /** fEND: where the next record goes. */
  end = 0;
  private readonly keys: DirectoryKey[] = [];
  private readonly dirKeyLength: number;
  private readonly nbytesName: number;
  private closed = false;
  private staging = new Uint8Array(4 << 20);
  private stagingStart = 0;
  private stagingLength = 0;

  private constructor(path: string, options: RootFileOptions) {
    this.path = path;
    this.name = basename(path);
    this.title = options.title ?? '';
    this.tempPath = join(dirname(path), `.${this.name}.${process.pid}.partial`);
    this.compression = options.compression;
    this.datime = options.datime;
    this.uuid = options.uuid;
    this.bigThreshold = options.bigFileThreshold ?? START_BIG_FILE;
    this.dirKeyLength = keyLength({ className: 'TFile', name: this.name, title: this.title, cycle: 1, big: false });
    this.nbytesName = this.dirKeyLength + tstringLength(this.name) + tstringLength(this.title);
    this.fd = openSync(this.tempPath, 'w');
    this.end = BEGIN + this.nbytesName + 60;
    // Placeholders; the header and the directory record are rewritten on close.
    this.writeAt(0, new Uint8Array(this.end));
  }

  /** Opens the temporary file (errors propagate: the caller turns them into user-facing messages). */
  static create(path: string, options: RootFileOptions): RootFileWriter {
    return new RootFileWriter(path, options);
  }

  /** As create, after loading the encoder the compression needs (LZ4, zstd and LZMA load on first use). */
  static async open(path: string, options: RootFileOptions): Promise<RootFileWriter> {
    await loadEncoder(options.compression);
    return new RootFileWriter(path, options);
  }

  get compressionSetting(): number {
    return compressionSetting(this.compression);
  }

  /** The directory every record belongs to (fSeekPdir). */
  get seekDir(): number {
    return BEGIN;
  }

  isBig(position: number): boolean {
    return position > this.bigThreshold;
  }

  private writeAt(position: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, position + done);
  }

  private flushStaging(): void {
    if (this.stagingLength === 0) return;
    this.writeAt(this.stagingStart, this.staging.subarray(0, this.stagingLength));
    this.stagingStart += this.stagingLength;
    this.stagingLength = 0;
  }

  /** Appends a record made of `parts` at fEND and returns its offset. Writes are staged in 4 MiB blocks. */
  append(parts: readonly Uint8Array[]): number {
    const position = this.end;
    if (this.stagingLength === 0) this.stagingStart = position;
    for (const part of parts) {
      if (part.length > this.staging.length) {
        this.flushStaging();
        this.writeAt(this.end, part);
        this.end += part.length;
        this.stagingStart = this.end;
        continue;
      }
      if (this.stagingLength + part.length > this.staging.length) this.flushStaging();
      if (this.stagingLength === 0) this.stagingStart = this.end;
      this.staging.set(part, this.stagingLength);
      this.stagingLength += part.length;
      this.end += part.length;
    }
    return position;
  }

  /**
   * Writes an object as its own keyed record (TKey(obj)): streamed after the key header, compressed when the
   * file compresses and the payload exceeds 256 bytes. Listed in the directory's keys when `listed`.
   */
  writeObject(object: Streamable, name: string, title: string, listed: boolean): { seek: number; nbytes: number } {
    const seek = this.end;
    const key = { className: object.className, name, title, cycle: 1, big: this.isBig(seek) };
    const keylen = keyLength(key);
    const body = new WBuffer(1 << 16, keylen);
    object.stream(body);
    const raw = body.result();
    const packed = raw.length > 256 ? compressSync(raw, this.compression) : null;
    const payload = packed ? packed.parts : [raw];
    const payloadSize = packed ? packed.size : raw.length;
    const header = new WBuffer(keylen);
    const fields = {
      ...key,
      nbytes: keylen + payloadSize,
      objlen: raw.length,
      datime: this.datime,
      keylen,
      seekKey: seek,
      seekPdir: BEGIN,
    };
    writeKeyHeader(header, fields);
    this.append([header.result(), ...payload]);
    if (listed) this.keys.push({ header: header.result().slice() });
    return { seek, nbytes: fields.nbytes };
  }

  /** Writes the StreamerInfo record, the key list, the free list, the header and the directory, then publishes. */
  close(streamerInfos: Streamable): void {
    if (this.closed) return;
    const info = this.writeObject(streamerInfos, 'StreamerInfo', 'Doubly linked list', false);

    // Key list: a TFile key header, the number of keys, then each key's header.
    const keysSeek = this.end;
    const keysKey = { className: 'TFile', name: this.name, title: this.title, cycle: 1, big: this.isBig(keysSeek) };
    const keysKeylen = keyLength(keysKey);
    let keysObjlen = 4;
    for (const key of this.keys) keysObjlen += key.header.length;
    const keysRecord = new WBuffer(keysKeylen + keysObjlen);
    writeKeyHeader(keysRecord, {
      ...keysKey,
      nbytes: keysKeylen + keysObjlen,
      objlen: keysObjlen,
      datime: this.datime,
      keylen: keysKeylen,
      seekKey: keysSeek,
      seekPdir: BEGIN,
    });
    keysRecord.i32(this.keys.length);
    for (const key of this.keys) keysRecord.raw(key.header);
    this.append([keysRecord.result()]);
    const nbytesKeys = keysKeylen + keysObjlen;

    // Free list: one TFree from the new end of file to ROOT's sentinel (kStartBigFile, grown by 1e9 steps).
    const freeSeek = this.end;
    const freeKey = { className: 'TFile', name: this.name, title: this.title, cycle: 1, big: this.isBig(freeSeek) };
    const freeKeylen = keyLength(freeKey);
    let last = START_BIG_FILE;
    let freeObjlen = 10;
    let fileEnd = freeSeek + freeKeylen + freeObjlen;
    for (;;) {
      while (last < fileEnd) last += 1_000_000_000;
      freeObjlen = last > this.bigThreshold ? 18 : 10;
      const candidate = freeSeek + freeKeylen + freeObjlen;
      if (candidate === fileEnd) break;
      fileEnd = candidate;
    }
    const freeRecord = new WBuffer(freeKeylen + freeObjlen);
    writeKeyHeader(freeRecord, {
      ...freeKey,
      nbytes: freeKeylen + freeObjlen,
      objlen: freeObjlen,
      datime: this.datime,
      keylen: freeKeylen,
      seekKey: freeSeek,
      seekPdir: BEGIN,
    });
    if (freeObjlen === 18) {
      freeRecord.i16(1001);
      freeRecord.i64(fileEnd);
      freeRecord.i64(last);
    } else {
      freeRecord.i16(1);
      freeRecord.i32(fileEnd);
      freeRecord.i32(last);
    }
    this.append([freeRecord.result()]);
    const nbytesFree = freeKeylen + freeObjlen;
    this.flushStaging();

    this.writeAt(0, this.fileHeader(freeSeek, nbytesFree, info.seek, info.nbytes));
    this.writeAt(BEGIN, this.directoryRecord(keysSeek, nbytesKeys));
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
    renameSync(this.tempPath, this.path);
  }

  private uuidBytes(buffer: WBuffer): void {
    buffer.i16(1);
    buffer.raw(this.uuid);
  }

  private fileHeader(seekFree: number, nbytesFree: number, seekInfo: number, nbytesInfo: number): Uint8Array {
    const big = this.isBig(this.end);
    const header = new WBuffer(BEGIN);
    header.raw(Buffer.from('root', 'latin1'));
    header.i32(big ? ROOT_VERSION + 1_000_000 : ROOT_VERSION);
    header.i32(BEGIN);
    if (big) {
      header.i64(this.end);
      header.i64(seekFree);
    } else {
      header.i32(this.end);
      header.i32(seekFree);
    }
    header.i32(nbytesFree);
    header.i32(1); // nfree
    header.i32(this.nbytesName);
    header.u8(big ? 8 : 4);
    header.i32(this.compressionSetting);
    if (big) header.i64(seekInfo);
    else header.i32(seekInfo);
    header.i32(nbytesInfo);
    this.uuidBytes(header);
    const out = new Uint8Array(BEGIN);
    out.set(header.result());
    return out;
  }

  /** The top directory's key and TDirectory record (version 5, or 1005 with 64-bit seeks). */
  private directoryRecord(seekKeys: number, nbytesKeys: number): Uint8Array {
    const objlen = this.nbytesName - this.dirKeyLength + 60;
    const record = new WBuffer(this.dirKeyLength + objlen);
    writeKeyHeader(record, {
      className: 'TFile',
      name: this.name,
      title: this.title,
      cycle: 1,
      big: false,
      nbytes: this.dirKeyLength + objlen,
      objlen,
      datime: this.datime,
      keylen: this.dirKeyLength,
      seekKey: BEGIN,
      seekPdir: 0,
    });
    record.tstring(this.name);
    record.tstring(this.title);
    const big = this.isBig(seekKeys);
    record.i16(big ? 1005 : 5);
    record.u32(this.datime); // fDatimeC
    record.u32(this.datime); // fDatimeM
    record.i32(nbytesKeys);
    record.i32(this.nbytesName);
    if (big) {
      record.i64(BEGIN);
      record.i64(0);
      record.i64(seekKeys);
    } else {
      record.i32(BEGIN);
      record.i32(0);
      record.i32(seekKeys);
    }
    this.uuidBytes(record);
    if (!big) for (let i = 0; i < 3; i++) record.i32(0);
    return record.result();
  }

  /** Abandons the file: closes and removes the temporary, leaving nothing behind. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    rmSync(this.tempPath, { force: true });
  }
}
