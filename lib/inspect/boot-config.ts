/**
 * doctor --boot-config: the kernel command line and modprobe.d lines a profile needs, as the
 * posts write them by hand (vfio.conf with `options vfio-pci ids=…` and softdeps).
 */
import { formatPciIds, isDisplayClass, readPciDetails, type PciDeviceDetails } from '../host/pci.js';
import { readDefaultHugepageSize } from '../host/hugepages.js';
import type { Sysroot } from '../host/sysroot.js';
import { formatPciAddress, parsePciAddress } from '../pci-address.js';
import type { Profile } from '../profile/schema.js';
import { formatSize, parseSize } from '../size.js';
import { readCpuVendor } from '../host/cpuinfo.js';
import { iommuKernelParams } from './iommu-advice.js';

/** The drivers a device's ids usually bring in, so vfio-pci can be loaded before them. */
function nativeDrivers(device: PciDeviceDetails): string[] {
  const drivers: string[] = [];
  if (device.class !== undefined && isDisplayClass(device.class)) {
    drivers.push(...({ 0x10de: ['nouveau', 'nvidia'], 0x1002: ['amdgpu', 'radeon'], 0x8086: ['i915'] }[device.vendor ?? 0] ?? []));
  }
  if (device.class !== undefined && device.class >> 8 === 0x0403) drivers.push('snd_hda_intel');
  if (device.driver !== undefined && device.driver !== 'vfio-pci') drivers.push(device.driver.replaceAll('-', '_'));
  return drivers;
}

/** The huge pages the guest's RAM needs, as a count of pages. */
export const hugepagesNeeded = (profile: Profile) => (profile.memory.hugepages === false ? 0 : Math.ceil(profile.memory.size / parseSize(profile.memory.hugepages)!));

export function buildBootConfig(profile: Profile, sysroot: Sysroot): string {
  const params = iommuKernelParams(readCpuVendor(sysroot));
  const { hugepages } = profile.memory;
  if (hugepages !== false) {
    const size = parseSize(hugepages)!;
    // 1G pages can only be had reliably at boot, before memory fragments; 2M ones usually later too.
    if (size === readDefaultHugepageSize(sysroot) && size !== 1024 ** 3) params.push(`hugepages=${hugepagesNeeded(profile)}`);
    else params.push(`${hugepages === '1G' ? 'default_hugepagesz=1G ' : ''}hugepagesz=${hugepages} hugepages=${hugepagesNeeded(profile)}`);
  }
  const devices = profile.passthrough.map((device) => readPciDetails(sysroot, formatPciAddress(parsePciAddress(device.host)!)));
  const ids = [...new Set(devices.filter((device) => device.vendor !== undefined).map(formatPciIds))];
  const lines = [
    '# kernel command line: add to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, run update-grub, reboot',
    params.join(' '),
    ...(hugepages === false ? [] : [`# (${hugepagesNeeded(profile)} pages of ${formatSize(parseSize(hugepages)!)} hold the guest's ${formatSize(profile.memory.size)})`]),
  ];
  if (ids.length > 0) {
    const drivers = [...new Set(devices.flatMap(nativeDrivers))].sort();
    const named = new Set(devices.map((device) => device.address));
    const alsoClaimed = sysroot.list('/sys/bus/pci/devices').filter((address) => !named.has(address) && ids.includes(formatPciIds(readPciDetails(sysroot, address))));
    lines.push(
      '',
      '# /etc/modprobe.d/vfio.conf: vfio-pci takes these devices at boot, before their own drivers',
      `options vfio-pci ids=${ids.join(',')}`,
      ...drivers.map((driver) => `softdep ${driver} pre: vfio-pci`),
      ...(alsoClaimed.length > 0 ? [`# note: ids= also claims ${alsoClaimed.join(', ')} (same vendor:device); set those devices' driver_override instead if the host needs them`] : []),
      '',
      '# /etc/modules-load.d/vfio.conf',
      'vfio',
      'vfio_iommu_type1',
      'vfio_pci',
      '',
      '# then rebuild the initramfs (Debian, Ubuntu: update-initramfs -u; Arch: mkinitcpio -P) and reboot',
    );
  }
  return lines.join('\n') + '\n';
}
