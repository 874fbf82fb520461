/** While the VM runs: the guest's CPUs at full speed, host tasks and IRQs kept off them. */
import { formatCpuList } from '../../cpu-list.js';
import { readOnlineCpus } from '../../host/cpus.js';
import { formatPciAddress, parsePciAddress } from '../../pci-address.js';
import { guestCpus, guestCpusKey } from '../../qemu/pinning.js';
import type { StepContext } from './context.js';
import { setValue, type StepDraft } from '../step.js';

const IRQ_TIMEOUT_MS = 60_000;
const SHIELDED_UNITS = ['init.scope', 'system.slice', 'user.slice'];

/** The CPUs left to the host: online CPUs that are no vCPU's; `{ none }` says why there are none. */
export function hostCpus({ profile, sysroot }: StepContext): { cpus: number[] } | { none: string; unreadable?: true } {
  const online = readOnlineCpus(sysroot);
  if (!online) return { none: `cannot tell which CPUs are online (${sysroot.path('/sys/devices/system/cpu/online')} is unreadable)`, unreadable: true };
  const vcpus = new Set(guestCpus(profile.pinning!));
  const left = online.filter((cpu) => !vcpus.has(cpu));
  return left.length > 0 ? { cpus: left } : { none: `the vCPUs take every online CPU (${formatCpuList(online)}); leave the host at least one` };
}

export function planGovernor({ profile, sysroot, report }: StepContext): StepDraft[] {
  const governor = profile.host.governor ?? (profile.pinning ? 'performance' : false);
  if (governor === false || !profile.pinning) return [];
  const cpus = guestCpus(profile.pinning);
  const key = guestCpusKey(profile.pinning);
  const available = sysroot.readText(`/sys/devices/system/cpu/cpu${cpus[0]}/cpufreq/scaling_available_governors`)?.trim().split(/\s+/);
  if (available && !available.includes(governor)) {
    report(profile.host.governor ? 'host.governor' : key, `this host's CPUs offer the ${available.join(', ')} governors, not ${governor}`);
    return [];
  }
  const step = { id: 'cpu-governor', phase: 'launch' as const, title: `set the ${governor} governor on the guest's CPUs ${formatCpuList(cpus)}`, from: [key, ...(profile.host.governor ? ['host.governor'] : [])] };
  const file = (cpu: number) => `/sys/devices/system/cpu/cpu${cpu}/cpufreq/scaling_governor`;
  const withCpufreq = [...cpus].sort((a, b) => a - b).filter((cpu) => sysroot.exists(file(cpu)));
  const notes = withCpufreq.length < cpus.length ? [`no cpufreq for CPUs ${formatCpuList(cpus.filter((cpu) => !withCpufreq.includes(cpu)))}`] : [];
  const toChange = withCpufreq.filter((cpu) => sysroot.readText(file(cpu))?.trim() !== governor);
  if (toChange.length === 0) return [{ ...step, notes, skip: withCpufreq.length === 0 ? 'this host has no CPU frequency scaling' : `already ${governor}` }];
  return [{ ...step, notes, actions: toChange.map((cpu) => setValue(file(cpu), governor)) }];
}

/** The roobre post's CPU shielding: host tasks confined to the host's CPUs, QEMU in its own cgroup. */
export function planShield(context: StepContext): StepDraft[] {
  const { profile, sysroot, name } = context;
  const setting = profile.host.shield;
  if (setting === false) return [];
  if (!profile.pinning) {
    context.report('host.shield', 'shielding needs pinning.vcpus or pinning.cpus: it keeps the host off the vCPUs’ CPUs');
    return [];
  }
  const host = hostCpus(context);
  if ('none' in host) {
    context.report('host.shield', host.none);
    return [];
  }
  const hasSystemd = sysroot.exists('/run/systemd/system');
  if (setting === 'systemd' && !hasSystemd) {
    context.report('host.shield', `this host does not run systemd (${sysroot.path('/run/systemd/system')} is missing); use cgroup`);
    return [];
  }
  const method = setting === true ? (hasSystemd ? 'systemd' : 'cgroup') : setting;
  const list = formatCpuList(host.cpus);
  const step = { id: 'cpu-shield', phase: 'launch' as const, title: `confine host tasks to CPUs ${list} (${method === 'systemd' ? 'systemd AllowedCPUs' : 'cgroup v2 cpuset'})`, from: ['host.shield'] };
  if (method === 'systemd') {
    return [
      {
        ...step,
        notes: ['QEMU runs in its own scope under machine.slice, which keeps every CPU'],
        actions: [
          ...SHIELDED_UNITS.map((unit) => ({
            do: { kind: 'run' as const, argv: ['systemctl', 'set-property', '--runtime', unit, `AllowedCPUs=${list}`] },
            // AllowedCPUs is the unit's cpuset.cpus: empty (all CPUs) unless something had set it.
            undo: [{ kind: 'run' as const, argv: ['systemctl', 'set-property', '--runtime', unit, `AllowedCPUs=${sysroot.readText(`/sys/fs/cgroup/${unit}/cpuset.cpus`)?.trim() ?? ''}`] }],
          })),
          { do: { kind: 'wrap', argv: ['systemd-run', '--scope', '--quiet', '--slice=machine.slice', `--unit=boot-vm-${name}`] }, undo: [] },
        ],
      },
    ];
  }
  const controllers = sysroot.readText('/sys/fs/cgroup/cgroup.subtree_control');
  if (!(controllers ?? '').split(/\s+/).includes('cpuset')) {
    context.report('host.shield', controllers === undefined ? `cannot tell whether the cgroup v2 cpuset controller is enabled: ${sysroot.path('/sys/fs/cgroup/cgroup.subtree_control')} is unreadable` : 'the cgroup v2 cpuset controller is not enabled at /sys/fs/cgroup (cgroup.subtree_control)');
    return [];
  }
  return [{ ...step, notes: ['QEMU stays in the launcher’s cgroup; move it out of user.slice if that is where you start it'], actions: SHIELDED_UNITS.map((unit) => setValue(`/sys/fs/cgroup/${unit}/cpuset.cpus`, list)) }];
}

export function planIrqAffinity(context: StepContext): StepDraft[] {
  const { profile } = context;
  const wanted = profile.host.irqAffinity ?? profile.pinning !== undefined;
  if (!wanted) return [];
  if (!profile.pinning) {
    context.report('host.irqAffinity', 'IRQ affinity needs pinning.vcpus or pinning.cpus: it sends the devices’ IRQs to the vCPUs’ CPUs');
    return [];
  }
  const host = hostCpus(context);
  const step = { id: 'irq-affinity', phase: 'running' as const, from: [guestCpusKey(profile.pinning), ...(profile.host.irqAffinity !== undefined ? ['host.irqAffinity'] : [])] };
  if ('none' in host) {
    // Asked for, it is an error; on by default with pinning, it just cannot apply here, unless the host could not be read.
    if (profile.host.irqAffinity || host.unreadable) context.report(profile.host.irqAffinity ? 'host.irqAffinity' : guestCpusKey(profile.pinning), host.none);
    return profile.host.irqAffinity ? [] : [{ ...step, title: 'move IRQs off the guest’s CPUs', skip: host.none }];
  }
  const cpus = host.cpus;
  const devices = profile.passthrough.map((device) => formatPciAddress(parsePciAddress(device.host)!));
  const toGuest = [...guestCpus(profile.pinning)];
  return [
    {
      ...step,
      title: `send the passed devices' IRQs to CPUs ${formatCpuList(toGuest)} and the other IRQs to CPUs ${formatCpuList(cpus)}`,
      notes: devices.length > 0 ? [`waits up to ${IRQ_TIMEOUT_MS / 1000}s for QEMU to open ${devices.join(', ')}, then follows new vfio IRQs while the VM runs`] : [],
      actions: [{ do: { kind: 'irq-affinity', devices, guestCpus: toGuest, hostCpus: cpus, timeoutMs: IRQ_TIMEOUT_MS }, undo: [{ kind: 'restore-irq-affinity' }] }],
    },
  ];
}
