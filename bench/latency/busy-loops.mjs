// The background load: shell loops that never sleep nor make a system call, each free to run on
// any CPU (`wrap` gives them the full mask), at nice 0 like the work a desktop runs.
import { readThread } from '../../dist/host/threads.js';
import { start } from '../helpers.mjs';

const LOOP = ['sh', '-c', 'while :; do :; done'];

/** Starts `count` loops; `cpus()` tells where each is now, `stop()` kills them and waits. */
export function startBusyLoops(count, wrap) {
  const loops = Array.from({ length: count }, () => start(LOOP, { wrap, detached: true }));
  return {
    /** The CPU each loop runs on, or waits for (its run queue), now. */
    cpus: () => loops.map(({ child }) => readThread(child.pid, child.pid)?.cpu),
    async stop() {
      for (const { child } of loops) child.kill('SIGKILL');
      await Promise.all(loops.map(({ exited }) => exited));
    },
  };
}
