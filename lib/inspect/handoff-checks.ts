/**
 * The doctor's single-GPU handoff checks: which of host.unloadModules are loaded and what holds
 * them now, and a hint when the boot GPU is passed while the host still drives it.
 */
import { describeHolder } from '../host/device-holders.js';
import { readModule, type ModuleState } from '../host/kernel-modules.js';
import { isBootVga, readPciDriver } from '../host/pci.js';
import type { Sysroot } from '../host/sysroot.js';
import { formatPciAddress, parsePciAddress } from '../pci-address.js';
import { gpuHolders } from '../plan/steps/handoff.js';
import type { Profile } from '../profile/schema.js';
import type { Check } from './doctor.js';

const passed = (profile: Profile, sysroot: Sysroot) =>
  profile.passthrough.map((device) => formatPciAddress(parsePciAddress(device.host)!)).filter((address) => sysroot.exists(`/sys/bus/pci/devices/${address}`));

/** `nvidia (used by nvidia_modeset, refcnt 2)`: a loaded module and what uses it. */
function describeModule(module: string, state: ModuleState): string {
  const uses = [...(state.holders.length > 0 ? [`used by ${state.holders.join(', ')}`] : []), ...(state.refcnt !== undefined ? [`refcnt ${state.refcnt}`] : [])];
  return uses.length > 0 ? `${module} (${uses.join(', ')})` : module;
}

function checkUnloadModules(sysroot: Sysroot, profile: Profile): Check[] {
  const modules = profile.host.unloadModules;
  if (modules.length === 0) return [];
  const states = modules.map((module) => [module, readModule(sysroot, module)] as const);
  const loaded = states.filter(([, state]) => state.loaded && !state.builtin);
  const builtin = states.filter(([, state]) => state.builtin).map(([module]) => module);
  const missing = states.filter(([, state]) => !state.loaded).map(([module]) => module);
  const holders = gpuHolders(sysroot, passed(profile, sysroot));
  const detail = [
    loaded.length > 0 ? `loaded: ${loaded.map(([module, state]) => describeModule(module, state)).join(', ')}` : 'none is loaded',
    ...(missing.length > 0 && loaded.length > 0 ? [`not loaded: ${missing.join(', ')}`] : []),
    ...(holders.length > 0 ? [`held now: ${holders.map(describeHolder).join('; ')}`] : []),
  ].join('; ');
  const name = 'host.unloadModules';
  if (builtin.length > 0) return [{ status: 'fail', check: name, detail: `${builtin.join(', ')} ${builtin.length === 1 ? 'is' : 'are'} built into this kernel; ${detail}`, fix: 'take built-in modules out of host.unloadModules: they cannot be unloaded' }];
  if (holders.length > 0 && profile.host.stopServices.length === 0) {
    return [{ status: 'fail', check: name, detail, fix: `stop ${[...new Set(holders.map((holder) => holder.command))].join(', ')} before the launch: host.stopServices: [display-manager]` }];
  }
  if (holders.length > 0) {
    return [{ status: 'warn', check: name, detail, fix: `boot-vm stops ${profile.host.stopServices.join(', ')} first and refuses to unload while these still hold the GPU; stop any that are not theirs` }];
  }
  return [{ status: 'pass', check: name, detail }];
}

/** The boot GPU passed while the host drives it and nothing is stopped: a single-GPU setup missing its handoff. */
function checkSingleGpu(sysroot: Sysroot, profile: Profile): Check[] {
  if (profile.host.stopServices.length > 0) return [];
  return passed(profile, sysroot).flatMap((address): Check[] => {
    const driver = readPciDriver(sysroot, address);
    if (!isBootVga(sysroot, address) || driver === undefined || driver === 'vfio-pci') return [];
    return [
      {
        status: 'warn',
        check: 'single-GPU handoff',
        detail: `${address} is the boot GPU and on ${driver}: the host's display runs on it, and host.stopServices is empty`,
        fix: `if it is the host's only GPU, stop the display manager and unload its driver for the VM: host.stopServices: [display-manager], host.unloadModules: [${driver === 'nvidia' ? 'nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia' : driver}] (profiles/README.md, "Single-GPU handoff")`,
      },
    ];
  });
}

export const checkHandoff = (sysroot: Sysroot, profile: Profile): Check[] => [...checkSingleGpu(sysroot, profile), ...checkUnloadModules(sysroot, profile)];
