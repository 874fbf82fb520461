import { readCpuListFile } from './sysfs-values.js';
import type { Sysroot } from './sysroot.js';

/** The CPUs the kernel reports as present, or undefined when the tree has no CPU information. */
export function readPresentCpus(sysroot: Sysroot): number[] | undefined {
  return readCpuListFile(sysroot, '/sys/devices/system/cpu/present');
}

/** The CPUs the kernel has online, or undefined when the tree has no CPU information. */
export function readOnlineCpus(sysroot: Sysroot): number[] | undefined {
  return readCpuListFile(sysroot, '/sys/devices/system/cpu/online');
}
