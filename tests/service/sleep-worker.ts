/**
 * A stand-in analysis worker for the pool tests: a task sleeps `first` milliseconds and reports `last` as its entry
 * count, so which job ran, and in what order, is exact. It speaks the real protocol, cancel included.
 */
import { parentPort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from '../../services/analysis/pool/protocol.ts';

if (parentPort) {
  const port = parentPort;
  const queue: Extract<ToWorker, { type: 'task' }>[] = [];
  let running = false;
  const drain = async (): Promise<void> => {
    running = true;
    for (let message = queue.shift(); message !== undefined; message = queue.shift()) {
      await new Promise((r) => setTimeout(r, message.task.first));
      const result = {
        entries: message.task.last,
        sumw: [],
        sumw2: [],
        stats: new Float64Array(0),
        diskBytes: 0,
        dataBytes: 0,
      };
      port.postMessage({ type: 'done', id: message.id, result } satisfies FromWorker);
    }
    running = false;
  };
  port.on('message', (message: ToWorker) => {
    if (message.type === 'pieces' || message.type === 'files') return; // reads no file
    if (message.type === 'cancel') {
      const index = queue.findIndex((m) => m.id === message.id);
      if (index < 0) return;
      queue.splice(index, 1);
      port.postMessage({
        type: 'error',
        id: message.id,
        code: 'E_CANCELLED',
        message: 'cancelled',
      } satisfies FromWorker);
      return;
    }
    if (message.type !== 'task') throw new Error('the stand-in worker runs tasks only');
    queue.push(message);
    if (!running) void drain();
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}
