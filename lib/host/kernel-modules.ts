/** Loadable kernel modules as /sys/module shows them: loaded or not, built in, and what uses them. */
import { linkName } from './pci.js';
import type { Sysroot } from './sysroot.js';

/** /sys/module names a module with underscores; modprobe takes `nvidia-drm` and `nvidia_drm` alike. */
export const moduleKey = (name: string) => name.replaceAll('-', '_');

export interface ModuleState {
  loaded: boolean;
  /** Built into the kernel: in /sys/module (for its parameters) but never unloadable. */
  builtin: boolean;
  /** References the kernel counts: one per module that uses it, and one per open file of its devices. */
  refcnt?: number;
  /** The loaded modules that use it (/sys/module/<m>/holders). */
  holders: string[];
}

export function readModule(sysroot: Sysroot, name: string): ModuleState {
  const dir = `/sys/module/${moduleKey(name)}`;
  if (!sysroot.exists(dir)) return { loaded: false, builtin: false, holders: [] };
  // Only a loadable module has initstate and refcnt.
  const builtin = !sysroot.exists(`${dir}/initstate`) && !sysroot.exists(`${dir}/refcnt`);
  const refcnt = Number(sysroot.readText(`${dir}/refcnt`)?.trim() ?? Number.NaN);
  return { loaded: true, builtin, ...(Number.isInteger(refcnt) ? { refcnt } : {}), holders: sysroot.list(`${dir}/holders`) };
}

/** The module a PCI driver comes from: its `module` link, else the driver's own name (nvidia, amdgpu). */
export function driverModule(sysroot: Sysroot, driver: string): string {
  const link = sysroot.readLink(`/sys/bus/pci/drivers/${driver}/module`);
  return moduleKey(link === undefined ? driver : linkName(link));
}
