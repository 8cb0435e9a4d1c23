/** GET /api/jupyter: the portal's view of the notebook server, from the status file and a real TCP probe. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../services/analysis/app.ts';

let folder: string;
let app: FastifyInstance;
let bare: FastifyInstance;
let listener: net.Server;
let openPort: number;
let closedPort: number;

function portOf(server: net.Server): number {
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  // No dataset is needed: an empty datasets folder.
  folder = mkdtempSync(join(tmpdir(), 'openkey-jupyter-route-'));
  listener = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  openPort = portOf(listener);
  // A port that was free a moment ago: nothing answers there.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = portOf(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  app = await buildApp({ datasets: folder, workers: 1, jupyterStatus: join(folder, 'jupyter.json') });
  bare = await buildApp({ datasets: folder, workers: 1 });
});
afterAll(async () => {
  await app.close();
  await bare.close();
  listener.close();
  rmSync(folder, { recursive: true, force: true });
});

async function stateFor(status: string | undefined, remoteAddress = '127.0.0.1'): Promise<unknown> {
  const file = join(folder, 'jupyter.json');
  rmSync(file, { force: true });
  if (status !== undefined) writeFileSync(file, status);
  const response = await app.inject({ url: '/api/jupyter', remoteAddress });
  expect(response.statusCode).toBe(200);
  expect(response.headers['cache-control']).toBe('no-store');
  return response.json();
}

describe('GET /api/jupyter', () => {
  it('is none on a service told of no status file', async () => {
    expect((await bare.inject('/api/jupyter')).json()).toEqual({ state: 'none' });
  });

  it('is none before the unit wrote its status, and for a damaged file', async () => {
    expect(await stateFor(undefined)).toEqual({ state: 'none' });
    expect(await stateFor('{"state":"running"')).toEqual({ state: 'none' });
    expect(await stateFor('{"state":"dancing","port":1}')).toEqual({ state: 'none' });
  });

  it('is running with the token when the port answers', async () => {
    const status = JSON.stringify({ mode: 'single', port: openPort, lan: false, state: 'running', token: 'abc123' });
    expect(await stateFor(status)).toEqual({
      state: 'running',
      mode: 'single',
      port: openPort,
      lan: false,
      token: 'abc123',
    });
  });

  it('is starting while the port does not answer', async () => {
    const status = JSON.stringify({ mode: 'hub', port: closedPort, lan: true, state: 'running', classPassword: 'p-q' });
    expect(await stateFor(status)).toEqual({
      state: 'starting',
      mode: 'hub',
      port: closedPort,
      lan: true,
      classPassword: 'p-q',
    });
  });

  it('keeps a local-only server token off the LAN, and gives the class password to the LAN', async () => {
    const local = JSON.stringify({ mode: 'single', port: openPort, lan: false, state: 'running', token: 'abc123' });
    expect(await stateFor(local, '192.168.1.20')).toEqual({
      state: 'running',
      mode: 'single',
      port: openPort,
      lan: false,
    });
    const hub = JSON.stringify({ mode: 'hub', port: openPort, lan: true, state: 'running', classPassword: 'p-q' });
    expect(await stateFor(hub, '192.168.1.20')).toEqual({
      state: 'running',
      mode: 'hub',
      port: openPort,
      lan: true,
      classPassword: 'p-q',
    });
  });

  it('says failed and stopped as the unit wrote them', async () => {
    expect(await stateFor('{"mode":"hub","port":8888,"lan":true,"state":"failed"}')).toEqual({
      state: 'failed',
      mode: 'hub',
      port: 8888,
      lan: true,
    });
    expect(await stateFor('{"mode":"single","port":8888,"lan":false,"state":"stopped"}')).toEqual({
      state: 'stopped',
      mode: 'single',
      port: 8888,
      lan: false,
    });
  });
});
