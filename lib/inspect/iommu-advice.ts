/** What to change to turn the IOMMU on, for the host's CPU vendor; shared by check-iommu, doctor and --boot-config. */
import type { CpuVendor } from '../host/cpuinfo.js';

/** The kernel parameters that turn the IOMMU on in passthrough mode (`iommu=pt`: host devices skip translation). */
export function iommuKernelParams(vendor: CpuVendor): string[] {
  if (vendor === 'amd') return ['amd_iommu=on', 'iommu=pt'];
  if (vendor === 'intel') return ['intel_iommu=on', 'iommu=pt'];
  return ['intel_iommu=on', 'amd_iommu=on', 'iommu=pt'];
}

/** How to turn the IOMMU on, as one sentence. */
export function iommuOnAdvice(vendor: CpuVendor): string {
  const firmware = vendor === 'amd' ? 'AMD-Vi ("IOMMU")' : vendor === 'intel' ? 'VT-d' : 'VT-d (Intel) or AMD-Vi (AMD)';
  return `enable ${firmware} in the firmware setup, add ${iommuKernelParams(vendor).join(' ')} to the kernel command line (GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then update-grub) and reboot`;
}
