/**
 * `vm stats`' arithmetic: what a VM's vCPU threads did between two snapshots, as rates per second,
 * and the warnings that follow from them. Pure: lib/apply/vm-stats.ts takes the snapshots.
 */
import type { InterruptCounts } from '../host/interrupts.js';
import { isThrottling, rtBudgetShare, rtStallMs, RT_RUNTIME_SYSCTL, type RtLimits } from '../host/rt-throttling.js';
import type { RunnableTask } from '../host/runnable.js';
import type { Schedstat, ThreadWindow } from '../host/schedstat.js';
import type { ThreadPolicy, ThreadState } from '../host/threads.js';

/** What was read at an interval's end, and what the sampler saw during it. */
export interface StatsSnapshot {
  /** Monotonic clock, ms. */
  atMs: number;
  /** Wall clock, ms since the epoch. */
  wallMs: number;
  /** Each vCPU's thread as /proc shows it now, and its sampler window over the interval. */
  vcpus: { index: number; thread: ThreadState; window: ThreadWindow }[];
  /** Every other thread of QEMU's, with its counters now. */
  emulator: Map<number, Schedstat>;
  interrupts: InterruptCounts | undefined;
  /** The tasks the interval's scans found runnable on the vCPUs' CPUs (QEMU's and the sampler's own left out). */
  runnable: RunnableTask[];
  /** How often the vCPUs were sampled in the interval. */
  periodMs: number;
  samples: number;
  scans: number;
  /** CPU time the sampling process has used so far (user + system), µs. */
  cpuUsageUs: number;
  rtLimits: RtLimits | undefined;
}

export interface VcpuStats {
  index: number;
  tid: number;
  /** The CPU it ran on last, and those it may run on. */
  cpu: number;
  allowed: number[];
  policy: ThreadPolicy;
  priority: number;
  nice: number;
  onCpuMsPerS: number;
  /** Time it was runnable but waited for a CPU. */
  runDelayMsPerS: number;
  /** The longest single wait that ended in the interval. */
  longestWaitMs: number;
  voluntarySwitchesPerS: number;
  involuntarySwitchesPerS: number;
}

export interface CpuStats {
  cpu: number;
  /** Every interrupt line's count on this CPU; null when /proc/interrupts has no column for it. */
  interruptsPerS: number | null;
  /** Other tasks found runnable on it. */
  runnable: { pid: number; tid: number; name: string }[];
}

/** One interval, as `vm stats --json` prints it. */
export interface IntervalStats {
  vm: string;
  /** The interval's end, ISO 8601. */
  time: string;
  seconds: number;
  vcpus: VcpuStats[];
  /** Every QEMU thread that is not a vCPU: how long they waited for a CPU, together. */
  emulator: { threads: number; runDelayMsPerS: number };
  /** The CPUs the vCPUs may run on. */
  cpus: CpuStats[];
  sampling: { periodMs: number; samples: number; scans: number; cpuPercent: number };
  warnings: string[];
}

/** /proc/interrupts keeps 32-bit counters: a count lower than before has wrapped once. */
export const wrappedDelta = (before: number, after: number) => (after >= before ? after - before : after + 2 ** 32 - before);

/** Interrupts on each CPU between two reads, every line together. */
export function interruptsBetween(before: InterruptCounts, after: InterruptCounts): Map<number, number> {
  const columnBefore = new Map(before.cpus.map((cpu, column) => [cpu, column]));
  const perCpu = new Map<number, number>();
  after.cpus.forEach((cpu, column) => {
    const old = columnBefore.get(cpu);
    if (old === undefined) return; // the CPU came online in between: no count to start from
    let total = 0;
    for (const [line, counts] of after.lines) {
      const previous = before.lines.get(line)?.[old];
      if (previous !== undefined) total += wrappedDelta(previous, counts[column]!);
    }
    perCpu.set(cpu, total);
  });
  return perCpu;
}

/**
 * Run delay of the threads between two reads. A thread first seen in `after`, or whose counters
 * went back (its id now names a new thread), started in between: all of its delay counts. A thread
 * gone by `after` loses what it did since `before`.
 */
export function runDelayBetween(before: Map<number, Schedstat>, after: Map<number, Schedstat>): number {
  let total = 0;
  for (const [tid, now] of after) {
    const then = before.get(tid);
    total += then && now.runDelayNs >= then.runDelayNs && now.onCpuNs >= then.onCpuNs ? now.runDelayNs - then.runDelayNs : now.runDelayNs;
  }
  return total;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const MS = 1e6;

/** The interval from `before` to `after` as rates per second, with its warnings. */
export function intervalStats(vm: string, before: StatsSnapshot, after: StatsSnapshot): IntervalStats {
  const seconds = (after.atMs - before.atMs) / 1000;
  const perS = (count: number) => round(count / seconds, 1);
  const msPerS = (ns: number) => round(ns / MS / seconds, 2);
  const vcpus = after.vcpus.map(({ index, thread, window }): VcpuStats => {
    const then = before.vcpus.find((vcpu) => vcpu.index === index && vcpu.thread.tid === thread.tid)?.thread.switches ?? thread.switches;
    return {
      index,
      tid: thread.tid,
      cpu: thread.cpu,
      allowed: thread.allowed,
      policy: thread.policy,
      priority: thread.priority,
      nice: thread.nice,
      onCpuMsPerS: msPerS(window.onCpuNs),
      runDelayMsPerS: msPerS(window.runDelayNs),
      longestWaitMs: round(window.longestWaitNs / MS, 2),
      voluntarySwitchesPerS: perS(Math.max(0, thread.switches.voluntary - then.voluntary)),
      involuntarySwitchesPerS: perS(Math.max(0, thread.switches.involuntary - then.involuntary)),
    };
  });
  const interrupts = before.interrupts && after.interrupts ? interruptsBetween(before.interrupts, after.interrupts) : new Map<number, number>();
  const cpus = [...new Set(vcpus.flatMap((vcpu) => vcpu.allowed))]
    .sort((a, b) => a - b)
    .map((cpu): CpuStats => {
      const count = interrupts.get(cpu);
      const seen = new Map(after.runnable.filter((task) => task.cpu === cpu).map((task) => [task.tid, { pid: task.pid, tid: task.tid, name: task.name }]));
      return { cpu, interruptsPerS: count === undefined ? null : perS(count), runnable: [...seen.values()].sort((a, b) => a.pid - b.pid || a.tid - b.tid) };
    });
  const stats: IntervalStats = {
    vm,
    time: new Date(after.wallMs).toISOString(),
    seconds: round(seconds, 3),
    vcpus,
    emulator: { threads: after.emulator.size, runDelayMsPerS: msPerS(runDelayBetween(before.emulator, after.emulator)) },
    cpus,
    sampling: { periodMs: after.periodMs, samples: after.samples, scans: after.scans, cpuPercent: round((after.cpuUsageUs - before.cpuUsageUs) / 1000 / (seconds * 1000) * 100, 2) },
    warnings: [],
  };
  stats.warnings = warningsOf(stats, after.rtLimits);
  return stats;
}

/** The sampling's share of a CPU it aims at; `vm stats` must stay under 2 %. */
const COST_TARGET_PERCENT = 1;
/**
 * The slowest sampling: the throttling stall (one wait after a long run) still shows whole in one
 * sample; shorter waits that end in the same sample show as their mean, so slower would blur them.
 */
const LONGEST_SAMPLE_PERIOD_MS = 50;

/**
 * The sample period for the next interval: a wake-up costs 10 µs of CPU on a quiet machine and
 * 150 µs on a busy small VM, so the period stretches (up to LONGEST_SAMPLE_PERIOD_MS) when an
 * interval cost more than the target, and comes back to `shortestMs` when it cost less.
 */
export function nextSamplePeriod(periodMs: number, cpuPercent: number, shortestMs: number): number {
  return Math.min(LONGEST_SAMPLE_PERIOD_MS, Math.max(shortestMs, Math.round(periodMs * (cpuPercent / COST_TARGET_PERCENT))));
}

/** A real-time vCPU this close to its budget is being throttled, or about to be. */
const BUDGET_WARNING_SHARE = 0.95;

const isRealtime = (policy: ThreadPolicy) => policy === 'fifo' || policy === 'rr';

/**
 * "RT-throttled": a FIFO or RR vCPU that ran 95 % of the real-time budget, or waited at once at
 * least half the stall throttling imposes (only while the kernel throttles). "not alone": other
 * tasks were found runnable on a CPU the vCPU may run on.
 */
export function warningsOf(stats: Pick<IntervalStats, 'vcpus' | 'cpus'>, limits: RtLimits | undefined): string[] {
  const warnings: string[] = [];
  for (const vcpu of stats.vcpus) {
    if (limits && isThrottling(limits) && isRealtime(vcpu.policy)) {
      const budgetMs = rtBudgetShare(limits) * 1000;
      const stallMs = rtStallMs(limits);
      const reasons = [
        ...(vcpu.onCpuMsPerS >= BUDGET_WARNING_SHARE * budgetMs ? [`on its CPU ${vcpu.onCpuMsPerS.toFixed(0)} ms/s of the ${budgetMs.toFixed(0)} real-time tasks get`] : []),
        ...(vcpu.longestWaitMs >= stallMs / 2 ? [`waited ${vcpu.longestWaitMs.toFixed(1)} ms at once (throttling stalls ${stallMs.toFixed(0)} ms)`] : []),
      ];
      if (reasons.length > 0) {
        warnings.push(`vCPU ${vcpu.index} (${vcpu.policy} ${vcpu.priority}) RT-throttled: ${reasons.join(', ')}; ${RT_RUNTIME_SYSCTL} is ${limits.runtimeUs} of ${limits.periodUs} µs (-1 lifts the limit)`);
      }
    }
    const others = stats.cpus.filter((cpu) => vcpu.allowed.includes(cpu.cpu) && cpu.runnable.length > 0);
    if (others.length > 0) {
      const where = others.map((cpu) => cpu.cpu).join(', ');
      const who = others.flatMap((cpu) => cpu.runnable.map((task) => `${task.name} (pid ${task.pid}${task.tid !== task.pid ? `, thread ${task.tid}` : ''})`));
      warnings.push(`vCPU ${vcpu.index} not alone on CPU ${where}: ${[...new Set(who)].join(', ')} found runnable there`);
    }
  }
  return warnings;
}
