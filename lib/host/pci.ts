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
  return link === undefined ? undefined : linkName(link);
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

/** What check-iommu and doctor show of a PCI function. */
export interface PciDeviceDetails {
  /** `0000:01:00.0` */
  address: string;
  class?: number;
  vendor?: number;
  device?: number;
  /** The bound driver's name, or undefined when none is bound. */
  driver?: string;
  /** The kernel's reset methods in order of preference (`flr bus`); empty when it has none or does not say. */
  resetMethods: string[];
  /** The NUMA node the device hangs off, or undefined when the firmware does not say (-1). */
  numaNode?: number;
}

const readHex = (text: string | undefined) => (text === undefined || !/^\s*(0x)?[0-9a-f]+\s*$/i.test(text) ? undefined : parseInt(text.trim(), 16));

/** Last path component of a link target: `../../../bus/pci/drivers/vfio-pci` → `vfio-pci`. */
export const linkName = (target: string) => target.slice(target.lastIndexOf('/') + 1);

/** The device's ids, driver, reset methods and NUMA node, read from `/sys/bus/pci/devices/<address>`. */
export function readPciDetails(sysroot: Sysroot, address: string): PciDeviceDetails {
  const dir = `/sys/bus/pci/devices/${address}`;
  const driver = sysroot.readLink(`${dir}/driver`);
  const numa = Number((sysroot.readText(`${dir}/numa_node`) ?? '-1').trim());
  const pciClass = readHex(sysroot.readText(`${dir}/class`));
  const vendor = readHex(sysroot.readText(`${dir}/vendor`));
  const device = readHex(sysroot.readText(`${dir}/device`));
  return {
    address,
    ...(pciClass === undefined ? {} : { class: pciClass }),
    ...(vendor === undefined ? {} : { vendor }),
    ...(device === undefined ? {} : { device }),
    ...(driver === undefined ? {} : { driver: linkName(driver) }),
    resetMethods: (sysroot.readText(`${dir}/reset_method`) ?? '').trim().split(/\s+/).filter(Boolean),
    ...(Number.isInteger(numa) && numa >= 0 ? { numaNode: numa } : {}),
  };
}

/** `10de:1b81`, the form vfio-pci's `ids=` and pci.ids use. */
export const formatPciIds = (details: Pick<PciDeviceDetails, 'vendor' | 'device'>) =>
  `${details.vendor?.toString(16).padStart(4, '0') ?? '????'}:${details.device?.toString(16).padStart(4, '0') ?? '????'}`;
