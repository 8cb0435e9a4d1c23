/**
 * A test analysis worker for fault injection: the real worker (serveTasks + runTask), except that a task on the file
 * named CRASH_ON_FILE (alone or with other files' ranges) makes the worker exit with code 70, as a crash would. Production code knows nothing of it.
 */
import { parentPort } from 'node:worker_threads';
import { runTask, serveTasks } from '../../services/analysis/pool/tasks.ts';

export const CRASH_ON_FILE = 'uproot-HZZ-lz4.root';

if (parentPort) {
  serveTasks(parentPort, async (task) => {
    if ([task, ...(task.more ?? [])].some((part) => part.file === CRASH_ON_FILE)) process.exit(70);
    return runTask(task);
  });
}
