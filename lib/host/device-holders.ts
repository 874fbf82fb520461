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
