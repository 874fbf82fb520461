import { parseCpuList } from '../cpu-list.js';
import type { Sysroot } from './sysroot.js';

/** The CPUs the kernel reports as present, or undefined when the tree has no CPU information. */
export function readPresentCpus(sysroot: Sysroot): number[] | undefined {
  const text = sysroot.readText('/sys/devices/system/cpu/present');
  return text === undefined ? undefined : parseCpuList(text);
}

/** The CPUs the kernel has online, or undefined when the tree has no CPU information. */
export function readOnlineCpus(sysroot: Sysroot): number[] | undefined {
  const text = sysroot.readText('/sys/devices/system/cpu/online');
  return text === undefined ? undefined : parseCpuList(text);
}
