/**
 * Threads-mode pinning (the default): QEMU starts paused, and once it is up each thread is pinned
 * on its own, as libvirt's vcpupin/emulatorpin/iothreadpin/vcpusched do, then read back from /proc
 * before the guest starts.
 */
import { formatCpuList } from '../../cpu-list.js';
import { readOnlineCpus } from '../../host/cpus.js';
import { priorityOf } from '../../qemu/pinning.js';
import type { StepDraft, ThreadScheduler } from '../step.js';
import type { StepContext } from './context.js';
import { hostCpus } from './cpus.js';

const POLICY_NAMES = { rr: 'SCHED_RR', fifo: 'SCHED_FIFO', other: 'SCHED_OTHER', batch: 'SCHED_BATCH', idle: 'SCHED_IDLE' } as const;

export const describeScheduler = ({ policy, priority, nice }: ThreadScheduler) =>
  `${POLICY_NAMES[policy]}${policy === 'rr' || policy === 'fifo' ? ` priority ${priority}` : ''}${nice !== undefined ? ` nice ${nice}` : ''}`;

/** The emulator's CPUs: `pinning.emulator`, else the CPUs no vCPU has, else (none left) every online CPU. */
function emulatorCpus(context: StepContext): { cpus: number[]; from: string[]; notes: string[] } | { skip: string } {
  const pinning = context.profile.pinning!;
  if (pinning.emulator) return { cpus: pinning.emulator, from: ['pinning.emulator'], notes: [] };
  const host = hostCpus(context);
  if ('cpus' in host) return { cpus: host.cpus, from: ['pinning.vcpus'], notes: ['pinning.emulator unset: the CPUs no vCPU has'] };
  const online = readOnlineCpus(context.sysroot);
  if (!online) {
    context.report('pinning.emulator', `${host.none}; set pinning.emulator`);
    return { skip: host.none };
  }
  return { cpus: online, from: ['pinning.vcpus'], notes: [`pinning.emulator unset and ${host.none}: every online CPU`] };
}

export function planThreadPinning(context: StepContext): StepDraft[] {
  const { profile } = context;
  const pinning = profile.pinning;
  if (pinning?.mode !== 'threads') return [];
  const phase = 'running' as const;
  const emulator = emulatorCpus(context);
  if ('skip' in emulator) return [{ id: 'pin-threads', phase, title: "pin QEMU's threads", from: ['pinning.vcpus'], skip: emulator.skip }];
  const steps: StepDraft[] = [
    {
      id: 'pin-emulator',
      phase,
      title: `pin QEMU's other threads (main loop, workers, threads made later) to CPUs ${formatCpuList(emulator.cpus)}`,
      from: emulator.from,
      notes: emulator.notes,
      actions: [{ do: { kind: 'pin-threads', threads: 'emulator', cpus: emulator.cpus }, undo: [] }],
    },
  ];
  if (profile.iothreads > 0) {
    const cpus = pinning.iothreads ?? emulator.cpus;
    steps.push({
      id: 'pin-iothreads',
      phase,
      title: `pin the ${profile.iothreads} IO thread${profile.iothreads > 1 ? 's' : ''} to CPUs ${formatCpuList(cpus)}`,
      from: ['iothreads', ...(pinning.iothreads ? ['pinning.iothreads'] : emulator.from)],
      notes: pinning.iothreads ? [] : ["pinning.iothreads unset: the emulator's CPUs"],
      actions: [{ do: { kind: 'pin-threads', threads: 'iothreads', cpus }, undo: [] }],
    });
  }
  const scheduler = pinning.scheduler
    ? { policy: pinning.scheduler.policy, priority: priorityOf(pinning.scheduler), ...(pinning.scheduler.nice !== undefined ? { nice: pinning.scheduler.nice } : {}) }
    : undefined;
  steps.push(
    {
      id: 'pin-vcpus',
      phase,
      title: `pin each vCPU thread to its own CPU (${pinning.vcpus.map((cpu, vcpu) => `${vcpu}→${cpu}`).join(' ')})${scheduler ? `, ${describeScheduler(scheduler)}` : ''}`,
      from: ['pinning.vcpus', ...(pinning.scheduler ? ['pinning.scheduler'] : [])],
      notes: scheduler ? [`the vCPU threads alone get the policy${scheduler.nice !== undefined ? ' and nice value' : ''}; threads they start do not inherit ${scheduler.nice !== undefined ? 'them' : 'it'} (chrt -R)`] : [],
      actions: [{ do: { kind: 'pin-threads', threads: 'vcpus', cpus: pinning.vcpus, ...(scheduler ? { scheduler } : {}) }, undo: [] }],
    },
    {
      id: 'start-guest',
      phase,
      title: "read every thread's CPUs and policy back from /proc, then start the guest",
      from: ['pinning.mode'],
      notes: ['a mismatch stops QEMU and undoes the launch; QEMU waits paused (-S) until then'],
      actions: [{ do: { kind: 'start-guest' }, undo: [] }],
    },
  );
  return steps;
}
