/**
 * Checks of a booted key's notebook server, from the host through QEMU's hostfwd (bounded HTTP and WebSocket
 * clients on 127.0.0.1, nothing spawned).
 *
 * - checkHub: a class on the μ key's JupyterHub. Each simulated student logs in with a name and the class password
 *   (the portal's GET /api/jupyter gives it, as it does to a student's laptop), gets a token, starts their server,
 *   finds the key's notebooks copied into their home, runs one of them cell by cell in a kernel (the Jupyter REST
 *   API and the kernel's WebSocket: the same path a student's browser takes, so the proxy, the hub's auth, the
 *   spawner's scope and the kernel are all on it), and from inside the kernel tries to open every other student's
 *   home. The teacher then logs in and reads each student's file.
 * - checkSingle: the single-user server: it refuses a request without this boot's token, answers with it, lists the
 *   notebooks copied into the home on first boot, and runs one.
 *
 * Why the REST API and the kernel channel rather than nbconvert in the guest: nbconvert would run the notebook
 * beside the server, not in it, and prove nothing about the hub, the proxy, the per-student limits or the
 * isolation a student's browser sees.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import WebSocket from 'ws';

/** What a check found for one student (or the single server's user). */
export interface StudentReport {
  name: string;
  passed: boolean;
  reason?: string;
  /** Seconds from the login to a server that answers, and to the notebook's last cell. */
  secondsToServer?: number;
  secondsToNotebook?: number;
  /** The key's notebooks found in the home (notebooks/…). */
  notebooks: string[];
  /** Everything the notebook's cells printed. */
  stdout: string;
  /** What the probe cell saw from inside the kernel: uid, cgroup limits, other homes it could or could not open. */
  inside?: InsideReport;
}

export interface InsideReport {
  user: string;
  uid: number;
  memoryMax: string;
  cpuMax: string;
  denied: string[];
  readable: string[];
  /** Homes that do not exist (a student who never logged in). */
  missing: string[];
}

export interface HubReport {
  passed: boolean;
  students: StudentReport[];
  /** Student files the teacher read back (name → the nonce it held). */
  teacherSaw: Record<string, string>;
  reasons: string[];
  seconds: number;
}

export interface SingleReport extends StudentReport {
  /** The status code of a request without the token (403 expected). */
  withoutToken: number;
  seconds: number;
}

/** What the notebook must print: a number captured by `pattern` within `within` of `near`. */
export interface NotebookExpectation {
  notebook: string;
  pattern: RegExp;
  near: number;
  within: number;
}

/** The Z mass notebook, which every key with notebooks carries; the same bound as the CI's notebook test. */
export const Z_MASS_EXPECTATION: NotebookExpectation = {
  notebook: 'z-mass.ipynb',
  pattern: /fitted Z mass: ([\d.]+) ±/,
  near: 91.19,
  within: 1,
};

export interface HubCheckOptions {
  /** The hub's public URL through hostfwd (http://127.0.0.1:PORT). */
  hubUrl: string;
  /** The analysis service (portal) through hostfwd: GET /api/jupyter gives the class password. */
  portalUrl: string;
  /** From the server's console banner. */
  teacherPassword: string;
  students: string[];
  expectation?: NotebookExpectation;
  /** Students working at once (logins, servers, kernels); the rest wait. Default: all of them. */
  concurrency?: number;
  /** The whole check gives up after this long (default 15 min: five servers and kernels under TCG). */
  deadlineMs?: number;
  log?: (line: string) => void;
}

export interface SingleCheckOptions {
  jupyterUrl: string;
  portalUrl: string;
  expectation?: NotebookExpectation;
  deadlineMs?: number;
  log?: (line: string) => void;
}

/** Every HTTP request of the checks is bounded; a kernel cell gets longer (a fit under TCG). */
const REQUEST_TIMEOUT_MS = 60_000;
const CELL_TIMEOUT_MS = 300_000;

class CheckError extends Error {}

/** Cookies as a browser keeps them for one site: name → value, from each answer's Set-Cookie. */
export class CookieJar {
  readonly #cookies = new Map<string, string>();
  readonly #ignored: ReadonlySet<string>;

  /** `ignored`: cookies never kept (see hubLogin). */
  constructor(ignored: Iterable<string> = []) {
    this.#ignored = new Set(ignored);
  }

  take(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (pair === undefined || at <= 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (this.#ignored.has(name)) continue;
      // An expired cookie (a logout's, or a cleared one) is gone.
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0\b/i.test(line))
        this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** The _xsrf field of JupyterHub's login form. */
export function formXsrf(html: string): string | undefined {
  return /name="_xsrf"\s+value="([^"]+)"/.exec(html)?.[1] ?? /value="([^"]+)"\s+name="_xsrf"/.exec(html)?.[1];
}

async function request(url: string, init: RequestInit & { jar?: CookieJar } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = init.jar?.header();
  if (cookie !== undefined && cookie !== '') headers.set('cookie', cookie);
  let response: Response;
  try {
    response = await fetch(url, {
      ...init,
      headers,
      redirect: 'manual',
      signal: init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new CheckError(`${init.method ?? 'GET'} ${url}: ${(error as Error).message}`);
  }
  init.jar?.take(response.headers);
  return response;
}

async function json<T>(response: Response, what: string, expected: number[]): Promise<T> {
  const text = await response.text();
  if (!expected.includes(response.status))
    throw new CheckError(`${what}: HTTP ${response.status} (expected ${expected.join(' or ')}): ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CheckError(`${what}: not JSON: ${text.slice(0, 200)}`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls the portal until the notebook server runs (or failed, or the deadline passed). */
async function jupyterState(portalUrl: string, deadline: number): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  while (Date.now() < deadline) {
    try {
      last = await json(await request(`${portalUrl}/api/jupyter`), 'GET /api/jupyter', [200]);
      if (last['state'] === 'running') return last;
      if (last['state'] === 'failed' || last['state'] === 'stopped')
        throw new CheckError(`the portal says the notebook server is ${String(last['state'])}`);
    } catch (error) {
      if (error instanceof CheckError && /the portal says/.test(error.message)) throw error;
    }
    await sleep(3000);
  }
  throw new CheckError(`the notebook server did not run before the deadline (last state ${JSON.stringify(last)})`);
}

interface Cell {
  cell_type: string;
  source: string | string[];
}

/** Runs code cells one after the other in a new kernel of a Jupyter server; returns what they printed. */
export async function runCells(
  serverUrl: string,
  authorization: string,
  cells: string[],
  log?: (line: string) => void,
): Promise<string> {
  const headers = { authorization, 'content-type': 'application/json' };
  const kernel = await json<{ id: string }>(
    await request(`${serverUrl}api/kernels`, { method: 'POST', headers, body: JSON.stringify({ name: 'python3' }) }),
    'POST api/kernels',
    [200, 201],
  );
  const socketUrl = `${serverUrl.replace(/^http/, 'ws')}api/kernels/${kernel.id}/channels?session_id=${randomUUID()}`;
  // Debian's classic notebook (6.4) completes the upgrade only after its kernel_info wait, up to 60 s.
  const socket = new WebSocket(socketUrl, { headers: { authorization }, handshakeTimeout: 3 * REQUEST_TIMEOUT_MS });
  let stdout = '';
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', (error) => reject(new CheckError(`kernel channel ${socketUrl}: ${error.message}`)));
    });
    const session = randomUUID();
    for (const [index, code] of cells.entries()) {
      const id = randomUUID();
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new CheckError(`cell ${index + 1} did not finish in ${CELL_TIMEOUT_MS / 1000} s`)),
          CELL_TIMEOUT_MS,
        );
        let failure: string | undefined;
        const onMessage = (data: WebSocket.RawData) => {
          const message = JSON.parse(data.toString()) as {
            msg_type?: string;
            header?: { msg_type?: string };
            parent_header?: { msg_id?: string };
            content?: Record<string, unknown>;
          };
          if (message.parent_header?.msg_id !== id) return;
          const type = message.header?.msg_type ?? message.msg_type;
          const content = message.content ?? {};
          if (type === 'stream' && content['name'] === 'stdout') stdout += String(content['text'] ?? '');
          if (type === 'error') failure = `${String(content['ename'])}: ${String(content['evalue'])}`;
          // idle on iopub comes after every output of the request.
          if (type === 'status' && content['execution_state'] === 'idle') {
            clearTimeout(timer);
            socket.off('message', onMessage);
            if (failure !== undefined) reject(new CheckError(`cell ${index + 1} raised ${failure}`));
            else resolve();
          }
        };
        socket.on('message', onMessage);
      });
      socket.send(
        JSON.stringify({
          header: { msg_id: id, username: 'openkey-check', session, msg_type: 'execute_request', version: '5.3' },
          parent_header: {},
          metadata: {},
          channel: 'shell',
          content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false },
          buffers: [],
        }),
      );
      await done;
      log?.(`cell ${index + 1}/${cells.length} done`);
    }
  } finally {
    socket.close();
    await request(`${serverUrl}api/kernels/${kernel.id}`, { method: 'DELETE', headers }).catch(() => undefined);
  }
  return stdout;
}

/** The code cells of a notebook as the server holds it. */
async function notebookCells(serverUrl: string, authorization: string, path: string): Promise<string[]> {
  const model = await json<{ content: { cells: Cell[] } }>(
    await request(`${serverUrl}api/contents/${path}?content=1`, { headers: { authorization } }),
    `GET api/contents/${path}`,
    [200],
  );
  return model.content.cells
    .filter((cell) => cell.cell_type === 'code')
    .map((cell) => (Array.isArray(cell.source) ? cell.source.join('') : cell.source));
}

/** Python run in the student's kernel: who it runs as, its scope's limits, and which other homes it can open. */
export function insideCell(others: string[], homes = '/home'): string {
  return [
    'import json, os',
    'cgroup = open("/proc/self/cgroup").read().strip().split("::", 1)[-1]',
    'def limit(name):',
    '    try:',
    '        return open(f"/sys/fs/cgroup{cgroup}/{name}").read().strip()',
    '    except OSError as error:',
    '        return f"unreadable: {error}"',
    'denied, readable, missing = [], [], []',
    `for other in ${JSON.stringify(others)}:`,
    '    try:',
    `        os.listdir(os.path.join(${JSON.stringify(homes)}, other))`,
    '        readable.append(other)',
    '    except PermissionError:',
    '        denied.append(other)',
    '    except FileNotFoundError:',
    '        missing.append(other)',
    'print("OPENKEY-INSIDE " + json.dumps({"user": os.environ.get("USER", ""), "uid": os.getuid(),',
    '    "memoryMax": limit("memory.max"), "cpuMax": limit("cpu.max"),',
    '    "denied": denied, "readable": readable, "missing": missing}))',
  ].join('\n');
}

export function parseInside(stdout: string): InsideReport | undefined {
  const line = /^OPENKEY-INSIDE (.*)$/m.exec(stdout)?.[1];
  if (line === undefined) return undefined;
  return JSON.parse(line) as InsideReport;
}

/** Why the notebook's output misses the expectation, or undefined when it meets it. */
export function missesExpectation(stdout: string, expectation: NotebookExpectation): string | undefined {
  const match = expectation.pattern.exec(stdout);
  if (match === null) return `${expectation.notebook} printed no ${expectation.pattern}`;
  const value = Number(match[1]);
  if (!(Math.abs(value - expectation.near) <= expectation.within))
    return `${expectation.notebook} found ${value}, not within ${expectation.within} of ${expectation.near}`;
  return undefined;
}

interface HubSession {
  jar: CookieJar;
  token: string;
}

/** Logs in through the hub's form as a browser does, then asks the hub for an API token of that user. */
async function hubLogin(hubUrl: string, name: string, password: string): Promise<HubSession> {
  // JupyterHub 5 ties its _xsrf cookie to (session id, user); the login answer sets it before the new session id
  // is in use, and a browser gets a fresh one on its next page view. fetch() says Sec-Fetch-Mode: cors, so no page
  // view of ours renews it: without the (optional) session cookie the login's _xsrf stays valid.
  const jar = new CookieJar(['jupyterhub-session-id']);
  // The login form's _xsrf is bound to an anonymous id (address and user agent); students logging in at the same
  // moment from one address can get a 403 for it, as a browser would, and log in again.
  let login: Response | undefined;
  for (let attempt = 1; attempt <= 3 && login?.status !== 302; attempt += 1) {
    const page = await request(`${hubUrl}/hub/login`, { jar });
    const html = await page.text();
    const xsrf = formXsrf(html) ?? jar.get('_xsrf');
    if (page.status !== 200 || xsrf === undefined)
      throw new CheckError(`GET /hub/login: HTTP ${page.status}, no _xsrf field: ${html.slice(0, 200)}`);
    const form = new URLSearchParams({ username: name, password, _xsrf: xsrf });
    login = await request(`${hubUrl}/hub/login`, {
      method: 'POST',
      jar,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    await login.arrayBuffer();
    if (login.status !== 403) break;
  }
  if (login?.status !== 302) throw new CheckError(`login of ${name}: HTTP ${login?.status}, not a redirect`);
  const created = await json<{ token: string }>(
    await request(`${hubUrl}/hub/api/users/${name}/tokens`, {
      method: 'POST',
      jar,
      headers: { 'content-type': 'application/json', 'x-xsrftoken': jar.get('_xsrf') ?? '' },
      body: JSON.stringify({ note: 'openkey boot check', expires_in: 3600 }),
    }),
    `POST /hub/api/users/${name}/tokens`,
    [200, 201],
  );
  return { jar, token: created.token };
}

/** Starts the user's server through the hub's API and waits until the hub says it is ready. */
async function startServer(hubUrl: string, name: string, token: string, deadline: number): Promise<void> {
  const authorization = `token ${token}`;
  const started = await request(`${hubUrl}/hub/api/users/${name}/server`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: '{}',
  });
  const text = await started.text();
  // 201 started, 202 spawning, 400 "already running".
  if (![201, 202, 400].includes(started.status))
    throw new CheckError(`starting the server of ${name}: HTTP ${started.status}: ${text.slice(0, 300)}`);
  while (Date.now() < deadline) {
    const user = await json<{ servers?: Record<string, { ready?: boolean }> }>(
      await request(`${hubUrl}/hub/api/users/${name}`, { headers: { authorization } }),
      `GET /hub/api/users/${name}`,
      [200],
    );
    if (user.servers?.['']?.ready === true) return;
    await sleep(2000);
  }
  throw new CheckError(`the server of ${name} was not ready before the deadline`);
}

async function listNames(url: string, authorization: string, what: string): Promise<string[]> {
  const listing = await json<{ content: { name: string }[] }>(
    await request(url, { headers: { authorization } }),
    what,
    [200],
  );
  return listing.content.map((entry) => entry.name).sort();
}

async function mapBounded<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(runners);
  return results;
}

/** A class of students on the hub, then the teacher. */
export async function checkHub(options: HubCheckOptions): Promise<HubReport> {
  const started = Date.now();
  const deadline = started + (options.deadlineMs ?? 900_000);
  const expectation = options.expectation ?? Z_MASS_EXPECTATION;
  const log = options.log ?? (() => undefined);
  const reasons: string[] = [];
  const nonces = new Map(options.students.map((name) => [name, randomBytes(8).toString('hex')]));
  const state = await jupyterState(options.portalUrl, deadline);
  const classPassword = state['classPassword'];
  if (state['mode'] !== 'hub' || typeof classPassword !== 'string')
    throw new CheckError(`the portal shows no hub with a class password: ${JSON.stringify(state)}`);

  // A wrong password and a name that is no POSIX user name are refused.
  for (const [name, password] of [
    [options.students[0] ?? 'alice', `${classPassword}x`],
    ['Robert); DROP', classPassword],
    ['root', classPassword],
  ] as const) {
    const refused = await hubLogin(options.hubUrl, name, password).then(
      () => false,
      () => true,
    );
    if (!refused) reasons.push(`the hub let ${JSON.stringify(name)} log in with a wrong password or name`);
  }

  const concurrency = options.concurrency ?? options.students.length;
  // First every student logs in and gets a server (so every home exists), then each runs the notebook.
  const begin = Date.now();
  const sessions = await mapBounded(options.students, concurrency, async (name) => {
    try {
      const session = await hubLogin(options.hubUrl, name, classPassword);
      await startServer(options.hubUrl, name, session.token, deadline);
      log(`${name}: server ready after ${(Date.now() - begin) / 1000} s`);
      return { session, seconds: (Date.now() - begin) / 1000, error: undefined };
    } catch (error) {
      return { session: undefined, seconds: 0, error: error instanceof Error ? error.message : String(error) };
    }
  });
  const students = await mapBounded(options.students, concurrency, async (name) => {
    const report: StudentReport = { name, passed: false, notebooks: [], stdout: '' };
    const login = sessions[options.students.indexOf(name)];
    try {
      if (login?.session === undefined) throw new CheckError(login?.error ?? 'no login');
      const session = login.session;
      report.secondsToServer = login.seconds;
      const server = `${options.hubUrl}/user/${name}/`;
      const authorization = `token ${session.token}`;
      report.notebooks = await listNames(`${server}api/contents/notebooks`, authorization, `${name}'s notebooks`);
      if (!report.notebooks.includes(expectation.notebook))
        throw new CheckError(`${expectation.notebook} is not in ${name}'s notebooks: ${report.notebooks.join(', ')}`);
      const cells = await notebookCells(server, authorization, `notebooks/${expectation.notebook}`);
      const others = options.students.filter((other) => other !== name);
      report.stdout = await runCells(server, authorization, [...cells, insideCell(others)], (line) =>
        log(`${name}: ${line}`),
      );
      report.secondsToNotebook = (Date.now() - begin) / 1000;
      const missed = missesExpectation(report.stdout, expectation);
      if (missed !== undefined) throw new CheckError(missed);
      const inside = parseInside(report.stdout);
      if (inside === undefined) throw new CheckError(`${name}'s probe cell printed nothing`);
      report.inside = inside;
      if (inside.user !== name) throw new CheckError(`${name}'s kernel runs as ${inside.user}`);
      if (inside.readable.length > 0)
        throw new CheckError(`${name} can open the homes of ${inside.readable.join(', ')}`);
      if (inside.missing.length > 0) throw new CheckError(`no home for ${inside.missing.join(', ')} after their login`);
      if (!/^\d+$/.test(inside.memoryMax))
        throw new CheckError(`${name}'s scope has no memory limit: ${inside.memoryMax}`);
      if (!/^\d+ \d+$/.test(inside.cpuMax)) throw new CheckError(`${name}'s scope has no CPU quota: ${inside.cpuMax}`);
      // A file of the student's own, for the teacher to read.
      await json(
        await request(`${server}api/contents/notebooks/check-${name}.txt`, {
          method: 'PUT',
          headers: { authorization, 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'file', format: 'text', content: nonces.get(name) }),
        }),
        `PUT ${name}'s check file`,
        [200, 201],
      );
      // Another student's server, with this student's token: the hub refuses.
      const other = others[0];
      if (other !== undefined) {
        const foreign = await request(`${options.hubUrl}/user/${other}/api/contents`, { headers: { authorization } });
        await foreign.arrayBuffer();
        if (foreign.status < 400 && foreign.status !== 302)
          throw new CheckError(`${name}'s token opened ${other}'s server (HTTP ${foreign.status})`);
      }
      report.passed = true;
    } catch (error) {
      report.reason = error instanceof Error ? error.message : String(error);
      log(`${name}: FAILED ${report.reason}`);
    }
    return report;
  });
  for (const report of students) if (!report.passed) reasons.push(`${report.name}: ${report.reason ?? 'failed'}`);

  const teacherSaw: Record<string, string> = {};
  try {
    const teacher = await hubLogin(options.hubUrl, 'teacher', options.teacherPassword);
    await startServer(options.hubUrl, 'teacher', teacher.token, deadline);
    const server = `${options.hubUrl}/user/teacher/`;
    const authorization = `token ${teacher.token}`;
    for (const name of options.students) {
      const file = await json<{ content: string }>(
        await request(`${server}api/contents/${name}/notebooks/check-${name}.txt?content=1&type=file&format=text`, {
          headers: { authorization },
        }),
        `the teacher reads ${name}'s check file`,
        [200],
      ).catch((error: unknown) => {
        reasons.push((error as Error).message);
        return undefined;
      });
      if (file === undefined) continue;
      teacherSaw[name] = file.content.trim();
      if (teacherSaw[name] !== nonces.get(name)) reasons.push(`the teacher read ${teacherSaw[name]} in ${name}'s file`);
    }
  } catch (error) {
    reasons.push(`teacher: ${(error as Error).message}`);
  }
  return { passed: reasons.length === 0, students, teacherSaw, reasons, seconds: (Date.now() - started) / 1000 };
}

/** The single-user server: the token from the portal, refused without it, the notebooks in the home, one run. */
export async function checkSingle(options: SingleCheckOptions): Promise<SingleReport> {
  const started = Date.now();
  const deadline = started + (options.deadlineMs ?? 600_000);
  const expectation = options.expectation ?? Z_MASS_EXPECTATION;
  const report: SingleReport = {
    name: 'single',
    passed: false,
    notebooks: [],
    stdout: '',
    withoutToken: 0,
    seconds: 0,
  };
  try {
    const state = await jupyterState(options.portalUrl, deadline);
    const token = state['token'];
    if (state['mode'] !== 'single' || typeof token !== 'string' || token === '')
      throw new CheckError(`the portal shows no single-user server with a token: ${JSON.stringify(state)}`);
    const server = `${options.jupyterUrl}/`;
    const bare = await request(`${server}api/contents`);
    await bare.arrayBuffer();
    report.withoutToken = bare.status;
    if (bare.status !== 403) throw new CheckError(`without the token the server answered HTTP ${bare.status}`);
    const authorization = `token ${token}`;
    report.secondsToServer = (Date.now() - started) / 1000;
    report.notebooks = await listNames(`${server}api/contents`, authorization, 'the notebooks');
    if (!report.notebooks.includes(expectation.notebook))
      throw new CheckError(`${expectation.notebook} is not in the home's notebooks: ${report.notebooks.join(', ')}`);
    const cells = await notebookCells(server, authorization, expectation.notebook);
    report.stdout = await runCells(server, authorization, cells, options.log);
    report.secondsToNotebook = (Date.now() - started) / 1000;
    const missed = missesExpectation(report.stdout, expectation);
    if (missed !== undefined) throw new CheckError(missed);
    report.passed = true;
  } catch (error) {
    report.reason = error instanceof Error ? error.message : String(error);
  }
  report.seconds = (Date.now() - started) / 1000;
  return report;
}

/** The teacher's password from the server's console banner (jupyter-announce's line), once it was printed. */
export function teacherPasswordFrom(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const match = /teacher:\s+name teacher, password\s+(\S+)/.exec(lines[i] ?? '');
    if (match !== null) return match[1];
  }
  return undefined;
}
