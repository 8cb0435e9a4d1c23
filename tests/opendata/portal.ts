/**
 * A local stand-in for the CERN Open Data portal on 127.0.0.1: record JSON in the portal's format, the real ROOT files
 * of ../shared/data over HTTP with Range support, and faults injected per file name. Every request is logged, so the
 * tests can assert what was (not) downloaded and from which byte.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import ADLER32 from 'adler-32';

export const SHARED_8TEV = new URL('../../../shared/data/atlas-8tev-mc/', import.meta.url).pathname;
const EOS_DIR = '/eos/opendata/atlas/OutreachDatasets/2016-07-29/MC';

export type Fault =
  /** Sends half the file, then drops the connection (once). */
  | 'drop'
  /** Serves the file with one byte changed (always). */
  | 'wrong-bytes'
  /** Sends a little, then nothing (once); the client's stall timeout must fire. */
  | 'stall'
  /** Answers 503 twice, then the file. */
  | '503'
  /** Ignores Range: always 200 with the whole file. */
  | 'no-range'
  /** Answers the portal's HTML error page. */
  | 'error-page'
  /** Drops mid-file on every attempt, after sending `dropAfter` bytes from wherever the request started. */
  | 'always-drop';

export interface RequestLog {
  path: string;
  range: string | undefined;
  status: number;
}

export interface PortalFile {
  name: string;
  path: string;
  size: number;
  adler32: string;
}

export function adler32Of(file: string): string {
  return (ADLER32.buf(readFileSync(file)) >>> 0).toString(16).padStart(8, '0');
}

/** The portal's error page for a missing file, as the tests serve it. */
export const ERROR_PAGE = `<!DOCTYPE html>\n<html><head><title>Not found</title></head><body><h1>Page not found</h1>${' '.repeat(3000)}</body></html>\n`;

export class FakePortal {
  readonly files: PortalFile[];
  readonly requests: RequestLog[] = [];
  readonly faults = new Map<string, Fault>();
  /** Records served: id → the file names in it; records in `indexed` list them in _file_indices instead. */
  readonly records = new Map<number, string[]>();
  readonly indexed = new Set<number>();
  private readonly tripped = new Map<string, number>();
  private server: Server | undefined;
  base = '';

  constructor(dir: string = SHARED_8TEV) {
    this.files = readdirSync(dir)
      .filter((name) => name.endsWith('.root'))
      .sort()
      .map((name) => {
        const file = path.join(dir, name);
        return { name, path: file, size: statSync(file).size, adler32: adler32Of(file) };
      });
    this.records.set(
      3860,
      this.files.map((f) => f.name),
    );
  }

  /** Forgets faults, the request log and how often each fault has fired. */
  reset(): void {
    this.faults.clear();
    this.requests.length = 0;
    this.tripped.clear();
  }

  file(name: string): PortalFile {
    const file = this.files.find((f) => f.name === name);
    if (file === undefined) throw new Error(`no test file ${name}`);
    return file;
  }

  fileRequests(name?: string): RequestLog[] {
    return this.requests.filter(
      (r) => r.path.startsWith('//eos/') && (name === undefined || r.path.endsWith(`/${name}`)),
    );
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private recordJson(id: number): unknown {
    const entries = (this.records.get(id) ?? []).map((name) => {
      const file = this.file(name);
      return {
        key: name,
        uri: `root://eospublic.cern.ch/${EOS_DIR}/${name}`,
        size: file.size,
        checksum: `adler32:${file.adler32}`,
      };
    });
    const index = {
      key: `record-${id}_file_index.json`,
      uri: `root://eospublic.cern.ch/${EOS_DIR}/file-index-${id}.json`,
      size: 100,
      checksum: 'adler32:00000001',
    };
    return this.indexed.has(id)
      ? {
          id: String(id),
          metadata: { recid: String(id), files: [index], _file_indices: [{ description: 'MC', files: entries }] },
        }
      : { id: String(id), metadata: { recid: String(id), title: `record ${id}`, files: entries } };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const range = req.headers.range;
    const log = (status: number) => this.requests.push({ path: url, range, status });
    const record = /^\/api\/records\/(\d+)$/.exec(url);
    if (record !== null) {
      const id = Number(record[1]);
      if (!this.records.has(id)) {
        log(404);
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"status":404,"message":"PID does not exist."}');
        return;
      }
      log(200);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.recordJson(id)));
      return;
    }
    const name = url.split('/').at(-1) ?? '';
    const file = url.startsWith(`//eos/`) ? this.files.find((f) => f.name === name) : undefined;
    if (file === undefined) {
      log(404);
      res.writeHead(404, { 'content-type': 'text/html' }).end(ERROR_PAGE);
      return;
    }
    const fault = this.faults.get(name);
    const count = (this.tripped.get(name) ?? 0) + 1;
    this.tripped.set(name, count);
    if (fault === '503' && count <= 2) {
      log(503);
      res.writeHead(503, { 'retry-after': '0' }).end('busy');
      return;
    }
    if (fault === 'error-page') {
      log(200);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(ERROR_PAGE);
      return;
    }
    let start = 0;
    const match = /^bytes=(\d+)-$/.exec(range ?? '');
    if (match !== null && fault !== 'no-range') start = Number(match[1]);
    if (start >= file.size && start > 0) {
      log(416);
      res.writeHead(416, { 'content-range': `bytes */${file.size}` }).end();
      return;
    }
    const partial = start > 0;
    const status = partial ? 206 : 200;
    log(status);
    res.writeHead(status, {
      'content-type': 'application/octet-stream',
      'content-length': String(file.size - start),
      'accept-ranges': fault === 'no-range' ? 'none' : 'bytes',
      ...(partial ? { 'content-range': `bytes ${start}-${file.size - 1}/${file.size}` } : {}),
    });
    const half = Math.floor(file.size / 2);
    if ((fault === 'drop' && count === 1) || fault === 'always-drop') {
      const until = fault === 'drop' ? half : start + 65536;
      const stream = createReadStream(file.path, { start, end: Math.max(start, until) - 1 });
      stream.on('data', (chunk) => res.write(chunk));
      stream.on('end', () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (fault === 'stall' && count === 1) {
      createReadStream(file.path, { start, end: start + 4095 }).on('data', (chunk) => res.write(chunk));
      return; // never ends: the client must give up on its own
    }
    if (fault === 'wrong-bytes') {
      const bytes = readFileSync(file.path).subarray(start);
      const copy = Buffer.from(bytes);
      const at = Math.floor(copy.length / 3);
      copy[at] = (copy[at] ?? 0) ^ 0xff;
      res.end(copy);
      return;
    }
    createReadStream(file.path, { start }).pipe(res);
  }
}
