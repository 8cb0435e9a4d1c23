/**
 * GET /api/jupyter: whether the key's notebook server (single-user Jupyter or JupyterHub) runs, where, and the
 * token or class password of this boot. The units' jupyter-announce writes the status file (image/overlay/jupyter);
 * this route adds whether the port answers now, so a server that died or is still starting is not offered as a link.
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import type { FastifyPluginAsync } from 'fastify';
import { jupyterStateSchema, noQuerySchema, type JupyterState } from '../api.ts';

export interface JupyterRouteOptions {
  /** The status file jupyter-announce writes (/run/openkey/jupyter.json on the key); none: state is always none. */
  jupyterStatus?: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Whether something accepts a TCP connection on 127.0.0.1:port within a second. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** The status file's fields, each kept only when it has the expected type (the file is the key's, but plain text). */
function parseStatus(text: string): JupyterState | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const record = raw as Record<string, unknown>;
  const states = ['running', 'stopped', 'failed'] as const;
  const state = states.find((s) => s === record['state']);
  if (state === undefined) return undefined;
  const mode = record['mode'] === 'hub' ? 'hub' : 'single';
  const port = typeof record['port'] === 'number' && Number.isInteger(record['port']) ? record['port'] : undefined;
  return {
    state,
    mode,
    ...(port === undefined ? {} : { port }),
    lan: record['lan'] === true,
    ...(typeof record['token'] === 'string' && record['token'] !== '' ? { token: record['token'] } : {}),
    ...(typeof record['classPassword'] === 'string' && record['classPassword'] !== ''
      ? { classPassword: record['classPassword'] }
      : {}),
  };
}

export const jupyterRoutes: FastifyPluginAsync<JupyterRouteOptions> = async (app, { jupyterStatus }) => {
  app.get(
    '/api/jupyter',
    { schema: { querystring: noQuerySchema, response: { 200: jupyterStateSchema } } },
    async (request, reply): Promise<JupyterState> => {
      // Never cached: the state and the secrets change with every boot and every restart of the unit.
      void reply.header('cache-control', 'no-store');
      if (jupyterStatus === undefined) return { state: 'none' };
      const text = await readFile(jupyterStatus, 'utf8').catch(() => undefined);
      const status = text === undefined ? undefined : parseStatus(text);
      if (status === undefined) return { state: 'none' };
      if (status.state === 'running' && (status.port === undefined || !(await answers(status.port))))
        status.state = 'starting';
      // A server on 127.0.0.1 only is for the key's own user: its token stays off the LAN.
      if (!status.lan && !LOOPBACK.has(request.socket.remoteAddress ?? '')) {
        delete status.token;
        delete status.classPassword;
      }
      return status;
    },
  );
};
