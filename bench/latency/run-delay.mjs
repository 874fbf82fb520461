// One run of the busy guest under one tuning: boot-vm launches it, and once it has warmed up the
// vCPU thread's schedstat is sampled every few ms (each wait shows as one step: see
// lib/host/schedstat.ts); boot-vm is then stopped, which puts the host back.
import { rmSync } from 'node:fs';
import { pause } from '../../dist/apply/poll.js';
import { SchedstatSampler } from '../../dist/host/schedstat.js';
import { readThread } from '../../dist/host/threads.js';
import { startBootVm, stop } from '../helpers.mjs';
import { waitForGuest } from './guest.mjs';

const SAMPLE_MS = 4;
// Where the loops are is read less often: it is a picture of the load, not a measurement.
const PLACEMENT_EVERY = 25;

/**
 * The vCPU's run delay and on-CPU time (ms per s), its longest single wait (ms), and how many busy
 * loops shared its CPU on average, over `durationMs` after `warmupMs` of the guest running.
 */
export async function measureRun({ profile, pidfile, wrap, loops, warmupMs, durationMs, signal }) {
  rmSync(pidfile, { force: true });
  const run = startBootVm(profile, { wrap, detached: true });
  try {
    const failure = () => (run.child.exitCode !== null ? `boot-vm ${profile} exited ${run.child.exitCode}:\n${run.stderr()}` : undefined);
    const { pid, tid } = await waitForGuest({ pidfile, onCpuMs: 5, failure, intervalMs: 5, timeoutMs: 60_000, signal });
    await pause(warmupMs, signal);
    const sampler = new SchedstatSampler(pid, [tid]);
    const sharing = [];
    const started = process.hrtime.bigint();
    const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
    for (let n = 1; elapsedMs() < durationMs && !signal.aborted; n++) {
      await pause(SAMPLE_MS, signal);
      sampler.sample();
      if (n % PLACEMENT_EVERY === 0) {
        const vcpuCpu = readThread(pid, tid)?.cpu;
        sharing.push(loops.cpus().filter((cpu) => cpu === vcpuCpu).length);
      }
    }
    const seconds = elapsedMs() / 1000;
    const [window] = sampler.take();
    sampler.close();
    if (signal.aborted) throw new Error('interrupted');
    if (window.exited) throw new Error(`QEMU's vCPU thread ${tid} exited during the run:\n${run.stderr()}`);
    return {
      runDelay: window.runDelayNs / 1e6 / seconds,
      longestWait: window.longestWaitNs / 1e6,
      onCpu: window.onCpuNs / 1e6 / seconds,
      loopsSharing: sharing.reduce((sum, count) => sum + count, 0) / Math.max(1, sharing.length),
    };
  } finally {
    await stop(run, `boot-vm ${profile}`);
  }
}
