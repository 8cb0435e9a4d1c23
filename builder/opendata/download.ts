import { open, rm, stat, truncate } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { OpenKeyError } from '../../common/errors.ts';
import { isPortalErrorPage } from './record.ts';
import { digestFile, type OpendataStore } from './store.ts';

export interface DownloadTarget {
  name: string;
  url: string;
  size: number;
  adler32: string;
  /** Known from the lock file after the first fetch. */
  sha256?: string;
}

export interface DownloadOptions {
  store: OpendataStore;
  signal?: AbortSignal;
  /** Attempts after the first (default 6). */
  retries?: number;
  /** First wait between attempts; doubles each time (default 1 s). */
  backoffMs?: number;
  /** No byte for this long aborts the attempt, which then resumes (default 60 s). */
  stallMs?: number;
  /** Bytes received (called per chunk; negative when a partial file had to be discarded). */
  onBytes?: (bytes: number) => void;
  log?: (message: string) => void;
}

export interface DownloadResult {
  sha256: string;
  path: string;
  /** Bytes the partial file already held when this call started (resumed from). */
  resumedFrom: number;
  attempts: number;
}

class Retryable extends Error {}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

async function sizeOf(file: string): Promise<number> {
  return (await stat(file).catch(() => undefined))?.size ?? 0;
}

/**
 * Downloads one file into the content cache: resumes a partial file with an HTTP Range request, retries network
 * errors, 5xx and stalls with exponential backoff, and admits the file only when its size, adler32 and (when known)
 * SHA-256 match; a mismatch moves it to quarantine and names the URL and both checksums.
 * Written on fetch() rather than a download library: none of the usual ones verifies adler32 or resumes into a
 * content-addressed store, and the whole loop is short.
 */
export async function downloadToStore(target: DownloadTarget, options: DownloadOptions): Promise<DownloadResult> {
  const { store } = options;
  const partial = store.partialPath(target.adler32, target.size);
  await mkdir(path.dirname(partial), { recursive: true });
  const retries = options.retries ?? 6;
  const backoff = options.backoffMs ?? 1000;
  const stallMs = options.stallMs ?? 60_000;
  let resumedFrom = -1;
  let attempts = 0;
  let lastProblem = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    options.signal?.throwIfAborted();
    if (attempt > 0) {
      const wait = backoff * 2 ** (attempt - 1);
      options.log?.(
        `${target.name}: ${lastProblem}; retrying in ${(wait / 1000).toFixed(1)} s (${attempt}/${retries})`,
      );
      await sleep(wait, options.signal);
    }
    attempts++;
    let have = await sizeOf(partial);
    if (have > target.size) {
      await truncate(partial, 0);
      options.onBytes?.(-have);
      have = 0;
    }
    if (resumedFrom < 0) resumedFrom = have;
    if (have === target.size) break;
    try {
      await fetchInto(target, partial, have, stallMs, options);
      break;
    } catch (error) {
      if (error instanceof Retryable) {
        lastProblem = error.message;
        continue;
      }
      throw error;
    }
  }
  const got = await sizeOf(partial);
  if (got !== target.size)
    throw new OpenKeyError(
      'E_DOWNLOAD',
      `${target.url}: gave up after ${attempts} attempts (${lastProblem}); ${got} of ${target.size} bytes kept`,
      { hint: 'run the same openkey fetch again: it resumes from the bytes already downloaded' },
    );
  const digests = await digestFile(partial, options.signal);
  const problems: string[] = [];
  if (digests.adler32 !== target.adler32) problems.push(`adler32 ${digests.adler32}, expected ${target.adler32}`);
  if (target.sha256 !== undefined && digests.sha256 !== target.sha256)
    problems.push(`sha256 ${digests.sha256}, expected ${target.sha256}`);
  if (problems.length > 0) {
    const where = await store.quarantine(partial, target.name);
    if (isPortalErrorPage(digests.size, digests.adler32))
      throw new OpenKeyError(
        'E_OPENDATA_ERROR_PAGE',
        `${target.url} answered the portal's HTML error page, not the file`,
        {
          hint: `the file is missing on the portal or the URL is wrong; kept aside as ${where}`,
        },
      );
    throw new OpenKeyError('E_CHECKSUM', `${target.url}: ${problems.join('; ')}`, {
      hint: `the file was moved to ${where} and not cached; run openkey fetch again to download it anew`,
    });
  }
  const blob = await store.admit(partial, digests);
  return { sha256: digests.sha256, path: blob, resumedFrom: Math.max(0, resumedFrom), attempts };
}

async function fetchInto(
  target: DownloadTarget,
  partial: string,
  have: number,
  stallMs: number,
  options: DownloadOptions,
): Promise<void> {
  const stall = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(new Retryable(`stalled: no data for ${stallMs / 1000} s`)), stallMs);
  };
  const signal = options.signal === undefined ? stall.signal : AbortSignal.any([options.signal, stall.signal]);
  arm();
  let response: Response;
  try {
    response = await fetch(target.url, {
      headers: have > 0 ? { range: `bytes=${have}-` } : {},
      signal,
    });
  } catch (error) {
    clearTimeout(timer);
    options.signal?.throwIfAborted();
    if (stall.signal.aborted) throw stall.signal.reason as Error;
    throw new Retryable((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
  }
  try {
    if (response.status === 404 || response.status === 410)
      throw new OpenKeyError(
        'E_OPENDATA_MISSING',
        `${target.url} answered ${response.status}: the portal has no such file`,
        {
          hint: 'the record lists a file the portal cannot serve; try again later or drop the file from the manifest',
        },
      );
    if (response.status === 416) {
      // The partial file disagrees with the server's idea of the file: start again from zero.
      await truncate(partial, 0);
      options.onBytes?.(-have);
      throw new Retryable('the server refused the range; starting over');
    }
    if (response.status >= 500 || response.status === 429) throw new Retryable(`HTTP ${response.status}`);
    if (!response.ok || response.body === null)
      throw new OpenKeyError('E_DOWNLOAD', `${target.url} answered ${response.status} ${response.statusText}`);
    if ((response.headers.get('content-type') ?? '').startsWith('text/html'))
      throw new OpenKeyError('E_OPENDATA_ERROR_PAGE', `${target.url} answered an HTML page, not the file`, {
        hint: 'the portal shows an error page for a missing file; check the record and the file name',
      });
    let offset = have;
    if (response.status === 206) {
      const range = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
      if (range === null || Number(range[1]) !== have) {
        await truncate(partial, 0);
        options.onBytes?.(-have);
        throw new Retryable('the server answered another range; starting over');
      }
    } else if (have > 0) {
      // 200 to a Range request: the server sends the whole file, so the partial one is rewritten from zero.
      options.log?.(`${target.name}: the server ignores Range requests; downloading from the start`);
      options.onBytes?.(-have);
      offset = 0;
    }
    const handle = await open(partial, offset === 0 ? 'w' : 'a');
    try {
      for await (const chunk of response.body) {
        arm();
        const bytes = chunk as Uint8Array;
        if (offset + bytes.length > target.size)
          throw new Retryable(`the server sent more than the ${target.size} bytes the record lists`);
        try {
          await handle.write(bytes);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOSPC' || code === 'EDQUOT')
            throw new OpenKeyError(
              'E_DISK_FULL',
              `the disk filled up while downloading ${target.name} (${offset} of ${target.size} bytes)`,
              {
                hint: `free some space (or use --cache DIR on a larger disk) and run openkey fetch again: it resumes; the cache itself is intact`,
              },
            );
          throw error;
        }
        offset += bytes.length;
        options.onBytes?.(bytes.length);
      }
    } catch (error) {
      if (error instanceof OpenKeyError || error instanceof Retryable) throw error;
      options.signal?.throwIfAborted();
      if (stall.signal.aborted) throw stall.signal.reason as Error;
      throw new Retryable(`connection lost after ${offset} bytes (${(error as Error).message})`);
    } finally {
      await handle.close();
    }
    if (offset < target.size) throw new Retryable(`connection closed after ${offset} of ${target.size} bytes`);
  } finally {
    clearTimeout(timer);
    await response.body?.cancel().catch(() => undefined);
  }
}

/** Removes a partial download (used when its file turns out to be cached already). */
export async function dropPartial(store: OpendataStore, adler32: string, size: number): Promise<void> {
  await rm(store.partialPath(adler32, size), { force: true });
}
