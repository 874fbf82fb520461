import { formatPciAddress, type PciAddress } from '../pci-address.js';
import type { Sysroot } from './sysroot.js';

export interface HostPciDevice {
  /** `0x030000` read as a number: base class, subclass, programming interface. */
  class?: number;
}

/** The host's PCI device at an address, or undefined when there is none. */
export function readPciDevice(sysroot: Sysroot, address: PciAddress): HostPciDevice | undefined {
  const dir = `/sys/bus/pci/devices/${formatPciAddress(address)}`;
  if (!sysroot.exists(dir)) return undefined;
  const classText = sysroot.readText(`${dir}/class`);
  return classText === undefined ? {} : { class: parseInt(classText.trim(), 16) };
}

/** Display controllers are PCI base class 0x03 (VGA-compatible, XGA, 3D, other). */
export const isDisplayClass = (pciClass: number) => pciClass >> 16 === 0x03;

const deviceDir = (address: string) => `/sys/bus/pci/devices/${address}`;

/** The driver bound to a device (`0000:01:00.0`), or undefined when none is. */
export function readPciDriver(sysroot: Sysroot, address: string): string | undefined {
  const link = sysroot.readLink(`${deviceDir(address)}/driver`);
  return link?.split('/').pop();
}

/** The `vendor device` pair as new_id takes it: `10de 1b81`. */
export function readPciIds(sysroot: Sysroot, address: string): string | undefined {
  const vendor = sysroot.readText(`${deviceDir(address)}/vendor`)?.trim().replace(/^0x/, '');
  const device = sysroot.readText(`${deviceDir(address)}/device`)?.trim().replace(/^0x/, '');
  return vendor && device ? `${vendor} ${device}` : undefined;
}

/** True when the firmware booted on this GPU (`boot_vga` is 1): the host's consoles are on it. */
export const isBootVga = (sysroot: Sysroot, address: string) => sysroot.readText(`${deviceDir(address)}/boot_vga`)?.trim() === '1';

/** The other devices in this device's IOMMU group, which vfio-pci hands to a guest together. */
export function readIommuGroupPeers(sysroot: Sysroot, address: string): string[] | undefined {
  const group = sysroot.readLink(`${deviceDir(address)}/iommu_group`)?.split('/').pop();
  if (group === undefined) return undefined;
  return sysroot.list(`/sys/kernel/iommu_groups/${group}/devices`).filter((peer) => peer !== address);
}

/**
 * PCI-to-PCI, CardBus and semi-transparent bridges (classes 0x0604, 0x0607, 0x0609): the kernel lets
 * them keep a host driver in a group used through VFIO, as their header is not a normal one. Host
 * and ISA/LPC bridges have normal headers and count as endpoints.
 */
export const isBridgeClass = (pciClass: number) => [0x0604, 0x0607, 0x0609].includes(pciClass >> 8);
