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
