/**
 * GET /api/datasets/:id/zip and GET /api/docs/zip: a dataset's files (its .root files and dataset.json) or the key's
 * docs as one zip, for students to take home (a classroom server's students are mostly on Windows laptops, which
 * open zips with no tool). Streamed by archiver as it reads: nothing is built in memory or on disk. ROOT files are
 * compressed already, so they are stored; docs are deflated.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ZipArchive, type ZipEntryData } from 'archiver';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { OpenKeyError } from '../../../common/errors.ts';
import { idParamsSchema, noQuerySchema, type IdParams } from '../api.ts';
import type { ServiceParts } from './parts.ts';

export interface ArchiveOptions extends ServiceParts {
  /** The apps folder; its docs/ subfolder is what /api/docs/zip packs. */
  apps?: string;
}

/** Regular files below `dir`, links and anything else left out (nothing outside the folder gets in the zip). */
async function regularFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await regularFiles(full, base)));
    else if (entry.isFile()) out.push(path.relative(base, full));
  }
  return out;
}

/** dataset.json without the per-file `truth` (the hidden answers are for teachers, who have the key itself). */
async function datasetJsonForStudents(file: string): Promise<Buffer | undefined> {
  const info = await lstat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) return undefined;
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as { files?: Record<string, { truth?: unknown }> };
    for (const labels of Object.values(json.files ?? {})) delete labels.truth;
    return Buffer.from(JSON.stringify(json, null, 2) + '\n');
  } catch {
    return undefined;
  }
}

function sendZip(reply: FastifyReply, name: string, fill: (zip: ZipArchive) => void): FastifyReply {
  const zip = new ZipArchive({ zlib: { level: 6 } });
  // A file vanishing mid-stream ends the download; the client sees a truncated zip, never a wrong one.
  zip.on('warning', (error: Error) => zip.emit('error', error));
  fill(zip);
  void zip.finalize();
  return reply.type('application/zip').header('content-disposition', `attachment; filename="${name}"`).send(zip);
}

export const archiveRoutes: FastifyPluginAsync<ArchiveOptions> = async (app, { store, apps }) => {
  app.get<{ Params: IdParams }>(
    '/api/datasets/:id/zip',
    { schema: { params: idParamsSchema, querystring: noQuerySchema } },
    async (request, reply) => {
      const dataset = await store.get(request.params.id);
      const json = await datasetJsonForStudents(path.join(dataset.dir, 'dataset.json'));
      // The store's files may be links into a shared data folder: the zip holds what they point to (stat, not
      // lstat, or archiver would store the link itself).
      const stats = await Promise.all(dataset.files.map((file) => stat(file.path)));
      return sendZip(reply, `${dataset.id}.zip`, (zip) => {
        dataset.files.forEach((file, index) => {
          const entry: ZipEntryData = { name: `${dataset.id}/${file.name}`, store: true, stats: stats[index] as Stats };
          zip.file(file.path, entry);
        });
        if (json !== undefined) zip.append(json, { name: `${dataset.id}/dataset.json` });
      });
    },
  );

  app.get('/api/docs/zip', { schema: { querystring: noQuerySchema } }, async (_request, reply) => {
    const docs = apps === undefined ? undefined : path.join(apps, 'docs');
    const files = docs === undefined ? [] : await regularFiles(docs).catch(() => []);
    if (docs === undefined || files.length === 0)
      throw new OpenKeyError('E_NOT_FOUND', 'this key has no docs to download', { hint: 'the manifest lists no docs' });
    return sendZip(reply, 'docs.zip', (zip) => {
      for (const file of files) zip.file(path.join(docs, file), { name: `docs/${file.split(path.sep).join('/')}` });
    });
  });
};
