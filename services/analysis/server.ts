/** Makes the app listen; used by `openkey serve` and by main.ts (the entry the key's systemd unit runs). */
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from './app.ts';

export interface ServeOptions extends AppOptions {
  host: string;
  port: number;
}

export async function startServer(options: ServeOptions): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp(options);
  try {
    const url = await app.listen({ host: options.host, port: options.port });
    return { app, url };
  } catch (error) {
    await app.close();
    throw error;
  }
}
