/** Hands each passthrough device to vfio-pci, remembering the driver it had; checks its IOMMU group either way. */
import { isBridgeClass, readPciDevice, readIommuGroupPeers, readPciDriver, readPciIds } from '../../host/pci.js';
import { formatPciAddress, parsePciAddress } from '../../pci-address.js';
import type { StepContext } from './context.js';
import { unloadedByHandoff } from './handoff.js';
import { setValue, type StepAction, type StepDraft } from '../step.js';

const BIND_TIMEOUT_MS = 10_000;
const drivers = (driver: string, file: string) => `/sys/bus/pci/drivers/${driver}/${file}`;

// Drivers the kernel lets a group member keep while the group is used through VFIO (no driver is fine too).
const VIABLE_DRIVERS = new Set(['vfio-pci', 'pci-stub', 'pcieport']);

/** Endpoints in the device's IOMMU group that the profile does not pass, on a driver that makes the group unusable by VFIO. */
function checkGroup({ sysroot, report }: StepContext, key: string, address: string, passed: Set<string>): void {
  const peers = readIommuGroupPeers(sysroot, address);
  if (peers === undefined) {
    report(key, `${address} has no IOMMU group: is the IOMMU on (intel_iommu=on or amd_iommu=on)?`);
    return;
  }
  const strangers = peers.filter((peer) => !passed.has(peer)).filter((peer) => {
    const pciClass = readPciDevice(sysroot, parsePciAddress(peer)!)?.class;
    const driver = readPciDriver(sysroot, peer);
    return (pciClass === undefined || !isBridgeClass(pciClass)) && driver !== undefined && !VIABLE_DRIVERS.has(driver);
  });
  if (strangers.length > 0) {
    const named = strangers.map((peer) => `${peer} (${readPciDriver(sysroot, peer) ?? 'no driver'})`).join(', ');
    report(key, `${address}'s IOMMU group also holds ${named}, not in the profile; pass ${strangers.length > 1 ? 'them' : 'it'} too, or unbind ${strangers.length > 1 ? 'them' : 'it'} from ${strangers.length > 1 ? 'their drivers' : 'its driver'}, or move the card to another slot`);
  }
}

function bindByOverride(address: string, driver: string | undefined): StepAction[] {
  const override = `/sys/bus/pci/devices/${address}/driver_override`;
  return [
    setValue(override, 'vfio-pci'),
    ...(driver ? [{ do: { kind: 'trigger' as const, path: drivers(driver, 'unbind'), value: address }, undo: [{ kind: 'trigger' as const, path: drivers(driver, 'bind'), value: address }] }] : []),
    // Undone in this order: leave vfio-pci, then clear the override so the old driver may bind again.
    { do: { kind: 'trigger', path: '/sys/bus/pci/drivers_probe', value: address }, undo: [{ kind: 'trigger', path: drivers('vfio-pci', 'unbind'), value: address }, { kind: 'restore', path: override }] },
  ];
}

function bindByNewId(address: string, driver: string | undefined, ids: string): StepAction[] {
  return [
    ...(driver ? [{ do: { kind: 'trigger' as const, path: drivers(driver, 'unbind'), value: address }, undo: [{ kind: 'trigger' as const, path: drivers(driver, 'bind'), value: address }] }] : []),
    { do: { kind: 'trigger', path: drivers('vfio-pci', 'new_id'), value: ids }, undo: [{ kind: 'trigger', path: drivers('vfio-pci', 'remove_id'), value: ids }, { kind: 'trigger', path: drivers('vfio-pci', 'unbind'), value: address }] },
  ];
}

export function planVfioBinding(context: StepContext): StepDraft[] {
  const { profile, sysroot } = context;
  const addresses = profile.passthrough.map((device) => formatPciAddress(parsePciAddress(device.host)!));
  const passed = new Set(addresses);
  return addresses.flatMap((address, i): StepDraft[] => {
    const key = `passthrough[${i}].host`;
    if (!sysroot.exists(`/sys/bus/pci/devices/${address}`)) return []; // reported by the host checks
    checkGroup(context, key, address, passed);
    if (!profile.host.bindVfio) return [];
    const driver = readPciDriver(sysroot, address);
    const ids = readPciIds(sysroot, address) ?? '';
    const step = { id: `bind-vfio ${address}`, phase: 'prepare' as const, title: `bind ${address} [${ids.replace(' ', ':')}] to vfio-pci`, from: [key, 'host.bindVfio'] };
    if (driver === 'vfio-pci') return [{ ...step, skip: 'already on vfio-pci' }];
    const method = profile.host.bindMethod;
    if (method === 'new-id' && ids === '') {
      context.report('host.bindMethod', `cannot read ${address}'s vendor and device ids, which new-id needs; use driver-override`);
      return [];
    }
    // A driver whose module the handoff unloads is gone by now: nothing to unbind, and nothing to bind
    // back to (it does not exist until its module loads again, which probes the device itself).
    const handedOff = driver !== undefined && unloadedByHandoff(context, driver);
    const owner = handedOff ? undefined : driver;
    const actions = method === 'new-id' ? bindByNewId(address, owner, ids) : bindByOverride(address, owner);
    const notes = [handedOff ? `now on ${driver}, whose module is unloaded first; loading it again afterwards gives the device back` : driver ? `now on ${driver}, which gets it back afterwards` : 'no driver has it now'];
    if (method === 'new-id') notes.push(`new_id binds every unbound device with ids ${ids.replace(' ', ':')}, not only this one`);
    return [{ ...step, from: [...step.from, ...(method === 'new-id' ? ['host.bindMethod'] : [])], notes, actions: [...actions, { do: { kind: 'wait-driver', device: address, driver: 'vfio-pci', timeoutMs: BIND_TIMEOUT_MS }, undo: [] }] }];
  });
}

export function planRescan({ profile }: StepContext): StepDraft[] {
  if (!profile.host.rescan) return [];
  return [{ id: 'pci-rescan', phase: 'prepare', title: 'rescan the PCI bus', from: ['host.rescan'], actions: [{ do: { kind: 'trigger', path: '/sys/bus/pci/rescan', value: '1' }, undo: [] }] }];
}
