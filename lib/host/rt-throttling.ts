/**
 * The kernel's real-time throttling: in each `sched_rt_period_us`, SCHED_FIFO and SCHED_RR tasks
 * may run `sched_rt_runtime_us` on a CPU, then wait out the rest of the period (the default, 950000
 * of 1000000, stalls a never-idle real-time vCPU 50 ms every second). -1 turns throttling off.
 */
import type { Sysroot } from './sysroot.js';

export interface RtLimits {
  /** Microseconds real-time tasks may run per period; -1: unlimited. */
  runtimeUs: number;
  periodUs: number;
}

export const RT_RUNTIME_SYSCTL = 'kernel.sched_rt_runtime_us';

/** The host's limits; undefined when /proc/sys/kernel does not have them (or they do not parse). */
export function readRtLimits(sysroot: Sysroot): RtLimits | undefined {
  const runtimeUs = Number(sysroot.readText('/proc/sys/kernel/sched_rt_runtime_us')?.trim() || NaN);
  const periodUs = Number(sysroot.readText('/proc/sys/kernel/sched_rt_period_us')?.trim() || NaN);
  if (!Number.isInteger(runtimeUs) || !Number.isInteger(periodUs) || periodUs <= 0) return undefined;
  return { runtimeUs, periodUs };
}

export const isThrottling = (limits: RtLimits) => limits.runtimeUs >= 0 && limits.runtimeUs < limits.periodUs;

/** The share of each second a never-idle real-time thread gets: 0.95 by default. */
export const rtBudgetShare = (limits: RtLimits) => (isThrottling(limits) ? limits.runtimeUs / limits.periodUs : 1);

/** The stall a never-idle real-time thread takes once per period, in ms: 50 by default. */
export const rtStallMs = (limits: RtLimits) => (isThrottling(limits) ? (limits.periodUs - limits.runtimeUs) / 1000 : 0);
