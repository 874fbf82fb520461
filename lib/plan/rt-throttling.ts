/**
 * Whether the profile's real-time vCPUs will be throttled: a SCHED_FIFO or SCHED_RR thread that
 * never idles loses the rest of each RT period in one stall (50 ms a second by default), a worse
 * hitch than no tuning at all. The plan and the doctor both warn from this.
 */
import { readRtLimits, rtStallMs, isThrottling, RT_RUNTIME_SYSCTL, type RtLimits } from '../host/rt-throttling.js';
import type { Sysroot } from '../host/sysroot.js';
import type { Profile } from '../profile/schema.js';

const KERNEL_DEFAULT: RtLimits = { runtimeUs: 950_000, periodUs: 1_000_000 };

export type RtThrottling =
  | { realtime: false }
  /** `off`: who turned throttling off: the profile's host.sysctl (for the run) or the host itself. */
  | { realtime: true; policy: 'fifo' | 'rr'; limits: RtLimits; known: boolean; off?: 'profile' | 'host' };

/** The profile's own `kernel.sched_rt_runtime_us`, from host.sysctl or a sysctl step; the last one wins, as they run in order. */
function profileRtRuntime(profile: Profile): string | undefined {
  const steps = profile.host.steps.flatMap((step) => ('sysctl' in step && RT_RUNTIME_SYSCTL in step.sysctl ? [step.sysctl[RT_RUNTIME_SYSCTL]!] : []));
  return steps.at(-1) ?? profile.host.sysctl?.[RT_RUNTIME_SYSCTL];
}

export function rtThrottling(profile: Profile, sysroot: Sysroot): RtThrottling {
  const policy = profile.pinning?.scheduler?.policy;
  if (policy !== 'fifo' && policy !== 'rr') return { realtime: false };
  const read = readRtLimits(sysroot);
  const limits = read ?? KERNEL_DEFAULT;
  const base = { realtime: true as const, policy, limits, known: read !== undefined };
  if (profileRtRuntime(profile)?.trim() === '-1') return { ...base, off: 'profile' };
  return isThrottling(limits) ? base : { ...base, off: 'host' };
}

/** "a SCHED_FIFO vCPU that never idles stalls 50 ms once a second (kernel.sched_rt_runtime_us 950000 of 1000000 µs)" */
export function describeRtStall(throttling: Extract<RtThrottling, { realtime: true }>): string {
  const { limits } = throttling;
  const stall = rtStallMs(limits);
  const every = limits.periodUs === 1_000_000 ? 'once a second' : `every ${limits.periodUs / 1000} ms`;
  const where = throttling.known ? `${RT_RUNTIME_SYSCTL} ${limits.runtimeUs} of ${limits.periodUs} µs` : `the kernel's default ${RT_RUNTIME_SYSCTL} ${limits.runtimeUs} of ${limits.periodUs} µs; this host's is unreadable`;
  return `a SCHED_${throttling.policy.toUpperCase()} vCPU that never idles stalls ${stall} ms ${every} (${where})`;
}

/** The plan's warning, or nothing when the vCPUs are not real-time or throttling is off. */
export function checkRtThrottling(profile: Profile, sysroot: Sysroot, warn: (key: string, message: string) => void): void {
  const throttling = rtThrottling(profile, sysroot);
  if (!throttling.realtime || throttling.off) return;
  warn(
    'pinning.scheduler.policy',
    `${describeRtStall(throttling)}: use { policy: other, nice: -20 } (the default), or set host.sysctl ${RT_RUNTIME_SYSCTL}: -1 for the run (safe only on CPUs nothing else needs)`,
  );
}
