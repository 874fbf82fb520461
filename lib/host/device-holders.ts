import { linkName } from './pci.js';
import type { Sysroot } from './sysroot.js';

export interface DeviceHolder {
  pid: number;
  /** The process name (/proc/<pid>/comm). */
  command: string;
  /** The device file it holds open, e.g. `/dev/nvidia0`. */
  path: string;
}

/** Processes holding open a file for which `wanted(path)` is true, from the /proc/<pid>/fd links. */
export function readDeviceHolders(sysroot: Sysroot, wanted: (path: string) => boolean): DeviceHolder[] {
  const holders: DeviceHolder[] = [];
  for (const name of sysroot.list('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const seen = new Set<string>();
    for (const fd of sysroot.list(`/proc/${name}/fd`)) {
      const path = sysroot.readLink(`/proc/${name}/fd/${fd}`);
      if (path === undefined || seen.has(path) || !wanted(path)) continue;
      seen.add(path);
      holders.push({ pid: Number(name), command: (sysroot.readText(`/proc/${name}/comm`) ?? '?').trim(), path });
    }
  }
  return holders.sort((a, b) => a.pid - b.pid || (a.path < b.path ? -1 : 1));
}

/**
 * The device files through which processes use a GPU on `driver`: /dev/nvidia* for the Nvidia
 * driver (all its cards share nvidiactl, and CUDA adds nvidia-uvm), its /dev/dri nodes for a DRM driver.
 */
export function gpuDeviceFiles(sysroot: Sysroot, address: string, driver: string | undefined): (path: string) => boolean {
  if (driver === 'nvidia') return (path) => /^\/dev\/nvidia(\d+|ctl|-modeset|-uvm|-uvm-tools)$/.test(path);
  const nodes = new Set(
    sysroot
      .list('/sys/class/drm')
      .filter((name) => /^(card|renderD)\d+$/.test(name))
      .filter((name) => linkName(sysroot.readLink(`/sys/class/drm/${name}/device`) ?? '') === address)
      .map((name) => `/dev/dri/${name}`),
  );
  return (path) => nodes.has(path);
}

export const describeHolder = (holder: DeviceHolder) => `${holder.command} (pid ${holder.pid}) has ${holder.path} open`;
