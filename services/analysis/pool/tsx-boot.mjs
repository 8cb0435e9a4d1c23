// Development only: lets a worker thread run the TypeScript worker entry through tsx (a bundled service does not
// use this file). Node 20 ignores --import in a worker's execArgv, so the loader is registered here instead.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
