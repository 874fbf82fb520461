/** Kernel modules and KVM's MSR handling: what the blog's on-boot.sh and vfio.conf set up. */
import { readCpuVendor } from '../../host/cpuinfo.js';
import type { StepContext } from './context.js';
import { setValue, type StepDraft } from '../step.js';

/** `kvm_intel` or `kvm_amd`, from the CPU vendor or the module already loaded. */
function kvmModule({ sysroot }: StepContext): string | undefined {
  const vendor = readCpuVendor(sysroot);
  if (vendor) return `kvm_${vendor}`;
  return ['kvm_intel', 'kvm_amd'].find((module) => sysroot.exists(`/sys/module/${module}`));
}

export function planModules(context: StepContext): StepDraft[] {
  const { profile, sysroot } = context;
  if (!profile.host.modules) return [];
  const wanted: string[] = [];
  const notes: string[] = [];
  if (profile.passthrough.length > 0) wanted.push('vfio', 'vfio_pci', 'vfio_iommu_type1');
  if (profile.machine.accel === 'kvm') {
    const kvm = kvmModule(context);
    if (kvm) wanted.push(kvm);
    else notes.push('cannot tell an Intel CPU from an AMD one here: load kvm_intel or kvm_amd yourself');
  }
  if (wanted.length === 0) return notes.length > 0 ? [{ id: 'load-modules', phase: 'prepare', title: 'load the KVM module', from: ['host.modules'], notes, skip: 'which one this CPU needs is unknown' }] : [];
  const missing = wanted.filter((module) => !sysroot.exists(`/sys/module/${module}`));
  const step: StepDraft = { id: 'load-modules', phase: 'prepare', title: `load kernel modules ${wanted.join(', ')}`, from: ['host.modules'], notes };
  if (missing.length === 0) return [{ ...step, skip: 'all loaded already' }];
  // Modules stay loaded afterwards: unloading one could take a device from the host.
  return [{ ...step, title: `load kernel modules ${missing.join(', ')}`, actions: [{ do: { kind: 'run', argv: ['modprobe', '-a', ...missing] }, undo: [] }] }];
}

export function planIgnoreMsrs({ profile }: StepContext): StepDraft[] {
  if (!profile.host.ignoreMsrs) return [];
  return [
    {
      id: 'kvm-ignore-msrs',
      phase: 'prepare',
      title: 'let KVM ignore guest accesses to unknown MSRs instead of injecting #GP',
      from: ['host.ignoreMsrs'],
      actions: [setValue('/sys/module/kvm/parameters/ignore_msrs', 'Y')],
    },
  ];
}
