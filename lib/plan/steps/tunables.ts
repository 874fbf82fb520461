/** Kernel tunables (the blog's on-boot.sh: vm.stat_interval, watchdogs, writeback CPUs) and user steps. */
import { formatCpuList, formatCpuMask } from '../../cpu-list.js';
import type { StepContext } from './context.js';
import { setValue, type StepDraft } from '../step.js';

const sysctlPath = (key: string) => `/proc/sys/${key.replaceAll('.', '/')}`;

export function planSysctls({ profile }: StepContext): StepDraft[] {
  return Object.entries(profile.host.sysctl ?? {}).map(([key, value]) => ({
    id: `sysctl ${key}`,
    phase: 'prepare',
    title: `set ${key} = ${value}`,
    from: [`host.sysctl.${key}`],
    actions: [setValue(sysctlPath(key), value)],
  }));
}

export function planWritebackCpus({ profile }: StepContext): StepDraft[] {
  const cpus = profile.host.writebackCpus;
  if (!cpus) return [];
  return [
    {
      id: 'writeback-cpus',
      phase: 'prepare',
      title: `run writeback threads on CPUs ${formatCpuList(cpus)} only`,
      from: ['host.writebackCpus'],
      actions: [setValue('/sys/bus/workqueue/devices/writeback/cpumask', formatCpuMask(cpus))],
    },
  ];
}

export function planUserSteps({ profile }: StepContext): StepDraft[] {
  return profile.host.steps.map((step, i): StepDraft => {
    const base = { id: `host.steps[${i}]`, phase: 'prepare' as const, from: [`host.steps[${i}]`] };
    if ('write' in step) return { ...base, title: `write ${step.write.value} to ${step.write.path}`, actions: [setValue(step.write.path, step.write.value)] };
    if ('sysctl' in step) {
      const entries = Object.entries(step.sysctl);
      return { ...base, title: `set ${entries.map(([key, value]) => `${key} = ${value}`).join(', ')}`, actions: entries.map(([key, value]) => setValue(sysctlPath(key), value)) };
    }
    return { ...base, title: `run ${step.run.join(' ')}`, actions: [{ do: { kind: 'run', argv: step.run }, undo: step.undo ? [{ kind: 'run', argv: step.undo }] : [] }] };
  });
}
