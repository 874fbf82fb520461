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
