// The host settings that decide a busy vCPU's run delay, read for the report; autogroup is also
// set for the run (it decides fairness between sessions, so it would confound the comparison).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { formatCpuList } from '../../dist/cpu-list.js';
import { readOnlineCpus } from '../../dist/host/cpus.js';
import { readRtLimits, rtStallMs } from '../../dist/host/rt-throttling.js';
import { Sysroot } from '../../dist/host/sysroot.js';

const AUTOGROUP = '/proc/sys/kernel/sched_autogroup_enabled';

const sysroot = new Sysroot();

export const onlineCpus = () => readOnlineCpus(sysroot) ?? [];

/** kernel.sched_autogroup_enabled, or undefined on a kernel without autogroup. */
export function readAutogroup() {
  return sysroot.readText(AUTOGROUP)?.trim();
}

export const writeAutogroup = (value) => writeFileSync(AUTOGROUP, `${value}\n`);

export function describeRtLimits() {
  const limits = readRtLimits(sysroot);
  if (!limits) return 'unknown (no /proc/sys/kernel/sched_rt_*)';
  const stall = rtStallMs(limits);
  return `sched_rt_runtime_us ${limits.runtimeUs} of sched_rt_period_us ${limits.periodUs}${stall > 0 ? ` (a never-idle real-time thread stalls ${stall} ms every ${limits.periodUs / 1000} ms)` : ' (no throttling)'}`;
}

/** v1, v2 or hybrid (v1 controllers, and a v2 tree beside them with the controllers it has). */
export function describeCgroups() {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, , type]) => type === 'cgroup' || type === 'cgroup2');
  const v2 = mounts.filter(([, , type]) => type === 'cgroup2').map(([, path]) => path);
  const v1 = mounts.filter(([, , type]) => type === 'cgroup').map(([, path]) => path.split('/').pop());
  const controllers = (path) => sysroot.readText(`${path}/cgroup.controllers`)?.trim() || 'none';
  if (v1.length === 0) return v2.length === 0 ? 'none mounted' : `v2 at ${v2[0]} (controllers: ${controllers(v2[0])})`;
  const v1Text = `v1 (${v1.join(', ')})`;
  return v2.length === 0 ? v1Text : `hybrid: ${v1Text}; v2 at ${v2[0]} (controllers: ${controllers(v2[0])})`;
}

/** The first line of `binary --version`. */
export function qemuVersion(binary) {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.split('\n')[0] : `${binary} --version failed: ${result.error?.message ?? result.stderr.trim()}`;
}

/** Pins every thread of this process to `cpus` (children inherit it: give them their mask with `taskset -c`). */
export function pinSelf(cpus) {
  const result = spawnSync('taskset', ['-a', '-p', '-c', formatCpuList(cpus), String(process.pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`taskset -a -p ${process.pid} failed: ${result.error?.message ?? result.stderr.trim()}`);
}
