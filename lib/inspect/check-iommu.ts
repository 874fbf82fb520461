/**
 * check-iommu: every IOMMU group with its devices and whether it can be passed through as it is,
 * the loop from the blog (`for g in /sys/kernel/iommu_groups/*` + `lspci -nns`) without lspci.
 */
import { readIommuGroups, type IommuGroup } from '../host/iommu.js';
import { readPciNames } from '../host/pci-ids.js';
import { formatPciIds, isBridgeClass, readPciDetails, type PciDeviceDetails } from '../host/pci.js';
import type { Sysroot } from '../host/sysroot.js';
import { formatPciAddress, parsePciAddress } from '../pci-address.js';
import { readCpuVendor } from '../host/cpuinfo.js';
import { iommuOnAdvice } from './iommu-advice.js';

/**
 * `bridge`: a PCI-to-PCI bridge (root port, switch port), which vfio lets stay in a passed group.
 * `host`: a chipset function the host needs (host, ISA/LPC and other bridges, memory
 * controllers, system peripherals, SMBus, the SPI flash controller). `endpoint`: anything one would pass to a guest.
 */
export type DeviceKind = 'bridge' | 'host' | 'endpoint';

export function deviceKind(pciClass: number | undefined): DeviceKind {
  if (pciClass === undefined) return 'endpoint';
  const sub = pciClass >> 8;
  if (isBridgeClass(pciClass)) return 'bridge';
  if (pciClass >> 16 === 0x05 || pciClass >> 16 === 0x06 || pciClass >> 16 === 0x08 || sub === 0x0c05 || sub === 0x0c80) return 'host';
  return 'endpoint';
}

export interface InspectedDevice extends PciDeviceDetails {
  /** `10de:1b81` */
  ids: string;
  vendorName?: string;
  deviceName?: string;
  className?: string;
  kind: DeviceKind;
  /** Named by the profile given with --profile. */
  inProfile: boolean;
}

export interface InspectedGroup {
  group: number;
  devices: InspectedDevice[];
  /** Only endpoints and bridges: the endpoints can go to a guest together, as they are. */
  passable: boolean;
  verdict: string;
  /** With --profile, for a group holding profile devices: the other endpoints that must go with them. */
  mustAlsoPass?: string[];
}

export interface IommuReport {
  groups: InspectedGroup[];
  /** Set when there are no groups: why, and how to turn the IOMMU on. */
  iommuOff?: string;
  /** The pci.ids file names came from, when the host has one. */
  pciIds?: string;
  /** With --profile: its devices that are on no IOMMU group of this host. */
  missing: string[];
}

/** `0000:01:00.0` → `01:00.0` in domain 0, as lspci prints it. */
export const shortAddress = (address: string) => (address.startsWith('0000:') ? address.slice(5) : address);

const describe = (device: InspectedDevice) => `${shortAddress(device.address)}${device.deviceName ? ` (${device.deviceName})` : ''}`;

function judge(devices: InspectedDevice[]): { passable: boolean; verdict: string } {
  const endpoints = devices.filter((device) => device.kind === 'endpoint');
  const hostOwned = devices.filter((device) => device.kind === 'host');
  if (hostOwned.length > 0 && endpoints.length > 0) {
    return { passable: false, verdict: `not as it is: ${endpoints.map((device) => shortAddress(device.address)).join(', ')} share${endpoints.length === 1 ? 's' : ''} the group with the host's ${hostOwned.map((device) => `${shortAddress(device.address)} (${device.className ?? 'chipset'})`).join(', ')}` };
  }
  if (hostOwned.length > 0) return { passable: false, verdict: "the host's: chipset functions, not for a guest" };
  if (endpoints.length === 0) return { passable: false, verdict: 'bridges only: nothing to pass through' };
  return { passable: true, verdict: `can be passed through as it is: ${endpoints.map((device) => shortAddress(device.address)).join(', ')}` };
}

/** Reads every IOMMU group; `profileDevices` (PCI addresses from a profile) are marked and checked. */
/** `runningHost`: where names come from when the sysroot has no pci.ids (the machine boot-vm runs on unless given). */
export function inspectIommu(sysroot: Sysroot, profileDevices: string[] = [], runningHost?: Sysroot): IommuReport {
  return inspectGroups(sysroot, readIommuGroups(sysroot), profileDevices, runningHost);
}

/** Names, classifies and judges the devices of the given groups. */
export function inspectGroups(sysroot: Sysroot, groups: IommuGroup[], profileDevices: string[] = [], runningHost?: Sysroot): IommuReport {
  const wanted = new Set(profileDevices.map((text) => formatPciAddress(parsePciAddress(text)!)));
  const details = groups.map((group) => group.devices.map((address) => readPciDetails(sysroot, address)));
  const all = details.flat();
  const names = readPciNames(
    sysroot,
    all.flatMap((device) => (device.vendor === undefined || device.device === undefined ? [] : [[device.vendor, device.device] as [number, number]])),
    all.flatMap((device) => (device.class === undefined ? [] : [device.class])),
    runningHost,
  );
  const inspected = groups.map((group, i): InspectedGroup => {
    const devices = details[i]!.map((device): InspectedDevice => {
      const vendorName = device.vendor === undefined ? undefined : names.vendor(device.vendor);
      const deviceName = device.vendor === undefined || device.device === undefined ? undefined : names.device(device.vendor, device.device);
      const className = device.class === undefined ? undefined : names.className(device.class);
      return {
        ...device,
        ids: formatPciIds(device),
        ...(vendorName ? { vendorName } : {}),
        ...(deviceName ? { deviceName } : {}),
        ...(className ? { className } : {}),
        kind: deviceKind(device.class),
        inProfile: wanted.has(device.address),
      };
    });
    const verdict = judge(devices);
    const mustAlsoPass = devices.some((device) => device.inProfile) ? devices.filter((device) => device.kind === 'endpoint' && !device.inProfile).map(describe) : undefined;
    return { group: group.group, devices, ...verdict, ...(mustAlsoPass ? { mustAlsoPass } : {}) };
  });
  const found = new Set(all.map((device) => device.address));
  return {
    groups: inspected,
    ...(groups.length === 0 ? { iommuOff: `no IOMMU groups: the IOMMU is off or this machine has none; to turn it on, ${iommuOnAdvice(readCpuVendor(sysroot))}` } : {}),
    ...(names.file ? { pciIds: names.file } : {}),
    missing: [...wanted].filter((address) => !found.has(address)),
  };
}
