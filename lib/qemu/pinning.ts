/**
 * Pinning on the command line. Process mode, as the blog's script does it: `chrt` sets the policy
 * and `taskset` the CPU mask before QEMU starts, and every thread QEMU creates inherits both.
 * Threads mode (the default) only starts QEMU paused (`-S`): the launcher pins each thread over
 * QMP (lib/plan/steps/threads.ts), then starts the guest.
 */
import { formatCpuList } from '../cpu-list.js';
import { arg, type Arg, type BuildInput } from './arg.js';

export const CHRT_POLICY = { rr: '-r', fifo: '-f', other: '-o', batch: '-b', idle: '-i' } as const;

type Scheduler = NonNullable<NonNullable<BuildInput['profile']['pinning']>['scheduler']>;

const isRealtime = (scheduler: Scheduler) => scheduler.policy === 'rr' || scheduler.policy === 'fifo';

const takesNice = (scheduler: Scheduler) => scheduler.policy === 'other' || scheduler.policy === 'batch';

/** The profile's priority, or chrt's usual one: 1 for the real-time policies, 0 for the others. */
export const priorityOf = (scheduler: Scheduler) => scheduler.priority ?? (isRealtime(scheduler) ? 1 : 0);

type Pinning = NonNullable<BuildInput['profile']['pinning']>;

/** The host CPUs the vCPUs run on: the set they share (`pinning.cpus`), else each one's own (`pinning.vcpus`). */
export const guestCpus = (pinning: Pinning): number[] => pinning.cpus ?? pinning.vcpus;

/** The key those CPUs come from, for messages and --explain. */
export const guestCpusKey = (pinning: Pinning) => (pinning.cpus ? 'pinning.cpus' : 'pinning.vcpus');

/** The CPUs QEMU's threads may run on in process mode: the vCPUs' (or their shared set) and the emulator's. */
export function processCpus({ profile }: BuildInput): number[] {
  const pinning = profile.pinning;
  return pinning ? [...new Set([...guestCpus(pinning), ...(pinning.emulator ?? [])])] : [];
}

/** Checks the pinning lists themselves (host CPUs are checked by the plan against the host). */
export function checkPinning({ profile, diagnostics }: BuildInput): void {
  const pinning = profile.pinning;
  if (!pinning) return;
  if (pinning.mode === 'process' && pinning.iothreads) diagnostics.error('pinning.iothreads', 'needs mode: threads; in process mode every thread shares one mask');
  const seen = new Map<number, number>();
  pinning.vcpus.forEach((cpu, vcpu) => {
    const other = seen.get(cpu);
    if (other !== undefined) diagnostics.error(`pinning.vcpus[${vcpu}]`, `host CPU ${cpu} is already vCPU ${other}'s; each vCPU needs its own host CPU`);
    seen.set(cpu, vcpu);
  });
  const scheduler = pinning.scheduler;
  if (scheduler) {
    const priority = priorityOf(scheduler);
    if (isRealtime(scheduler) && priority < 1) diagnostics.error('pinning.scheduler.priority', `${scheduler.policy} needs a priority from 1 to 99`);
    if (!isRealtime(scheduler) && priority !== 0) diagnostics.error('pinning.scheduler.priority', `${scheduler.policy} takes priority 0 only`);
    if (scheduler.nice !== undefined && !takesNice(scheduler)) diagnostics.error('pinning.scheduler.nice', `${scheduler.policy} ignores nice; it goes with policy other or batch`);
  }
}

/** `chrt -r 1` and `taskset -c 2,3`, the words before the QEMU binary. */
export function buildWrappers(input: BuildInput): Arg[] {
  checkPinning(input);
  const pinning = input.profile.pinning;
  if (!pinning || pinning.mode === 'threads') return [];
  const args: Arg[] = [];
  const scheduler = pinning.scheduler;
  // SCHED_OTHER is every process's policy already: only the nice value needs a wrapper then.
  if (scheduler && scheduler.policy !== 'other') {
    args.push(arg(['chrt', CHRT_POLICY[scheduler.policy], String(priorityOf(scheduler))], ['pinning.scheduler.policy', ...(scheduler.priority !== undefined ? ['pinning.scheduler.priority'] : [])], ['every QEMU thread inherits the policy']));
  }
  if (scheduler?.nice) args.push(arg(['nice', '-n', String(scheduler.nice)], ['pinning.scheduler.nice'], ['every QEMU thread inherits the nice value']));
  const cpus = formatCpuList(processCpus(input));
  const notes = pinning.emulator
    ? [`process mode: vCPU and emulator threads all share ${cpus}; mode: threads pins each thread`]
    : pinning.cpus
      ? [`process mode: every QEMU thread, each of the vCPUs included, may run on any of ${cpus}`]
      : ['process mode: every QEMU thread inherits the mask'];
  args.push(arg(['taskset', '-c', cpus], [guestCpusKey(pinning), ...(pinning.emulator ? ['pinning.emulator'] : []), 'pinning.mode'], notes));
  return args;
}

/** `-S` in threads mode: QEMU waits, paused, until its threads are pinned and the launcher sends `cont`. */
export function buildStartPaused({ profile }: BuildInput): Arg[] {
  if (profile.pinning?.mode !== 'threads') return [];
  return [arg(['-S'], ['pinning.mode'], ['start paused: boot-vm pins each thread over QMP, reads the pinning back from /proc, then sends cont'])];
}
