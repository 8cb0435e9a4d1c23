import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ADLER32 from 'adler-32';
import type { RecordFile } from './record.ts';

/**
 * The content cache of real data: `<cache>/opendata/sha256/<hex>` holds each verified file once, whatever dataset
 * or key uses it; `by-adler32/<adler32>-<size>` maps the portal's checksum to it, so a file is recognised before its
 * SHA-256 is known. Downloads grow in `partial/` (kept across runs for Range resume) and a file that fails
 * verification goes to `quarantine/`: nothing enters `sha256/` unverified, and entries appear by rename.
 * `records/<id>.json` keeps the file list of each record `openkey fetch` read, so sizes are known offline after it.
 */
export class OpendataStore {
  readonly root: string;

  constructor(cacheDir: string) {
    this.root = path.join(cacheDir, 'opendata');
  }

  blobPath(sha256: string): string {
    return path.join(this.root, 'sha256', sha256);
  }

  partialPath(adler32: string, size: number): string {
    return path.join(this.root, 'partial', `${adler32}-${size}.part`);
  }

  recordPath(record: number): string {
    return path.join(this.root, 'records', `${record}.json`);
  }

  /** Keeps a record's file list (as the record API gave it) for offline use: sizes in check, fetch without network. */
  async saveRecord(record: number, files: readonly RecordFile[]): Promise<void> {
    const target = this.recordPath(record);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.tmp-${process.pid}`;
    await writeFile(temp, JSON.stringify({ record, files }, null, 1) + '\n');
    await rename(temp, target);
  }

  /** The file list `saveRecord` kept, or undefined (none, or unreadable: then it is read from the portal again). */
  async loadRecord(record: number): Promise<RecordFile[] | undefined> {
    const text = await readFile(this.recordPath(record), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const json = JSON.parse(text) as { record?: unknown; files?: RecordFile[] };
      const ok =
        json.record === record &&
        Array.isArray(json.files) &&
        json.files.every(
          (f) =>
            typeof f?.name === 'string' &&
            typeof f.uri === 'string' &&
            Number.isSafeInteger(f.size) &&
            /^[0-9a-f]{8}$/.test(f.adler32),
        );
      return ok ? json.files : undefined;
    } catch {
      return undefined;
    }
  }

  async has(sha256: string, size: number): Promise<boolean> {
    const info = await stat(this.blobPath(sha256)).catch(() => undefined);
    return info?.isFile() === true && info.size === size;
  }

  /** The SHA-256 of the cached file with this adler32 and size, if there is one. */
  async findByAdler32(adler32: string, size: number): Promise<string | undefined> {
    const sha256 = (
      await readFile(path.join(this.root, 'by-adler32', `${adler32}-${size}`), 'utf8').catch(() => '')
    ).trim();
    return /^[0-9a-f]{64}$/.test(sha256) && (await this.has(sha256, size)) ? sha256 : undefined;
  }

  async tempPath(name: string): Promise<string> {
    const dir = path.join(this.root, 'tmp');
    await mkdir(dir, { recursive: true });
    return path.join(dir, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}-${name}`);
  }

  /** Moves a verified file into the cache by rename and records its adler32. */
  async admit(file: string, digests: { sha256: string; adler32: string; size: number }): Promise<string> {
    const target = this.blobPath(digests.sha256);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(file, target);
    const indexDir = path.join(this.root, 'by-adler32');
    await mkdir(indexDir, { recursive: true });
    const index = path.join(indexDir, `${digests.adler32}-${digests.size}`);
    await writeFile(`${index}.tmp-${process.pid}`, `${digests.sha256}\n`);
    await rename(`${index}.tmp-${process.pid}`, index);
    return target;
  }

  /** Copies a file from elsewhere (a mirror) into a temporary name of the store, for verification then admit. */
  async copyIn(source: string, name: string): Promise<string> {
    const temp = await this.tempPath(name);
    await copyFile(source, temp);
    return temp;
  }

  /** Moves a file that failed verification aside, so it is neither used nor resumed; returns where it went. */
  async quarantine(file: string, name: string): Promise<string> {
    const dir = path.join(this.root, 'quarantine');
    await mkdir(dir, { recursive: true });
    const target = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '')}-${name}`);
    await rename(file, target).catch(async () => {
      await rm(file, { force: true });
    });
    return target;
  }
}

export interface Digests {
  size: number;
  adler32: string;
  sha256: string;
}

/** Size, adler32 and SHA-256 of a file in one read. */
export async function digestFile(file: string, signal?: AbortSignal): Promise<Digests> {
  const sha = createHash('sha256');
  let adler = 1;
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) })) {
    const bytes = chunk as Buffer;
    sha.update(bytes);
    adler = ADLER32.buf(bytes, adler);
    size += bytes.length;
  }
  return { size, adler32: (adler >>> 0).toString(16).padStart(8, '0'), sha256: sha.digest('hex') };
}
