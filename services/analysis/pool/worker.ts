/**
 * Worker thread entry of the analysis pool (bundled as analysis-worker.js): serves tasks with runTask. Kept free of
 * Fastify and jsroot's tree code so the bundler emits it as a small separate file.
 */
import { parentPort } from 'node:worker_threads';
import { serveTasks } from './tasks.ts';

if (parentPort) serveTasks(parentPort);
