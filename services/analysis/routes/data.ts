/**
 * GET /data/:dataset/:file: the ROOT file itself with HTTP Range (single ranges and multipart/byteranges), never
 * compressed, so JSROOT in a browser opens it remotely. Only *.root files directly inside a dataset folder are
 * served; anything else (traversal, hidden files, other folders, symlinks out of the datasets folder) is a 404.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { OpenKeyError } from '../../../common/errors.ts';
import { dataParamsSchema, dataQuerySchema, type DataParams } from '../api.ts';
import type { DatasetStore } from '../datasets.ts';
import type { ServiceParts } from './parts.ts';

const DATASET = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const FILE = /^[A-Za-z0-9][A-Za-z0-9._+-]*\.root$/;
/** More ranges than this in one request are answered with the whole file. */
const MAX_RANGES = 1000;

export type Range = [start: number, end: number];

/** What a part of multipart/byteranges costs beyond its bytes (boundary and headers), roughly. */
const PART_OVERHEAD = 120;

/**
 * Parses a Range header against a file size (RFC 9110 §14.2). Returns undefined when the header should be ignored
 * and the whole file sent (absent, not bytes, malformed, too many ranges, or ranges that would cost more to send
 * than the file), [] when no range is satisfiable (416). Ranges come back sorted, overlapping and adjacent ones
 * merged, so a request cannot make the service send the same bytes many times.
 */
export function parseRange(header: string | undefined, size: number): Range[] | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!match) return undefined;
  const specs = match[1]!.split(',');
  if (specs.length > MAX_RANGES) return undefined;
  const ranges: Range[] = [];
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec === '') continue;
    const m = /^(\d*)-(\d*)$/.exec(spec);
    if (!m || (m[1] === '' && m[2] === '')) return undefined;
    if (m[1] === '') {
      const suffix = Number(m[2]);
      // A suffix of an empty file, like any range of it, is unsatisfiable.
      if (suffix === 0 || size === 0) continue;
      ranges.push([Math.max(0, size - suffix), size - 1]);
      continue;
    }
    const start = Number(m[1]);
    const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
    if (start >= size) continue;
    ranges.push([start, end]);
  }
  ranges.sort((x, y) => x[0] - y[0]);
  const merged: Range[] = [];
  for (const [a, b] of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  if (merged.length > 1) {
    const cost = merged.reduce((n, [a, b]) => n + b - a + 1 + PART_OVERHEAD, 0);
    if (cost > size) return undefined;
  }
  return merged;
}

function notFound(dataset: string, file: string): OpenKeyError {
  return new OpenKeyError('E_NOT_FOUND', `no file "${file}" in dataset "${dataset}"`);
}

async function resolveFile(store: DatasetStore, dataset: string, file: string) {
  if (!DATASET.test(dataset) || !FILE.test(file)) throw notFound(dataset, file);
  const path = join(store.dir, dataset, file);
  const st = await stat(path).catch(() => null);
  // Nothing outside the datasets folder, even through a symlink.
  if (!st?.isFile() || !(await store.inside(path))) throw notFound(dataset, file);
  return { path, size: st.size, mtime: st.mtime };
}

/** The parts' headers, the closing delimiter and the body's length: all a HEAD request needs. */
function multipartLayout(ranges: Range[], size: number, boundary: string) {
  const heads = ranges.map(
    ([a, b], i) =>
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${a}-${b}/${size}\r\n\r\n`,
  );
  const tail = `\r\n--${boundary}--\r\n`;
  const length =
    heads.reduce((n, h) => n + Buffer.byteLength(h), 0) + ranges.reduce((n, [a, b]) => n + b - a + 1, 0) + tail.length;
  return { heads, tail, length };
}

/**
 * The multipart body as a stream pulled from a generator: a destroyed stream (aborted client) returns the
 * generator, whose finally closes the file being read, so nothing waits on a drain that never comes.
 */
function multipartBody(path: string, ranges: Range[], heads: string[], tail: string): Readable {
  async function* parts(): AsyncGenerator<Buffer> {
    for (let i = 0; i < ranges.length; i++) {
      const [a, b] = ranges[i]!;
      yield Buffer.from(heads[i]!);
      const file = createReadStream(path, { start: a, end: b });
      try {
        for await (const chunk of file) yield chunk as Buffer;
      } finally {
        file.destroy();
      }
    }
    yield Buffer.from(tail);
  }
  return Readable.from(parts(), { objectMode: false });
}

export const dataRoutes: FastifyPluginAsync<ServiceParts> = async (app, { store }) => {
  const handler = async (request: FastifyRequest<{ Params: DataParams }>, reply: FastifyReply) => {
    const { dataset, file } = request.params;
    const { path, size, mtime } = await resolveFile(store, dataset, file);
    const etag = `"${size.toString(16)}-${mtime.getTime().toString(16)}"`;
    reply
      .header('Accept-Ranges', 'bytes')
      .header('ETag', etag)
      .header('Last-Modified', mtime.toUTCString())
      // no-transform: proxies must not compress either; byte offsets are what JSROOT asks for.
      .header('Cache-Control', 'no-cache, no-transform')
      .header('Content-Type', 'application/octet-stream');
    const ifRange = request.headers['if-range'];
    const rangeAllowed = ifRange === undefined || ifRange === etag || ifRange === mtime.toUTCString();
    const ranges = rangeAllowed ? parseRange(request.headers.range, size) : undefined;
    const head = request.method === 'HEAD';
    if (ranges === undefined) {
      reply.header('Content-Length', size);
      return head ? reply.send() : reply.send(createReadStream(path));
    }
    if (ranges.length === 0) {
      return reply.code(416).header('Content-Range', `bytes */${size}`).header('Content-Length', 0).send();
    }
    if (ranges.length === 1) {
      const [a, b] = ranges[0]!;
      reply
        .code(206)
        .header('Content-Range', `bytes ${a}-${b}/${size}`)
        .header('Content-Length', b - a + 1);
      return head ? reply.send() : reply.send(createReadStream(path, { start: a, end: b }));
    }
    const boundary = `openkey-${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
    const { heads, tail, length } = multipartLayout(ranges, size, boundary);
    reply
      .code(206)
      .header('Content-Type', `multipart/byteranges; boundary=${boundary}`)
      .header('Content-Length', length);
    return head ? reply.send() : reply.send(multipartBody(path, ranges, heads, tail));
  };
  const schema = { params: dataParamsSchema, querystring: dataQuerySchema };
  app.get('/data/:dataset/:file', { schema, exposeHeadRoute: false }, handler);
  app.head('/data/:dataset/:file', { schema }, handler);
};
