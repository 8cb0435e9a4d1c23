import { OpenKeyError } from '../../common/errors.ts';

/** The CERN Open Data portal; OPENKEY_OPENDATA_URL replaces it (tests, local mirrors of the portal). */
export const DEFAULT_OPENDATA_BASE = 'https://opendata.cern.ch';

/** The portal answers a missing file with this HTML page (3 846 bytes, adler32 a82d5324): an error, never data. */
export const PORTAL_ERROR_PAGE = { size: 3846, adler32: 'a82d5324' } as const;

export function isPortalErrorPage(size: number, adler32: string): boolean {
  return size === PORTAL_ERROR_PAGE.size && adler32 === PORTAL_ERROR_PAGE.adler32;
}

export function opendataBase(env: NodeJS.ProcessEnv): string {
  return (env.OPENKEY_OPENDATA_URL || DEFAULT_OPENDATA_BASE).replace(/\/+$/, '');
}

/** One file of a record, as the record API lists it. */
export interface RecordFile {
  name: string;
  /** root://eospublic.cern.ch//eos/opendata/… */
  uri: string;
  size: number;
  /** 8 lowercase hex digits. */
  adler32: string;
}

/** The file over HTTP: the `root://eospublic.cern.ch/` prefix replaced by the base (`{base}//eos/opendata/…`). */
export function httpUrl(uri: string, base: string): string {
  const match = /^root:\/\/eospublic\.cern\.ch(?::\d+)?\/(\/.*)$/.exec(uri);
  if (match === null) {
    if (/^https?:\/\//.test(uri)) return uri;
    throw new OpenKeyError('E_OPENDATA_RECORD', `unexpected file address in the record: ${uri}`);
  }
  return `${base.replace(/\/+$/, '')}/${match[1]}`;
}

/** The record's address of a file from its public HTTP address (`{base}//eos/opendata/…`), the inverse of httpUrl. */
export function uriOf(url: string): string | undefined {
  const match = /^https?:\/\/[^/]+\/(\/eos\/.*)$/.exec(url);
  return match === null ? undefined : `root://eospublic.cern.ch/${match[1]}`;
}

interface RawFile {
  key?: unknown;
  uri?: unknown;
  size?: unknown;
  checksum?: unknown;
}

function parseFile(raw: RawFile, where: string): RecordFile {
  const uri = typeof raw.uri === 'string' ? raw.uri : undefined;
  const checksum = typeof raw.checksum === 'string' ? /^adler32:([0-9a-fA-F]{1,8})$/.exec(raw.checksum) : null;
  if (uri === undefined || typeof raw.size !== 'number' || !Number.isSafeInteger(raw.size) || checksum === null)
    throw new OpenKeyError('E_OPENDATA_RECORD', `${where}: a file entry lacks uri, size or an adler32 checksum`, {
      hint: 'the portal changed its record format, or the mirror serves something else',
    });
  const name = typeof raw.key === 'string' && raw.key !== '' ? raw.key : (uri.split('/').at(-1) ?? uri);
  return {
    name: name.split('/').at(-1) ?? name,
    uri,
    size: raw.size,
    adler32: checksum[1]!.toLowerCase().padStart(8, '0'),
  };
}

/** The files of a record's JSON: `metadata.files[]` and, for big records, `metadata._file_indices[].files[]`. */
export function recordFiles(json: unknown, where: string): RecordFile[] {
  const metadata = (json as { metadata?: { files?: unknown; _file_indices?: unknown } } | null)?.metadata;
  if (metadata === undefined || metadata === null || typeof metadata !== 'object')
    throw new OpenKeyError('E_OPENDATA_RECORD', `${where}: the answer has no metadata`);
  const files: RecordFile[] = [];
  const add = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const raw of list) files.push(parseFile(raw as RawFile, where));
  };
  add(metadata.files);
  if (Array.isArray(metadata._file_indices))
    for (const index of metadata._file_indices) add((index as { files?: unknown }).files);
  const seen = new Set<string>();
  return files.filter((file) => (seen.has(file.uri) ? false : (seen.add(file.uri), true)));
}

export interface RecordOptions {
  signal?: AbortSignal;
  retries?: number;
  backoffMs?: number;
}

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

/** `GET {base}/api/records/{recid}`: the record's files, retried on network errors and 5xx. */
export async function fetchRecord(base: string, record: number, options: RecordOptions = {}): Promise<RecordFile[]> {
  const url = `${base}/api/records/${record}`;
  const retries = options.retries ?? 4;
  let lastError = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep((options.backoffMs ?? 1000) * 2 ** (attempt - 1), options.signal);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json' },
        signal:
          options.signal === undefined
            ? AbortSignal.timeout(60_000)
            : AbortSignal.any([options.signal, AbortSignal.timeout(60_000)]),
      });
    } catch (error) {
      options.signal?.throwIfAborted();
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      lastError = cause?.code ?? cause?.message ?? (error as Error).message;
      continue;
    }
    if (response.status === 404 || response.status === 410)
      throw new OpenKeyError(
        'E_OPENDATA_RECORD',
        `the portal does not know record ${record} (${url} answered ${response.status})`,
        {
          hint: 'check opendata.record in the manifest; builder/opendata/catalogue.ts lists the records of the ATLAS releases',
        },
      );
    if (response.status >= 500 || response.status === 429) {
      lastError = `HTTP ${response.status}`;
      await response.body?.cancel();
      continue;
    }
    if (!response.ok)
      throw new OpenKeyError('E_OPENDATA_RECORD', `${url} answered ${response.status} ${response.statusText}`);
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      throw new OpenKeyError('E_OPENDATA_RECORD', `${url} did not answer JSON`, {
        hint: 'is OPENKEY_OPENDATA_URL the portal (or a mirror of its API)?',
      });
    }
    return recordFiles(json, `record ${record}`);
  }
  throw new OpenKeyError('E_OPENDATA_UNREACHABLE', `cannot read record ${record} from ${url} (${lastError})`, {
    hint: 'check the network; with a lock file and a filled cache, build --offline needs none',
  });
}
