/**
 * `vm stats`: watches how a running VM's vCPU threads get their CPUs. QMP names the vCPU threads
 * (one exchange, then the socket is free again); then each vCPU's schedstat is read every few ms,
 * so each wait shows as one step, and the rest (switches, emulator threads, interrupts, other
 * runnable tasks) at coarser grains. Reads this machine's /proc, where QEMU runs.
 *
 * Each wake-up costs: on this project's 2-CPU test VM a Node timer's about 150 µs of CPU, an
 * Atomics.wait's 50 to 200 µs (C's nanosleep 30 to 80), a few µs on bare metal. So the loop sleeps
 * with Atomics.wait, blocking the event loop for a whole interval (its output is written
 * synchronously; Ctrl-C's default action ends the process), and stretches its sample period when
 * an interval cost more than 1 % of a CPU (the JSON's sampling shows the period and the cost).
 */
import { BootVmError } from '../errors.js';
import { readInterruptCounts } from '../host/interrupts.js';
import { readRtLimits } from '../host/rt-throttling.js';
import { RunnableScanner, type RunnableTask } from '../host/runnable.js';
import { readSchedstats, SchedstatSampler } from '../host/schedstat.js';
import { Sysroot } from '../host/sysroot.js';
import { readThread } from '../host/threads.js';
import { nextSamplePeriod, type StatsSnapshot } from '../inspect/vcpu-stats.js';
import { isAlive, type ProcessRef } from './processes.js';
import { withQmp } from './qmp.js';
import { queryThreadIds } from './thread-pinning.js';
import type { VmRecord } from './vm-state.js';

/** How often each vCPU's schedstat is read (one pread per vCPU), unless that costs too much (nextSamplePeriod). */
export const SAMPLE_PERIOD_MS = 5;
/**
 * How often to look for other tasks runnable on the vCPUs' CPUs. Reading every task's stat costs
 * about 10 µs a task (2 ms on a quiet 2-CPU machine, listing them as much again): so not every
 * sample, and only when /proc/loadavg counts more runnable tasks than the vCPUs and this process.
 * A task that keeps taking a vCPU's CPU is runnable at most moments, so one look a second finds it.
 */
const SCAN_PERIOD_MS = 1000;
/** How often the tasks are listed again for those looks: a new intruder is named within this long. */
const LIST_PERIOD_MS = 5000;
const QMP_TIMEOUT_MS = 3_000;

/** QEMU exited while it was watched. Exit code 1. */
class VmEndedError extends BootVmError {}

export interface StatsTarget {
  vm: string;
  qemu: ProcessRef;
  vcpus: { index: number; tid: number }[];
}

/** The running VM's QEMU and vCPU threads (from QMP). */
export async function findStatsTarget(vm: string, record: VmRecord & { qemu: ProcessRef }, sysroot: Sysroot): Promise<StatsTarget> {
  const control = record.journal?.state.control;
  if (!control) throw new BootVmError(`${vm}: the journal does not name QEMU's QMP socket, so its vCPU threads are unknown`);
  const { vcpus } = await withQmp(sysroot.path(control.qmp), { timeoutMs: QMP_TIMEOUT_MS, isAlive: () => isAlive(record.qemu) }, queryThreadIds);
  if (vcpus.length === 0) throw new BootVmError(`${vm}: QEMU reports no vCPU threads`);
  return { vm, qemu: record.qemu, vcpus };
}

export interface WatchOptions {
  intervalMs: number;
  /** Intervals to watch; undefined: until the process ends. */
  count?: number;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Samples the target and calls `onInterval` with each interval's two ends; a VmEndedError when QEMU or a vCPU thread goes. */
export async function watchStats(target: StatsTarget, options: WatchOptions, onInterval: (before: StatsSnapshot, after: StatsSnapshot) => void): Promise<void> {
  const { pid } = target.qemu;
  const vcpuTids = new Set(target.vcpus.map((vcpu) => vcpu.tid));
  const ours = new Set([pid, process.pid]);
  const live = new Sysroot('/');
  const sampler = new SchedstatSampler(pid, [...vcpuTids]);
  const scanner = new RunnableScanner();
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const ended = (what: string) => new VmEndedError(`${target.vm}: ${what}; stopped watching`);
  const snapshot = (periodMs: number, runnable: RunnableTask[], samples: number, scans: number): StatsSnapshot => {
    const windows = sampler.take();
    if (!isAlive(target.qemu)) throw ended(`QEMU (pid ${pid}) exited`);
    const vcpus = target.vcpus.map(({ index, tid }, i) => {
      const thread = readThread(pid, tid);
      if (!thread || windows[i]!.exited) throw ended(`vCPU ${index}'s thread ${tid} exited`);
      return { index, thread, window: windows[i]! };
    });
    const emulator = readSchedstats(pid);
    for (const tid of vcpuTids) emulator.delete(tid);
    const { user, system } = process.cpuUsage();
    return { atMs: performance.now(), wallMs: Date.now(), vcpus, emulator, interrupts: readInterruptCounts(live), periodMs, runnable, samples, scans, cpuUsageUs: user + system, rtLimits: readRtLimits(live) };
  };

  try {
    let periodMs = SAMPLE_PERIOD_MS;
    let before = snapshot(periodMs, [], 0, 0);
    let nextListing = 0;
    for (let n = 0; options.count === undefined || n < options.count; n++) {
      const cpus = new Set(before.vcpus.flatMap((vcpu) => vcpu.thread.allowed));
      const runnable: RunnableTask[] = [];
      let samples = 0;
      let scans = 0;
      const end = before.atMs + options.intervalMs;
      let nextSample = before.atMs + periodMs;
      // At least one look in an interval shorter than the scan period.
      let nextScan = before.atMs + Math.min(SCAN_PERIOD_MS, options.intervalMs) / 2;
      for (;;) {
        const wake = Math.min(nextSample, end) - performance.now();
        if (wake > 0) Atomics.wait(sleeper, 0, 0, wake);
        sampler.sample();
        samples++;
        const now = performance.now();
        // A vCPU thread gone (QEMU exited): the snapshot says so at once.
        if (now >= end || sampler.exited) break;
        // After a stall (the host was busy), carry on from now rather than catch up in a burst.
        nextSample = Math.max(nextSample + periodMs, now + 1);
        if (now >= nextScan) {
          nextScan += SCAN_PERIOD_MS;
          // Only this process and the vCPUs runnable on the whole machine: nothing else to find.
          if (scanner.runningNow() > 1 + target.vcpus.length) {
            if (now >= nextListing) {
              scanner.refresh(ours);
              nextListing = now + LIST_PERIOD_MS;
            }
            runnable.push(...scanner.scan(cpus));
            scans++;
          }
        }
      }
      const after = snapshot(periodMs, runnable, samples, scans);
      onInterval(before, after);
      periodMs = nextSamplePeriod(periodMs, ((after.cpuUsageUs - before.cpuUsageUs) / 1000 / (after.atMs - before.atMs)) * 100, SAMPLE_PERIOD_MS);
      before = after;
      await turn(); // for what waits on the event loop: an EPIPE on stdout, say
    }
  } finally {
    sampler.close();
    scanner.close();
  }
}
