/**
 * Single-GPU handoff: the services holding the host's only GPU stopped before the consoles let go
 * of it, its driver's modules unloaded after, so that vfio-pci can take it; all undone in reverse
 * (the modules loaded again, which gives their driver the GPU back, then the consoles, then the services).
 */
import { describeHolder, gpuDeviceFiles, readDeviceHolders, type DeviceHolder } from '../../host/device-holders.js';
import { driverModule, moduleKey, readModule } from '../../host/kernel-modules.js';
import { readPciDriver } from '../../host/pci.js';
import type { Sysroot } from '../../host/sysroot.js';
import { formatPciAddress, parsePciAddress } from '../../pci-address.js';
import type { StepContext } from './context.js';
import type { Action, StepDraft } from '../step.js';

// A stopped display manager's processes may take a moment to close the GPU's files.
const RELEASE_TIMEOUT_MS = 10_000;

/** Loading a module again: modprobe, which applies /etc/modprobe.d and probes the devices it drives. */
export const reloadModule = (module: string): Action => ({ kind: 'run', argv: ['modprobe', module] });

const plural = (count: number, one: string, many: string) => (count === 1 ? one : many);

/** The passed devices this host has. */
const passedDevices = ({ profile, sysroot }: StepContext) =>
  profile.passthrough.map((device) => formatPciAddress(parsePciAddress(device.host)!)).filter((address) => sysroot.exists(`/sys/bus/pci/devices/${address}`));

/** Processes holding open a device file of any of `devices`, found in one pass over /proc. */
export function gpuHolders(sysroot: Sysroot, devices: string[]): DeviceHolder[] {
  const files = devices.map((address) => gpuDeviceFiles(sysroot, address, readPciDriver(sysroot, address)));
  if (files.length === 0) return [];
  return readDeviceHolders(sysroot, (path) => files.some((isFile) => isFile(path)));
}

export function planStopServices({ profile }: StepContext): StepDraft[] {
  const units = profile.host.stopServices;
  if (units.length === 0) return [];
  return [
    {
      id: 'stop-services',
      phase: 'prepare',
      title: `stop ${units.join(', ')}, to free the GPU`,
      from: ['host.stopServices'],
      notes: [`a unit that is not running is left alone, and not started afterwards`],
      actions: units.map((unit) => ({ do: { kind: 'stop-service' as const, unit }, undo: [{ kind: 'run' as const, argv: ['systemctl', 'start', unit] }] })),
    },
  ];
}

export function planUnloadModules(context: StepContext): StepDraft[] {
  const { profile, sysroot, report } = context;
  const wanted = profile.host.unloadModules;
  if (wanted.length === 0) return [];
  const step: StepDraft = { id: 'unload-modules', phase: 'prepare', title: `unload kernel modules ${wanted.join(', ')}`, from: ['host.unloadModules'] };
  const notes: string[] = [];
  const modules: string[] = [];
  wanted.forEach((module, i) => {
    const state = readModule(sysroot, module);
    if (!state.loaded) notes.push(`${module} is not loaded`);
    else if (state.builtin) report(`host.unloadModules[${i}]`, `${module} is built into this kernel and cannot be unloaded; take it out of host.unloadModules`);
    else modules.push(module);
  });
  if (modules.length === 0) return [{ ...step, notes, skip: `none of them is loaded` }];
  // rmmod refuses a module another one still uses: the users come first.
  modules.forEach((module, i) => {
    const later = readModule(sysroot, module).holders.filter((holder) => modules.slice(i + 1).some((after) => moduleKey(after) === holder));
    if (later.length > 0) report(`host.unloadModules[${wanted.indexOf(module)}]`, `${module} is used by ${later.join(', ')}, listed after it; list ${later.length === 1 ? 'it' : 'them'} first`);
  });
  const devices = passedDevices(context);
  // Not refused here: the services stopped first usually hold the GPU now; the launch checks again after stopping them.
  const holders = gpuHolders(sysroot, devices);
  if (holders.length > 0) {
    const who = holders.map(describeHolder).join('; ');
    const units = profile.host.stopServices;
    if (units.length > 0) notes.push(`now ${who}: stopping ${units.join(', ')} must end ${plural(holders.length, 'it', 'them')}, or the unload is refused`);
    else context.warn?.('host.unloadModules', `${who}: the unload is refused unless something stops ${plural(holders.length, 'it', 'them')} first (host.stopServices: [display-manager])`);
  }
  notes.push(`loaded again afterwards, in reverse order: the GPU's driver takes it back as it loads`);
  return [
    {
      ...step,
      title: `unload kernel modules ${modules.join(', ')}`,
      notes,
      actions: [{ do: { kind: 'unload-modules', modules, devices, timeoutMs: RELEASE_TIMEOUT_MS }, undo: [...modules].reverse().map(reloadModule) }],
    },
  ];
}

/** True when the handoff unloads the module `driver` comes from: the driver is gone before vfio-pci binds, and loading it again probes the device. */
export function unloadedByHandoff({ profile, sysroot }: StepContext, driver: string): boolean {
  const module = driverModule(sysroot, driver);
  if (!profile.host.unloadModules.some((wanted) => moduleKey(wanted) === module)) return false;
  const state = readModule(sysroot, module);
  return state.loaded && !state.builtin;
}
