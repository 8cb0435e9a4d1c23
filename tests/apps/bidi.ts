/**
 * A minimal WebDriver BiDi client for Debian's firefox-esr. Playwright drives only its own patched Firefox, and its
 * BiDi mode needs commands that firefox-esr lacks; the standard protocol itself is enough for a smoke test: navigate,
 * evaluate, screenshot, and watch console entries and requests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

/** Prefs that keep Firefox from reaching the network on its own (updates, telemetry, captive portal probes). */
const quietPrefs: Record<string, string | number | boolean> = {
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.startup.page': 0,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.newtabpage.enabled': false,
  'browser.topsites.contile.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'services.settings.server': 'http://127.0.0.1:9/',
  'remote.prefs.recommended': true,
};

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

export interface ConsoleEntry {
  level: string;
  text: string;
}

export class Firefox {
  readonly consoleEntries: ConsoleEntry[] = [];
  readonly requests: string[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: WebSocket,
    private readonly profile: string,
    private context = '',
  ) {
    socket.on('message', (data) => this.onMessage(JSON.parse(data.toString()) as Record<string, unknown>));
  }

  static async launch(executable = 'firefox-esr'): Promise<Firefox> {
    const profile = await mkdtemp(join(tmpdir(), 'openkey-firefox-'));
    await writeFile(
      join(profile, 'user.js'),
      Object.entries(quietPrefs)
        .map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`)
        .join(''),
    );
    const child = spawn(
      executable,
      ['--headless', '--no-remote', '--profile', profile, '--remote-debugging-port=0', 'about:blank'],
      { env: { ...process.env, HOME: profile, MOZ_CRASHREPORTER_DISABLE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const endpoint = await new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`firefox-esr printed no BiDi endpoint:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(output);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stderr?.on('data', onData);
      child.stdout?.on('data', onData);
      child.once('error', (error) => reject(error));
      child.once('exit', (code) => reject(new Error(`firefox-esr exited with ${code}:\n${output}`)));
    });
    const socket = new WebSocket(`${endpoint}/session`);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const firefox = new Firefox(child, socket, profile);
    await firefox.send('session.new', { capabilities: {} });
    await firefox.send('session.subscribe', { events: ['log.entryAdded', 'network.beforeRequestSent'] });
    const tree = (await firefox.send('browsingContext.getTree', {})) as { contexts: { context: string }[] };
    firefox.context = tree.contexts[0]?.context ?? '';
    await firefox.send('browsingContext.setViewport', {
      context: firefox.context,
      viewport: { width: 1024, height: 768 },
    });
    return firefox;
  }

  private onMessage(message: Record<string, unknown>): void {
    if (typeof message.id === 'number') {
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.type === 'error') pending?.reject(new Error(`${String(message.error)}: ${String(message.message)}`));
      else pending?.resolve((message.result ?? {}) as Record<string, unknown>);
      return;
    }
    const params = (message.params ?? {}) as Record<string, unknown>;
    if (message.method === 'log.entryAdded') {
      this.consoleEntries.push({ level: String(params.level), text: String(params.text) });
    } else if (message.method === 'network.beforeRequestSent') {
      const request = params.request as { url?: string } | undefined;
      if (request?.url !== undefined) this.requests.push(request.url);
    }
  }

  send(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async goto(url: string): Promise<void> {
    await this.send('browsingContext.navigate', { context: this.context, url, wait: 'complete' });
  }

  /** Evaluates a JavaScript expression in the page and returns its value (JSON-serialisable results only). */
  async evaluate<T>(expression: string): Promise<T> {
    const result = (await this.send('script.evaluate', {
      expression: `JSON.stringify(${expression})`,
      target: { context: this.context },
      awaitPromise: true,
    })) as { type: string; result?: { value?: string }; exceptionDetails?: { text?: string } };
    if (result.type === 'exception') throw new Error(`evaluate failed: ${result.exceptionDetails?.text ?? expression}`);
    const value = result.result?.value;
    return (value === undefined ? undefined : JSON.parse(value)) as T;
  }

  async waitFor(expression: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.evaluate<boolean>(`Boolean(${expression})`))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async screenshot(): Promise<Buffer> {
    const { data } = (await this.send('browsingContext.captureScreenshot', { context: this.context })) as {
      data: string;
    };
    return Buffer.from(data, 'base64');
  }

  async close(): Promise<void> {
    await this.send('browser.close', {}).catch(() => undefined);
    this.socket.close();
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    await rm(this.profile, { recursive: true, force: true });
  }
}
