import type { Sysroot } from './sysroot.js';

export interface IommuGroup {
  group: number;
  /** Full PCI addresses (`0000:01:00.0`), sorted. */
  devices: string[];
}

/**
 * Every IOMMU group with PCI devices, by number; empty when the IOMMU is off. Built from each
 * device's `iommu_group` link, as listing every `/sys/kernel/iommu_groups/N/devices` costs a
 * directory read per group (hundreds on a big host) against a cheap readlink per device.
 */
export function readIommuGroups(sysroot: Sysroot): IommuGroup[] {
  const groups = new Set(sysroot.list('/sys/kernel/iommu_groups'));
  const byGroup = new Map<number, string[]>();
  for (const address of sysroot.list('/sys/bus/pci/devices')) {
    const group = /(\d+)$/.exec(sysroot.readLink(`/sys/bus/pci/devices/${address}/iommu_group`) ?? '')?.[1];
    if (group === undefined || !groups.has(group)) continue;
    const devices = byGroup.get(Number(group)) ?? [];
    if (devices.length === 0) byGroup.set(Number(group), devices);
    devices.push(address);
  }
  return [...byGroup.entries()].sort(([a], [b]) => a - b).map(([group, devices]) => ({ group, devices: devices.sort() }));
}

/** The IOMMU group a PCI device is in, or undefined when it is in none. */
export function readDeviceGroup(sysroot: Sysroot, address: string): number | undefined {
  const target = sysroot.readLink(`/sys/bus/pci/devices/${address}/iommu_group`);
  const match = target === undefined ? null : /(\d+)$/.exec(target);
  // A link into a group directory that is not there (a half-captured tree) is no group either.
  return match && sysroot.exists(`/sys/kernel/iommu_groups/${match[1]}`) ? Number(match[1]) : undefined;
}

/** The IOMMU units the kernel registered (`dmar0`… on Intel, `ivhd0`… on AMD). */
export const readIommuUnits = (sysroot: Sysroot) => sysroot.list('/sys/class/iommu');

/**
 * Whether interrupt remapping is on, judged from /proc/interrupts: with it, the kernel names the
 * interrupt chips `IR-IO-APIC` and `IR-PCI-MSI` (on Intel and AMD alike), without it `IO-APIC`
 * and `PCI-MSI`. Undefined when the file cannot be read. (The dmar units' `ecap` bit 3 says
 * only that the hardware could remap; this says the kernel does.)
 */
export function readInterruptRemapping(sysroot: Sysroot): boolean | undefined {
  // The chips are named from the first interrupt line on; a big host's file is tens of megabytes.
  const text = sysroot.readHead('/proc/interrupts', 256 * 1024);
  if (text === undefined) return undefined;
  const match = /\b(IR-)?(IO-APIC|PCI-MSI)/.exec(text);
  return match ? match[1] !== undefined : false;
}
